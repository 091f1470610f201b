/**
 * The fast YAML reader (src/profile/fast-yaml.ts) against the full parser: on every
 * text it accepts, it must give the same value as yaml's core-schema toJS() and the
 * same position for every path the loader's locate() can be asked (every node, every
 * key, missing children); anything else it must refuse (null), so that the
 * full parser reads it. Checked on every fixture profile and on random texts built
 * from the subset's grammar with hostile variations (comments, quotes, odd indents,
 * numbers, indicator characters, keys without values). Lists of maps of string values
 * are packed (no object per item): each packed list must hold the parser's items, and
 * the loaded document's valueAt and valueWith must answer what the parser's value does.
 */
import fc from 'fast-check';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import { describe, expect, it } from 'vitest';
import { fixtureYamlTexts } from '../helpers/fixtures.js';
import { PackedList, readFastYaml } from '../../src/profile/fast-yaml.js';
import { loadProfileSource, loadWithParser } from '../../src/profile/load.js';

/** What the full parser says: the value and every scalar's position by path; null when it reports anything. */
function reference(text: string): { value: unknown; scalars: Map<string, { line: number; col: number; length: number }> } | null {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.2', schema: 'core', uniqueKeys: true, strict: true, prettyErrors: false, lineCounter: lc, merge: false });
  if (!Array.isArray(docs) || docs.length !== 1) return null;
  const doc = docs[0]!;
  if (doc.errors.length > 0 || doc.warnings.length > 0 || !isMap(doc.contents)) return null;
  const scalars = new Map<string, { line: number; col: number; length: number }>();
  const walk = (n: Node, path: (string | number)[]): void => {
    if (isMap(n)) for (const p of n.items) walk(p.value as Node, [...path, (p.key as { value: string }).value]);
    else if (isSeq(n)) n.items.forEach((x, i) => walk(x as Node, [...path, i]));
    else if (isScalar(n) && n.range) {
      const at = lc.linePos(n.range[0]);
      const first = text.slice(n.range[0], n.range[1]).split('\n')[0]!;
      scalars.set(JSON.stringify(path), { line: at.line, col: at.col, length: first.length });
    }
  };
  if (doc.contents) walk(doc.contents as Node, []);
  return { value: doc.toJS(), scalars };
}

/** Every path in a value (what the fast reader holds a node for), and beside each a missing child of every kind. */
function paths(value: unknown, path: (string | number)[], out: (string | number)[][]): (string | number)[][] {
  out.push(path, [...path, 'missing'], [...path, 99], [...path, 'missing', 'deeper']);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...path, k], out);
  return out;
}

/** The value at `path`, or undefined. */
function at(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const seg of path) v = v !== null && typeof v === 'object' && Object.hasOwn(v, seg) ? (v as Record<string, unknown>)[seg as string] : undefined;
  return v;
}

/** Every PackedList in the fast reader's packed value, with its path. */
function packedLists(value: unknown, path: (string | number)[], out: [(string | number)[], PackedList][]): [(string | number)[], PackedList][] {
  if (value instanceof PackedList) out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => packedLists(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) packedLists(v, [...path, k], out);
  return out;
}

function agree(text: string): 'fast' | 'refused' {
  const fast = readFastYaml(text);
  if (fast === null) return 'refused';
  const ref = reference(text);
  expect(ref, `the fast reader accepted what the parser refuses:\n${text}`).not.toBeNull();
  expect(fast.value).toStrictEqual(ref!.value);
  expect(JSON.stringify(fast.value), 'keys in the order written').toBe(JSON.stringify(ref!.value));
  // Packed lists hold the parser's items; the loaded document reads any path, or a packed list as text, the same.
  const doc = loadProfileSource(text).doc!;
  for (const path of paths(ref!.value, [], [])) expect(doc.valueAt(path), `${JSON.stringify(path)} in\n${text}`).toStrictEqual(at(ref!.value, path));
  for (const [path, list] of packedLists(fast.packed, [], [])) {
    expect(list.items(), `${JSON.stringify(path)} in\n${text}`).toStrictEqual(at(ref!.value, path));
    if (!path.every((seg) => typeof seg === 'string')) continue; // valueWith takes a path of keys
    const keys = path as string[];
    const { value, list: got } = doc.valueWith(keys, list.keys);
    expect(got?.items()).toStrictEqual(list.items());
    const expected = structuredClone(ref!.value) as Record<string, unknown>;
    (at(expected, keys.slice(0, -1)) as Record<string, unknown>)[keys[keys.length - 1]!] = [];
    expect(value).toStrictEqual(expected);
    expect(doc.valueWith(keys, list.keys.slice(1)).list).toBeNull();
  }
  // Every scalar where the parser has it (an empty value has length 0 there, at least 1 from locate).
  for (const [path, at] of ref!.scalars) expect(fast.locate(JSON.parse(path) as (string | number)[]), `${path} in\n${text}`).toEqual({ ...at, length: Math.max(1, at.length) });
  // locate() answers from the fast reader alone what the full parser's reading answers, for every path.
  const full = loadWithParser(text).doc!;
  for (const path of paths(fast.value, [], [])) {
    for (const key of [false, true]) expect(fast.locate(path, key), `${JSON.stringify(path)} key=${key} in\n${text}`).toEqual(full.locate(path, { key }));
  }
  return 'fast';
}

describe('fast YAML reader', () => {
  it('agrees with the parser on every fixture profile, and reads the plain ones itself', () => {
    const results = fixtureYamlTexts().map(agree);
    expect(results.filter((r) => r === 'fast').length).toBeGreaterThan(5);
  });

  it('reads a large exclude list itself, with positions', () => {
    const lines = ['version: 1', 'split_tunnel:', '  mode: exclude', '  entries:'];
    for (let i = 0; i < 2000; i++) lines.push(`    - address: 10.${i >> 8}.${i & 255}.0/24`, `      description: "office ${i}" # comment`);
    const text = `${lines.join('\n')}\n`;
    expect(agree(text)).toBe('fast');
    const loaded = loadProfileSource(text).doc!;
    expect(loaded.locate(['split_tunnel', 'entries', 1999, 'address'])).toEqual({ line: 4 + 2 * 1999 + 1, col: 16, length: 13 });
    // Collections and keys too.
    expect(loaded.locate(['split_tunnel', 'entries', 3])).toEqual({ line: 11, col: 7, length: 20 });
    expect(loaded.locate(['split_tunnel', 'mode'], { key: true })).toEqual({ line: 3, col: 3, length: 4 });
  });

  it('packs a list of maps of string values, and makes objects of it from the first item that is not one', () => {
    type Item =
      | { kind: 'one'; key: string; text: string }
      | { kind: 'two'; text: string; description: string; comment: boolean }
      | { kind: 'keys'; count: number }
      | { kind: 'scalar'; text: string }
      | { kind: 'nested' };
    // Address-like values and near misses of the tight loop's form (a colon last, no colon or slash, a trailing space, a letter past f).
    const VALUES = ['10.0.0.0/8', '2001:db8::/32', 'example.com', '"dq"', "'sq'", "'it''s'", '"a:b"', '1', 'true', 'null', '~', '10.0.0.1 # c', '"x" # c', 'é'];
    VALUES.push('2001:DB8::/32', '2001:db8:', '1:', 'a:b', 'A/1', '10.0.0.0/8 ', '1.2', '12', 'ab', '1g/8', '::/0', '1::', '0x1f/2');
    const value = fc.constantFrom(...VALUES);
    const item: fc.Arbitrary<Item> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('one' as const), key: fc.constantFrom('address', 'address', 'host'), text: value }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('two' as const), text: value, description: fc.oneof(value, fc.constant('office 1')), comment: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('keys' as const), count: fc.integer({ min: 2, max: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('scalar' as const), text: value }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'nested' as const }) },
    );
    const lines = (i: Item): string[] => {
      if (i.kind === 'one') return [`    - ${i.key}: ${i.text}`];
      if (i.kind === 'two') return [`    - address: ${i.text}`, ...(i.comment ? ['      # note'] : []), `      description: ${i.description}`];
      if (i.kind === 'keys') return [`    - k0: a`, ...Array.from({ length: i.count - 1 }, (_, j) => `      k${j + 1}: b`)];
      return i.kind === 'scalar' ? [`    - ${i.text}`] : ['    -', '      address: 10.0.0.0/8'];
    };
    const texts = (i: Item): string[] => (i.kind === 'one' || i.kind === 'scalar' ? [i.text] : i.kind === 'two' ? [i.text, i.description] : []);
    const keys = (i: Item): string[] => (i.kind === 'one' ? [i.key] : i.kind === 'two' ? ['address', 'description'] : i.kind === 'keys' ? Array.from({ length: i.count }, (_, j) => `k${j}`) : []);
    let packed = 0;
    let packedTwo = 0;
    let unpackedLater = 0;
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.boolean(), (items, blank) => {
        const text = `split_tunnel:\n  entries:\n${items.map((i) => lines(i).join('\n')).join(blank ? '\n\n  # between\n' : '\n')}\nname: after\n`;
        if (agree(text) === 'refused') {
          // Only these values make the reader leave the text to the parser (a colon first or last, a float).
          expect(items.flatMap(texts).some((t) => t.startsWith(':') || t.endsWith(':') || t === '1.2')).toBe(true);
          return;
        }
        const fast = readFastYaml(text)!;
        const list = (fast.packed.split_tunnel as Record<string, unknown>).entries;
        // Packed exactly when every item is a map whose every value is a string whose text is its span, and the items have four keys at most between them.
        const ref = (fast.value.split_tunnel as Record<string, unknown[]>).entries!;
        const spans = (i: Item, at: number): boolean =>
          (i.kind === 'one' || i.kind === 'two' || i.kind === 'keys') && Object.values(ref[at] as object).every((v) => typeof v === 'string') && !texts(i).some((t) => t.includes("''"));
        const packable = items.every(spans) && new Set(items.flatMap(keys)).size <= 4;
        expect(list instanceof PackedList, text).toBe(packable);
        if (packable) packed++;
        if (packable && items.some((i) => i.kind === 'two')) packedTwo++;
        else if (!packable && spans(items[0]!, 0)) unpackedLater++;
      }),
      { numRuns: 2000 },
    );
    expect(packed).toBeGreaterThan(50);
    expect(packedTwo).toBeGreaterThan(20);
    expect(unpackedLater).toBeGreaterThan(50);
  });

  const KEYS = ['version', 'name', 'mode', 'entries', 'address', 'description', 'a', 'b', '__proto__', 'x y', 'k'];
  const SCALARS = [
    'plain', 'with space', '10.0.0.0/8', '2001:db8::/32', '"dq"', '"d\\"q"', "'sq'", "'it''s'", "''", '""', '1', '0777', '-1', '+1', '1.5', '1e3',
    '0x1f', '0o17', '.inf', '.NaN', 'true', 'False', 'TRUE', 'yes', 'on', 'null', 'Null', '~', 'a: b', 'a:', 'a:b', 'a #c', 'a#c', '#c', '- x',
    '[a]', '{a: 1}', '&x a', '*x', '!!str a', '|', '>', '@a', '`a', '%a', '?', ':a', ',a', 'a,b', 'a [b]', '"a" b', "'a'b", '"a" #c', '9'.repeat(16),
    'é', '"un', "'un", '---', '...', '', '   ', '# only a comment', '1:30', '1/2', '0x1f:0', 'true/false', 'null:', '.inf/1', '10.0.0.0/8 # c',
  ];
  const scalar = fc.constantFrom(...SCALARS);
  const key = fc.constantFrom(...KEYS);
  type Tree = { kind: 'map'; entries: [string, Tree][] } | { kind: 'seq'; items: Tree[] } | { kind: 'scalar'; text: string };
  const tree = fc.letrec<{ node: Tree }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar.map((text) => ({ kind: 'scalar' as const, text })),
      fc.array(fc.tuple(key, tie('node')), { minLength: 1, maxLength: 3 }).map((entries) => ({ kind: 'map' as const, entries })),
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((items) => ({ kind: 'seq' as const, items })),
    ),
  })).node;
  const style = fc.record({ step: fc.integer({ min: 1, max: 4 }), compact: fc.boolean(), sameIndentSeq: fc.boolean(), comment: fc.constantFrom('', ' # c', '  #c', '#c', '  '), blank: fc.constantFrom('', '\n', '\n   \n', '\n  # note\n') });

  function render(t: Tree, ind: number, s: { step: number; compact: boolean; sameIndentSeq: boolean; comment: string; blank: string }): string[] {
    const pad = ' '.repeat(ind);
    if (t.kind === 'scalar') return [`${pad}${t.text}`];
    if (t.kind === 'map') {
      return t.entries.flatMap(([k, v]) => {
        if (v.kind === 'scalar') return [`${pad}${k}: ${v.text}${s.comment}`];
        const inner = v.kind === 'seq' && s.sameIndentSeq ? ind : ind + s.step;
        return [`${pad}${k}:${s.comment}`, ...render(v, inner, s), ...(s.blank ? [s.blank] : [])];
      });
    }
    return t.items.flatMap((v) => {
      if (v.kind === 'scalar') return [`${pad}- ${v.text}`];
      if (v.kind === 'map' && s.compact) {
        const lines = render(v, ind + 2, s);
        return [`${pad}- ${lines[0]!.slice(ind + 2)}`, ...lines.slice(1)];
      }
      return [`${pad}-`, ...render(v, ind + s.step, s)];
    });
  }

  it('accepts only what the parser reads the same way, on random texts', () => {
    let fastCount = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(key, tree), { minLength: 1, maxLength: 4 }), style, (entries, s) => {
        const text = `${render({ kind: 'map', entries }, 0, s).join('\n')}\n`;
        if (agree(text) === 'fast') fastCount++;
      }),
      { numRuns: 3000 },
    );
    expect(fastCount).toBeGreaterThan(100);
  });
});
