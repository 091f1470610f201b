/** The cidr helper's IPv4 fast path accepts exactly the canonical IPv4 prefixes the general check accepts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalV4Cidr, VALUE_HELPERS } from '../../src/emit/render.js';
import { formatPrefix, parsePrefix } from '../../src/net/ip.js';

const general = (s: string): boolean => {
  const r = parsePrefix(s);
  return r.ok && r.prefix.family === 4 && formatPrefix(r.prefix) === s;
};

describe('cidr fast path', () => {
  it('agrees with parse-and-format on canonical prefixes and near misses', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('00', '01', '256', '999', '-1', '', '1e2', '0x1'));
    const len = fc.oneof(fc.integer({ min: 0, max: 32 }).map(String), fc.constantFrom('33', '00', '08', '', '-0', '+1'));
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet, len), ([a, b, c, d, l]) => {
        const s = `${a}.${b}.${c}.${d}/${l}`;
        expect(canonicalV4Cidr(s)).toBe(general(s));
      }),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (v, l) => {
        const network = l === 0 ? 0 : v - (v % 2 ** (32 - l));
        const s = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${l}`;
        expect(canonicalV4Cidr(s)).toBe(true);
        expect(VALUE_HELPERS.cidr!(s)).toBe(s);
      }),
    );
    for (const s of ['10.0.0.1/8', '10.0.0.0/8 ', ' 10.0.0.0/8', '10.0.0.0', '::/0', '10.0.0.0/8\n']) expect(canonicalV4Cidr(s)).toBe(general(s));
    expect(() => VALUE_HELPERS.cidr!('10.0.0.1/8')).toThrow();
  });
});
