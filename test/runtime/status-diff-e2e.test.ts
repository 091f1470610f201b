/**
 * `warpc status --diff` against a real agent (namespaces): right after `up` the
 * live state matches the plan line for line (and a host entry the agent adds
 * from a DNS answer is listed apart, not as drift); after a hand-made change (one
 * route deleted from warpc's table, one element added to an nft set) exactly
 * those two lines are reported, with exit code 1; after `down` every line the
 * plan wants is reported missing, the device's own resolv.conf is what remains,
 * and the note says warpc is not running. Without a journal or a folder there is
 * nothing to compare (exit 2). And every bundled fixture's plan, loaded into a
 * namespace with `ip -batch` and `nft -f`, reads back with no drift: the kernel's
 * way of printing each shape of route, rule, set and chain is understood.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { addDevicePeer, ADDR, buildTopology, compileProfile, destroyTopology, E2E_TOOLS, freshRoot, profileYaml, startAgent, stopLeftoverAgents, warpc, type Topology } from './helpers/topology.js';
import { NetnsPool } from '../helpers/netns.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { parseLinuxSettings } from '../../src/contract/settings.js';
import { buildGroups } from '../../src/runtime/linux/live-state.js';
import { compareLive, type StatusDiff } from '../../src/status-diff/compare.js';

describeE2E('warpc status --diff (namespaces)', E2E_TOOLS, () => {
  let t: Topology;
  let plan: string;
  let settings: { routing: { table: number }; nft_table: string };
  beforeAll(async () => {
    t = await buildTopology();
    plan = await compileProfile(t, profileYaml(t), 'plan');
    settings = JSON.parse(await readFile(join(plan, 'settings.json'), 'utf8')) as typeof settings;
  });
  afterEach(async () => {
    if (t) await stopLeftoverAgents(t);
  });
  afterAll(async () => {
    await destroyTopology(t);
  });

  const diff = async (stateDir: string, ...extra: string[]): Promise<{ code: number | null; json: StatusDiff; stderr: string }> => {
    const r = await warpc(t.dev, ['status', '--diff', ...extra, '--state-dir', stateDir, '--format', 'json']);
    return { code: r.code, json: JSON.parse(r.stdout) as StatusDiff, stderr: r.stderr };
  };
  const drift = (d: StatusDiff): string[] => d.groups.flatMap((g) => g.lines.map((l) => `${g.area} ${g.name}: ${l.op} ${l.line}`));

  it('no drift after up; a deleted route and an added nft element are exactly what it reports; after down everything is missing', async () => {
    const { root, stateDir } = await freshRoot(t, 'status-diff');
    const agent = await startAgent(t, ['up', plan, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    await addDevicePeer(t, (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim());

    // 1. Right after up: nothing differs, and every area was compared.
    const clean = await diff(stateDir);
    expect(clean.code, clean.stderr + JSON.stringify(drift(clean.json))).toBe(0);
    expect(drift(clean.json)).toEqual([]);
    expect(clean.json).toMatchObject({ ok: true, drift: false, agent_running: true, plan: { source: 'journal', running: true }, dns_manager: 'resolv.conf' });
    expect(new Set(clean.json.groups.map((g) => g.area))).toEqual(new Set(['routes', 'rules', 'nft', 'dns', 'proxy']));
    for (const g of clean.json.groups.filter((x) => !x.name.startsWith('set host_'))) expect(g.matching, `${g.area} ${g.name}`).toBeGreaterThan(0);
    const table = settings.routing.table;
    const routes4 = clean.json.groups.find((g) => g.name === `IPv4 table ${table}`)!;
    expect(routes4.matching).toBeGreaterThanOrEqual(5);

    // A host entry from a DNS answer: a route and an nft element the agent adds at run time, not drift.
    // The answer's TTL is 0, so the entry lives HOST_ENTRY_MIN_SECONDS (10 s): on a loaded machine the
    // CLI can take longer than that to start, so ask again until one run sees it (never drift either way).
    let seen: string[] = [];
    for (let attempt = 0; attempt < 5 && seen.length < 2; attempt++) {
      expect((await t.dev.run('dig', ['+short', '+time=5', '@127.0.2.2', 'www.cdn.example.com'])).stdout).toBe(`${ADDR.cdn}\n`);
      const withHost = await diff(stateDir);
      expect(withHost.code, JSON.stringify(drift(withHost.json))).toBe(0);
      seen = withHost.json.runtime_entries.map((e) => `${e.kind} ${e.value}`).filter((e) => e.includes(ADDR.cdn));
    }
    expect(seen.sort()).toEqual([`element host_bypass4 ${ADDR.cdn}/32`, `route throw ${ADDR.cdn}/32`]);

    // 2. By hand: delete one route of the plan, add one element to an nft set.
    await t.dev.run('ip', ['-4', 'route', 'del', 'throw', '198.18.0.0/24', 'table', String(table)]);
    await t.dev.run('nft', ['add', 'element', 'inet', settings.nft_table, 'direct4', '{ 203.0.113.77 }']);
    const changed = await diff(stateDir);
    expect(changed.code).toBe(1);
    expect(drift(changed.json)).toEqual([`nft set direct4: + element 203.0.113.77/32`, `routes IPv4 table ${table}: - throw 198.18.0.0/24`]);
    expect(changed.json.counts).toMatchObject({ extra: 1, missing: 1 });
    const text = await warpc(t.dev, ['status', '--diff', plan, '--state-dir', stateDir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^nft: set direct4\n\+ element 203\.0\.113\.77\/32$/m);
    expect(text.stdout).toMatch(new RegExp(`^routes: IPv4 table ${table}\\n- throw 198\\.18\\.0\\.0/24$`, 'm'));
    expect(text.stdout).toMatch(/^drift: 1 line\(s\) only on the device \(\+\), 1 only in the plan \(-\)/m);

    // 3. After down: everything the plan wants is missing; what remains is the device's own resolv.conf.
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code).toBe(0);
    const after = await diff(stateDir);
    expect(after.code).toBe(1);
    expect(after.json).toMatchObject({ drift: true, agent_running: false, journal_state: 'closed' });
    expect(after.json.notes.join('\n')).toMatch(/warpc is not running \(journal closed\)/);
    for (const g of after.json.groups) {
      expect(g.matching, `${g.area} ${g.name}`).toBe(0);
      if (g.area !== 'dns') expect(g.extra, `${g.area} ${g.name}`).toEqual([]);
    }
    expect(after.json.groups.find((g) => g.area === 'dns')!.extra).toEqual([`nameserver ${ADDR.corp}`, 'search example.net']);
    expect(after.json.counts.missing).toBe(clean.json.counts.matching);
  }, 180_000);

  it('with no journal and no folder there is nothing to compare: exit 2 and a clear message', async () => {
    const { stateDir } = await freshRoot(t, 'status-diff-none');
    const r = await warpc(t.dev, ['status', '--diff', '--state-dir', stateDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no plan to compare against: no journal in .*; give the compiled folder/);
    const j = await warpc(t.dev, ['status', '--diff', '--state-dir', stateDir, '--format', 'json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: expect.stringMatching(/no plan to compare against/) as unknown });
  }, 60_000);
});

describeE2E('status --diff reads every bundled fixture back without drift (namespaces)', ['ip', 'nft'], () => {
  const pool = new NetnsPool();
  afterAll(async () => {
    await pool.cleanup();
  });
  const fixtures = readdirSync(FIXTURES_DIR).filter((f) => existsSync(join(FIXTURES_DIR, f, 'expected', 'linux', 'settings.json')));
  it('finds the fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(8));
  for (const fixture of fixtures) {
    it(fixture, async () => {
      const dir = join(FIXTURES_DIR, fixture, 'expected', 'linux');
      const files = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))] as const));
      const settings = parseLinuxSettings(files.get('settings.json')!.toString('utf8'));
      const ns = await pool.create(fixture.slice(0, 12));
      await ns.run('ip', ['link', 'add', settings.interface.name, 'type', 'veth', 'peer', 'name', `p${randomBytes(4).toString('hex')}`]);
      await ns.run('ip', ['link', 'set', settings.interface.name, 'up']);
      for (const [fam, f] of [['-4', 'routes4.batch'], ['-6', 'routes6.batch']] as const) if (files.has(f)) await ns.run('ip', [fam, '-batch', '-'], { input: files.get(f)!.toString('utf8') });
      if (files.has('ruleset.nft')) await ns.run('nft', ['-f', '-'], { input: files.get('ruleset.nft')!.toString('utf8') });
      const table = String(settings.routing.table);
      const out = async (cmd: string, args: string[]): Promise<string> => (await ns.tryRun(cmd, args)).stdout;
      const nftText = settings.features.firewall ? await out('nft', ['list', 'table', 'inet', settings.nft_table]) : null;
      const live = {
        rules4: await out('ip', ['-j', '-4', 'rule', 'show']),
        rules6: await out('ip', ['-j', '-6', 'rule', 'show']),
        routes4: await out('ip', ['-j', '-4', 'route', 'show', 'table', table]),
        routes6: await out('ip', ['-j', '-6', 'route', 'show', 'table', table]),
        nftText,
        resolvConf: files.get('resolv.conf')?.toString('utf8') ?? null,
        resolved: null,
        proxyConfig: files.get('dns-proxy.json')?.toString('utf8') ?? null,
      };
      const { groups, runtime } = buildGroups({ settings, files }, live);
      const d = compareLive({ state_dir: '/s', compiled_dir: dir, plan_source: 'argument', manifest_sha256: '0'.repeat(64), plan_is_running: true, journal_state: 'committed', agent_running: true, dns_manager: 'resolv.conf', groups, runtime, notes: [] });
      expect(d.groups.flatMap((g) => g.lines.map((l) => `${g.name}: ${l.op} ${l.line}`))).toEqual([]);
      expect(d.counts.matching).toBe(groups.reduce((n, g) => n + g.expected.length, 0));
      if (settings.features.routes) expect(d.groups.filter((g) => g.area === 'routes').reduce((n, g) => n + g.matching, 0)).toBeGreaterThan(0);
    });
  }
});
