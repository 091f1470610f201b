/**
 * The reference gateway's DoH resolver end to end, in two throwaway namespaces:
 *
 *   cli 10.77.0.2 (eth0) ── gw 10.77.0.1 (eth0): `warpc gateway --doh-listen 10.77.0.1:443`
 *   dig +https, warpc dns-proxy          (through the CLI) runs dnsdist in front of
 *                                        dnsmasq on 127.0.0.1:5301, with a block list
 *
 * Clients verify the gateway's generated CA (dig +tls-ca, warpc dns-proxy --doh-ca). The
 * tests change the block list, kill dnsdist by PID, SIGTERM the gateway, and check that
 * dnsdist is gone, the namespaces are deleted and the host is as before.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { NetnsPool, type Netns } from '../helpers/netns.js';
import { parseDig } from '../dns/peers.js';
import { CLI, LOADER, rootState } from '../runtime/helpers/topology.js';
import { pidExists } from '../helpers/proc.js';

const execFileP = promisify(execFile);
const GW = '10.77.0.1';
const CLIENT = '10.77.0.2';
const HOST = 'doh.e2e.example';


describeE2E('warpc gateway --doh-listen: dnsdist supervised in front of dnsmasq, with a block list (namespaces)', ['ip', 'dnsdist', 'dnsmasq', 'dig', 'pgrep'], () => {
  const pool = new NetnsPool();
  let rootBefore: Record<string, string>;
  let gw: Netns;
  let cli: Netns;
  let tmp: string;
  let list: string;
  let state: string;
  let gateway: ChildProcess;
  let gatewayExit: Promise<{ code: number | null; signal: string | null }>;
  let log = '';

  const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 15_000): Promise<number> => {
    const start = Date.now();
    while (!(await ok())) {
      if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}\n--- gateway log:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - start;
  };
  /** A query over DoH from the client namespace, verifying the gateway's generated CA and host name. */
  const doh = async (name: string, ca = join(state, 'doh', 'ca.pem')) => parseDig((await cli.tryRun('dig', [`+https=/dns-query`, `+tls-ca=${ca}`, `+tls-hostname=${HOST}`, '+tries=1', '+time=3', `@${GW}`, '-p', '443', name, 'A'], { timeoutMs: 15_000 })).stdout);
  const pidFile = async (): Promise<number> => Number((await readFile(join(state, 'doh', 'dnsdist.pid'), 'utf8')).trim());
  const startedPids = (): number[] => [...log.matchAll(/doh: dnsdist started \(pid (\d+)\)/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    rootBefore = await rootState();
    tmp = await mkdtemp(join(tmpdir(), 'warpc-doh-e2e-'));
    await chmod(tmp, 0o755);
    gw = await pool.create('gw');
    cli = await pool.create('cli');
    await pool.link(cli, 'eth0', [`${CLIENT}/24`], gw, 'eth0', [`${GW}/24`]);
    await cli.run('ip', ['addr', 'add', '127.0.2.2/32', 'dev', 'lo']);
    // The real resolver behind dnsdist.
    const dnsmasq = gw.spawn('dnsmasq', ['-k', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', '--port=5301', '--pid-file=', '--user=root', '--local-ttl=1',
      '--host-record=app.example.com,203.0.113.10', '--host-record=blocked.example.com,203.0.113.99', '--host-record=www.blocked.example.com,203.0.113.98', '--host-record=later.example.com,203.0.113.77',
      '--host-record=notblocked.example.com,203.0.113.11']);
    await until('dnsmasq', async () => dnsmasq.exitCode === null && (await gw.tryRun('dig', ['+short', '+time=1', '+tries=1', '-p', '5301', '@127.0.0.1', 'app.example.com'])).stdout.includes('203.0.113.10'));
    list = join(tmp, 'blocked.txt');
    await writeFile(list, '# blocked at the gateway\nblocked.example.com\n');
    state = join(tmp, 'gw-state');
    gateway = gw.spawn(process.execPath, ['--import', LOADER, CLI, 'gateway', '--doh-listen', `${GW}:443`, '--doh-upstream', '127.0.0.1:5301', '--block-list', list, '--doh-name', HOST, '--state-dir', state]);
    gateway.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    gateway.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    gatewayExit = new Promise((r) => gateway.once('exit', (code, signal) => r({ code, signal })));
    await until('the gateway to start dnsdist', () => {
      if (gateway.exitCode !== null) throw new Error(`warpc gateway exited ${gateway.exitCode}:\n${log}`);
      return startedPids().length > 0;
    }, 30_000);
  }, 60_000);

  afterAll(async () => {
    await pool.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  it('an allowed name answers; a blocked name and a name under it get NXDOMAIN; the config is 0600; the CA and fingerprint are printed; a wrong CA is refused', async () => {
    expect(log).toMatch(new RegExp(`warpc: gateway: doh: generated CA ${join(state, 'doh', 'ca.pem')}, SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}; devices trust it with warpc up --doh-ca `));
    expect(log).toContain(`warpc: gateway: doh: server certificate for ${HOST}, ${GW}`);
    expect(log).toMatch(new RegExp(`warpc: gateway: doh: dnsdist started \\(pid \\d+\\): DoH on https://${GW.replace(/\./g, '\\.')}:443/dns-query, upstream 127\\.0\\.0\\.1:5301, 1 blocked names`));
    const ok = await doh('app.example.com');
    expect(ok.status).toBe('NOERROR');
    expect(ok.answers.map((a) => a.data)).toEqual(['203.0.113.10']);
    for (const name of ['blocked.example.com', 'www.blocked.example.com', 'deep.www.blocked.example.com']) {
      const r = await doh(name);
      expect(r.status, name).toBe('NXDOMAIN');
      expect(r.answers, name).toEqual([]);
    }
    // A name that only ends with the blocked text is not under it.
    expect((await doh('notblocked.example.com')).status).toBe('NOERROR');
    expect((await stat(join(state, 'doh', 'dnsdist.conf'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, 'doh', 'server.key'))).mode & 0o777).toBe(0o600);
    // The client checks the chain: a CA that did not issue the certificate fails.
    const other = join(tmp, 'other-ca');
    await execFileP(process.execPath, ['--import', LOADER, '-e', `import('${join(import.meta.dirname, '../../src/gateway/doh.ts')}').then((m) => m.generatedTls(${JSON.stringify(other)}, ['${HOST}']))`]);
    const wrong = await doh('app.example.com', join(other, 'ca.pem'));
    expect(wrong.status).toBe('NONE');
    expect(wrong.raw).toMatch(/verification .*failed/);
  });

  it("a device's warpc dns-proxy with --doh-ca <the generated ca.pem> resolves through the gateway, blocked names NXDOMAIN", async () => {
    await writeFile(join(tmp, 'profile.yaml'), `version: 1\nname: doh-e2e\nservice_mode: 1dot1\ndns: { doh_url: "https://${HOST}/dns-query", doh_addresses: [${GW}] }\n`);
    await execFileP(process.execPath, ['--import', LOADER, CLI, 'compile', join(tmp, 'profile.yaml'), '--target', 'linux', '--out', join(tmp, 'out')]);
    const proxy = cli.spawn(process.execPath, ['--import', LOADER, CLI, 'dns-proxy', join(tmp, 'out', 'linux'), '--listen', '127.0.2.2:5353', '--doh-ca', join(state, 'doh', 'ca.pem'), '--system-resolvers', '127.0.0.1']);
    let plog = '';
    proxy.stderr?.on('data', (d: Buffer) => (plog += d.toString()));
    try {
      await until('warpc dns-proxy', () => plog.includes('listening'), 30_000);
      const viaProxy = async (name: string) => parseDig((await cli.tryRun('dig', ['+tries=1', '+time=5', '@127.0.2.2', '-p', '5353', name, 'A'], { timeoutMs: 15_000 })).stdout);
      const ok = await viaProxy('app.example.com');
      expect(ok.status, plog).toBe('NOERROR');
      expect(ok.answers.map((a) => a.data)).toEqual(['203.0.113.10']);
      expect((await viaProxy('www.blocked.example.com')).status).toBe('NXDOMAIN');
    } finally {
      const exited = new Promise((r) => proxy.once('exit', r));
      process.kill(proxy.pid as number, 'SIGTERM');
      await exited;
    }
  }, 60_000);

  it('the block list file changes: within seconds the new name is blocked (a restart of dnsdist); a bad edit keeps the previous list', async () => {
    expect((await doh('later.example.com')).status).toBe('NOERROR');
    const before = startedPids().length;
    await writeFile(list, '# blocked at the gateway\nblocked.example.com\nlater.example.com\n');
    const ms = await until('later.example.com blocked', async () => (await doh('later.example.com')).status === 'NXDOMAIN', 10_000);
    expect(ms).toBeLessThan(10_000);
    expect(log).toMatch(/doh: block list .*blocked\.txt changed: 1 added, 0 removed; restarting dnsdist with the new list/);
    expect(startedPids().length).toBe(before + 1);
    expect((await doh('www.blocked.example.com')).status).toBe('NXDOMAIN');
    expect((await doh('app.example.com')).status).toBe('NOERROR');

    // A hostile edit: refused with file:line, nothing restarted, the previous list still answers.
    const pid = await pidFile();
    const conf = await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8');
    await writeFile(list, 'blocked.example.com\napp.example.com\nlater.example.com") os.execute("touch /tmp/pwned") --\n');
    await until('the refusal', () => /WARPC0256: the block list changed but is not used: WARPC0250: .*blocked\.txt:3: .* dnsdist keeps the previous list \(2 names\)/.test(log), 10_000);
    expect(await pidFile()).toBe(pid);
    expect(pidExists(pid)).toBe(true);
    expect(await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8')).toBe(conf);
    expect((await doh('app.example.com')).status).toBe('NOERROR');
    expect((await doh('later.example.com')).status).toBe('NXDOMAIN');
  }, 60_000);

  it('dnsdist killed by PID: the gateway logs it and starts it again; it answers with the same list', async () => {
    const pid = await pidFile();
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0]).toMatch(/dnsdist$/);
    const before = startedPids().length;
    process.kill(pid, 'SIGKILL');
    await until('a new dnsdist', () => startedPids().length > before, 20_000);
    expect(log).toMatch(new RegExp(`WARPC0258: dnsdist \\(pid ${pid}\\) exited \\(signal SIGKILL\\); starting it again in \\d+\\.\\d s`));
    const next = await pidFile();
    expect(next).not.toBe(pid);
    expect(startedPids().at(-1)).toBe(next);
    expect(pidExists(pid)).toBe(false);
    expect((await doh('app.example.com')).status).toBe('NOERROR');
    expect((await doh('later.example.com')).status).toBe('NXDOMAIN');
  }, 60_000);

  it('SIGTERM to the gateway: dnsdist is stopped (by PID), the gateway exits 0; then the namespaces are deleted and the host is untouched', async () => {
    const pid = await pidFile();
    expect(pidExists(pid)).toBe(true);
    process.kill(gateway.pid as number, 'SIGTERM');
    const exit = await Promise.race([gatewayExit, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    expect(exit, log).toEqual({ code: 0, signal: null });
    expect(log).toContain('warpc: gateway: SIGTERM: stopping');
    expect(log).toContain(`warpc: gateway: doh: dnsdist (pid ${pid}) stopped`);
    expect(pidExists(pid)).toBe(false);
    await expect(stat(join(state, 'doh', 'dnsdist.pid'))).rejects.toThrow(/ENOENT/);
    const left = await execFileP('pgrep', ['-f', join(state, 'doh', 'dnsdist.conf')]).then((r) => r.stdout, () => '');
    expect(left).toBe('');
    await pool.cleanup();
    const names = (await execFileP('ip', ['netns', 'list'])).stdout;
    expect(names).not.toContain(pool.prefix);
    await expect(stat('/tmp/pwned')).rejects.toThrow(/ENOENT/);
    expect(await rootState()).toEqual(rootBefore);
  }, 60_000);
});
