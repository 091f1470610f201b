/**
 * `warpc status --diff`'s comparison on captured tool output: the bundled
 * fixtures' compiled plans loaded into a namespace (`ip -batch`, `nft -f`) and
 * read back with `ip -j` and `nft list table` (test/runtime/captured/, made
 * once; see the file header there), then the same namespace after a hand-made
 * change (one route deleted, one set element added, one host entry added with a
 * timeout, as the agent does). The clean capture must show no drift; the
 * drifted one exactly the two hand-made lines, with the host entry listed apart.
 * The readers' canonical forms, the ordered comparison, the text form and the
 * JSON schema are checked on small inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseLinuxSettings } from '../../src/contract/settings.js';
import type { LiveStateReport } from '../../src/contract/live-state.js';
import { buildGroups, canonicalNftLine, nftSeconds, expectedRoutes, liveRoutes, liveRules, parseNftText, proxyLines, resolvedExpected, resolvedLive, resolvLines, type LiveCapture, type PlanFiles } from '../../src/runtime/linux/live-state.js';
import { compareLive, type StatusDiff } from '../../src/status-diff/compare.js';
import { parseAddress } from '../../src/net/ip.js';
import { withBypassElements, withBypassRoutes } from '../../src/runtime/linux/compiled.js';
import { statusDiffText } from '../../src/status-diff/text.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'schema', 'status-diff.schema.json'), 'utf8')) as object;
const validate = new Ajv({ strict: true, allErrors: true }).compile(SCHEMA);

function plan(fixture: string): PlanFiles {
  const dir = join(ROOT, 'fixtures', fixture, 'expected', 'linux');
  const files = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))] as const));
  return { settings: parseLinuxSettings(files.get('settings.json')!.toString('utf8')), files };
}

type Captured = Record<'clean' | 'drifted', Pick<LiveCapture, 'rules4' | 'rules6' | 'routes4' | 'routes6' | 'nftText'>>;
const captured = (fixture: string): Captured => JSON.parse(readFileSync(join(import.meta.dirname, 'captured', `status-diff-${fixture}.json`), 'utf8')) as Captured;

/** The device as the agent leaves it: resolv.conf and the proxy as compiled, kernel state as captured. */
function live(p: PlanFiles, kernel: Captured['clean'], over: Partial<LiveCapture> = {}): LiveCapture {
  return { ...kernel, resolvConf: p.files.get('resolv.conf')!.toString('utf8'), resolved: null, proxyConfig: p.files.get('dns-proxy.json')!.toString('utf8'), ...over };
}

function report(p: PlanFiles, l: LiveCapture): LiveStateReport {
  const { groups, runtime } = buildGroups(p, l);
  return { state_dir: '/s', compiled_dir: '/out/linux', plan_source: 'journal', manifest_sha256: 'a'.repeat(64), plan_is_running: true, journal_state: 'committed', agent_running: true, dns_manager: 'resolv.conf', groups, runtime, notes: [] };
}

const driftLines = (d: StatusDiff): string[] => d.groups.flatMap((g) => g.lines.map((l) => `${g.name}: ${l.op} ${l.line}`));

describe('status --diff on captured kernel state', () => {
  const cases = [
    { fixture: 'corporate-exclude', drift: ['set direct4: + element 198.18.5.5/32', 'IPv4 table 65743: - throw 192.168.0.0/16'], runtime: ['element host_bypass4 198.19.0.7/32', 'route throw 198.19.0.7/32'] },
    { fixture: 'include-only', drift: ['set tunnel6: + element 2001:db8:beef::/64', 'IPv6 table 65743: - unicast 2001:db8:100::/48 dev CloudflareWARP'], runtime: ['element host_tunnel6 2001:db8:7::5/128', 'route unicast 2001:db8:7::5/128 dev CloudflareWARP'] },
  ];
  for (const c of cases) {
    it(`${c.fixture}: the plan as loaded shows no drift, and every area is compared`, () => {
      const p = plan(c.fixture);
      const d = compareLive(report(p, live(p, captured(c.fixture).clean)));
      expect(driftLines(d)).toEqual([]);
      expect(d.drift).toBe(false);
      expect(new Set(d.groups.map((g) => g.area))).toEqual(new Set(['nft', 'rules', 'routes', 'dns', 'proxy']));
      // Every line of every group matched (nothing compared against nothing).
      for (const g of d.groups) expect(g.matching, g.name).toBe(buildGroups(p, live(p, captured(c.fixture).clean)).groups.find((x) => x.name === g.name)!.expected.length);
      expect(d.counts.matching).toBeGreaterThan(30);
      expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    });

    it(`${c.fixture}: after a deleted route and an added element, exactly those two lines; the host entry is runtime, not drift`, () => {
      const p = plan(c.fixture);
      const d = compareLive(report(p, live(p, captured(c.fixture).drifted)));
      expect(driftLines(d)).toEqual(c.drift);
      expect(d).toMatchObject({ drift: true, counts: { extra: 1, missing: 1 } });
      expect(d.runtime_entries.map((e) => `${e.kind} ${e.value}`)).toEqual(c.runtime);
      expect(d.runtime_entries[0]!.expires_seconds).toBeGreaterThan(250);
      expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    });
  }

  it("an enrolled device's bypass (the plan lists it in host_bypass4 and as a throw) is compared, not runtime", () => {
    const p = plan('corporate-exclude');
    const bypass = [parseAddress('198.19.0.7')!];
    const files = new Map(p.files);
    files.set('routes4.batch', Buffer.from(withBypassRoutes(p.files.get('routes4.batch')!.toString('utf8'), bypass, p.settings.routing.table)));
    files.set('ruleset.nft', Buffer.from(withBypassElements(p.files.get('ruleset.nft')!.toString('utf8'), bypass)));
    const over = { ...p, files };
    // The drifted capture holds 198.19.0.7 in host_bypass4 and its throw route: as planned now.
    const d = compareLive(report(over, live(over, captured('corporate-exclude').drifted)));
    expect(driftLines(d)).toEqual(['set direct4: + element 198.18.5.5/32', 'IPv4 table 65743: - throw 192.168.0.0/16']);
    expect(d.runtime_entries).toEqual([]);
    // The clean one has neither: both are missing.
    const clean = compareLive(report(over, live(over, captured('corporate-exclude').clean)));
    expect(driftLines(clean)).toEqual(['set host_bypass4: - element 198.19.0.7/32', 'IPv4 table 65743: - throw 198.19.0.7/32']);
  });

  it('with nothing on the device (after down) every line of the plan is missing and nothing is extra', () => {
    const p = plan('corporate-exclude');
    const empty = '[]';
    const d = compareLive(report(p, { rules4: empty, rules6: empty, routes4: '', routes6: '', nftText: null, resolvConf: '', resolved: null, proxyConfig: null }));
    const total = buildGroups(p, live(p, captured('corporate-exclude').clean)).groups.reduce((n, g) => n + g.expected.length, 0);
    expect(d.counts).toEqual({ extra: 0, missing: total, matching: 0 });
    const text = statusDiffText(d);
    // The whole set is summarized after five lines; small groups are listed whole.
    expect(text).toMatch(/^nft: set direct4\n(- .*\n){5}- … \d+ more lines: the device has none of set direct4/m);
    expect(text).toMatch(/^policy rules: IPv4 rules to table 65743\n- priority 32000 not fwmark 0x100cf lookup 65743$/m);
    expect(text).toMatch(/^drift: 0 line\(s\) only on the device \(\+\), \d+ only in the plan \(-\); 0 match$/m);
    // In the plan's order: the set's declaration, then its elements as compiled.
    expect(d.groups.find((g) => g.name === 'set direct4')!.lines.slice(0, 4).map((l) => l.line)).toEqual(['set direct4', 'set direct4 type ipv4_addr', 'set direct4 flags interval', 'element 10.0.0.0/8']);
    expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ok: false, error: 'no plan to compare against' })).toBe(true);
    expect(validate({ ok: false })).toBe(false);
  });

  it('a hand-added policy rule into warpc\'s table is extra; rules to other tables are not read', () => {
    const p = plan('corporate-exclude');
    const rules = JSON.parse(captured('corporate-exclude').clean.rules4) as object[];
    rules.splice(1, 0, { priority: 100, src: '10.0.0.0', srclen: 8, table: '65743' }, { priority: 101, src: 'all', table: '200' });
    const d = compareLive(report(p, live(p, captured('corporate-exclude').clean, { rules4: JSON.stringify(rules) })));
    expect(driftLines(d)).toEqual(['IPv4 rules to table 65743: + priority 100 from 10.0.0.0/8 lookup 65743']);
  });

  it('chain rules are compared in order: a moved rule is one - and one +', () => {
    const p = plan('corporate-exclude');
    const clean = captured('corporate-exclude').clean;
    const lines = clean.nftText!.split('\n');
    const i = lines.findIndex((l) => l.includes('oifname "lo" accept'));
    const [moved] = lines.splice(i, 1);
    lines.splice(lines.findIndex((l) => l.includes('ip6 daddr @host_tunnel6')) + 1, 0, moved!);
    const d = compareLive(report(p, live(p, clean, { nftText: lines.join('\n') })));
    expect(driftLines(d)).toEqual(['chain output: - oifname "lo" accept', 'chain output: + oifname "lo" accept']);
  });

  it('resolv.conf: order and content count, comments do not', () => {
    const p = plan('corporate-exclude');
    const compiled = p.files.get('resolv.conf')!.toString('utf8');
    const swapped = compiled.replace('nameserver 127.0.2.2\nnameserver 127.0.2.3', 'nameserver 127.0.2.3\nnameserver 127.0.2.2').replace(/^# .*$/gm, '# edited comment');
    expect(swapped).not.toBe(compiled);
    const d = compareLive(report(p, live(p, captured('corporate-exclude').clean, { resolvConf: swapped })));
    expect(driftLines(d)).toEqual(['/etc/resolv.conf: - nameserver 127.0.2.2', '/etc/resolv.conf: + nameserver 127.0.2.2']);
  });

  it('the running proxy configuration: a fallback rule the plan adds is missing until the proxy runs it', () => {
    const p = plan('corporate-exclude');
    const cfg = JSON.parse(p.files.get('dns-proxy.json')!.toString('utf8')) as { fallback: unknown[] };
    const dropped = cfg.fallback.splice(1, 1)[0];
    const d = compareLive(report(p, live(p, captured('corporate-exclude').clean, { proxyConfig: JSON.stringify(cfg) })));
    expect(driftLines(d)).toEqual([`DNS proxy configuration: - fallback ${JSON.stringify(dropped)}`]);
  });

  it('systemd-resolved: the link settings resolved.sh sets, read back from resolvectl', () => {
    const p = plan('corporate-exclude');
    const want = resolvedExpected(p.files.get('resolved.sh')!.toString('utf8'));
    expect(want).toEqual(['dns 127.0.2.2 127.0.2.3 fd01:db8:1111::2 fd01:db8:1111::3', 'domain ~. corp.example.com example.com', 'default-route yes']);
    const out = { link: 'CloudflareWARP', dns: 'Link 7 (CloudflareWARP): 127.0.2.2 127.0.2.3 fd01:db8:1111::2 fd01:db8:1111::3\n', domain: 'Link 7 (CloudflareWARP): ~. corp.example.com example.com\n', 'default-route': 'Link 7 (CloudflareWARP): yes\n' };
    expect(resolvedLive(out)).toEqual(want);
    const d = compareLive(report(p, live(p, captured('corporate-exclude').clean, { resolvConf: null, resolved: { ...out, domain: 'Link 7 (CloudflareWARP): corp.example.com example.com\n' } })));
    expect(driftLines(d)).toEqual(['systemd-resolved link CloudflareWARP: - domain ~. corp.example.com example.com', 'systemd-resolved link CloudflareWARP: + domain corp.example.com example.com']);
  });
});

describe('canonical lines', () => {
  it('routes: the kernel\'s forms (bare /32, IPv6 throw via lo, metric 1024) read as the batch writes them', () => {
    expect(liveRoutes('[{"type":"throw","dst":"162.159.137.105","flags":[]},{"dst":"10.1.0.0/16","dev":"wg0","metric":5,"flags":[]},{"dst":"10.2.0.0/16","dev":"wg0","scope":"link","flags":[]}]', '-4')).toEqual([
      'throw 162.159.137.105/32',
      'unicast 10.1.0.0/16 dev wg0 metric 5',
      'unicast 10.2.0.0/16 dev wg0',
    ]);
    expect(liveRoutes('[{"type":"throw","dst":"fe80::/10","dev":"lo","metric":1024,"flags":[],"pref":"medium"},{"dst":"default","dev":"wg0","metric":1024,"flags":[]},{"dst":"2001:db8::1","dev":"wg0","metric":1024,"flags":[]}]', '-6')).toEqual([
      'throw fe80::/10',
      'unicast default dev wg0',
      'unicast 2001:db8::1/128 dev wg0',
    ]);
    expect(expectedRoutes('# c\nrule add not fwmark 0x1 table 7 priority 9\nroute add throw 162.159.137.105/32 table 7\nroute add default dev wg0 table 7\nroute add 10.0.0.0/8 dev wg0 table 8\n', '-4', 7)).toEqual(['throw 162.159.137.105/32', 'unicast default dev wg0']);
    expect(liveRoutes('', '-4')).toEqual([]);
  });

  it('rules: marks in hex without padding or mask', () => {
    expect(liveRules('[{"priority":32000,"not":null,"src":"all","fwmark":"0x000100cf/0xffffffff","table":"65743"},{"priority":0,"src":"all","table":"local"}]', 65743)).toEqual(['priority 32000 not fwmark 0x100cf lookup 65743']);
  });

  it('nft: counters, padded marks and comments do not count; set elements lose timeouts and gain their length', () => {
    expect(canonicalNftLine('  meta mark 0x000100cf   accept')).toBe('meta mark 0x100cf accept');
    expect(canonicalNftLine('ip daddr != @direct4 counter packets 12 bytes 3400 reject')).toBe('ip daddr != @direct4 counter reject');
    const t = parseNftText('table inet other {\n\tset x {\n\t\ttype ipv4_addr\n\t}\n}\ntable inet w { # ours\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8, 1.2.3.4 timeout 5s expires 4s,\n\t\t\t     5.6.7.8-5.6.7.9 }\n\t}\n\tchain c {\n\t\toifname "a#b" accept # comment\n\t}\n}\n', 'w');
    expect([...t.sets.keys()]).toEqual(['s']);
    expect(t.sets.get('s')).toEqual({ decl: ['type ipv4_addr', 'flags interval'], elements: ['10.0.0.0/8', '1.2.3.4/32', '5.6.7.8-5.6.7.9'], expires: new Map([['1.2.3.4/32', 4]]) });
    expect(t.chains.get('c')).toEqual(['oifname "a#b" accept']);
    expect([nftSeconds('4m56s496ms'), nftSeconds('1h'), nftSeconds('2d3s'), nftSeconds('5x'), nftSeconds('')]).toEqual([296.496, 3600, 172_803, null, null]);
  });

  it('resolv.conf and the proxy configuration', () => {
    expect(resolvLines('# x\n; y\n\nnameserver  1.1.1.1\nsearch a b\n')).toEqual(['nameserver 1.1.1.1', 'search a b']);
    expect(proxyLines('{"version":1,"listen":[{"address":"127.0.2.2","port":53}],"doh":null}')).toEqual(['version 1', 'listen {"address":"127.0.2.2","port":53}', 'doh null']);
  });
});
