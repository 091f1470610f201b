/**
 * The redundancy check (duplicate and shadowed address entries) against a quadratic reading of
 * its rule: an entry is a duplicate when an entry of the same prefix is listed before it, and
 * otherwise shadowed by the narrowest entry that covers it (the first listed of that prefix).
 * Reported in order of family, network, length and profile order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPrefix, prefixCovers, V6Prefixes, type Prefix } from '../../src/net/ip.js';
import { prefixRedundancy, type ListedPrefix } from '../../src/profile/redundancy.js';

/** Few distinct networks and lengths, so that lists nest and repeat often. */
const prefix: fc.Arbitrary<Prefix> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 6 })).map(([n, len]): Prefix => {
    const length = [0, 1, 3, 8, 24, 31, 32][len]!;
    const network = BigInt((n * 0x20000000) >>> 0) & ~((1n << BigInt(32 - length)) - 1n);
    return { family: 4, network, length };
  }),
  // Networks that differ in the top bits and in each 32-bit word below, so that the words' order and containment are both tested.
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10 })).map(([n, m, len]): Prefix => {
    const length = [0, 1, 3, 32, 33, 64, 95, 96, 97, 127, 128][len]!;
    const spread = (BigInt(n) << 125n) | (BigInt(m & 1) << 95n) | (BigInt(m >> 1) << 31n) | BigInt(m);
    const network = spread & ~((1n << BigInt(128 - length)) - 1n);
    return { family: 6, network, length };
  }),
);

/**
 * The items, some carrying their prefix as split tunnel entries hold it: an IPv4 one as a number
 * (`network * 64 + length`), an IPv6 one as a place in the list's shared V6Prefixes.
 */
function listed(prefixes: readonly Prefix[], numbered: readonly boolean[] = []): ListedPrefix[] {
  const v6Prefixes = new V6Prefixes(2);
  return prefixes.map((p, i) => ({
    prefix: p,
    ...(numbered[i] ? { v4: p.family === 4 ? Number(p.network) * 64 + p.length : -1, ...(p.family === 6 ? { v6: v6Prefixes.add(p), v6Prefixes } : {}) } : {}),
    address: formatPrefix(p),
    pos: { line: i + 1, col: 5, path: ['split_tunnel', 'entries', i, 'address'] },
  }));
}

function reference(items: readonly ListedPrefix[]): { code: string; line: number; other: number }[] {
  const order = items
    .map((x, i) => ({ x, i }))
    .sort(
      (a, b) =>
        a.x.prefix.family - b.x.prefix.family || (a.x.prefix.network < b.x.prefix.network ? -1 : a.x.prefix.network > b.x.prefix.network ? 1 : 0) || a.x.prefix.length - b.x.prefix.length || a.i - b.i,
    );
  const out: { code: string; line: number; other: number }[] = [];
  for (const { x, i } of order) {
    const same = items.findIndex((y) => y.prefix.family === x.prefix.family && y.prefix.network === x.prefix.network && y.prefix.length === x.prefix.length);
    if (same < i) {
      out.push({ code: 'WARPC0032', line: x.pos.line, other: items[same]!.pos.line });
      continue;
    }
    let best = -1;
    items.forEach((y, j) => {
      if (y.prefix.length < x.prefix.length && prefixCovers(y.prefix, x.prefix) && (best < 0 || y.prefix.length > items[best]!.prefix.length)) best = j;
    });
    if (best >= 0) out.push({ code: 'WARPC0033', line: x.pos.line, other: items[best]!.pos.line });
  }
  return out;
}

describe('prefixRedundancy', () => {
  it('reports what the quadratic reading reports, in its order', () => {
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 40 }), (prefixes, numbered) => {
        const items = listed(prefixes, numbered);
        const got = prefixRedundancy(items).map((d) => ({ code: d.code, line: d.line, other: d.related[0]!.line }));
        expect(got).toEqual(reference(items));
      }),
      { numRuns: 500 },
    );
  });
});
