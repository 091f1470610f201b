/**
 * End-to-end: `warpc up` in a device namespace against a real WireGuard peer,
 * a DoH gateway with a DNS policy and an L3/L4 firewall, a corp resolver and
 * a router standing in for the physical network (topology.ts). Then the leak
 * checks: counters on the router, at the device's physical link, see nothing
 * tunnel-bound and no DNS except to the fallback server on its direct path.
 * Finally `warpc down` restores the device exactly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { ADDR, addDevicePeer, rootState, buildTopology, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, profileYaml, startAgent, warpc, wgProcesses, type Agent, type Topology } from './helpers/topology.js';

const LEAK_COUNTERS = ['tunnel_bound', 'cdn', 'direct_site', 'dns_fallback', 'dns_other', 'https_out', 'wg'] as const;

describeE2E('warpc up end to end (namespaces, wireguard-go, dnsdist DoH, nftables)', E2E_TOOLS, () => {
  let t: Topology;
  let agent: Agent;
  let root: string;
  let stateDir: string;
  let before: Record<string, string>;
  let rootBefore: Record<string, string>;

  const dig = async (name: string, extra: string[] = []): Promise<string> =>
    (await t.dev.tryRun('dig', ['+time=3', '+tries=1', '@127.0.2.2', name, ...extra])).stdout;
  const counter = async (name: string): Promise<number> => {
    const out = (await t.rtr.run('nft', ['list', 'counter', 'inet', 'leak', name])).stdout;
    return Number(/packets (\d+)/.exec(out)?.[1] ?? NaN);
  };
  const routeGet = async (dst: string, extra: string[] = []): Promise<string> => (await t.dev.run('ip', ['route', 'get', dst, ...extra])).stdout;

  beforeAll(async () => {
    rootBefore = await rootState();
    t = await buildTopology();
    // Counters at the device's physical link, on the router side (what really leaves the device).
    await t.rtr.run('nft', ['-f', '-'], {
      input: `table inet leak {
  ${LEAK_COUNTERS.map((c) => `counter ${c} {}`).join('\n  ')}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "d0" ip daddr 203.0.113.0/24 counter name tunnel_bound
    iifname "d0" ip daddr ${ADDR.cdn} counter name cdn
    iifname "d0" ip daddr ${ADDR.directSite} counter name direct_site
    iifname "d0" ip daddr ${ADDR.corp} meta l4proto { tcp, udp } th dport 53 counter name dns_fallback
    iifname "d0" ip daddr != ${ADDR.corp} meta l4proto { tcp, udp } th dport { 53, 853 } counter name dns_other
    iifname "d0" meta nfproto ipv6 meta l4proto { tcp, udp } th dport { 53, 853 } counter name dns_other
    iifname "d0" tcp dport 443 counter name https_out
    iifname "d0" ip daddr ${ADDR.gw} udp dport 2408 counter name wg
  }
}
`,
    });
    const linuxDir = await compileProfile(t, profileYaml(t));
    ({ root, stateDir } = await freshRoot(t, 'e2e'));
    before = await deviceState(t, root);
    agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    if (!/warpc: up: /.test(agent.log())) throw new Error(`warpc up did not come up:\n${agent.log()}`);
    const st = await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json']);
    if (st.code !== 0) throw new Error(`warpc status failed: ${st.stderr}`);
    const status = JSON.parse(st.stdout) as { public_key: string };
    await addDevicePeer(t, status.public_key);
  });

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) {
      await warpc(t.dev, ['down', '--state-dir', stateDir]);
    }
    await destroyTopology(t);
  });

  it('routes: ip route get sends tunnel-bound destinations into the tunnel, excluded ones and the endpoint to the physical link', async () => {
    expect(await routeGet(ADDR.app)).toMatch(new RegExp(`dev ${t.devIf} table 65743 src ${ADDR.tunnelDev}`));
    expect(await routeGet(ADDR.directSite)).toMatch(new RegExp(`via ${ADDR.rtrDev} dev eth0`));
    expect(await routeGet(ADDR.gw)).toMatch(/dev eth0/);
    expect(await routeGet(ADDR.corp)).toMatch(/via 192\.168\.50\.1 dev eth0/);
    // The client's own (marked) packets skip the table.
    expect(await routeGet(ADDR.app, ['mark', '0x100cf'])).toMatch(/dev eth0/);
    expect((await t.dev.run('ip', ['rule'])).stdout).toMatch(/32000:\s+not from all fwmark 0x100cf lookup 65743/);
  });

  it('HTTP and ping to the app go through the tunnel, and the gateway firewall applies', async () => {
    const ok = await t.dev.run('curl', ['-s', '-m', '5', `http://${ADDR.app}:8080/`]);
    expect(ok.stdout).toBe(`app 8080 sees ${ADDR.tunnelDev}\n`);
    const blocked = await t.dev.tryRun('curl', ['-s', '-m', '2', `http://${ADDR.app}:8081/`]);
    expect(blocked.code).not.toBe(0);
    const fw = (await t.gw.run('nft', ['list', 'chain', 'inet', 'gwfw', 'forward'])).stdout;
    expect(Number(/dport 8081 counter packets (\d+)/.exec(fw)?.[1])).toBeGreaterThan(0);
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '2', ADDR.app])).code).toBe(0);
    expect(await counter('wg')).toBeGreaterThan(0);
  });

  it('warpc status reports interface, key, handshake, counters, DNS manager and why, journal state', async () => {
    const r = await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    const pub = (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim();
    expect(s).toMatchObject({ interface: t.devIf, public_key: pub, journal_state: 'committed', agent_running: true, dns_manager: 'resolv.conf', endpoint: `${ADDR.gw}:2408`, fwmark: '0x100cf' });
    expect(String(s['dns_manager_reason'])).toMatch(/regular file/);
    expect(s['latest_handshake']).not.toBeNull();
    expect(Number(s['transfer_rx'])).toBeGreaterThan(0);
    expect(Number(s['transfer_tx'])).toBeGreaterThan(0);
    const text = await warpc(t.dev, ['status', '--state-dir', stateDir]);
    expect(text.stdout).toMatch(/latest handshake\s+\d{4}-/);
  });

  it('DNS: resolv.conf points at the proxy; names resolve through DoH, and the policy blocks one', async () => {
    expect(await readFile(join(root, 'etc/resolv.conf'), 'utf8')).toMatch(/^nameserver 127\.0\.2\.2$/m);
    expect(await readFile(join(stateDir, 'resolv.conf.backup'), 'utf8')).toMatch(/^# warpc backup of \/etc\/resolv.conf[\s\S]*nameserver 10\.10\.0\.53\n/);
    expect(await dig('app.example.com', ['+short'])).toBe(`${ADDR.app}\n`);
    const blocked = await dig('blocked.example.com');
    expect(blocked).toMatch(/status: NXDOMAIN/);
    // Without the policy the gateway's resolver knows the name: the block is the policy.
    expect((await t.gw.run('dig', ['+short', '-p', '5301', '@127.0.0.1', 'blocked.example.com'])).stdout).toBe('203.0.113.99\n');
    expect(await dig('connectivity-check.warp-svc', ['+short'])).toMatch(/127\.0\.2\.2/);
  });

  it('fallback domains resolve from the corp resolver on the direct path the plan gives, and from the previous resolver', async () => {
    const before53 = await counter('dns_fallback');
    // The gateway would answer 203.0.113.66 for this name: 10.10.0.80 proves the corp path.
    expect(await dig('intranet.corp.example.net', ['+short'])).toBe('10.10.0.80\n');
    expect(await counter('dns_fallback')).toBeGreaterThan(before53);
    // lan.example.net has no servers: the device's resolver before warpc (10.10.0.53 in resolv.conf).
    expect(await dig('printer.lan.example.net', ['+short'])).toBe('10.10.0.81\n');
  });

  it('excluded destinations go directly', async () => {
    const n = await counter('direct_site');
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '2', ADDR.directSite])).code).toBe(0);
    expect(await counter('direct_site')).toBeGreaterThanOrEqual(n + 2);
  });

  it('a host entry routes directly as soon as its name resolves, and expires with the answer', async () => {
    expect(await routeGet(ADDR.cdn)).toMatch(new RegExp(`dev ${t.devIf} table 65743`));
    expect((await t.dev.tryRun('ping', ['-c', '1', '-W', '1', ADDR.cdn])).code).not.toBe(0);
    expect(await dig('www.cdn.example.com', ['+short'])).toBe(`${ADDR.cdn}\n`);
    // Right after the answer: the route and the nft set are in place.
    expect(await routeGet(ADDR.cdn)).toMatch(new RegExp(`via ${ADDR.rtrDev} dev eth0`));
    expect((await t.dev.run('nft', ['list', 'set', 'inet', 'cloudflare-warp', 'host_bypass4'])).stdout).toMatch(new RegExp(`${ADDR.cdn.replace(/\./g, '\\.')} timeout`));
    const n = await counter('cdn');
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '2', ADDR.cdn])).code).toBe(0);
    expect(await counter('cdn')).toBeGreaterThanOrEqual(n + 2);
    // TTL 2 s (gateway dnsmasq --local-ttl=2), floor 10 s: the throw route goes away on its own.
    let routed = '';
    for (let i = 0; i < 60; i++) {
      routed = await routeGet(ADDR.cdn);
      if (routed.includes(`dev ${t.devIf}`)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(routed).toMatch(new RegExp(`dev ${t.devIf} table 65743`));
  });

  it('leaks: binding to the physical interface cannot reach a tunnel-bound destination; nothing tunnel-bound leaves the device', async () => {
    const rejectsBefore = (await t.dev.run('nft', ['list', 'chain', 'inet', 'cloudflare-warp', 'output'])).stdout;
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '1', '-I', 'eth0', ADDR.app])).code).not.toBe(0);
    expect((await t.dev.tryRun('ping', ['-c', '2', '-W', '1', '-I', ADDR.dev, ADDR.app])).code).not.toBe(0);
    expect((await t.dev.tryRun('curl', ['-s', '-m', '2', '--interface', 'eth0', `http://${ADDR.app}:8080/`])).code).not.toBe(0);
    expect((await t.dev.tryRun('curl', ['-s', '-m', '2', '--interface', ADDR.dev, `http://${ADDR.app}:8080/`])).code).not.toBe(0);
    const rejectsAfter = (await t.dev.run('nft', ['list', 'chain', 'inet', 'cloudflare-warp', 'output'])).stdout;
    const rejected = (s: string): number => Number(/ip daddr (?:!= @direct4|@tunnel4) counter packets (\d+)/.exec(s)?.[1]);
    // The attempts did happen (the firewall rejected them) …
    expect(rejected(rejectsAfter)).toBeGreaterThan(rejected(rejectsBefore));
    // … and the physical link saw no packet to a tunnel-bound destination during the whole run.
    expect(await counter('tunnel_bound')).toBe(0);
  });

  it('leaks: no DNS query left the device except to the fallback server on its direct path; DoH stayed in the tunnel', async () => {
    // Plenty of lookups happened (the DNS tests above, and these).
    for (const n of ['app.example.com', 'nonexistent.example.org', 'intranet.corp.example.net']) await dig(n);
    expect(await counter('dns_fallback')).toBeGreaterThan(0);
    expect(await counter('dns_other')).toBe(0);
    expect(await counter('https_out')).toBe(0);
    expect(await counter('tunnel_bound')).toBe(0);
  });

  it('warpc down restores the device to the snapshot, byte for byte, and stops every process', async () => {
    const r = await warpc(t.dev, ['down', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    const exit = await agent.exited;
    expect(exit.code, agent.log()).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
    expect(await wgProcesses(t.devIf)).toEqual([]);
    const s = JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ journal_state: 'closed', agent_running: false });
  });

  it('the root namespace was never touched: rules, nft tables, links and /etc/resolv.conf are as before', async () => {
    expect(await rootState()).toEqual(rootBefore);
  });
});
