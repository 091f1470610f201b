/**
 * The end-to-end topology (all inside throwaway namespaces from NetnsPool):
 *
 *   app 203.0.113.10 ── gw (wireguard-go peer, dnsdist DoH on 203.0.113.53, nft firewall)
 *                          │ 198.51.100.1  (WireGuard endpoint :2408)
 *   corp 10.10.0.53 ──── rtr (the device's physical network; 198.18.0.1 and 198.19.0.7 on lo)
 *   (dnsmasq)              │ 192.168.50.1
 *                         dev 192.168.50.2 (eth0)  ← warpc up runs here
 *
 * The profile: exclude mode with the defaults plus 198.18.0.0/24, a host entry
 * `*.cdn.example.com` (direct), DoH through the tunnel to the gateway, fallback
 * `corp.example.net` → 10.10.0.53 (direct path: 10/8 is excluded) and
 * `lan.example.net` without servers (the device's previous resolver, also 10.10.0.53).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile, chmod, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { NetnsPool, type Netns } from '../../helpers/netns.js';

const execFileP = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '../../..');
export const LOADER = join(REPO, 'test/runtime/helpers/ts-loader.mjs');
export const CLI = join(REPO, 'src/cli/main.ts');

/** Debian packages (commands) the privileged runtime tests need. */
export const E2E_TOOLS = ['ip', 'nft', 'wireguard-go', 'wg', 'dnsdist', 'dnsmasq', 'dig', 'curl', 'ping', 'openssl', 'unshare', 'mount', 'pgrep', 'sysctl'];

export const ADDR = {
  dev: '192.168.50.2',
  rtrDev: '192.168.50.1',
  gw: '198.51.100.1',
  rtrGw: '198.51.100.254',
  corp: '10.10.0.53',
  rtrCorp: '10.10.0.1',
  app: '203.0.113.10',
  gwApp: '203.0.113.1',
  doh: '203.0.113.53',
  directSite: '198.18.0.1',
  cdn: '198.19.0.7',
  tunnelDev: '172.16.0.2',
  tunnelGw: '172.16.0.1',
} as const;

export function uniq(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export interface Topology {
  pool: NetnsPool;
  dev: Netns;
  rtr: Netns;
  gw: Netns;
  app: Netns;
  corp: Netns;
  tmp: string;
  /** Interface names (unique per topology: the UAPI socket folder is shared by all namespaces). */
  devIf: string;
  gwIf: string;
  caPem: string;
  gwPublicKey: string;
}

async function wgKeyPair(): Promise<{ priv: string; pub: string }> {
  const priv = (await execFileP('wg', ['genkey'])).stdout.trim();
  const pub = await new Promise<string>((res, rej) => {
    const c = execFile('wg', ['pubkey'], (err, out) => (err ? rej(err) : res(out.trim())));
    c.stdin?.end(`${priv}\n`);
  });
  return { priv, pub };
}

function waitFor(child: ChildProcess, what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  return (async () => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${what} not ready after ${ms} ms`);
  })();
}

export async function buildTopology(): Promise<Topology> {
  const pool = new NetnsPool();
  const tmp = await mkdtemp(join(tmpdir(), 'warpc-rt-'));
  await chmod(tmp, 0o755);
  const [dev, rtr, gw, app, corp] = [await pool.create('dev'), await pool.create('rtr'), await pool.create('gw'), await pool.create('app'), await pool.create('corp')];
  await pool.link(dev, 'eth0', [`${ADDR.dev}/24`], rtr, 'd0', [`${ADDR.rtrDev}/24`]);
  await pool.link(rtr, 'g0', [`${ADDR.rtrGw}/24`], gw, 'eth0', [`${ADDR.gw}/24`]);
  await pool.link(rtr, 'c0', [`${ADDR.rtrCorp}/24`], corp, 'eth0', [`${ADDR.corp}/24`]);
  await pool.link(gw, 'a0', [`${ADDR.gwApp}/24`], app, 'eth0', [`${ADDR.app}/24`]);
  await dev.run('ip', ['route', 'add', 'default', 'via', ADDR.rtrDev]);
  await gw.run('ip', ['route', 'add', 'default', 'via', ADDR.rtrGw]);
  await corp.run('ip', ['route', 'add', 'default', 'via', ADDR.rtrCorp]);
  await app.run('ip', ['route', 'add', 'default', 'via', ADDR.gwApp]);
  for (const ns of [rtr, gw]) await ns.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await rtr.run('ip', ['addr', 'add', `${ADDR.directSite}/32`, 'dev', 'lo']);
  await rtr.run('ip', ['addr', 'add', `${ADDR.cdn}/32`, 'dev', 'lo']);
  await gw.run('ip', ['addr', 'add', `${ADDR.doh}/32`, 'dev', 'lo']);

  // The WireGuard peer on the gateway.
  const gwIf = uniq('wgg');
  const devIf = uniq('wqd');
  const gwKeys = await wgKeyPair();
  const gwWg = gw.spawn('wireguard-go', ['-f', gwIf], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' } });
  await waitFor(gwWg, 'gateway wireguard-go', async () => (await gw.tryRun('ip', ['link', 'show', gwIf])).code === 0 && (await lstat(`/var/run/wireguard/${gwIf}.sock`).then(() => true, () => false)));
  const keyFile = join(tmp, 'gw.key');
  await writeFile(keyFile, `${gwKeys.priv}\n`, { mode: 0o600 });
  await gw.run('wg', ['set', gwIf, 'private-key', keyFile, 'listen-port', '2408']);
  await gw.run('ip', ['addr', 'add', `${ADDR.tunnelGw}/32`, 'dev', gwIf]);
  await gw.run('ip', ['link', 'set', gwIf, 'up']);
  await gw.run('ip', ['route', 'add', `${ADDR.tunnelDev}/32`, 'dev', gwIf]);

  // The gateway firewall (L3/L4): port 8081 to the app is blocked, with counters.
  await gw.run('nft', ['-f', '-'], {
    input: `table inet gwfw {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${gwIf}" tcp dport 8081 counter drop
    iifname "${gwIf}" ip daddr ${ADDR.app} counter accept
  }
}
`,
  });

  // The app: HTTP on 8080 and 8081, answering with the client's address.
  const httpScript = `const http=require('http');for(const p of [8080,8081])http.createServer((q,s)=>{s.end('app '+p+' sees '+q.socket.remoteAddress+'\\n')}).listen(p,'${ADDR.app}');`;
  const appHttp = app.spawn(process.execPath, ['-e', httpScript]);
  await waitFor(appHttp, 'app http', async () => (await app.tryRun('curl', ['-s', '-m', '1', `http://${ADDR.app}:8080/`])).code === 0);

  // The corp resolver (also the device's resolver before warpc).
  const corpDns = corp.spawn('dnsmasq', ['-k', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${ADDR.corp}`, '--pid-file=', '--user=root', '--local-ttl=30',
    '--host-record=intranet.corp.example.net,10.10.0.80', '--host-record=printer.lan.example.net,10.10.0.81', '--log-queries=extra', '--log-facility=-']);
  await waitFor(corpDns, 'corp dnsmasq', async () => (await corp.tryRun('dig', ['+short', '+time=1', '+tries=1', `@${ADDR.corp}`, 'intranet.corp.example.net'])).stdout.includes('10.10.0.80'));

  // The gateway resolver: dnsmasq backend + dnsdist serving DoH, with a policy that blocks one name.
  const gwDns = gw.spawn('dnsmasq', ['-k', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', '--port=5301', '--pid-file=', '--user=root', '--local-ttl=2',
    `--host-record=app.example.com,${ADDR.app}`, '--host-record=blocked.example.com,203.0.113.99', `--host-record=www.cdn.example.com,${ADDR.cdn}`, `--host-record=intranet.corp.example.net,203.0.113.66`]);
  await waitFor(gwDns, 'gateway dnsmasq', async () => (await gw.tryRun('dig', ['+short', '+time=1', '+tries=1', '-p', '5301', '@127.0.0.1', 'app.example.com'])).stdout.includes(ADDR.app));
  const pki = join(tmp, 'pki');
  await mkdir(pki);
  await execFileP('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=warpc test CA', '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await execFileP('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=doh.gw.example', '-keyout', join(pki, 'doh.key'), '-out', join(pki, 'doh.csr')]);
  await writeFile(join(pki, 'ext.cnf'), 'subjectAltName=DNS:doh.gw.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await execFileP('openssl', ['x509', '-req', '-in', join(pki, 'doh.csr'), '-CA', join(pki, 'ca.pem'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', join(pki, 'ext.cnf'), '-out', join(pki, 'doh.pem')]);
  await chmod(join(pki, 'doh.key'), 0o644);
  await writeFile(
    join(tmp, 'dnsdist.conf'),
    `setLocal('127.0.0.1:5399')
addDOHLocal('${ADDR.doh}:443', '${join(pki, 'doh.pem')}', '${join(pki, 'doh.key')}', '/dns-query')
newServer({address='127.0.0.1:5301'})
addAction(QNameRule('blocked.example.com.'), RCodeAction(DNSRCode.NXDOMAIN))
`,
  );
  const dnsdist = gw.spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', join(tmp, 'dnsdist.conf')]);
  await waitFor(dnsdist, 'dnsdist', async () => (await gw.tryRun('curl', ['-s', '-o', '/dev/null', '-m', '1', '--cacert', join(pki, 'ca.pem'), '--resolve', `doh.gw.example:443:${ADDR.doh}`, 'https://doh.gw.example/dns-query?dns=AAABAAABAAAAAAAAA2FwcAdleGFtcGxlA2NvbQAAAQAB'])).code === 0);

  return { pool, dev, rtr, gw, app, corp, tmp, devIf, gwIf, caPem: join(pki, 'ca.pem'), gwPublicKey: gwKeys.pub };
}

/**
 * Add the device as a peer of the gateway (its key is created by warpc up), then wait for
 * the handshake: traffic the device sent before the gateway knew it waits for WireGuard's
 * next handshake attempt (up to 5 s later), so tests start from a working tunnel.
 */
export async function addDevicePeer(t: Topology, devicePublicKey: string): Promise<void> {
  await t.gw.run('wg', ['set', t.gwIf, 'peer', devicePublicKey, 'allowed-ips', `${ADDR.tunnelDev}/32`]);
  for (let i = 0; i < 20; i++) {
    if ((await t.dev.tryRun('ping', ['-c', '1', '-W', '1', ADDR.app])).code === 0) return;
  }
  throw new Error('the tunnel did not come up within 20 pings');
}

export function profileYaml(t: Topology, extra: { serviceMode?: string } = {}): string {
  return `version: 1
name: e2e
service_mode: ${extra.serviceMode ?? 'warp'}
split_tunnel:
  mode: exclude
  entries:
    - { address: 10.0.0.0/8, description: corp }
    - { address: 192.168.0.0/16, description: LAN }
    - { address: 172.16.0.0/12, description: RFC 1918 }
    - { address: 198.18.0.0/24, description: a site reached directly }
    - { host: "*.cdn.example.com", description: CDN direct }
fallback_domains:
  - { suffix: corp.example.net, dns_server: [${ADDR.corp}], description: corp resolver }
  - { suffix: lan.example.net, description: the device's own resolver }
interface: { ipv4: ${ADDR.tunnelDev}, mtu: 1280 }
tunnel: { protocol: wireguard, endpoint: "${ADDR.gw}:2408", peer_public_key: "${t.gwPublicKey}" }
dns: { doh_url: "https://doh.gw.example/dns-query", doh_addresses: [${ADDR.doh}], doh_via: tunnel }
orchestration: { url: "https://api.example.com", addresses: [198.51.100.200] }
targets:
  linux: { interface: ${t.devIf} }
`;
}

/** Compile a profile with the real compiler; returns OUT/linux. */
export async function compileProfile(t: Topology, yaml: string, name = 'out'): Promise<string> {
  const p = join(t.tmp, `${name}.yaml`);
  await writeFile(p, yaml);
  const out = join(t.tmp, name);
  await execFileP(process.execPath, ['--import', LOADER, CLI, 'compile', p, '--target', 'linux', '--out', out]);
  return join(out, 'linux');
}

/** A fresh root with /etc/resolv.conf, and a state dir. */
export async function freshRoot(t: Topology, label: string, resolvConf = `# the device's own resolver\nnameserver ${ADDR.corp}\nsearch example.net\n`): Promise<{ root: string; stateDir: string }> {
  const root = join(t.tmp, `root-${label}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/resolv.conf'), resolvConf);
  const stateDir = join(t.tmp, `state-${label}`);
  await rm(stateDir, { recursive: true, force: true });
  return { root, stateDir };
}

/** Run `warpc <args>` inside a namespace; resolves with code and output. */
export async function warpc(ns: Netns, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', LOADER, CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export interface Agent {
  child: ChildProcess;
  stateDir: string | null;
  log: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Start `warpc up` (or try) in the device namespace and wait until it is committed (or exits). */
export async function startAgent(t: Topology, args: readonly string[], env: Record<string, string> = {}): Promise<Agent> {
  const child = t.dev.spawn(process.execPath, ['--import', LOADER, CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  const until = Date.now() + 45_000;
  while (!done && Date.now() < until && !/warpc: up: /.test(log)) await new Promise((r) => setTimeout(r, 50));
  const i = args.indexOf('--state-dir');
  const agent: Agent = { child, log: () => log, exited, stateDir: i >= 0 ? (args[i + 1] ?? null) : null };
  running.add(agent);
  void exited.then(() => running.delete(agent));
  return agent;
}

const running = new Set<Agent>();

/** For afterEach: stop (warpc down) any agent a failed test left running, so the next test starts clean. */
export async function stopLeftoverAgents(t: Topology): Promise<void> {
  for (const a of [...running]) {
    if (a.stateDir) await warpc(t.dev, ['down', '--state-dir', a.stateDir]);
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    await a.exited;
    if (a.stateDir) await warpc(t.dev, ['recover', '--state-dir', a.stateDir]);
  }
}

/** A namespace's network state as text (rules, routes of every table, nft ruleset, addresses, links), lifetimes stripped. */
export async function netnsState(ns: Netns): Promise<Record<string, string>> {
  const run = async (cmd: string, args: string[]): Promise<string> => (await ns.tryRun(cmd, args)).stdout;
  return {
    rules4: await run('ip', ['-4', 'rule']),
    rules6: await run('ip', ['-6', 'rule']),
    routes4: await run('ip', ['-4', 'route', 'show', 'table', 'all']),
    routes6: (await run('ip', ['-6', 'route', 'show', 'table', 'all'])).replace(/ expires \d+sec/g, ''),
    nft: await run('nft', ['list', 'ruleset']),
    addr: (await run('ip', ['addr'])).replace(/valid_lft \S+ preferred_lft \S+/g, ''),
    links: await run('ip', ['-o', 'link', 'show']),
  };
}

/** Everything a restore must put back, as text: compare before and after. */
export async function deviceState(t: Topology, root: string): Promise<Record<string, string>> {
  const resolvPath = join(root, 'etc/resolv.conf');
  const st = await lstat(resolvPath).catch(() => null);
  return {
    ...(await netnsState(t.dev)),
    resolvKind: st === null ? 'missing' : st.isSymbolicLink() ? `symlink -> ${await readlink(resolvPath)}` : `file ${(st.mode & 0o7777).toString(8)}`,
    resolvBytes: st === null ? '' : (await readFile(resolvPath)).toString('base64'),
  };
}

/** The root namespace's network state and /etc/resolv.conf: must be the same after every test. */
export async function rootState(): Promise<Record<string, string>> {
  const out = async (cmd: string, args: string[]): Promise<string> => (await execFileP(cmd, args).catch((e: { stdout?: string }) => ({ stdout: `error ${e.stdout ?? ''}` }))).stdout;
  return {
    rules4: await out('ip', ['-4', 'rule']),
    rules6: await out('ip', ['-6', 'rule']),
    nftTables: await out('nft', ['list', 'tables']),
    links: (await out('ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim() ?? '').filter((n) => !n.startsWith('veth')).join(' '),
    resolvConf: await readFile('/etc/resolv.conf').then((b) => b.toString('base64'), () => 'missing'),
  };
}

/** wireguard-go processes running for an interface name. */
export async function wgProcesses(ifname: string): Promise<string[]> {
  const r = await execFileP('pgrep', ['-a', 'wireguard-go']).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').filter((l) => l.includes(ifname));
}

export async function destroyTopology(t: Topology | undefined): Promise<void> {
  if (!t) return;
  await t.pool.cleanup();
  for (const f of [t.devIf, t.gwIf]) await rm(`/var/run/wireguard/${f}.sock`, { force: true });
  await rm(t.tmp, { recursive: true, force: true });
}
