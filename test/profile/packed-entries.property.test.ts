/**
 * A split tunnel list the fast reader packs (src/profile/fast-yaml.ts PackedList: `- address:`
 * or `- host:` items read as text, no object each) must validate, plan and warn exactly as the
 * same list read by the full parser, as objects: the same diagnostics at the same places, the
 * same entries and the same plan. Checked on every fixture profile and on random lists of
 * canonical, non-canonical, invalid, duplicate and shadowing entries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixtureYamlTexts } from '../helpers/fixtures.js';
import { targetOptions } from '../../src/compile.js';
import { sortDiagnostics } from '../../src/diagnostics/diagnostic.js';
import { TARGETS } from '../../src/emit/registry.js';
import { pitfallWarnings } from '../../src/pitfalls/index.js';
import { buildPlan } from '../../src/plan/plan.js';
import { formatPrefix } from '../../src/net/ip.js';
import { loadProfileSource, loadWithParser, type LoadedDocument } from '../../src/profile/load.js';
import { checkPlanned, validateProfile } from '../../src/profile/validate.js';

/** What a profile comes to through `doc`, as plain data. */
function reading(doc: LoadedDocument): unknown {
  const v = validateProfile(doc, targetOptions(TARGETS));
  if (!v.profile) return { diagnostics: JSON.parse(JSON.stringify(sortDiagnostics(v.diagnostics))) as unknown };
  const p = buildPlan(v.profile);
  const late = checkPlanned(doc, v.profile, p.plan);
  const pitfalls = pitfallWarnings(doc, v.profile, p.plan);
  const entries = v.profile.splitTunnel.entries.map((e) =>
    e.kind === 'host'
      ? { kind: e.kind, host: e.host, description: e.description, pos: JSON.parse(JSON.stringify(e.pos)) as unknown }
      : {
          kind: e.kind,
          address: e.address,
          cidr: e.cidr,
          description: e.description,
          written: e.written,
          prefix: e.prefix ? formatPrefix(e.prefix) : null,
          v4: e.v4,
          pos: JSON.parse(JSON.stringify(e.pos)) as unknown,
        },
  );
  return {
    diagnostics: JSON.parse(JSON.stringify(sortDiagnostics([...v.diagnostics, ...p.diagnostics, ...late, ...pitfalls]))) as unknown,
    entries,
    rules: p.plan.split.rules.map((r) => [r.cidr, r.source, r.pos.line, r.pos.col]),
    tunnel: [...p.plan.split.tunnel.v4.toCidrs(), ...p.plan.split.tunnel.v6.toCidrs()],
    direct: [...p.plan.split.direct.v4.toCidrs(), ...p.plan.split.direct.v6.toCidrs()],
    hosts: p.plan.split.hosts.map((h) => [h.text, h.action, h.pos.line]),
  };
}

/** Read `text` both ways and compare; whether the fast reader packed the entries. */
function same(text: string): boolean {
  const fast = loadProfileSource(text).doc;
  const full = loadWithParser(text).doc;
  expect(fast === null, text).toBe(full === null);
  if (!fast || !full) return false;
  expect(reading(fast), text).toStrictEqual(reading(full));
  return fast.valueWith(['split_tunnel', 'entries'], ['address', 'host', 'description']).list !== null;
}

describe('a packed entry list', () => {
  it('reads as the objects do, in every fixture profile', () => {
    const packed = fixtureYamlTexts().filter(same);
    expect(packed.length).toBeGreaterThan(0);
  });

  const ADDRESSES = [
    '10.0.0.0/8',
    '10.1.0.0/16',
    '10.1.2.0/24',
    '10.1.2.3',
    '10.1.2.3/32',
    '10.1.2.3/8',
    '010.0.0.0/8',
    '300.0.0.0/8',
    '10.0.0.0/33',
    '0.0.0.0/0',
    '192.168.0.0/16',
    '"192.168.1.0/24"',
    "'172.16.0.0/12'",
    '2001:db8::/32',
    '2001:db8:1::/48',
    '2001:DB8::/32',
    '2001:db8::1',
    '2001:db8:0:0::/64',
    '::/0',
    '::ffff:10.0.0.1',
    '::ffff:0:0/96',
    'fe80::/10',
    'abc',
    '10.0.0.0/8 # why',
    '"10.0.0.0/8" # quoted',
    '1.2.3.4/24',
  ];
  const HOSTS = ['example.com', '*.example.com', 'a.example.com', 'EXAMPLE.com', '10.0.0.1', 'bad..name', 'münchen.de', 'intranet.'];
  // Descriptions: none, short, as long as the schema takes (256 code points: 512 UTF-16 units of emoji), one longer (an error the schema reports).
  const DESCRIPTIONS = [null, 'noted', '"quoted note"', 'x'.repeat(256), 'x'.repeat(257), '😀'.repeat(256), '😀'.repeat(257), '12'];
  type Entry = { key: 'address' | 'host' | 'description'; value: string; description: string | null; other: 'none' | 'host' | 'first' };
  const entry: fc.Arbitrary<Entry> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ key: fc.constant('address' as const), value: fc.constantFrom(...ADDRESSES), description: fc.constant(null), other: fc.constant('none' as const) }) },
    { weight: 1, arbitrary: fc.record({ key: fc.constant('host' as const), value: fc.constantFrom(...HOSTS), description: fc.constant(null), other: fc.constant('none' as const) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        key: fc.constantFrom('address' as const, 'host' as const, 'description' as const),
        value: fc.constantFrom(...ADDRESSES, ...HOSTS),
        description: fc.constantFrom(...DESCRIPTIONS),
        // Another key: a host beside the address (an error), or the description written first.
        other: fc.constantFrom('none' as const, 'none' as const, 'host' as const, 'first' as const),
      }),
    },
  );
  const lines = (e: Entry): string[] => {
    const rest = [...(e.other === 'host' && e.key !== 'host' ? ['host: example.org'] : []), ...(e.description !== null && e.key !== 'description' ? [`description: ${e.description}`] : [])];
    const all = e.other === 'first' ? [...rest, `${e.key}: ${e.value}`] : [`${e.key}: ${e.value}`, ...rest];
    return all.map((l, i) => `${i === 0 ? '    - ' : '      '}${l}`);
  };

  it('reads as the objects do, on random lists', () => {
    let packed = 0;
    let withDescriptions = 0;
    fc.assert(
      fc.property(fc.array(entry, { minLength: 0, maxLength: 12 }), fc.constantFrom('exclude', 'include'), fc.boolean(), (entries, mode, iface) => {
        const text = ['version: 1', ...(iface ? ['interface:', '  ipv4: 10.1.2.3'] : []), 'split_tunnel:', `  mode: ${mode}`, `  entries:${entries.length === 0 ? ' []' : ''}`];
        for (const e of entries) text.push(...lines(e));
        if (same(`${text.join('\n')}\n`)) {
          packed++;
          if (entries.some((e) => e.description !== null)) withDescriptions++;
        }
      }),
      { numRuns: 500 },
    );
    expect(packed).toBeGreaterThan(60);
    expect(withDescriptions).toBeGreaterThan(20);
  });
});
