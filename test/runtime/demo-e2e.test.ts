/**
 * The README demo (contrib/demo/demo.sh) works as documented, in namespaces with a unique prefix,
 * and leaves the host as it was: `up` (the orchestrated demo: orchestrator, gateway, two enrolled
 * devices), `change add|remove` through the admin API, `status`, `down`; and `up masque` (one device).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { CLI, E2E_TOOLS, LOADER, REPO, rootState } from './helpers/topology.js';

const execFileP = promisify(execFile);
const script = join(REPO, 'contrib/demo/demo.sh');

function demoEnv(): NodeJS.ProcessEnv & { WARPC_DEMO_PREFIX: string; WARPC_DEMO_DIR: string; WARPC_DEMO_IF: string; WARPC_DEMO_GW_IF: string } {
  const id = randomBytes(3).toString('hex');
  return {
    ...process.env,
    WARPC_DEMO_PREFIX: `warpc-${id}-demo`,
    WARPC_DEMO_DIR: join(tmpdir(), `warpc-${id}-demo`),
    WARPC_DEMO_IF: `wqm${id}`,
    WARPC_DEMO_GW_IF: `wgm${id}`,
    WARPC: `${process.execPath} --import ${LOADER} ${CLI}`,
  };
}

/** Whatever happened, leave nothing: the script's own down, then the namespaces by name. */
async function cleanUp(env: ReturnType<typeof demoEnv>, namespaces: string[]): Promise<void> {
  await execFileP('bash', [script, 'down'], { env, timeout: 150_000 }).catch(() => undefined);
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', `${env.WARPC_DEMO_PREFIX}-${ns}`], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
}

/** Nothing of the demo is left: namespaces, its folder, processes naming it, the gateway's UAPI socket. */
async function expectNothingLeft(env: ReturnType<typeof demoEnv>): Promise<void> {
  expect((await execFileP('ip', ['netns', 'list'])).stdout).not.toContain(env.WARPC_DEMO_PREFIX);
  await expect(access(env.WARPC_DEMO_DIR)).rejects.toThrow();
  await expect(access(`/var/run/wireguard/${env.WARPC_DEMO_GW_IF}.sock`)).rejects.toThrow();
  const procs = await execFileP('pgrep', ['-af', `${env.WARPC_DEMO_IF}|${env.WARPC_DEMO_GW_IF}|${env.WARPC_DEMO_DIR}`]).catch(() => ({ stdout: '' }));
  expect(procs.stdout).toBe('');
}

describeE2E('contrib/demo/demo.sh up (orchestrated: orchestrator, gateway, two devices)', [...E2E_TOOLS, 'jq', 'nsenter'], () => {
  const env = demoEnv();
  const demo = (...args: string[]) => execFileP('bash', [script, ...args], { env, timeout: 240_000 });
  const inNs = (ns: string, cmd: string, args: string[]) => execFileP('ip', ['netns', 'exec', `${env.WARPC_DEMO_PREFIX}-${ns}`, cmd, ...args], { timeout: 20_000 });
  const curlApp = async (ns: string) => (await inNs(ns, 'curl', ['-s', '-m', '5', 'http://203.0.113.10:8080/'])).stdout;
  let hostBefore: Record<string, string>;

  beforeAll(async () => {
    hostBefore = await rootState();
  });
  afterAll(() => cleanUp(env, ['devA', 'devB', 'gw', 'app']), 180_000);

  it('up: both devices enrolled and through the tunnel with their own addresses, DoH with the gateway policy; status shows both', { timeout: 300_000 }, async () => {
    const up = await demo('up');
    expect(up.stdout).toMatch(/demo: up\. Devices \S+-devA and \S+-devB, enrolled with the orchestrator at https:\/\/198\.51\.100\.1:8443/);
    expect(up.stdout).toContain('change add 203.0.113.0/24');
    const a = await curlApp('devA');
    const b = await curlApp('devB');
    expect(a).toMatch(/^hello from the app on 8080, you are 100\.96\.0\.\d+\n$/);
    expect(b).toMatch(/^hello from the app on 8080, you are 100\.96\.0\.\d+\n$/);
    expect(a).not.toBe(b);
    // The gateway firewall drops 8081 from the tunnel.
    await expect(inNs('devA', 'curl', ['-s', '-m', '2', 'http://203.0.113.10:8081/'])).rejects.toMatchObject({ code: 28 });
    for (const d of ['devA', 'devB']) {
      expect((await inNs(d, 'dig', ['+short', '+time=3', '@127.0.2.2', 'app.example.com'])).stdout).toBe('203.0.113.10\n');
      expect((await inNs(d, 'dig', ['+time=3', '@127.0.2.2', 'blocked.example.com'])).stdout).toMatch(/status: NXDOMAIN/);
    }
    const status = await demo('status');
    expect(status.stdout.match(/state\s+committed \(agent pid 1, up\)/g)).toHaveLength(2);
    expect(status.stdout.match(/latest handshake\s+\d{4}-/g)).toHaveLength(2);
    expect(status.stdout.match(/orchestrator\s+https:\/\/198\.51\.100\.1:8443/g)).toHaveLength(2);
    expect(status.stdout.match(/bundle\s+version \d+ \(profile default revision \d+\)/g)).toHaveLength(2);
    // The gateway has one WireGuard peer per device, the orchestrator lists both.
    const peers = status.stdout.split('== the gateway')[1]!.split('== the orchestrator')[0]!.split('\n').filter((l) => /^[A-Za-z0-9+/]{43}=$/.test(l));
    expect(peers).toHaveLength(2);
    expect(status.stdout.split("== the orchestrator's devices")[1]!.match(/\t100\.96\.0\.\d+\t/g)).toHaveLength(2);
  });

  it('change add: the admin API excludes the app network and both devices go direct; change remove: back through the tunnel', { timeout: 120_000 }, async () => {
    const add = await demo('change', 'add', '203.0.113.0/24');
    expect(add.stdout).toMatch(/"success":true/);
    expect(add.stdout).toMatch(/both devices route 203\.0\.113\.0 dev eth0 after \d+ ms/);
    expect(await curlApp('devA')).toBe('hello from the app on 8080, you are 192.168.77.2\n');
    expect(await curlApp('devB')).toBe('hello from the app on 8080, you are 192.168.78.2\n');
    const remove = await demo('change', 'remove', '203.0.113.0/24');
    expect(remove.stdout).toMatch(/both devices route 203\.0\.113\.0 dev CloudflareWARP after \d+ ms/);
    expect(await curlApp('devA')).toMatch(/you are 100\.96\.0\.\d+\n$/);
    expect(await curlApp('devB')).toMatch(/you are 100\.96\.0\.\d+\n$/);
  });

  it('down: warpc down in each device restores it, every process stops, the host is as before', { timeout: 180_000 }, async () => {
    const down = await demo('down');
    expect(down.stdout).toMatch(/demo: device A restored \(journal closed\)/);
    expect(down.stdout).toMatch(/demo: device B restored \(journal closed\)/);
    expect(down.stdout).toMatch(/device A's resolv\.conf after down:\n# the demo device A resolv\.conf\nnameserver 192\.168\.77\.1\n/);
    expect(down.stdout).toMatch(/demo: down; namespaces deleted/);
    await expectNothingLeft(env);
    expect(await rootState()).toEqual(hostBefore);
  });
});

describeE2E('contrib/demo/demo.sh up masque (one device)', E2E_TOOLS, () => {
  const env = demoEnv();
  const demo = (...args: string[]) => execFileP('bash', [script, ...args], { env, timeout: 150_000 });
  afterAll(() => cleanUp(env, ['dev', 'gw', 'app']), 180_000);

  it('up masque brings a tunnel up in namespaces; status reports it; down removes everything', { timeout: 180_000 }, async () => {
    const hostBefore = await rootState();
    const up = await demo('up', 'masque');
    expect(up.stdout).toMatch(/demo: up \(masque\)\./);
    const dev = `${env.WARPC_DEMO_PREFIX}-dev`;
    const curl = await execFileP('ip', ['netns', 'exec', dev, 'curl', '-s', '-m', '5', 'http://203.0.113.10:8080/']);
    expect(curl.stdout).toBe('hello from the app on 8080, you are 172.16.0.2\n');
    const dig = await execFileP('ip', ['netns', 'exec', dev, 'dig', '+short', '+time=3', '@127.0.2.2', 'app.example.com']);
    expect(dig.stdout).toBe('203.0.113.10\n');
    const status = await demo('status');
    expect(status.stdout).toMatch(/state\s+committed/);
    expect(status.stdout).toMatch(/session\s+connected/);
    const down = await demo('down');
    expect(down.stdout).toMatch(/the demo device resolv\.conf/);
    expect(down.stdout).toMatch(/demo: down; namespaces deleted/);
    await expectNothingLeft(env);
    expect(await rootState()).toEqual(hostBefore);
  });
});
