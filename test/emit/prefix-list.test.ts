import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stableJson } from '../../src/contract/json-file.js';
import { bytesArtifact, checkedPrefixes, jsonWithPrefixLists, PrefixList, prefixListText, prefixSetText } from '../../src/emit/prefix-list.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { RenderError } from '../../src/emit/render.js';

describe('prefixListText', () => {
  it('writes one canonical prefix per line with the line end asked for', () => {
    expect(prefixListText(['10.0.0.0/8', '2001:db8::/32'])).toBe('10.0.0.0/8\n2001:db8::/32\n');
    expect(prefixListText(['10.0.0.0/8'], '\r\n')).toBe('10.0.0.0/8\r\n');
    expect(prefixListText([])).toBe('');
  });
  it('refuses anything but a canonical prefix', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0/8\nrm -rf /', '2001:DB8::/32', '10.0.0.0/33', '']) expect(() => prefixListText([bad])).toThrow(RenderError);
  });
});

describe('checkedPrefixes', () => {
  it('hands the list back unchanged once every entry is a canonical prefix', () => {
    const list = ['10.0.0.0/8', '2001:db8::/32', '0.0.0.0/0', '::/0'];
    expect(checkedPrefixes(list)).toBe(list);
    expect(checkedPrefixes([])).toEqual([]);
  });
  it('refuses anything but a canonical prefix, wherever it is in the list', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0/8", "x', '2001:DB8::/32', '10.0.0.0/33', '']) expect(() => checkedPrefixes(['10.0.0.0/8', bad])).toThrow(RenderError);
  });
});

describe('prefixSetText', () => {
  it('writes a set as its minimal cover', () => {
    const set = PrefixSet.fromCidrs(4, ['10.0.0.0/9', '10.128.0.0/9', '192.0.2.0/25']);
    expect(prefixSetText(set)).toBe('10.0.0.0/8\n192.0.2.0/25\n');
    expect(prefixSetText(PrefixSet.all(6), '\r\n')).toBe('::/0\r\n');
    expect(prefixSetText(PrefixSet.empty(4))).toBe('');
  });
});

/** `value` with every PrefixList replaced by its prefixes as strings: what stableJson writes for it. */
function plain(value: unknown): unknown {
  if (value instanceof PrefixList) return value.toArray();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('jsonWithPrefixLists', () => {
  const sets = [
    PrefixSet.empty(4),
    PrefixSet.all(4),
    PrefixSet.all(6),
    PrefixSet.fromCidrs(4, ['10.0.0.0/8', '192.0.2.7/32']).complement(),
    PrefixSet.fromCidrs(6, ['2001:db8::/32', '::ffff:192.0.2.0/120', 'fe80::/10']),
    PrefixSet.empty(6),
  ];
  const listArb = fc.array(fc.constantFrom(...sets), { maxLength: 3 }).map((ss) => new PrefixList(ss));
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), listArb);
  const valueArb = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 })),
  })).node;

  it('writes what stableJson writes for the lists as arrays of strings, byte for byte', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        expect(jsonWithPrefixLists(value).toString('utf8')).toBe(stableJson(plain(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes a call list as the Android file has it (lists of two sets, an empty one left out)', () => {
    const value = { profile: 'Büro', calls: [{ method: 'addRoutes', prefixes: new PrefixList([sets[1]!, sets[5]!, sets[4]!]) }, { method: 'excludeRoutes', prefixes: new PrefixList([sets[0]!]) }] };
    expect(jsonWithPrefixLists(value).toString('utf8')).toBe(stableJson(plain(value)));
    expect(jsonWithPrefixLists(value).toString('utf8')).toContain('"prefixes": [\n        "0.0.0.0/0",\n        "::ffff:192.0.2.0/120",\n');
  });
});

describe('bytesArtifact', () => {
  it('decodes its text (UTF-8) only when read', () => {
    const a = bytesArtifact('x.json', Buffer.from('{"name": "Büro"}\n', 'utf8'));
    expect(a.text).toBe('{"name": "Büro"}\n');
    expect(a.mode).toBe(0o644);
  });
});
