/**
 * `warpc dns-proxy` against real peers inside network namespaces.
 *
 *   ns "cli"  (198.18.0.1): the proxy on 127.0.2.2:5353 (and, in one test, its
 *              default listeners on port 53), dig/kdig as clients
 *   ns "peer" (veth):      198.18.0.2  dnsdist, DoH on :443 (the Gateway; blocks one name)
 *                          198.18.0.3  unbound, private resolver for "corp"
 *                          198.18.0.4  unbound, the Gateway's backend ("example.com")
 *                          198.18.0.5  unbound, private resolver for "eng.corp"
 *                          198.18.0.9  nothing (a dead resolver for "dead.corp")
 * Nothing here leaves the two namespaces; both are deleted in afterAll.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { NetnsPool, type Netns } from '../helpers/netns.js';
import { parseDnsProxyConfig } from '../../src/runtime/dns/config.js';
import { builtCli, makeCertificates, parseDig, startDnsdistDoh, startUnbound, waitFor, type Gateway } from './peers.js';

const execFileP = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const PROFILE = `
version: 1
name: dns-e2e
service_mode: 1dot1
fallback_domains:
  - { suffix: corp, dns_server: [198.18.0.3] }
  - { suffix: eng.corp, dns_server: [198.18.0.5] }
  - { suffix: dead.corp, dns_server: [198.18.0.9] }
dns:
  doh_url: "https://gateway.test/dns-query"
  doh_addresses: [198.18.0.2]
`;

const BIG = Array.from({ length: 40 }, (_, i) => `big.example.com. 300 IN A 192.0.2.${i + 1}`);
const BIG_CORP = Array.from({ length: 60 }, (_, i) => `many.corp. 300 IN A 10.1.9.${i + 1}`);

describeE2E('warpc dns-proxy with dnsdist (DoH), unbound and dig in namespaces', ['dnsdist', 'unbound', 'unbound-checkconf', 'dig', 'kdig', 'openssl'], () => {
  const pool = new NetnsPool();
  let cli: Netns;
  let peer: Netns;
  let dir: string;
  let gateway: Gateway;
  let certs: { ca: string; cert: string; key: string };
  let proxy: ChildProcess;
  let proxyLog = '';

  const dig = async (name: string, type = 'A', extra: string[] = [], server = '127.0.2.2', port = 5353) => {
    const r = await cli.tryRun('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=8', ...extra, name, type], { timeoutMs: 20_000 });
    return parseDig(r.stdout);
  };

  const startProxy = async (args: string[], ready: string): Promise<ChildProcess> => {
    const child = cli.spawn(process.execPath, [builtCli(ROOT), 'dns-proxy', join(dir, 'out', 'linux'), '--doh-ca', certs.ca, '--log-level', 'debug', ...args]);
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      proxyLog += d.toString();
    });
    await waitFor(async () => log.includes('dns proxy listening') && log.includes(ready), 'warpc dns-proxy', child);
    return child;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warpc-dns-e2e-'));
    chmodSync(dir, 0o755);
    certs = await makeCertificates(dir, 'gateway.test');
    cli = await pool.create('cli');
    peer = await pool.create('peer');
    await pool.link(cli, 'veth0', ['198.18.0.1/24'], peer, 'veth0', ['198.18.0.2/24', '198.18.0.3/24', '198.18.0.4/24', '198.18.0.5/24']);
    for (const a of ['127.0.2.2/32', '127.0.2.3/32']) await cli.run('ip', ['addr', 'add', a, 'dev', 'lo']);
    for (const a of ['fd01:db8:1111::2/128', 'fd01:db8:1111::3/128']) await cli.run('ip', ['-6', 'addr', 'add', a, 'dev', 'lo', 'nodad']);

    await startUnbound(peer, dir, 'backend', '198.18.0.4', [
      {
        zone: 'example.com',
        records: [
          'example.com. 3600 IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 30',
          'www.example.com. 300 IN A 192.0.2.10',
          'blocked.example.com. 300 IN A 192.0.2.66',
          ...BIG,
        ],
      },
      // The Gateway knows a "corp" name too: if the proxy ever leaked one, the answer would show it.
      { zone: 'corp', records: ['corp. 3600 IN SOA ns.corp. h.corp. 1 3600 600 86400 30', 'host.corp. 300 IN A 203.0.113.66', 'x.dead.corp. 300 IN A 203.0.113.67'] },
    ]);
    await startUnbound(peer, dir, 'corp', '198.18.0.3', [
      {
        zone: 'corp',
        records: ['corp. 3600 IN SOA ns.corp. h.corp. 1 3600 600 86400 10', 'host.corp. 300 IN A 10.1.2.3', 'build.eng.corp. 300 IN A 10.1.0.99', ...BIG_CORP],
      },
    ]);
    await startUnbound(peer, dir, 'engcorp', '198.18.0.5', [
      { zone: 'eng.corp', records: ['eng.corp. 3600 IN SOA ns.eng.corp. h.eng.corp. 1 3600 600 86400 10', 'build.eng.corp. 300 IN A 10.2.0.1'] },
    ]);
    gateway = await startDnsdistDoh(peer, dir, {
      address: '198.18.0.2',
      host: 'gateway.test',
      cert: certs.cert,
      key: certs.key,
      ca: certs.ca,
      backend: '198.18.0.4:53',
      blocked: 'blocked.example.com',
    });

    // out/linux exactly as `warpc compile` writes it.
    writeFileSync(join(dir, 'profile.yaml'), PROFILE);
    await execFileP(process.execPath, [builtCli(ROOT), 'compile', join(dir, 'profile.yaml'), '--target', 'linux', '--out', join(dir, 'out')]);
    expect(parseDnsProxyConfig(readFileSync(join(dir, 'out', 'linux', 'dns-proxy.json'), 'utf8')).fallback.map((r) => r.suffix).sort()).toEqual(['corp', 'dead.corp', 'eng.corp']);

    proxy = await startProxy(['--listen', '127.0.2.2:5353', '--query-timeout', '2000'], '127.0.2.2');
  });

  afterAll(async () => {
    await pool.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a fallback name from the private resolver and any other name from DoH', async () => {
    const corp = await dig('host.corp');
    expect(corp.status).toBe('NOERROR');
    expect(corp.answers.map((a) => a.data)).toEqual(['10.1.2.3']);
    const www = await dig('www.example.com');
    expect(www.status).toBe('NOERROR');
    expect(www.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    const seen = await gateway.seen();
    expect(seen).toContain('www.example.com');
    expect(seen).not.toContain('host.corp');
  });

  it('applies Gateway policy to DoH names (the blocked name answers 0.0.0.0)', async () => {
    const r = await dig('blocked.example.com');
    expect(r.answers.map((a) => a.data)).toEqual(['0.0.0.0']);
  });

  it('longest suffix wins: eng.corp goes to its own resolver', async () => {
    const r = await dig('build.eng.corp');
    expect(r.answers.map((a) => a.data)).toEqual(['10.2.0.1']);
  });

  it('a dead private resolver yields SERVFAIL, and no DoH query is made', async () => {
    const r = await dig('x.dead.corp');
    expect(r.status).toBe('SERVFAIL');
    expect(await gateway.seen()).not.toContain('x.dead.corp');
  });

  it('caches with decrementing TTLs, and caches NXDOMAIN from the SOA minimum', async () => {
    const first = await dig('www.example.com', 'AAAA');
    expect(first.status).toBe('NOERROR');
    const n0 = (await gateway.seen()).filter((n) => n === 'www.example.com').length;
    const a1 = await dig('www.example.com');
    await new Promise((r) => setTimeout(r, 2100));
    const a2 = await dig('WWW.EXAMPLE.COM');
    expect(a2.answers[0]!.ttl).toBeLessThanOrEqual(a1.answers[0]!.ttl - 2);
    expect((await gateway.seen()).filter((n) => n === 'www.example.com').length).toBe(n0);
    const nx1 = await dig('nope.example.com');
    const nx2 = await dig('nope.example.com');
    expect(nx1.status).toBe('NXDOMAIN');
    expect(nx2.status).toBe('NXDOMAIN');
    expect((await gateway.seen()).filter((n) => n === 'nope.example.com')).toHaveLength(1);
  });

  it('honours EDNS sizes: TC at 512 bytes, the full answer with a large buffer or over TCP', async () => {
    const small = await dig('big.example.com', 'A', ['+ignore', '+bufsize=512']);
    expect(small.flags).toContain('tc');
    const large = await dig('big.example.com', 'A', ['+bufsize=4096']);
    expect(large.flags).not.toContain('tc');
    expect(large.answers).toHaveLength(40);
    const tcp = await dig('big.example.com', 'A', ['+tcp']);
    expect(tcp.answers).toHaveLength(40);
  });

  it('retries a truncated private answer over TCP (TC=1 → TCP upstream)', async () => {
    // Over TCP from the client, the proxy still asks upstream over UDP first; 60 A records do not fit in 512.
    const r = await dig('many.corp', 'A', ['+tcp']);
    expect(r.flags).not.toContain('tc');
    expect(r.answers).toHaveLength(60);
  });

  it('answers several queries on one TCP connection', async () => {
    const r = await cli.run('kdig', ['@127.0.2.2', '-p', '5353', '+tcp', '+keepopen', '+timeout=5', 'host.corp', 'A', 'www.example.com', 'A', 'build.eng.corp', 'A']);
    expect(r.stdout.match(/status: NOERROR/g)).toHaveLength(3);
    expect(r.stdout).toContain('10.1.2.3');
    expect(r.stdout).toContain('192.0.2.10');
    expect(r.stdout).toContain('10.2.0.1');
  });

  it('answers the connectivity check itself', async () => {
    const r = await dig('connectivity-check.warp-svc');
    expect(r.answers.map((a) => a.data).sort()).toEqual(['127.0.2.2', '127.0.2.3']);
    expect(await gateway.seen()).not.toContain('connectivity-check.warp-svc');
  });

  it('survives losing the DoH connection: SERVFAIL while the Gateway is down, answers again once it is back', async () => {
    expect((await dig('www.example.com', 'TXT')).status).toBe('NOERROR');
    gateway.child.kill('SIGTERM');
    await new Promise<void>((r) => (gateway.child.exitCode !== null ? r() : gateway.child.once('exit', () => r())));
    const down = await dig('down.example.com');
    expect(down.status).toBe('SERVFAIL');
    gateway = await startDnsdistDoh(peer, dir, { address: '198.18.0.2', host: 'gateway.test', cert: certs.cert, key: certs.key, ca: certs.ca, backend: '198.18.0.4:53', blocked: 'blocked.example.com' });
    const up = await dig('www.example.com', 'MX');
    expect(up.status).toBe('NOERROR');
    expect(await gateway.seen()).toContain('www.example.com');
  });

  it('reconnects after the Gateway restarts under an open session, without a failed query', async () => {
    expect((await dig('www.example.com', 'NS')).status).toBe('NOERROR');
    const connects = (proxyLog.match(/doh connect/g) ?? []).length;
    gateway.child.kill('SIGTERM');
    await new Promise<void>((r) => (gateway.child.exitCode !== null ? r() : gateway.child.once('exit', () => r())));
    gateway = await startDnsdistDoh(peer, dir, { address: '198.18.0.2', host: 'gateway.test', cert: certs.cert, key: certs.key, ca: certs.ca, backend: '198.18.0.4:53', blocked: 'blocked.example.com' });
    const r = await dig('www.example.com', 'SOA');
    expect(r.status).toBe('NOERROR');
    // A new session was opened for it (the dead one was noticed and dropped, or retried once).
    expect((proxyLog.match(/doh connect/g) ?? []).length).toBe(connects + 1);
  });

  it('listens on its default addresses (UDP and TCP, IPv4 and IPv6, port 53) and stops cleanly on SIGTERM', async () => {
    const child = await startProxy([], 'fd01:db8:1111::3');
    for (const server of ['127.0.2.2', '127.0.2.3', 'fd01:db8:1111::2', 'fd01:db8:1111::3']) {
      const udp = await dig('host.corp', 'A', [], server, 53);
      expect(udp.answers.map((a) => a.data)).toEqual(['10.1.2.3']);
      const tcp = await dig('www.example.com', 'A', ['+tcp'], server, 53);
      expect(tcp.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    }
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const after = await cli.tryRun('dig', ['@127.0.2.2', '-p', '53', '+tries=1', '+time=1', 'host.corp']);
    expect(after.stdout).not.toContain('status: NOERROR');
  });

  it('the first proxy is still running and never logged an internal error', () => {
    expect(proxy.exitCode).toBeNull();
    expect(proxyLog).not.toMatch(/internal error|query handling failed/);
  });
});
