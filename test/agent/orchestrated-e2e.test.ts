/**
 * The orchestrated fleet end to end, in network namespaces, with the real parts:
 *
 *   app 203.0.113.10 ── gw: warpc orchestrator serve (SQLite) behind a test proxy on 198.51.100.1:8443,
 *                           warpc gateway (peer sync + DoH on 1.1.1.1 before dnsmasq), wireguard-go :2408
 *                        ├── devA 192.168.61.2   (warpc enroll + warpc up, no folder)
 *                        └── devB 192.168.62.2
 *
 * Every policy change goes through the orchestrator's admin API, as an admin's
 * would. The test proxy (helpers/tamper-proxy.ts) terminates TLS with the
 * orchestrator's own certificate and passes everything through, until told to
 * flip a byte of the bundles or replay an older one. Each device's agent runs in
 * its own mount and PID namespaces with its own /run/wireguard, as on two
 * machines: both run the default profile's interface name, and wireguard-go's
 * UAPI socket path is not per network namespace.
 *
 * Covered (issue #14 point 4): both enroll with one token and get distinct
 * addresses (the app sees each device's own); both reach the app through the
 * tunnel with the registration's gateway peer and resolve names through DoH at
 * the gateway (its block list answers NXDOMAIN); the orchestrator stays outside
 * the tunnel and `status --diff` finds no drift on an enrolled device; an exclude
 * added to the default profile → both route it direct within 5 s with zero ping
 * loss through the tunnel; a custom profile whose match selects one device (its
 * identity set by the admin) → only that device changes; a tampered and a
 * replayed older bundle are refused and the plan stays; the orchestrator stopped
 * for 30 s and restarted on the same SQLite file → both keep working and pick up
 * a change made after; B revoked → B down and its namespace byte-exact as before
 * enrolment, the gateway has dropped its peer, A unaffected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { certificate, derToPem } from '../../src/net/x509.js';
import { publicKeyOf } from '../../src/runtime/tunnel/keys.js';
import { describeE2E } from '../helpers/e2e.js';
import { NetnsPool, type Netns } from '../helpers/netns.js';
import { CLI, LOADER, netnsState, REPO, rootState, uniq } from '../runtime/helpers/topology.js';

const ADDR = { gw: '198.51.100.1', app: '203.0.113.10', gwApp: '203.0.113.1', tunnelGw: '100.96.0.1', doh: '1.1.1.1' } as const;
const ORCH = `https://${ADDR.gw}:8443`;
/** Where `serve` listens inside the gateway namespace; the test proxy forwards ORCH here. */
const UPSTREAM_PORT = 9443;
const ACCOUNT = `https://127.0.0.1:${UPSTREAM_PORT}/client/v4/accounts/e2e`;
const APP = `require('http').createServer((q, s) => s.end('sees ' + q.socket.remoteAddress + '\\n')).listen(8080, '${ADDR.app}');`;
const LANS = [{ address: '10.0.0.0/8' }, { address: '172.16.0.0/12' }, { address: '192.168.0.0/16' }];

interface Device {
  name: 'A' | 'B';
  ns: Netns;
  eth: string;
  stateDir: string;
  root: string;
  agent: ChildProcess | null;
  log: string;
  exited: Promise<number | null> | null;
  id: string;
}

describeE2E('the orchestrated fleet (namespaces, the real orchestrator)', ['ip', 'nft', 'wireguard-go', 'wg', 'curl', 'ping', 'dig', 'dnsdist', 'dnsmasq', 'unshare', 'nsenter', 'pgrep', 'mount'], () => {
  let pool: NetnsPool;
  let tmp: string;
  let gw: Netns;
  let app: Netns;
  let gwIf: string;
  let admin = '';
  let serve: ChildProcess | null = null;
  let serveLog = '';
  let proxy: ChildProcess;
  let proxyOut = '';
  let gwLog = '';
  const devices: Device[] = [];
  let hostBefore: Record<string, string>;
  let beforeB: Record<string, string>;
  const caFile = (): string => join(tmp, 'ca.pem');

  const cli = (ns: Netns, args: readonly string[], env: Record<string, string> = {}): ChildProcess => ns.spawn(process.execPath, ['--import', LOADER, CLI, ...args], { env: { ...process.env, ...env } });
  const startServe = async (): Promise<void> => {
    serve = cli(gw, ['orchestrator', 'serve', '--data', join(tmp, 'orch'), '--listen', `127.0.0.1:${UPSTREAM_PORT}`, '--tls-cert', join(tmp, 'orch-chain.pem'), '--tls-key', join(tmp, 'orch-key.pem'), '--pool-v4', '100.96.0.0/24', '--gateway-key', gwPub, '--gateway-endpoint', `${ADDR.gw}:2408`]);
    let out = '';
    serve.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    await until('the orchestrator listens', async () => /listening on https:\/\//.test(serveLog.split('stopping').pop() ?? ''), 60_000);
    // The first start prints the first admin token (stdout, before it listens); a restart prints none.
    if (admin === '') await until('the first admin token', async () => /^wpa_\S+\n/.test(out), 5000);
    if (admin === '') admin = out.trim().split('\n')[0]!;
  };
  let gwPub = '';
  /** One admin API call (inside the gateway namespace, straight to serve); the parsed envelope. */
  const api = async (method: string, path: string, body?: unknown): Promise<{ success: boolean; result: unknown; errors: unknown[] }> => {
    const r = await gw.run('curl', ['-sS', '--cacert', caFile(), '-X', method, '-H', `Authorization: Bearer ${admin}`, '-H', 'content-type: application/json', ...(body !== undefined ? ['--data-binary', '@-'] : []), `${ACCOUNT}${path}`], body !== undefined ? { input: JSON.stringify(body) } : {});
    const env = JSON.parse(r.stdout) as { success: boolean; result: unknown; errors: unknown[] };
    expect(env.success, `${method} ${path}: ${r.stdout}`).toBe(true);
    return env;
  };
  const tokenCreate = async (kind: 'enroll' | 'gateway', extra: string[] = []): Promise<string> => {
    const c = spawn(process.execPath, ['--import', LOADER, CLI, 'orchestrator', 'token', 'create', `--${kind}`, '--data', join(tmp, 'orch'), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => c.on('exit', r));
    expect(code).toBe(0);
    return out.trim();
  };
  const proxyMode = async (mode: 'pass' | 'flip' | 'replay'): Promise<void> => {
    const before = proxyOut.length;
    proxy.stdin?.write(`${mode}\n`);
    await until(`the proxy in mode ${mode}`, async () => proxyOut.slice(before).includes(`mode ${mode}`), 5000);
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
  /**
   * The agent's own process: the child unshare forked (ip netns exec and unshare exec in place).
   * Signals go to it: unshare --fork ignores SIGINT and SIGTERM while it waits for its child.
   */
  const agentPid = async (d: Device): Promise<number | null> => {
    const r = await d.ns.tryRun('pgrep', ['-P', String(d.agent?.pid ?? 0)]);
    const pid = Number(r.stdout.trim().split('\n')[0]);
    return r.code === 0 && pid > 0 ? pid : null;
  };
  /** `warpc ARGS` inside a running agent's namespaces (network, mount, PID): what an admin on that device would run. */
  const inAgent = async (d: Device, args: readonly string[]): Promise<{ code: number | null; out: string }> => {
    const pid = String(await agentPid(d));
    return new Promise((res) => {
      const c = spawn('nsenter', ['-t', pid, '-n', '-m', '-p', process.execPath, '--import', LOADER, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr.on('data', (b: Buffer) => (out += b.toString()));
      c.on('exit', (code) => res({ code, out }));
    });
  };
  const state = (d: Device): Promise<Record<string, string>> => netnsState(d.ns);
  const curlApp = async (d: Device): Promise<string> => (await d.ns.tryRun('curl', ['-s', '-m', '3', `http://${ADDR.app}:8080/`])).stdout.trim();
  const routeDev = async (d: Device, to: string): Promise<string> => /dev (\S+)/.exec((await d.ns.run('ip', ['-4', 'route', 'get', to])).stdout)?.[1] ?? '';
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
    const wgShow = (await gw.tryRun('wg', ['show', gwIf])).stdout;
    throw new Error(`${what}: not within ${ms} ms\n--- orchestrator\n${serveLog.slice(-3000)}\n--- gateway\n${gwLog.slice(-3000)}\n${wgShow}\n${devices.map((d) => `--- ${d.name}\n${d.log.slice(-6000)}`).join('\n')}`);
  };
  const gwPeers = async (): Promise<string[]> => (await gw.run('wg', ['show', gwIf, 'peers'])).stdout.split('\n').filter(Boolean);
  const dig = async (d: Device, name: string): Promise<string> => (await d.ns.tryRun('dig', ['+short', '+tries=1', '+time=3', '@127.0.2.2', name])).stdout.trim();
  const digStatus = async (d: Device, name: string): Promise<string> => /status: (\w+)/.exec((await d.ns.tryRun('dig', ['+tries=1', '+time=3', '@127.0.2.2', name])).stdout)?.[1] ?? '';

  beforeAll(async () => {
    hostBefore = await rootState();
    pool = new NetnsPool();
    tmp = await mkdtemp(join(tmpdir(), 'warpc-orch-e2e-'));
    await chmod(tmp, 0o755);
    gw = await pool.create('gw');
    app = await pool.create('app');
    await gw.run('ip', ['addr', 'add', `${ADDR.gw}/32`, 'dev', 'lo']);
    await gw.run('ip', ['addr', 'add', `${ADDR.doh}/32`, 'dev', 'lo']);
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
      await writeFile(join(root, 'etc', 'resolv.conf'), `# device ${name}'s own resolver\nnameserver 192.168.${n}.1\n`);
      devices.push({ name, ns, eth: `192.168.${n}.2`, stateDir, root, agent: null, log: '', exited: null, id: '' });
    }

    // One test CA: the orchestrator's certificate (its address) and the gateway DoH's (cloudflare-dns.com, the profile's default DoH name).
    const now = Date.now();
    const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const caPem = derToPem(certificate({ subjectKey: caKey, subject: 'e2e CA', issuerKey: caKey, issuer: 'e2e CA', notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86_400_000), ca: true }));
    await writeFile(caFile(), caPem);
    for (const [file, names] of [['orch', [ADDR.gw, '127.0.0.1']], ['doh', ['cloudflare-dns.com']]] as const) {
      const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const leaf = derToPem(certificate({ subjectKey: key, subject: names[0], issuerKey: caKey, issuer: 'e2e CA', notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86_400_000), usage: 'server', altNames: names }));
      await writeFile(join(tmp, `${file}-chain.pem`), leaf + caPem);
      await writeFile(join(tmp, `${file}-key.pem`), key.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    }

    // The gateway's WireGuard interface.
    gwIf = uniq('wgo');
    const gwKey = (await gw.run('wg', ['genkey'])).stdout.trim();
    gwPub = publicKeyOf(gwKey);
    const wgGo = gw.spawn('wireguard-go', ['-f', gwIf], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' } });
    for (let i = 0; i < 100 && (await gw.tryRun('ip', ['link', 'show', gwIf])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(wgGo.exitCode).toBeNull();
    await gw.run('sh', ['-c', `umask 077; printf '%s\\n' "$1" > "$2"; wg set ${gwIf} private-key "$2" listen-port 2408`, 'sh', gwKey, join(tmp, 'gw.key')]);
    await gw.run('ip', ['addr', 'add', `${ADDR.tunnelGw}/32`, 'dev', gwIf]);
    await gw.run('ip', ['link', 'set', gwIf, 'up']);
    await gw.run('ip', ['route', 'add', '100.96.0.0/24', 'dev', gwIf]);
    app.spawn(process.execPath, ['-e', APP]);

    // The gateway's real resolver (dnsmasq) and the names the devices look up.
    gw.spawn('dnsmasq', ['-k', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', '--port=5301', '--pid-file=', '--user=root', '--local-ttl=30', `--host-record=app.example.com,${ADDR.app}`, '--host-record=ads.example.com,203.0.113.99']);
    await writeFile(join(tmp, 'blocked.txt'), '# the gateway block list\nads.example.com\n');

    // The orchestrator, the proxy in front of it, and the fleet's first policy.
    await startServe();
    expect(admin).toMatch(/^wpa_/);
    proxy = gw.spawn(process.execPath, ['--import', LOADER, join(REPO, 'test/agent/helpers/tamper-proxy.ts'), ADDR.gw, '8443', String(UPSTREAM_PORT), join(tmp, 'orch-chain.pem'), join(tmp, 'orch-key.pem')], { stdio: ['pipe', 'pipe', 'pipe'] });
    proxy.stdout?.on('data', (d: Buffer) => (proxyOut += d.toString()));
    await until('the proxy listens', async () => proxyOut.includes('listening'), 30_000);
    await api('PUT', '/devices/policy/exclude', LANS);

    // The reference gateway: peer sync (through the proxy, as any client of the orchestrator) and DoH.
    const gwToken = await tokenCreate('gateway');
    const gwSync = cli(gw, ['gateway', '--orchestrator', ORCH, '--token', gwToken, '--interface', gwIf, '--ca', caFile(), '--state-dir', join(tmp, 'gw-state'), '--doh-listen', `${ADDR.doh}:443`, '--doh-upstream', '127.0.0.1:5301', '--block-list', join(tmp, 'blocked.txt'), '--doh-cert', join(tmp, 'doh-chain.pem'), '--doh-key', join(tmp, 'doh-key.pem')], { WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' });
    gwSync.stderr?.on('data', (b: Buffer) => (gwLog += b.toString()));
  }, 180_000);

  afterAll(async () => {
    for (const d of devices) {
      if (d.agent && d.agent.exitCode === null) {
        const pid = await agentPid(d);
        if (pid !== null) process.kill(pid, 'SIGTERM'); // the agent restores its device and exits; unshare follows
        await Promise.race([d.exited, new Promise((r) => setTimeout(r, 15_000))]);
        expect(d.agent.exitCode, `device ${d.name}'s agent stops on SIGTERM`).toBe(0);
      }
    }
    await pool?.cleanup();
    await rm(`/var/run/wireguard/${gwIf}.sock`, { force: true });
    if (tmp) await rm(tmp, { recursive: true, force: true });
    expect(await rootState()).toEqual(hostBefore);
  }, 60_000);

  it('two devices enroll with one token, get distinct addresses, reach the app through the tunnel with the registration\'s peer, and resolve through the gateway\'s DoH', async () => {
    beforeB = await state(devices[1]!);
    const enrollToken = await tokenCreate('enroll', ['--uses', '2']);
    for (const d of devices) {
      const r = await warpc(d, ['enroll', ORCH, '--token', enrollToken, '--ca', caFile(), '--state-dir', d.stateDir]);
      expect(r.code, r.out).toBe(0);
    }
    const regs = await Promise.all(devices.map(async (d) => JSON.parse(await readFile(join(d.stateDir, 'registration.json'), 'utf8')) as { id: string; addresses: { v4: string } }));
    devices.forEach((d, i) => (d.id = regs[i]!.id));
    expect(regs[0]!.addresses.v4).not.toBe(regs[1]!.addresses.v4);
    await until('the gateway has both devices as peers', async () => (await gwPeers()).length === 2, 20_000);
    expect(gwLog).toMatch(/peers of \S+ at version \d+: 1 added/);
    for (const d of devices) {
      const c = inDevice(d, ['up', '--state-dir', d.stateDir, '--root', d.root, '--doh-ca', caFile()], { WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' });
      d.agent = c;
      c.stdout?.on('data', (b: Buffer) => (d.log += b.toString()));
      c.stderr?.on('data', (b: Buffer) => (d.log += b.toString()));
      d.exited = new Promise((r) => c.on('exit', (code) => r(code)));
    }
    for (const [i, d] of devices.entries()) {
      // Generous: two agents start at once on a shared machine (TypeScript through the test loader).
      await until(`device ${d.name} reaches the app through the tunnel`, async () => (await curlApp(d)) === `sees ${regs[i]!.addresses.v4}`, 120_000);
      expect(d.log).toMatch(/bundle \d+ verified/);
      const s = await status(d);
      expect(s.orchestration).toMatchObject({ orchestrator: ORCH, registration_id: regs[i]!.id, revoked: null });
      expect(s.orchestration!.bundle_version).toBeGreaterThan(0);
      expect(Date.parse(s.orchestration!.last_checked)).toBeGreaterThan(Date.now() - 60_000);
      expect(await routeDev(d, ADDR.doh)).toBe('CloudflareWARP');
      // DNS: the proxy asks the gateway's DoH (1.1.1.1, through the tunnel); its block list answers NXDOMAIN.
      await until(`device ${d.name} resolves through DoH`, async () => (await dig(d, 'app.example.com')) === ADDR.app, 20_000);
      expect(await digStatus(d, 'ads.example.com')).toBe('NXDOMAIN');
      expect(await digStatus(d, 'tracker.ads.example.com')).toBe('NXDOMAIN');
      // The orchestrator (and the gateway endpoint, the same address here) stays outside the tunnel whatever the profile says.
      expect(await routeDev(d, ADDR.gw)).toBe('eth0');
      expect(await routeDev(d, '198.51.100.2')).toBe('CloudflareWARP');
      // status --diff compares against the plan as the device runs it (the override the journal records): no drift.
      const diff = await inAgent(d, ['status', '--diff', '--state-dir', d.stateDir]);
      expect(diff.code, diff.out).toBe(0);
    }
    const shown = (await api('GET', `/devices/${devices[1]!.id}`)).result as { bundle: { version: number; applied: number } };
    expect(shown.bundle).toBeDefined();
  }, 300_000);

  it('an exclude added to the default profile: both devices route it direct within 5 s, with zero ping loss through the tunnel', async () => {
    const pings = devices.map((d) => d.ns.run('ping', ['-q', '-i', '0.05', '-c', '160', '-W', '1', ADDR.tunnelGw], { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 1000));
    await api('PUT', '/devices/policy/exclude', [...LANS, { address: '203.0.113.0/24', description: 'added by the admin' }]);
    const took = await Promise.all(devices.map((d) => until(`device ${d.name} routes the app direct`, async () => (await curlApp(d)) === `sees ${d.eth}`, 5000)));
    for (const p of await Promise.all(pings)) expect(p.stdout).toMatch(/160 packets transmitted, 160 received, 0% packet loss/);
    for (const d of devices) expect(d.log).not.toMatch(/tunnel .* up .*\n[\s\S]*tunnel .* up/); // no tunnel teardown: one "tunnel up" line
    expect(Math.max(...took)).toBeLessThan(5000);
  }, 90_000);

  it('a custom profile whose match selects device B (its identity, set by the admin) changes only B', async () => {
    const [a, b] = devices as [Device, Device];
    const versionA = (await status(a)).orchestration!.bundle_version;
    await api('PATCH', `/devices/${b.id}`, { identity: { email: 'bob@example.com' } });
    const prof = (await api('POST', '/devices/policy', { name: 'Bob', match: 'identity.email == "bob@example.com"', precedence: 10, exclude: [...LANS, { address: '203.0.113.0/24' }, { address: '198.18.0.0/24', description: "Bob's lab" }] })).result as { policy_id: string };
    expect(prof.policy_id).toBeTruthy();
    await until('B routes 198.18.0.0/24 direct', async () => (await routeDev(b, '198.18.0.1')) === 'eth0', 10_000);
    await new Promise((r) => setTimeout(r, 2000)); // A had as long to change, and must not
    expect(await routeDev(a, '198.18.0.1')).toBe('CloudflareWARP');
    expect((await status(a)).orchestration!.bundle_version).toBe(versionA);
    expect((await api('GET', `/devices/${b.id}`)).result).toMatchObject({ identity: { email: 'bob@example.com' } });
  }, 60_000);

  it('a tampered bundle and a replayed older one are refused; the devices keep their plan', async () => {
    const versions = await Promise.all(devices.map(async (d) => (await status(d)).orchestration!.bundle_version));
    await proxyMode('flip');
    await api('PUT', '/devices/policy/exclude', [...LANS, { address: '203.0.113.0/24' }, { address: '198.19.0.0/24' }]);
    await until('A refuses the tampered bundle', async () => /WARPC0240: bundle refused: file linux\/routes4.batch/.test(devices[0]!.log), 30_000);
    await proxyMode('replay');
    await api('PUT', '/devices/policy/exclude', [...LANS, { address: '203.0.113.0/24' }, { address: '198.19.0.0/25' }]);
    await until('A refuses the replayed bundle', async () => /WARPC0238: bundle refused: version \d+ is older than version \d+/.test(devices[0]!.log), 30_000);
    expect((await status(devices[0]!)).orchestration?.bundle_version).toBe(versions[0]);
    expect(await routeDev(devices[0]!, '198.19.0.1')).toBe('CloudflareWARP');
    for (const d of devices) expect(await curlApp(d)).toBe(`sees ${d.eth}`);
    // The honest bundle is taken as soon as it is served unchanged.
    await proxyMode('pass');
    await until('A takes the honest bundle', async () => (await routeDev(devices[0]!, '198.19.0.1')) === 'eth0', 30_000);
    expect((await status(devices[0]!)).orchestration!.bundle_version).toBeGreaterThan(versions[0]!);
  }, 150_000);

  it('the orchestrator stopped for 30 s and restarted on the same SQLite file: both keep working, then pick up a change made after the restart', async () => {
    serve?.kill('SIGTERM');
    await until('the orchestrator stops', async () => serve?.exitCode !== null, 10_000);
    await new Promise((r) => setTimeout(r, 30_000));
    for (const d of devices) {
      expect(await curlApp(d)).toBe(`sees ${d.eth}`);
      expect((await d.ns.tryRun('ping', ['-c', '1', '-W', '2', ADDR.tunnelGw])).code).toBe(0);
      expect(await dig(d, 'app.example.com')).toBe(ADDR.app);
      expect(d.log).toMatch(/WARPC0244: the orchestrator at https:\/\/198.51.100.1:8443 is unreachable .*keeping bundle/);
    }
    await startServe();
    // The exclude goes again (B's custom profile keeps it: only A goes back through the tunnel).
    await api('PUT', '/devices/policy/exclude', LANS);
    await until('device A back through the tunnel', async () => (await curlApp(devices[0]!)).startsWith('sees 100.96.0.'), 20_000);
    expect(await curlApp(devices[1]!)).toBe(`sees ${devices[1]!.eth}`);
  }, 120_000);

  it('device B revoked: B goes down and its namespace is byte-exact as before enrolment; the gateway drops it; A is unaffected', async () => {
    const [a, b] = devices as [Device, Device];
    await api('POST', '/devices/revoke', [b.id]);
    const code = await Promise.race([b.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, b.log).toBe(1);
    expect(b.log).toMatch(/WARPC0243: the orchestrator at https:\/\/198.51.100.1:8443 no longer accepts registration/);
    expect(await state(b)).toEqual(beforeB);
    await until('the gateway drops B', async () => (await gwPeers()).length === 1, 15_000);
    const aKey = JSON.parse(await readFile(join(a.stateDir, 'registration.json'), 'utf8')) as { id: string };
    expect(((await api('GET', '/devices')).result as { id: string }[]).map((x) => x.id)).toEqual([aKey.id]);
    expect(gwLog).toMatch(/0 added, 0 updated, 1 removed/);
    const s = await status(b);
    expect(s.orchestration?.revoked).toMatchObject({ status: expect.any(Number) });
    expect((await warpc(b, ['status', '--state-dir', b.stateDir])).out).toMatch(/revoked\s+at .* \(HTTP 40[14]\): the device was brought down and restored/);
    expect((await curlApp(a)).startsWith('sees 100.96.0.')).toBe(true);
    expect(a.agent?.exitCode).toBeNull();
  }, 60_000);
});
