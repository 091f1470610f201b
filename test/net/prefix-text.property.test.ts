/**
 * PrefixSet.cidrText (and cidrChunks, which it joins) writes the minimal cover's text straight from the set's numbers; the
 * prefix lists of every target come from it without a per-line check, so it must equal
 * formatPrefix of each prefix of toPrefixes(), byte for byte, for every set: /0, /32 and
 * /128, IPv6 zero runs of every length and place (RFC 5952's longest-first-on-a-tie),
 * IPv4-mapped addresses (dotted), and the top and bottom of each family.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BITS, MAX, formatPrefix, hostMaskOf, type Family, type Prefix } from '../../src/net/ip.js';
import { PrefixSet } from '../../src/net/prefix-set.js';

/** The reference: a string per prefix, by formatPrefix, joined. */
function reference(set: PrefixSet, head: string, tail: string, between: string): string {
  return set
    .toPrefixes()
    .map((p) => `${head}${formatPrefix(p)}${tail}`)
    .join(between);
}

/** A 16-bit group, mostly 0 (zero runs), 0xffff (mapped addresses) or small. */
const groupArb = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 1, max: 0xf }), fc.integer({ min: 0, max: 0xffff }));

function prefixArb(family: Family): fc.Arbitrary<Prefix> {
  const bits = BITS[family];
  const value =
    family === 4
      ? fc.oneof(fc.constant(0n), fc.constant(MAX[4]), fc.integer({ min: 0, max: 0xffffffff }).map(BigInt), fc.tuple(fc.constantFrom(0, 255, 10, 192), fc.integer({ min: 0, max: 0xffffff })).map(([a, r]) => BigInt(a * 2 ** 24 + r)))
      : fc.oneof(
          fc.array(groupArb, { minLength: 8, maxLength: 8 }).map((gs) => gs.reduce((v, g) => (v << 16n) | BigInt(g), 0n)),
          // IPv4-mapped: ::ffff:a.b.c.d, and its neighbours ::fffe:…, ::1:0:0:0.
          fc.tuple(fc.constantFrom(0xffffn, 0xfffen, 0x10000n, 0n), fc.integer({ min: 0, max: 0xffffffff })).map(([top, low]) => (top << 32n) | BigInt(low)),
          fc.constant(MAX[6]),
        );
  const length = fc.oneof(fc.constantFrom(0, 1, bits - 1, bits), fc.integer({ min: 0, max: bits }));
  return fc.tuple(value, length).map(([v, len]) => ({ family, network: v & (MAX[family] ^ hostMaskOf(family, len)), length: len }));
}

function setArb(family: Family): fc.Arbitrary<PrefixSet> {
  return fc
    .tuple(fc.array(prefixArb(family), { maxLength: 12 }), fc.array(prefixArb(family), { maxLength: 6 }), fc.boolean())
    .map(([add, cut, complement]) => {
      const s = PrefixSet.fromPrefixes(family, add).subtract(PrefixSet.fromPrefixes(family, cut));
      return complement ? s.complement() : s;
    });
}

const framing = fc.constantFrom(['', '\n', ''], ['', '\r\n', ''], ['"', '"', ',\n        '], ['\t\t\t', '', ',\n'], ['route add throw ', ' table 100\n', '']);

describe('PrefixSet.cidrText', () => {
  for (const family of [4, 6] as const) {
    it(`equals formatPrefix of every prefix of the cover, framed as asked (IPv${family})`, () => {
      fc.assert(
        fc.property(setArb(family), framing, fc.constantFrom(1, 50, 300, undefined), (set, [head, tail, between], chunk) => {
          // Chunks of every size: a chunk ends between two items, wherever that falls.
          const text = set.cidrText(head, tail, between, chunk);
          expect(text.toString('latin1')).toBe(reference(set, head, tail, between));
          expect(text.length).toBe(Buffer.byteLength(reference(set, head, tail, between)));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('writes the edges: /0, single addresses at both ends, zero runs, mapped addresses', () => {
    const of = (family: Family, cidrs: string[]): PrefixSet => PrefixSet.fromCidrs(family, cidrs);
    expect(PrefixSet.all(4).cidrText().toString()).toBe('0.0.0.0/0\n');
    expect(PrefixSet.all(6).cidrText().toString()).toBe('::/0\n');
    expect(of(4, ['0.0.0.0/32', '255.255.255.255/32']).cidrText().toString()).toBe('0.0.0.0/32\n255.255.255.255/32\n');
    expect(of(6, ['::/128', '::1/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128']).cidrText().toString()).toBe('::/127\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\n');
    expect(of(6, ['1:0:0:1:0:0:1:1/128', '1:0:0:2:0:0:0:1/128', '2001:db8:0:0:1::/80']).cidrText().toString()).toBe('1::1:0:0:1:1/128\n1:0:0:2::1/128\n2001:db8:0:0:1::/80\n');
    expect(of(6, ['::ffff:192.0.2.0/120', '::fffe:0:0/96']).cidrText().toString()).toBe('::fffe:0:0/96\n::ffff:192.0.2.0/120\n');
    expect(PrefixSet.empty(6).cidrText().length).toBe(0);
  });

  it('equals the reference on a large complement (the shape of 100,000 excluded /24s)', () => {
    const cut: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = Math.imul(i, 2654435761) >>> 8;
      cut.push(`${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`);
    }
    const set = PrefixSet.fromCidrs(4, cut).complement();
    expect(set.cidrText('', '\r\n').toString('latin1')).toBe(reference(set, '', '\r\n', ''));
    // In chunks of one reused buffer, none larger than asked for (plus one item).
    const chunks = [...set.cidrChunks('', '\n', '', 4096)].map((c) => c.length);
    expect(chunks.length).toBeGreaterThan(10);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(4096);
  });

  it('refuses framing that is not ASCII (the buffer is written byte for byte)', () => {
    expect(() => PrefixSet.all(4).cidrText('é')).toThrow(/ASCII/);
  });
});
