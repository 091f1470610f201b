/**
 * Capabilities as data: a target declares what it can express, and the core derives
 * every limitation diagnostic from that, one code per limitation. A made-up target
 * (test/targets/made-up/, one folder) joins through one registry row; each of its
 * declared gaps gives its own code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, compile, resolveTargets, targetOptions } from '../../src/compile.js';
import { CODES, RETIRED } from '../../src/diagnostics/codes.js';
import { formatAllText } from '../../src/diagnostics/diagnostic.js';
import { TARGETS } from '../../src/emit/registry.js';
import type { TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { validFixtures } from '../helpers/fixtures.js';
import { assembleProfileSchema } from '../../src/profile/schema.js';
import { optionsIn } from '../../src/profile/target-options.js';
import { madeUp, madeUpTarget } from './made-up/index.js';
import { madeUpOptions } from './made-up/options.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The registry with one more row. */
const REGISTRY: readonly TargetModule[] = [...TARGETS, madeUp];

function fixture(name: string): string {
  return readFileSync(join(validFixtures().find((f) => f.name === name)!.dir, 'profile.yaml'), 'utf8');
}

/** The made-up target with some capabilities changed, under the same name. */
function madeUpWith(caps: Partial<TargetCapabilities>): TargetModule {
  return madeUpTarget({ ...madeUp.capabilities, ...caps });
}

function codes(source: string, target: TargetModule): string[] {
  return compile(source, [target])
    .diagnostics.filter((d) => /^WARPC01[01]\d$/.test(d.code) /* the capability limitation codes, 0100-0119 (01[3-9]x are pitfalls, MASQUE, interop) */)
    .map((d) => `${d.code}${d.line > 0 ? `@${d.line}` : ''}`)
    .sort();
}

describe('a made-up target: one folder, one registry row', () => {
  it('is found by name and by "all" through the registry it is given', () => {
    expect(resolveTargets('made-up', REGISTRY).targets).toEqual([madeUp]);
    expect(resolveTargets('all', REGISTRY).targets.at(-1)).toBe(madeUp);
    expect(resolveTargets('made-up').diagnostics.map((d) => d.code)).toEqual(['WARPC0060']);
  });

  it('every gap it declares gives its specific code (corporate-exclude: firewall, IPv6, a wildcard and a direct host, the reduced variant)', () => {
    const result = compile(fixture('corporate-exclude'), resolveTargets('made-up', REGISTRY).targets);
    expect(result.files.size).toBe(0);
    // Line 15: "*.zoom.us" (a wildcard); line 16: teams.microsoft.com, which goes direct.
    expect(codes(fixture('corporate-exclude'), madeUp)).toEqual([
      'WARPC0101', // no firewall (error)
      'WARPC0102', // no IPv6 routes (error)
      'WARPC0103@16', // resolved once, when the device boots
      'WARPC0104@15', // a wildcard has no effect
      'WARPC0106@16', // a direct host needs excludeRoute, from release 2
      'WARPC0109', // apply.lite has no firewall
      'WARPC0110', // nor the search list
      'WARPC0111', // revert.lite resets DNS servers to DHCP
      'WARPC0112', // and fixes the metric
    ]);
    const messages = result.diagnostics.map((d) => d.message);
    expect(messages).toContain('target made-up: host entry "teams.microsoft.com" is resolved once when the device boots; later changes to its addresses are not followed');
    expect(messages).toContain('target made-up: host entry "teams.microsoft.com" is excluded with excludeRoute, which needs release 2; before that its addresses stay in the tunnel');
    expect(messages).toContain('target made-up: apply.lite does not set the DNS suffix search list (litectl has no search list): apply.full does');
  });

  it('other gaps, other codes: no host entries at all; no way to exclude a host; IPv6 only with an address; a local proxy it does not run', () => {
    expect(codes(fixture('corporate-exclude'), madeUpWith({ hostEntries: { by: 'none' }, firewall: true, ipv6: true, reducedVariant: undefined }))).toEqual(['WARPC0100@15', 'WARPC0100@16']);
    // Both host entries go direct (exclude mode), the wildcard too once wildcards are followed.
    expect(codes(fixture('corporate-exclude'), madeUpWith({ directHosts: { no: 'no reason' }, wildcardHosts: true, firewall: true, ipv6: true, reducedVariant: undefined }))).toEqual([
      'WARPC0105@15',
      'WARPC0105@16',
    ]);
    expect(codes(fixture('corporate-exclude'), madeUpWith({ excludeRoute: false, firewall: true, ipv6: true, reducedVariant: undefined }))).toEqual(['WARPC0103@16', 'WARPC0104@15', 'WARPC0105@16']);
    // include-only sets no interface.ipv6 but routes 2001:db8:100::/48.
    expect(codes(fixture('include-only'), madeUpWith({ ipv6: 'needs-address', firewall: true, reducedVariant: undefined }))).toContain('WARPC0107');
    expect(codes(fixture('local-proxy'), madeUp)).toEqual(['WARPC0108']);
    // Firewall tables past their default size: a warning naming the count and how to raise it.
    const small = madeUpWith({ firewall: true, ipv6: true, reducedVariant: undefined, firewallTableLimit: { firewall: 'made-up tables', limit: 5, raise: 'raise it' } });
    expect(codes(fixture('include-only'), small).filter((c) => c === 'WARPC0116')).toEqual(['WARPC0116']);
    expect(codes(fixture('include-only'), madeUpWith({ firewall: true, ipv6: true, reducedVariant: undefined, firewallTableLimit: { firewall: 'made-up tables', limit: 1000, raise: 'raise it' } }))).not.toContain('WARPC0116');
  });

  it('a target with no gaps gets no limitation diagnostics, and its files follow the shared route form and DNS servers', () => {
    const full = madeUpWith({ excludeRoute: true, hostEntries: { by: 'dns-answer' }, wildcardHosts: true, directHosts: true, dnsServers: 'proxy', firewall: true, ipv6: true, localProxy: true, reducedVariant: undefined });
    for (const name of ['corporate-exclude', 'include-only', 'local-proxy']) expect(codes(fixture(name), full), name).toEqual([]);
    const text = (t: TargetModule): string => compile(fixture('corporate-exclude'), [t]).files.get('made-up/settings.txt')!.text;
    // excludeRoute: the default route in, the direct set out; the proxy's own DNS addresses.
    expect(text(full)).toMatch(/^in 0\.0\.0\.0\/0\nout 10\.0\.0\.0\/8\n/);
    expect(text(full)).toContain('in ::/0\n');
    expect(text(full)).toContain('dns fd01:db8:1111::2\n');
    // Without it: the tunnel set itself, and (ipv4-mapped-v6) the IPv4-mapped proxy address.
    const plain = madeUpWith({ firewall: true, ipv6: true, excludeRoute: false });
    expect(text(plain)).not.toContain('out ');
    expect(text(plain)).toContain('in 0.0.0.0/5\n');
    expect(text(plain)).toContain('dns ::ffff:127.0.2.2\n');
  });
});

describe('a made-up target\'s own options: declared in its folder, validated with positions', () => {
  /** Every diagnostic as the CLI prints it, without the code frames. */
  const report = (source: string, registry: readonly TargetModule[] = REGISTRY): string[] =>
    formatAllText(analyze(source, registry).diagnostics, source).map((t) => t.split('\n')[0]!);
  const noGaps = madeUpWith({ excludeRoute: true, hostEntries: { by: 'dns-answer' }, wildcardHosts: true, directHosts: true, dnsServers: 'proxy', firewall: true, ipv6: true, localProxy: true, reducedVariant: undefined });

  it('its fragment joins the profile schema under targets.made-up, after the registry\'s', () => {
    const schema = assembleProfileSchema(targetOptions(REGISTRY)) as { properties: { targets: { properties: Record<string, unknown> } } };
    expect(Object.keys(schema.properties.targets.properties)).toEqual(['linux', 'macos', 'windows', 'made-up']);
    expect(schema.properties.targets.properties['made-up']).toBe(madeUpOptions.schema);
  });

  it('the schema checks its types and names, at the value or key', () => {
    expect(report('version: 1\ntargets:\n  made-up:\n    app_idd: x\n    retries: "3"\n')).toEqual([
      '<profile>:4:5: error WARPC0011: unknown property "app_idd" (did you mean "app_id"?)',
      '<profile>:5:14: error WARPC0012: targets.made-up.retries must be an integer',
    ]);
    expect(report('version: 1\ntargets:\n  made-up: { retries: 11 }\n')).toEqual(['<profile>:3:23: error WARPC0014: targets.made-up.retries must be <= 10']);
  });

  it('its own checks report at the value, with the path under targets.made-up, beside the other targets\'', () => {
    const source = 'version: 1\ntargets:\n  linux: { table: 254 }\n  made-up:\n    app_id: "Not An Id"\n    interface: "a b"\n';
    expect(report(source)).toEqual([
      '<profile>:3:19: error WARPC0053: targets.linux.table 254 is outside 1–4294967294 (not 253, 254, 255)',
      '<profile>:5:13: error WARPC0028: "Not An Id" is not a valid app id: a reverse-DNS name such as com.example.app',
      '<profile>:6:16: error WARPC0028: "a b" is not a valid interface name: at most 15 letters, digits, "_", "." or "-", starting with a letter or digit',
    ]);
    expect(analyze(source, REGISTRY).diagnostics.map((d) => d.path.join('.'))).toEqual(['targets.linux.table', 'targets.made-up.app_id', 'targets.made-up.interface']);
  });

  it('without its registry row, targets.made-up is an unknown property', () => {
    expect(report('version: 1\ntargets:\n  made-up: { retries: 5 }\n', TARGETS)).toEqual(['<profile>:3:3: error WARPC0011: unknown property "made-up"; expected one of: linux, macos, windows']);
  });

  it('the validated options, defaults filled in, reach the plan and the target\'s files', () => {
    const set = analyze('version: 1\ntargets:\n  made-up: { retries: 5, app_id: org.example.vpn }\n', REGISTRY);
    expect(optionsIn(set.plan!.targets, madeUpOptions)).toEqual({ appId: 'org.example.vpn', interface: 'made0', retries: 5 });
    const text = (source: string): string => compile(source, [noGaps]).files.get('made-up/settings.txt')!.text;
    expect(text('version: 1\ntargets:\n  made-up: { retries: 5 }\n')).toContain('app com.example.made-up on made0, 5 retries\n');
    expect(text('version: 1\n')).toContain('app com.example.made-up on made0, 3 retries\n');
  });
});

describe('limitations are the core\'s, not the targets\'', () => {
  const limitationCodes = Object.entries(CODES).filter(([, c]) => /^WARPC01[01]\d$/.test(c.code)).map(([name]) => name);

  it('no target module reports a limitation code itself', () => {
    for (const dir of readdirSync(join(ROOT, 'targets'))) {
      const text = readFileSync(join(ROOT, 'targets', dir, 'index.ts'), 'utf8');
      for (const name of limitationCodes) expect(text, `targets/${dir}/index.ts reports ${name}`).not.toMatch(new RegExp(`['"\`]${name}['"\`]`));
    }
  });

  it('retired numbers are never reused', () => {
    const live = new Set<string>(Object.values(CODES).map((c) => c.code));
    for (const n of Object.keys(RETIRED)) expect(live.has(n), n).toBe(false);
  });
});
