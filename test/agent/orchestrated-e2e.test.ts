/**
 * The orchestrated device end to end, in network namespaces:
 *
 *   app 203.0.113.10 ── gw (wireguard-go gateway, the orchestrator's address 198.51.100.1:8443)
 *                        ├── devA 192.168.61.2   (warpc enroll + warpc up, no folder)
 *                        └── devB 192.168.62.2
 *
 * The orchestrator is the stand-in of helpers/fake-orchestrator.ts (real HTTPS,
 * real Ed25519-signed compiled bundles), listening on a unix socket that a
 * forwarder inside the gateway namespace carries TCP to. Each device's agent
 * runs in its own mount and PID namespaces with its own /run/wireguard, as on
 * two machines: the two devices run the same bundle, so the same interface
 * name, and wireguard-go's UAPI socket path (and the runtime's check for a
 * wireguard-go of that name) is not per network namespace.
 *
 * Covered here (issue #14 point 4): both enroll with one token and get distinct
 * addresses (the app sees each device's own); the profile's peer is a bogus one,
 * so the tunnel works only because the registration's gateway peer wins; an
 * exclude added → both route it direct within 5 s with zero ping loss through
 * the tunnel; a tampered and a replayed older bundle are refused and the plan
 * stays; the orchestrator down 30 s and back → both keep working and pick up a
 * change made after; B revoked → B down and its namespace byte-exact as before
 * enrolment, the gateway (warpc gateway --orchestrator: the peer sync) has
 * dropped its peer, A unaffected; status shows orchestrator, id, version, last
 * check; the orchestrator outside the tunnel and `status --diff` without drift on
 * an enrolled device. Not here yet: DoH through the gateway, a custom profile selecting one
 * device (the stand-in serves one profile to all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicKeyOf } from '../../src/runtime/tunnel/keys.js';
import { describeE2E } from '../helpers/e2e.js';
import { NetnsPool, type Netns } from '../helpers/netns.js';
import { CLI, LOADER, netnsState, rootState, uniq } from '../runtime/helpers/topology.js';
import { startFakeOrchestrator, type FakeOrchestrator } from './helpers/fake-orchestrator.js';

const ADDR = { gw: '198.51.100.1', app: '203.0.113.10', gwApp: '203.0.113.1', tunnelGw: '100.96.0.1' } as const;
const BOGUS_PEER = Buffer.alloc(32, 3).toString('base64');

interface Device {
  name: 'A' | 'B';
  ns: Netns;
  eth: string;
  stateDir: string;
  root: string;
  agent: ChildProcess | null;
  log: string;
  exited: Promise<number | null> | null;
}

const FORWARDER = `
const net = require('net');
const [listen, port, path] = process.argv.slice(1);
net.createServer((c) => { const u = net.connect(path); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); }).listen(Number(port), listen, () => console.log('listening'));
`;
const APP = `require('http').createServer((q, s) => s.end('sees ' + q.socket.remoteAddress + '\\n')).listen(8080, '${ADDR.app}');`;

function profile(ifname: string, extraExcludes: string[] = []): string {
  return `version: 1
name: fleet
service_mode: warp_tunnel_only
split_tunnel:
  mode: exclude
  entries:
    - { address: 10.0.0.0/8 }
    - { address: 172.16.0.0/12 }
    - { address: 192.168.0.0/16 }
${extraExcludes.map((a) => `    - { address: ${a}, description: added by the admin }\n`).join('')}tunnel: { endpoint: "192.0.2.1:2408", peer_public_key: "${BOGUS_PEER}" }
targets:
  linux: { interface: ${ifname} }
`;
}

describeE2E('the orchestrated agent (namespaces)', ['ip', 'nft', 'wireguard-go', 'wg', 'curl', 'ping', 'unshare', 'mount'], () => {
  let pool: NetnsPool;
  let tmp: string;
  let gw: Netns;
  let app: Netns;
  let orch: FakeOrchestrator;
  let forwarder: ChildProcess | null = null;
  let gwIf: string;
  let devIf: string;
  const devices: Device[] = [];
  let hostBefore: Record<string, string>;
  let beforeB: Record<string, string>;
  let gwLog = '';

  const startForwarder = async (): Promise<void> => {
    forwarder = gw.spawn(process.execPath, ['-e', FORWARDER, ADDR.gw, '8443', join(tmp, 'orch.sock')]);
    let out = '';
    forwarder.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('listening');
  };

  /** `warpc ARGS` in a device's network namespace and fresh mount and PID namespaces (its own /run/wireguard and /proc). */
  const inDevice = (d: Device, args: readonly string[], env: Record<string, string> = {}): ChildProcess =>
    spawn('ip', ['netns', 'exec', d.ns.name, 'unshare', '-m', '-p', '-f', '--mount-proc', '--kill-child=SIGTERM', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=0700 tmpfs /run/wireguard && exec "$@"', 'sh', process.execPath, '--import', LOADER, CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const warpc = (d: Device, args: readonly string[]): Promise<{ code: number | null; out: string }> =>
    new Promise((res) => {
      const c = inDevice(d, args);
      let out = '';
      c.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      c.on('exit', (code) => res({ code, out }));
    });
  const state = (d: Device): Promise<Record<string, string>> => netnsState(d.ns);
  const curlApp = async (d: Device): Promise<string> => (await d.ns.tryRun('curl', ['-s', '-m', '3', `http://${ADDR.app}:8080/`])).stdout.trim();
  const status = async (d: Device): Promise<{ orchestration?: { bundle_version: number; registration_id: string; last_checked: string; orchestrator: string; revoked: unknown } }> => {
    const r = await warpc(d, ['status', '--state-dir', d.stateDir, '--format', 'json']);
    return JSON.parse(r.out.slice(r.out.indexOf('{'))) as never;
  };
  const until = async (what: string, check: () => Promise<boolean>, ms: number): Promise<number> => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await check()) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what}: not within ${ms} ms\n${devices.map((d) => `--- ${d.name}\n${d.log}`).join('\n')}`);
  };
  /** The gateway's WireGuard peers, as `wg show` lists them. */
  const gwPeers = async (): Promise<string[]> => (await gw.run('wg', ['show', gwIf, 'peers'])).stdout.split('\n').filter(Boolean);

  beforeAll(async () => {
    hostBefore = await rootState();
    pool = new NetnsPool();
    tmp = await mkdtemp(join(tmpdir(), 'warpc-orch-e2e-'));
    await chmod(tmp, 0o755);
    gw = await pool.create('gw');
    app = await pool.create('app');
    await gw.run('ip', ['addr', 'add', `${ADDR.gw}/32`, 'dev', 'lo']);
    await pool.link(gw, 'a0', [`${ADDR.gwApp}/24`], app, 'eth0', [`${ADDR.app}/24`]);
    await app.run('ip', ['route', 'add', 'default', 'via', ADDR.gwApp]);
    await gw.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const [name, n] of [['A', 61], ['B', 62]] as const) {
      const ns = await pool.create(`dev${name}`);
      await pool.link(gw, `d${name}`, [`192.168.${n}.1/24`], ns, 'eth0', [`192.168.${n}.2/24`]);
      await ns.run('ip', ['route', 'add', 'default', 'via', `192.168.${n}.1`]);
      const stateDir = join(tmp, `state-${name}`);
      const root = join(tmp, `root-${name}`);
      await mkdir(join(root, 'etc'), { recursive: true });
      devices.push({ name, ns, eth: `192.168.${n}.2`, stateDir, root, agent: null, log: '', exited: null });
    }
    // The gateway's WireGuard interface.
    gwIf = uniq('wgo');
    devIf = uniq('wqo');
    const gwKey = (await gw.run('wg', ['genkey'])).stdout.trim();
    const wgGo = gw.spawn('wireguard-go', ['-f', gwIf], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' } });
    for (let i = 0; i < 100 && (await gw.tryRun('ip', ['link', 'show', gwIf])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(wgGo.exitCode).toBeNull();
    await gw.run('sh', ['-c', `umask 077; printf '%s\\n' "$1" > "$2"; wg set ${gwIf} private-key "$2" listen-port 2408`, 'sh', gwKey, join(tmp, 'gw.key')]);
    await gw.run('ip', ['addr', 'add', `${ADDR.tunnelGw}/32`, 'dev', gwIf]);
    await gw.run('ip', ['link', 'set', gwIf, 'up']);
    await gw.run('ip', ['route', 'add', '100.96.0.0/24', 'dev', gwIf]);
    app.spawn(process.execPath, ['-e', APP]);
    orch = await startFakeOrchestrator({ path: join(tmp, 'orch.sock'), publicUrl: `https://${ADDR.gw}:8443`, gatewayPeer: { public_key: publicKeyOf(gwKey), endpoint: `${ADDR.gw}:2408` } });
    orch.publish(profile(devIf));
    await startForwarder();
    // The reference gateway's peer sync: the interface's peers follow the orchestrator's devices.
    const gwSync = gw.spawn(process.execPath, ['--import', LOADER, CLI, 'gateway', '--orchestrator', orch.url, '--token', orch.gatewayToken, '--interface', gwIf, '--pin', orch.tlsPin, '--state-dir', join(tmp, 'gw-state')], { env: { ...process.env, WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' } });
    gwSync.stderr?.on('data', (b: Buffer) => (gwLog += b.toString()));
  }, 120_000);

  afterAll(async () => {
    for (const d of devices) {
      if (d.agent && d.agent.exitCode === null) {
        d.agent.kill('SIGTERM');
        await Promise.race([d.exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
    }
    await orch?.close();
    await pool?.cleanup();
    await rm(`/var/run/wireguard/${gwIf}.sock`, { force: true });
    if (tmp) await rm(tmp, { recursive: true, force: true });
    expect(await rootState()).toEqual(hostBefore);
  }, 60_000);

  it('two devices enroll with one token, get distinct addresses, and reach the app through the tunnel with the registration\'s peer', async () => {
    beforeB = await state(devices[1]!);
    for (const d of devices) {
      const r = await warpc(d, ['enroll', orch.url, '--token', orch.enrollToken, '--state-dir', d.stateDir]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/trusting the orchestrator's certificate on first use/);
    }
    const regs = await Promise.all(devices.map(async (d) => JSON.parse(await readFile(join(d.stateDir, 'registration.json'), 'utf8')) as { id: string; addresses: { v4: string } }));
    expect(regs[0]!.addresses.v4).not.toBe(regs[1]!.addresses.v4);
    await until('the gateway has both devices as peers', async () => (await gwPeers()).length === 2, 20_000);
    expect(gwLog).toMatch(/peers of \S+ at version \d+: 1 added/);
    for (const d of devices) {
      const c = inDevice(d, ['up', '--state-dir', d.stateDir, '--root', d.root], { WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' });
      d.agent = c;
      c.stdout?.on('data', (b: Buffer) => (d.log += b.toString()));
      c.stderr?.on('data', (b: Buffer) => (d.log += b.toString()));
      d.exited = new Promise((r) => c.on('exit', (code) => r(code)));
    }
    for (const [i, d] of devices.entries()) {
      // Generous: two agents start at once on a shared machine (TypeScript through the test loader).
      await until(`device ${d.name} reaches the app through the tunnel`, async () => (await curlApp(d)) === `sees ${regs[i]!.addresses.v4}`, 120_000);
      expect(d.log).toMatch(/bundle 1 verified/);
      const s = await status(d);
      expect(s.orchestration).toMatchObject({ orchestrator: orch.url, registration_id: regs[i]!.id, bundle_version: 1, revoked: null });
      expect(Date.parse(s.orchestration!.last_checked)).toBeGreaterThan(Date.now() - 60_000);
      // The orchestrator (and the gateway, the same address here) stays outside the tunnel whatever the profile says.
      expect((await d.ns.run('ip', ['-4', 'route', 'get', ADDR.gw])).stdout).toMatch(/dev eth0/);
      expect((await d.ns.run('ip', ['-4', 'route', 'get', '198.51.100.2'])).stdout).toMatch(new RegExp(`dev ${devIf}`));
      // status --diff compares against the plan as the device runs it (the override the journal records): no drift.
      const diff = await warpc(d, ['status', '--diff', '--state-dir', d.stateDir]);
      expect(diff.code, diff.out).toBe(0);
    }
  }, 300_000);

  it('an exclude added by the admin: both devices route it direct within 5 s, with zero ping loss through the tunnel', async () => {
    const pings = devices.map((d) => d.ns.run('ping', ['-q', '-i', '0.05', '-c', '160', '-W', '1', ADDR.tunnelGw], { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 1000));
    orch.publish(profile(devIf, ['203.0.113.0/24']));
    const took = await Promise.all(devices.map((d) => until(`device ${d.name} routes the app direct`, async () => (await curlApp(d)) === `sees ${d.eth}`, 5000)));
    for (const p of await Promise.all(pings)) expect(p.stdout).toMatch(/160 packets transmitted, 160 received, 0% packet loss/);
    for (const d of devices) {
      expect(d.log).toMatch(/now running bundle 2/);
      expect(d.log).not.toMatch(/tunnel .* up .*\n[\s\S]*tunnel .* up/); // no tunnel teardown: one "tunnel up" line
    }
    expect(Math.max(...took)).toBeLessThan(5000);
  }, 90_000);

  it('a tampered bundle and a replayed older one are refused; the devices keep their plan', async () => {
    orch.mangle = (r) => {
      const files = { ...r.files };
      const b = Buffer.from(files['linux/routes4.batch']!, 'base64');
      b[b.length - 2] = (b[b.length - 2] as number) ^ 1;
      files['linux/routes4.batch'] = b.toString('base64');
      return { ...r, files };
    };
    orch.publish(profile(devIf, ['203.0.113.0/24', '198.18.0.0/24']));
    await until('both refuse the tampered bundle', async () => devices.every((d) => /WARPC0240: bundle refused: file linux\/routes4.batch/.test(d.log)), 15_000);
    orch.mangle = (_r, dev) => orch.bundleFor(dev.id, 1);
    orch.publish(profile(devIf, ['203.0.113.0/24', '198.18.0.0/24']));
    await until('both refuse the replayed bundle', async () => devices.every((d) => /WARPC0238: bundle refused: version 1 is older than version 2/.test(d.log)), 15_000);
    for (const d of devices) {
      expect((await status(d)).orchestration?.bundle_version).toBe(2);
      expect(await curlApp(d)).toBe(`sees ${d.eth}`);
    }
    expect((await Promise.all(devices.map((d) => d.ns.run('ip', ['-4', 'route', 'get', '198.18.0.1'])))).map((r) => r.stdout)).toEqual(expect.arrayContaining([expect.stringContaining(`dev ${devIf}`)]));
    // The honest bundle 4 (the same profile) is taken as soon as it is served unmangled.
    orch.mangle = null;
    await until('both take bundle 4', async () => devices.every((d) => /now running bundle 4/.test(d.log)), 15_000);
    for (const d of devices) expect((await d.ns.run('ip', ['-4', 'route', 'get', '198.18.0.1'])).stdout).toMatch(/dev eth0/);
  }, 60_000);

  it('the orchestrator down for 30 s and back: both keep working, then pick up a change made after the restart', async () => {
    forwarder?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 30_000));
    for (const d of devices) {
      expect(await curlApp(d)).toBe(`sees ${d.eth}`);
      expect((await d.ns.tryRun('ping', ['-c', '1', '-W', '2', ADDR.tunnelGw])).code).toBe(0);
      expect(d.log).toMatch(/WARPC0244: the orchestrator at https:\/\/198.51.100.1:8443 is unreachable .*keeping bundle/);
    }
    await startForwarder();
    orch.publish(profile(devIf)); // the exclude goes again
    for (const d of devices) await until(`device ${d.name} back through the tunnel`, async () => (await curlApp(d)).startsWith('sees 100.96.0.'), 20_000);
  }, 90_000);

  it('device B revoked: B goes down and its namespace is byte-exact as before enrolment; A is unaffected', async () => {
    const [a, b] = devices as [Device, Device];
    const id = (JSON.parse(await readFile(join(b.stateDir, 'registration.json'), 'utf8')) as { id: string }).id;
    orch.revoke(id);
    const code = await Promise.race([b.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, b.log).toBe(1);
    expect(b.log).toMatch(/WARPC0243: the orchestrator at https:\/\/198.51.100.1:8443 no longer accepts registration/);
    expect(await state(b)).toEqual(beforeB);
    await until('the gateway drops B', async () => !(await gwPeers()).includes(orch.devices.get(id)!.key), 15_000);
    expect(await gwPeers()).toEqual([[...orch.devices.values()].find((x) => x.id !== id)!.key]);
    expect(gwLog).toMatch(/0 added, 0 updated, 1 removed/);
    const s = await status(b);
    expect(s.orchestration?.revoked).toMatchObject({ status: 401 });
    expect((await warpc(b, ['status', '--state-dir', b.stateDir])).out).toMatch(/revoked\s+at .* \(HTTP 401\): the device was brought down and restored/);
    expect((await curlApp(a)).startsWith('sees 100.96.0.')).toBe(true);
    expect(a.agent?.exitCode).toBeNull();
  }, 60_000);
});
