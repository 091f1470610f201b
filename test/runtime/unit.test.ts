/**
 * Unit tests of the runtime pieces that need no privileges: key handling,
 * wireguard.conf → UAPI, the UAPI protocol against a socket, manifest
 * verification, resolv.conf kinds and ownership, DNS manager detection, and
 * command transcripts (RecordingExecutor) for restore and host entries.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingExecutor } from '../../src/runtime/exec.js';
import { loadCompiled } from '../../src/runtime/linux/compiled.js';
import { detectDnsManager, systemResolvers } from '../../src/runtime/linux/dns-manager.js';
import { buildProbeQuery } from '../../src/runtime/linux/health.js';
import { HOST_ENTRY_MIN_SECONDS, HostRuleInstaller } from '../../src/runtime/linux/hosts.js';
import { restoreNet, rulesOfBatch, type NetSnapshot } from '../../src/runtime/linux/netstate.js';
import { inspectResolv, restoreResolv, sha256, writeResolv } from '../../src/runtime/linux/resolv.js';
import { decodeKey, keyToHex, loadOrCreateKey, publicKeyOf } from '../../src/runtime/tunnel/keys.js';
import { parseUapiGet, uapiGet, uapiSet } from '../../src/runtime/tunnel/uapi.js';
import { parseWgConf, uapiSetLines } from '../../src/runtime/tunnel/wgconf.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warpc-unit-'));
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

const hex = (h: string): string => Buffer.from(h, 'hex').toString('base64');

describe('device key', () => {
  it('derives the X25519 public key (RFC 7748 section 6.1 vector)', () => {
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(publicKeyOf(alice)).toBe(hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'));
  });

  it('creates <state>/private.key 0600 once, then reuses it', async () => {
    const p = join(dir, 'state', 'private.key');
    const a = await loadOrCreateKey(p);
    expect(a.created).toBe(true);
    expect((await stat(p)).mode & 0o777).toBe(0o600);
    expect(decodeKey(a.privateKey)).toHaveLength(32);
    const b = await loadOrCreateKey(p);
    expect(b).toEqual({ privateKey: a.privateKey, created: false });
  });

  it('rejects a key that is not 32 bytes of base64', () => {
    expect(() => decodeKey('abc')).toThrow(/32 bytes/);
  });
});

describe('wireguard.conf → UAPI', () => {
  const peer = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  const priv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const conf = `# Generated\n[Interface]\nFwMark = 0x100cf\n\n[Peer]\nPublicKey = ${peer}\nEndpoint = 162.159.193.1:2408\nAllowedIPs = 0.0.0.0/0, ::/0\n`;

  it('translates to set=1 lines: key in hex, fwmark, peers replaced, allowed IPs replaced', () => {
    expect(uapiSetLines(parseWgConf(conf), priv)).toEqual([
      'private_key=77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
      'listen_port=0',
      'fwmark=65743',
      'replace_peers=true',
      'public_key=8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
      'endpoint=162.159.193.1:2408',
      'replace_allowed_ips=true',
      'allowed_ip=0.0.0.0/0',
      'allowed_ip=::/0',
    ]);
  });

  it('accepts a file without [Peer] and refuses a PrivateKey or unknown keys', () => {
    expect(parseWgConf('[Interface]\nFwMark = 0x100cf\n').peers).toEqual([]);
    expect(() => parseWgConf(`[Interface]\nPrivateKey = ${priv}\n`)).toThrow(/must not carry a PrivateKey/);
    expect(() => parseWgConf('[Interface]\nTable = off\n')).toThrow(/unknown \[Interface\] key Table/);
    expect(() => parseWgConf('[Peer]\nEndpoint = 1.2.3.4:1\n')).toThrow(/no PublicKey/);
  });

  it('speaks the UAPI protocol over a unix socket (set, then get with handshake and counters)', async () => {
    const sock = join(dir, 'wg.sock');
    const requests: string[] = [];
    const server: Server = createServer((c) => {
      let buf = '';
      c.on('data', (d) => {
        buf += d.toString();
        if (!buf.endsWith('\n\n')) return;
        requests.push(buf);
        if (buf.startsWith('get=1')) c.end(`private_key=${keyToHex(priv)}\nlisten_port=51820\nfwmark=65743\npublic_key=${keyToHex(peer)}\nendpoint=162.159.193.1:2408\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=0\nrx_bytes=1234\ntx_bytes=5678\nallowed_ip=0.0.0.0/0\nerrno=0\n\n`);
        else c.end('errno=0\n\n');
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await uapiSet(sock, uapiSetLines(parseWgConf(conf), priv));
      expect(requests[0]).toMatch(/^set=1\nprivate_key=77076d0a[0-9a-f]+\n[\s\S]*allowed_ip=::\/0\n\n$/);
      const dev = await uapiGet(sock);
      expect(dev).toMatchObject({ listenPort: 51820, fwmark: 65743 });
      expect(dev.peers).toEqual([{ publicKey: peer, endpoint: '162.159.193.1:2408', allowedIps: ['0.0.0.0/0'], lastHandshake: 1700000000, rxBytes: 1234, txBytes: 5678 }]);
    } finally {
      server.close();
    }
  });

  it('reports a UAPI error number', async () => {
    const sock = join(dir, 'bad.sock');
    const server = createServer((c) => c.on('data', () => c.end('errno=-22\n\n')));
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await expect(uapiSet(sock, ['listen_port=1'])).rejects.toThrow(/errno -22/);
    } finally {
      server.close();
    }
    expect(parseUapiGet('errno=0\n\n').peers).toEqual([]);
  });
});

describe('compiled folder verification', () => {
  async function makeOut(files: Record<string, string>, listExtra: Record<string, string> = {}): Promise<string> {
    const out = join(dir, 'out');
    await mkdir(join(out, 'linux'), { recursive: true });
    const entries = [];
    for (const [name, text] of Object.entries({ ...files, ...listExtra })) {
      if (name in files) await writeFile(join(out, 'linux', name), text);
      entries.push({ path: `linux/${name}`, sha256: createHash('sha256').update(text).digest('hex'), size: Buffer.byteLength(text), mode: '0644' });
    }
    await writeFile(join(out, 'manifest.json'), JSON.stringify({ schema_version: 1, compiler: { name: 'warpc', version: 't' }, profile: { name: 't', sha256: '0'.repeat(64) }, targets: ['linux'], files: entries }));
    return join(out, 'linux');
  }
  const settings = JSON.stringify({ version: 1, service_mode: 'warp_tunnel_only', features: { dns: false, tunnel: false, routes: true, firewall: false, local_proxy: false }, interface: { name: 'CloudflareWARP', ipv4: '172.16.0.2', ipv6: null, mtu: 1280 }, routing: { table: 65743, fwmark: 65743, rule_priority: 32000 }, nft_table: 'cloudflare-warp', dns_manager: 'auto', dns: null, host_rules: [], split_mode: 'exclude', local_proxy: null });

  it('loads a folder that matches its manifest', async () => {
    const c = await loadCompiled(await makeOut({ 'settings.json': settings, 'routes4.batch': 'rule add not fwmark 0x100cf table 65743 priority 32000\n' }));
    expect(c.settings.routing).toEqual({ table: 65743, fwmark: 65743, rule_priority: 32000 });
    expect([...c.files.keys()].sort()).toEqual(['routes4.batch', 'settings.json']);
  });

  it('refuses a tampered, a missing and an unlisted file', async () => {
    const d = await makeOut({ 'settings.json': settings, 'routes4.batch': 'x\n' }, { 'ruleset.nft': 'y\n' });
    await writeFile(join(d, 'routes4.batch'), 'y\n');
    await writeFile(join(d, 'resolv.conf'), 'nameserver 1.2.3.4\n');
    const err = await loadCompiled(d).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/routes4\.batch: sha256 [0-9a-f]{64} does not match/);
    expect(err).toMatch(/ruleset\.nft: listed in the manifest but missing/);
    expect(err).toMatch(/resolv\.conf: present but not listed/);
  });

  it('refuses a folder without a manifest, and settings that enable a file the manifest lacks', async () => {
    await mkdir(join(dir, 'bare', 'linux'), { recursive: true });
    await expect(loadCompiled(join(dir, 'bare', 'linux'))).rejects.toThrow(/manifest\.json: missing/);
    await expect(loadCompiled(await makeOut({ 'settings.json': settings }))).rejects.toThrow(/enables routes4\.batch/);
  });
});

describe('resolv.conf', () => {
  const exec = (): RecordingExecutor => new RecordingExecutor(join(dir, 'root'), join(dir, 'state'));
  const ours = Buffer.from('# warpc\nnameserver 127.0.2.2\n');

  beforeEach(async () => {
    await mkdir(join(dir, 'root', 'etc'), { recursive: true });
    await mkdir(join(dir, 'state'), { recursive: true });
  });

  it('regular file: written by rename, restored byte for byte with its mode', async () => {
    const f = join(dir, 'root/etc/resolv.conf');
    await writeFile(f, 'nameserver 10.0.0.1\n# no newline at end', { mode: 0o640 });
    const snap = await inspectResolv(exec());
    expect(snap).toMatchObject({ kind: 'regular', mode: 0o640, readOnly: null });
    const inode = (await stat(f)).ino;
    await writeResolv(exec(), snap, ours);
    expect(await readFile(f)).toEqual(ours);
    expect((await stat(f)).ino).not.toBe(inode);
    expect((await restoreResolv(exec(), snap, sha256(ours))).outcome).toBe('restored');
    expect(await readFile(f, 'utf8')).toBe('nameserver 10.0.0.1\n# no newline at end');
    expect((await stat(f)).mode & 0o777).toBe(0o640);
    expect((await restoreResolv(exec(), snap, sha256(ours))).outcome).toBe('unchanged');
  });

  it('symlink: replaced by a file, the same link text comes back', async () => {
    await mkdir(join(dir, 'root/run/resolvconf'), { recursive: true });
    await writeFile(join(dir, 'root/run/resolvconf/resolv.conf'), 'nameserver 192.168.1.1\n');
    await symlink('../run/resolvconf/resolv.conf', join(dir, 'root/etc/resolv.conf'));
    const snap = await inspectResolv(exec());
    expect(snap).toMatchObject({ kind: 'symlink', symlinkTarget: '../run/resolvconf/resolv.conf' });
    await writeResolv(exec(), snap, ours);
    await restoreResolv(exec(), snap, sha256(ours));
    expect((await inspectResolv(exec())).symlinkTarget).toBe('../run/resolvconf/resolv.conf');
    expect(await readFile(join(dir, 'root/run/resolvconf/resolv.conf'), 'utf8')).toBe('nameserver 192.168.1.1\n');
  });

  it('missing: created, then removed again', async () => {
    const snap = await inspectResolv(exec());
    expect(snap.kind).toBe('missing');
    await writeResolv(exec(), snap, ours);
    await restoreResolv(exec(), snap, sha256(ours));
    await expect(stat(join(dir, 'root/etc/resolv.conf'))).rejects.toThrow();
  });

  it('a file someone else rewrote after warpc is left alone', async () => {
    const f = join(dir, 'root/etc/resolv.conf');
    await writeFile(f, 'nameserver 10.0.0.1\n');
    const snap = await inspectResolv(exec());
    await writeResolv(exec(), snap, ours);
    await writeFile(f, 'nameserver 10.9.9.9\n# NetworkManager\n');
    const r = await restoreResolv(exec(), snap, sha256(ours));
    expect(r.outcome).toBe('left-alone');
    expect(r.detail).toMatch(/changed by someone else/);
    expect(await readFile(f, 'utf8')).toBe('nameserver 10.9.9.9\n# NetworkManager\n');
  });
});

describe('DNS manager detection', () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });
  async function setup(resolvedRunning: boolean): Promise<RecordingExecutor> {
    const root = join(dir, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'run/systemd/resolve'), { recursive: true });
    await writeFile(join(root, 'run/systemd/resolve/stub-resolv.conf'), 'nameserver 127.0.0.53\n');
    await writeFile(join(root, 'run/systemd/resolve/resolv.conf'), 'nameserver 192.168.1.1\nnameserver 192.168.1.2\n');
    await symlink('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    if (resolvedRunning) {
      const s = createServer();
      server = s;
      await new Promise<void>((r) => s.listen(join(root, 'run/systemd/resolve/io.systemd.Resolve'), r));
    }
    return new RecordingExecutor(root, join(dir, 'state'));
  }

  it('auto picks systemd-resolved when resolv.conf is its stub and it is running, and uses its upstream list', async () => {
    const ex = await setup(true);
    const snap = await inspectResolv(ex);
    const d = await detectDnsManager(ex, 'auto', snap, 'settings.json');
    expect(d.manager).toBe('systemd-resolved');
    expect(d.reason).toMatch(/symlink to \/run\/systemd\/resolve\/stub-resolv\.conf and systemd-resolved is running/);
    expect(ex.lines()).toEqual(['resolvectl status --no-pager']);
    expect(await systemResolvers(ex, d, snap)).toEqual(['192.168.1.1', '192.168.1.2']);
  });

  it('auto falls back to the file when systemd-resolved is not running, and says why', async () => {
    const ex = await setup(false);
    const d = await detectDnsManager(ex, 'auto', await inspectResolv(ex), 'settings.json');
    expect(d).toEqual({ manager: 'resolv.conf', reason: expect.stringMatching(/but systemd-resolved is not running/) as unknown as string });
    await expect(detectDnsManager(ex, 'systemd-resolved', await inspectResolv(ex), '--dns-manager')).rejects.toThrow(/asks for systemd-resolved, but it is not running/);
  });

  it('resolvectl failing means not running', async () => {
    const ex = (await setup(true)).respond((cmd) => (cmd === 'resolvectl' ? { code: 1, stderr: 'Failed to get global data' } : undefined));
    expect((await detectDnsManager(ex, 'auto', await inspectResolv(ex), 'x')).manager).toBe('resolv.conf');
  });
});

describe('restore transcript (RecordingExecutor)', () => {
  const names = { ifname: 'CloudflareWARP', table: 65743, nftTable: 'cloudflare-warp' };
  const specs = rulesOfBatch('# c\nrule add not fwmark 0x100cf table 65743 priority 32000\nroute add default dev CloudflareWARP table 65743\n', '-4');
  const empty: NetSnapshot = { rules4: [], rules6: [], routes4: null, routes6: null, routes4Text: '', routes6Text: '', nftTable: null, loAddrs: ['127.0.0.1/8', '::1/128'], linkExisted: false };

  it('parses rule lines from a batch', () => {
    expect(specs).toEqual([{ fam: '-4', args: ['not', 'fwmark', '0x100cf', 'table', '65743', 'priority', '32000'], priority: 32000, table: '65743', fwmark: '0x100cf', not: true }]);
  });

  it('deletes our rule, flushes our table, deletes our nft table and lo addresses; nothing else', async () => {
    let ruleShown = 0;
    const ex = new RecordingExecutor(dir, dir)
      .respond((cmd, a) => {
        if (cmd === 'ip' && a.join(' ') === '-j -4 rule show') {
          ruleShown++;
          return { stdout: ruleShown === 1 ? '[{"priority":0,"src":"all","table":"local"},{"priority":32000,"not":null,"src":"all","fwmark":"0x100cf","table":"65743"}]' : '[{"priority":0,"src":"all","table":"local"}]' };
        }
        return undefined;
      })
      .respond((cmd, a) => (cmd === 'ip' && a.join(' ') === '-4 route show table 65743' ? { stdout: 'default dev CloudflareWARP scope link\n' } : undefined))
      .respond((cmd, a) => (cmd === 'nft' && a[0] === 'list' ? { stdout: 'table inet cloudflare-warp {}\n' } : undefined))
      .respond((cmd, a) => (cmd === 'ip' && a.join(' ') === '-j addr show dev lo' ? { stdout: '[{"addr_info":[{"local":"127.0.0.1","prefixlen":8},{"local":"::1","prefixlen":128},{"local":"fd01:db8:1111::2","prefixlen":128}]}]' } : undefined));
    const report = { done: [] as string[], errors: [] as string[] };
    await restoreNet(ex, names, empty, specs, ['fd01:db8:1111::2/128'], report);
    expect(report.errors).toEqual([]);
    expect(ex.lines()).toEqual([
      'nft list table inet cloudflare-warp',
      'nft delete table inet cloudflare-warp',
      'ip -j -4 rule show',
      'ip -4 rule del not fwmark 0x100cf table 65743 priority 32000',
      'ip -j -4 rule show',
      'ip -4 route show table 65743',
      'ip -4 route flush table 65743',
      'ip -6 route show table 65743',
      'ip -j addr show dev lo',
      'ip addr del fd01:db8:1111::2/128 dev lo',
    ]);
  });

  it('puts back routes and an nft table that existed before', async () => {
    const ex = new RecordingExecutor(dir, dir);
    const report = { done: [] as string[], errors: [] as string[] };
    await restoreNet(ex, names, { ...empty, routes4: Buffer.from('saved').toString('base64'), nftTable: 'table inet cloudflare-warp {\n}\n' }, [], [], report);
    const nft = ex.transcript.find((c) => c.cmd === 'nft' && c.args[0] === '-f');
    expect(nft?.input).toBe('table inet cloudflare-warp {}\ndelete table inet cloudflare-warp\ntable inet cloudflare-warp {\n}\n');
    const restore = ex.transcript.find((c) => c.args.join(' ') === '-4 route restore');
    expect(restore?.input).toBe('saved');
  });
});

describe('host entries (RecordingExecutor)', () => {
  it('a direct answer becomes throw routes and host_bypass elements, and the route expires with the TTL (floor applies)', async () => {
    vi.useFakeTimers();
    const ex = new RecordingExecutor(dir, dir);
    const h = new HostRuleInstaller(ex, { ifname: 'CloudflareWARP', table: 65743, nftTable: 'cloudflare-warp' }, { routes: true, firewall: true, onError: (m) => expect.fail(m) });
    await h.apply({ name: 'a.zoom.us', addresses: ['1.2.3.4', '2001:db8::1'], ttl: 300, action: 'direct' });
    expect(ex.transcript.map((c) => [c.cmd, ...c.args, c.input ?? ''].join(' '))).toEqual([
      'ip -4 -batch - route replace throw 1.2.3.4/32 table 65743\n',
      'ip -6 -batch - route replace throw 2001:db8::1/128 table 65743\n',
      'nft -f - add element inet cloudflare-warp host_bypass4 { 1.2.3.4 timeout 1s }\ndelete element inet cloudflare-warp host_bypass4 { 1.2.3.4 }\nadd element inet cloudflare-warp host_bypass4 { 1.2.3.4 timeout 300s }\n' +
        'add element inet cloudflare-warp host_bypass6 { 2001:db8::1 timeout 1s }\ndelete element inet cloudflare-warp host_bypass6 { 2001:db8::1 }\nadd element inet cloudflare-warp host_bypass6 { 2001:db8::1 timeout 300s }\n',
    ]);
    ex.transcript.length = 0;
    await vi.advanceTimersByTimeAsync(299_000);
    expect(ex.lines()).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ex.lines()).toEqual(['ip -4 route del throw 1.2.3.4/32 table 65743', 'ip -6 route del throw 2001:db8::1/128 table 65743']);
    // TTL 0 still keeps the entry for the floor.
    ex.transcript.length = 0;
    await h.apply({ name: 'b.zoom.us', addresses: ['5.6.7.8'], ttl: 0, action: 'tunnel' });
    expect(ex.transcript[0]?.input).toBe('route replace 5.6.7.8/32 dev CloudflareWARP table 65743\n');
    expect(ex.transcript[1]?.input).toMatch(new RegExp(`host_tunnel4 \\{ 5\\.6\\.7\\.8 timeout ${HOST_ENTRY_MIN_SECONDS}s \\}`));
    await h.stop();
  });

  it('a later answer extends an entry instead of letting the first timer remove it', async () => {
    vi.useFakeTimers();
    const ex = new RecordingExecutor(dir, dir);
    const h = new HostRuleInstaller(ex, { ifname: 'wg0', table: 100, nftTable: 't' }, { routes: true, firewall: false, onError: (m) => expect.fail(m) });
    await h.apply({ name: 'x', addresses: ['9.9.9.9'], ttl: 20, action: 'direct' });
    await vi.advanceTimersByTimeAsync(15_000);
    await h.apply({ name: 'x', addresses: ['9.9.9.9'], ttl: 20, action: 'direct' });
    ex.transcript.length = 0;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ex.lines()).toEqual([]);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(ex.lines()).toEqual(['ip -4 route del throw 9.9.9.9/32 table 100']);
    await h.stop();
  });
});

describe('health probe', () => {
  it('builds a DNS query with RD set for the name', () => {
    expect(buildProbeQuery('connectivity-check.warp-svc', 1, 0x1234).toString('hex')).toBe('123401000001000000000000' + '12636f6e6e65637469766974792d636865636b' + '08776172702d737663' + '00' + '00010001');
  });
});

describe('systemd-resolved link without a tunnel (1dot1)', () => {
  it('is the link of the IPv4 default route, else the IPv6 one, else a clear error', async () => {
    const { defaultRouteLink } = await import('../../src/runtime/linux/agent.js');
    const v4 = new RecordingExecutor('/nonexistent', '/nonexistent').respond((cmd, a) =>
      cmd === 'ip' && a.join(' ') === '-j -4 route show default table main' ? { stdout: '[{"dst":"default","gateway":"192.0.2.1","dev":"wlan0"}]' } : undefined,
    );
    expect(await defaultRouteLink(v4)).toBe('wlan0');
    const v6 = new RecordingExecutor('/nonexistent', '/nonexistent')
      .respond((cmd, a) => (cmd === 'ip' && a.join(' ') === '-j -4 route show default table main' ? { stdout: '[]' } : undefined))
      .respond((cmd, a) => (cmd === 'ip' && a.join(' ') === '-j -6 route show default table main' ? { stdout: '[{"dst":"default","dev":"eth1"}]' } : undefined));
    expect(await defaultRouteLink(v6)).toBe('eth1');
    const none = new RecordingExecutor('/nonexistent', '/nonexistent').respond((cmd) => (cmd === 'ip' ? { stdout: '[]' } : undefined));
    await expect(defaultRouteLink(none)).rejects.toThrow(/no default route/);
  });
});
