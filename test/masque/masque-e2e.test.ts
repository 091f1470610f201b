/**
 * MASQUE end to end, in namespaces (the runtime e2e topology, test/runtime/helpers/topology.ts):
 * `warpc gateway --masque-listen` on the gateway forwards to the app through its own TUN;
 * `warpc up` on the device runs the MASQUE client on a TUN it opens itself. The router,
 * standing in for the device's physical network, drops every UDP packet from the device
 * (so WireGuard cannot work there) and counts what the device sends (leaks).
 */
import { type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../../src/runtime/masque/cert.js';
import { describeE2E } from '../helpers/e2e.js';
import { ADDR, addDevicePeer, buildTopology, CLI, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, LOADER, profileYaml, rootState, startAgent, uniq, warpc, type Agent, type Topology } from '../runtime/helpers/topology.js';

/** The e2e profile with a MASQUE tunnel to the gateway in place of WireGuard (the profile field of issue #15). */
function masqueProfile(t: Topology, pin: string): string {
  const yaml = profileYaml(t);
  const line = /^tunnel: .*$/m;
  if (!line.test(yaml)) throw new Error('the e2e profile has no tunnel line');
  return yaml.replace(line, `tunnel: { protocol: masque, endpoint: "${ADDR.gw}:443", peer_public_key: "${pin}", sni: zt-masque.cloudflareclient.com }`);
}

const COUNTERS = ['tunnel_bound', 'icmp_out', 'masque', 'udp_dropped', 'other_out'] as const;

describeE2E('MASQUE over HTTP/2 end to end (namespaces, warpc gateway, warpc up)', E2E_TOOLS, () => {
  let t: Topology;
  let rootBefore: Record<string, string>;
  let gateway: ChildProcess;
  let gatewayLog = '';
  let gwState: string;
  let gwTun: string;
  let clientsFile: string;
  let pin: string;
  let wgDir: string;
  let agent: Agent;
  let root: string;
  let stateDir: string;
  let before: Record<string, string>;

  const counter = async (name: string): Promise<number> => Number(/packets (\d+)/.exec((await t.rtr.run('nft', ['list', 'counter', 'inet', 'uplink', name])).stdout)?.[1] ?? NaN);
  const status = async (dir = stateDir): Promise<Record<string, unknown>> => JSON.parse((await warpc(t.dev, ['status', '--state-dir', dir, '--format', 'json'])).stdout) as Record<string, unknown>;
  const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n--- agent:\n${agent?.log()}\n--- gateway:\n${gatewayLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  async function startGateway(): Promise<void> {
    const mark = gatewayLog.length;
    gateway = t.gw.spawn(process.execPath, ['--import', LOADER, CLI, 'gateway', '--masque-listen', `${ADDR.gw}:443`, '--masque-clients', clientsFile, '--state-dir', gwState, '--tun', gwTun]);
    gateway.stderr?.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    gateway.stdout?.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    const end = Date.now() + 20_000;
    while (!gatewayLog.slice(mark).includes('listening on')) {
      if (gateway.exitCode !== null || Date.now() > end) throw new Error(`warpc gateway did not start:\n${gatewayLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function stopGateway(): Promise<void> {
    if (gateway.exitCode !== null || gateway.signalCode !== null) return;
    const exited = new Promise((r) => gateway.once('exit', r));
    // The child is `ip netns exec … node`: ip execs node, so this PID is the gateway itself.
    process.kill(gateway.pid as number, 'SIGTERM');
    await exited;
  }

  beforeAll(async () => {
    rootBefore = await rootState();
    t = await buildTopology();
    // The device's uplink, seen from the router: UDP from the device is dropped; the rest is counted.
    await t.rtr.run('nft', ['-f', '-'], {
      input: `table inet uplink {
  ${COUNTERS.map((c) => `counter ${c} {}`).join('\n  ')}
  chain from_device {
    type filter hook forward priority -10; policy accept;
    iifname "d0" ip daddr 203.0.113.0/24 counter name tunnel_bound
    iifname "d0" meta l4proto icmp counter name icmp_out
    iifname "d0" ip daddr ${ADDR.gw} tcp dport 443 counter name masque accept
    iifname "d0" meta l4proto udp counter name udp_dropped drop
    iifname "d0" counter name other_out
  }
}
`,
    });
    gwState = join(t.tmp, 'gw-state');
    gwTun = uniq('mqg');
    clientsFile = join(t.tmp, 'masque-clients');
    ({ root, stateDir } = await freshRoot(t, 'masque'));
    // The device's MASQUE key, as warpc up would create it, registered with the gateway.
    const device = await loadOrCreateIdentity(stateDir, { usage: 'client' });
    await writeFile(clientsFile, `# registered MASQUE clients\nsha256/${device.pin} ${ADDR.tunnelDev}/32 e2e-device\n`);
    await startGateway();
    pin = (await readFile(join(gwState, 'masque.pin'), 'utf8')).trim();
    wgDir = await compileProfile(t, profileYaml(t), 'out-wg');
  });

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) await warpc(t.dev, ['down', '--state-dir', agent.stateDir ?? stateDir]);
    await destroyTopology(t);
  });

  it('UDP blocked on the uplink: WireGuard cannot bring its tunnel up', async () => {
    const wg = await freshRoot(t, 'wg');
    agent = await startAgent(t, ['up', wgDir, '--state-dir', wg.stateDir, '--root', wg.root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    const st = await status(wg.stateDir);
    await expect(addDevicePeer(t, st['public_key'] as string)).rejects.toThrow(/did not come up/);
    expect(await counter('udp_dropped')).toBeGreaterThan(0);
    expect((await warpc(t.dev, ['down', '--state-dir', wg.stateDir])).code).toBe(0);
    await agent.exited;
  }, 90_000);

  it('a profile with tunnel.protocol: masque compiles and runs with warpc up; status shows protocol, session, counters', async () => {
    const dir = await compileProfile(t, masqueProfile(t, pin), 'out-masque');
    before = await deviceState(t, root);
    agent = await startAgent(t, ['up', dir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    await until('a MASQUE session', async () => (await status())['session_state'] === 'connected');
    const s = await status();
    expect(s).toMatchObject({ protocol: 'masque', tunnel_backend: 'masque', session_state: 'connected', reconnects: 0, endpoint: `${ADDR.gw}:443` });
    expect(s['public_key']).toMatch(/^sha256\//);
    const text = (await warpc(t.dev, ['status', '--state-dir', stateDir])).stdout;
    expect(text).toMatch(/protocol\s+masque/);
    expect(text).toMatch(/session\s+connected; 0 reconnects/);
    expect((await t.dev.run('ip', ['-o', 'link', 'show', t.devIf])).stdout).toMatch(/mtu 1280/);
    expect(gatewayLog).toMatch(/MASQUE session from .*: e2e-device/);
  });

  it('ping and a TCP transfer reach the app through MASQUE', async () => {
    expect((await t.dev.run('ping', ['-c', '3', '-i', '0.2', '-W', '2', ADDR.app])).stdout).toMatch(/3 received/);
    expect((await t.dev.run('curl', ['-s', '-m', '5', `http://${ADDR.app}:8080/`])).stdout).toBe(`app 8080 sees ${ADDR.tunnelDev}\n`);
    // 4 MB from the app: a real TCP transfer, checked byte for byte by its digest.
    const big = t.app.spawn(process.execPath, ['-e', `require('http').createServer((q,s)=>{const b=Buffer.alloc(4<<20);for(let i=0;i<b.length;i++)b[i]=i*7%251;s.end(b)}).listen(8090,'${ADDR.app}')`]);
    await until('app 8090', async () => (await t.app.tryRun('curl', ['-s', '-o', '/dev/null', '-m', '1', `http://${ADDR.app}:8090/`])).code === 0);
    const got = await t.dev.run('sh', ['-c', `curl -s -m 20 http://${ADDR.app}:8090/ | sha256sum`]);
    const want = await t.app.run('sh', ['-c', `curl -s -m 20 http://${ADDR.app}:8090/ | sha256sum`]);
    expect(got.stdout).toBe(want.stdout);
    big.kill('SIGTERM');
    const s = await status();
    expect(Number(s['packets_rx'])).toBeGreaterThan(2000);
    expect(Number(s['transfer_rx'])).toBeGreaterThan(4 << 20);
    expect(await counter('masque')).toBeGreaterThan(0);
  });

  it('DNS resolves through DoH inside the tunnel, and the gateway policy applies', async () => {
    expect((await t.dev.run('dig', ['+short', '+time=3', '+tries=1', '@127.0.2.2', 'app.example.com'])).stdout.trim()).toBe(ADDR.app);
    expect((await t.dev.tryRun('dig', ['+time=3', '+tries=1', '@127.0.2.2', 'blocked.example.com'])).stdout).toMatch(/status: NXDOMAIN/);
  });

  it('leak guard: a socket bound to eth0 cannot reach a tunnel destination; nothing tunnel-bound left the device', async () => {
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '1', '-I', 'eth0', ADDR.app])).code).not.toBe(0);
    expect((await t.dev.tryRun('curl', ['-s', '-m', '2', '--interface', 'eth0', `http://${ADDR.app}:8080/`])).code).not.toBe(0);
    expect(await counter('tunnel_bound')).toBe(0);
    expect(await counter('icmp_out')).toBe(0);
  });

  it('the gateway restarts: the client reconnects, traffic resumes, and nothing leaked meanwhile', async () => {
    const pinger = t.dev.spawn('ping', ['-i', '0.1', '-W', '1', ADDR.app]);
    await stopGateway();
    await until('the client to notice', async () => (await status())['session_state'] !== 'connected');
    await new Promise((r) => setTimeout(r, 1500)); // pings into the tunnel while it is down
    const down = await status();
    expect(Number(down['dropped_packets'])).toBeGreaterThan(0);
    await startGateway();
    await until('a reconnect', async () => (await status())['session_state'] === 'connected');
    expect((await t.dev.run('curl', ['-s', '-m', '5', `http://${ADDR.app}:8080/`])).stdout).toBe(`app 8080 sees ${ADDR.tunnelDev}\n`);
    pinger.kill('SIGTERM');
    const s = await status();
    expect(Number(s['reconnects'])).toBeGreaterThanOrEqual(1);
    // The uplink saw only the MASQUE connection: no ping, no packet to the app.
    expect(await counter('tunnel_bound')).toBe(0);
    expect(await counter('icmp_out')).toBe(0);
  }, 90_000);

  it('warpc down restores the device byte for byte', async () => {
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code, agent.log()).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('a wrong server key: the client refuses the gateway, nothing reaches the app', async () => {
    const other = await loadOrCreateIdentity(join(t.tmp, 'not-the-gateway'), { usage: 'server' });
    const dir = await compileProfile(t, masqueProfile(t, `sha256/${other.pin}`), 'out-wrongpin');
    const sessions = (gatewayLog.match(/MASQUE session from/g) ?? []).length;
    agent = await startAgent(t, ['up', dir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    await until('a refusal', async () => /not the pinned/.test(String((await status())['last_error'])));
    expect((await t.dev.tryRun('curl', ['-s', '-m', '2', `http://${ADDR.app}:8080/`])).code).not.toBe(0);
    expect((await status())['session_state']).not.toBe('connected');
    expect((gatewayLog.match(/MASQUE session from/g) ?? []).length).toBe(sessions);
    expect(await counter('tunnel_bound')).toBe(0);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    await agent.exited;
  });

  it('an unregistered device key: the gateway refuses it with a log line naming the key', async () => {
    const dir = join(t.tmp, 'out-masque', 'linux');
    const other = await freshRoot(t, 'stranger');
    agent = await startAgent(t, ['up', dir, '--state-dir', other.stateDir, '--root', other.root, '--doh-ca', t.caPem]);
    await until('the refusal on the gateway', async () => /refused .*: client key sha256\/\S+ is not registered in/.test(gatewayLog));
    const devicePin = (await status(other.stateDir))['public_key'] as string;
    expect(gatewayLog).toContain(`client key ${devicePin} is not registered in ${clientsFile}`);
    expect((await t.dev.tryRun('curl', ['-s', '-m', '2', `http://${ADDR.app}:8080/`])).code).not.toBe(0);
    expect((await warpc(t.dev, ['down', '--state-dir', other.stateDir])).code).toBe(0);
    await agent.exited;
  });

  it('the root namespace was never touched', async () => {
    await stopGateway();
    expect(await rootState()).toEqual(rootBefore);
  });
});
