/** The cidr helper's IPv4 fast path accepts exactly the canonical IPv4 prefixes the general check accepts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalV4Cidr, canonicalV4CidrValue, canonicalV6Cidr, canonicalV6CidrGroups } from '../../src/net/canonical.js';
import { VALUE_HELPERS } from '../../src/emit/render.js';
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

describe('cidr IPv6 fast path', () => {
  const general6 = (s: string): boolean => {
    const r = parsePrefix(s);
    return r.ok && r.prefix.family === 6 && formatPrefix(r.prefix) === s;
  };
  it('accepts every canonical IPv6 prefix (but the mapped ones it leaves to the general check) and nothing else', () => {
    // Canonical text from formatPrefix over sparse values (runs of zero groups are the interesting part).
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(1, 0xffff, 0x10, 0x100));
    const value = fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 128 }), (v, l) => {
        const network = l === 0 ? 0n : v & ~((1n << BigInt(128 - l)) - 1n);
        const s = formatPrefix({ family: 6, network, length: l });
        expect(canonicalV6Cidr(s)).toBe(!s.includes('.'));
        expect(VALUE_HELPERS.cidr!(s)).toBe(s);
        // Host bits set, when the length leaves room for them.
        if (l < 128) expect(canonicalV6Cidr(formatPrefix({ family: 6, network: network | 1n, length: l }).replace(/\/\d+$/, `/${l}`))).toBe(false);
      }),
      { numRuns: 20000 },
    );
  });
  it('never accepts what the general check refuses (near misses of canonical text)', () => {
    const piece = fc.constantFrom('0', '00', '1', '01', 'a', 'A', 'ffff', 'fffff', '0db8', 'db8', '2001', '', '::', ':', '1.2.3.4', 'g');
    const len = fc.oneof(fc.integer({ min: 0, max: 128 }).map(String), fc.constantFrom('129', '00', '064', '', '-0', '+1'));
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 9 }), fc.constantFrom(':', '::'), len, (parts, sep, l) => {
        const s = `${parts.join(sep === '::' && parts.length > 2 ? ':' : sep)}/${l}`;
        if (canonicalV6Cidr(s)) expect(general6(s), s).toBe(true);
      }),
      { numRuns: 30000 },
    );
    for (const s of ['::/0', '2001:db8::/32', 'fe80::/10', '::1/128', '1:0:0:1::/64', '1::1:0:0:1/128']) expect(canonicalV6Cidr(s), s).toBe(general6(s));
    for (const s of ['2001:0db8::/32', '2001:DB8::/32', '1:0:0:1:0:0:0:1/128', '1::0:1/128', '2001:db8::1/64', '::ffff:0:0/96', '::/00', '::/129', '1:2:3:4:5:6:7::/128'])
      expect(canonicalV6Cidr(s), s).toBe(general6(s) && !s.startsWith('::ffff'));
  });
  it('reads a span of a longer text (a value in place in a profile) as it reads the span alone', () => {
    const text = fc.oneof(
      fc.constantFrom('10.0.0.0/8', '10.0.0.1/8', '10.0.0.0', '0.0.0.0/0', '1.2.3.4/32', '::/0', '2001:db8::/32', '2001:db8::', '2001:db8::/', '2001:db8::/1/2', '/64', '1::/64', '::1/128', '::ffff:0:0/96', 'ab/12', ''),
      fc.tuple(fc.array(fc.constantFrom('0', '1', 'db8', ':', '::', '.', '/', '12', '255'), { maxLength: 8 })).map(([p]) => p.join('')),
    );
    const around = fc.constantFrom('', ' ', '/', '/64', '1', ':', '\n    - address: 10.0.0.0/8', '\n    - address: 2001:db8::/64', '- address: ');
    fc.assert(
      fc.property(around, text, around, (before, s, after) => {
        const whole = `${before}${s}${after}`;
        const from = before.length;
        const to = from + s.length;
        expect(canonicalV4CidrValue(whole, from, to), JSON.stringify([before, s, after])).toBe(canonicalV4CidrValue(s));
        const alone: number[] = [];
        const inPlace: number[] = [];
        const length = canonicalV6CidrGroups(s, alone);
        expect(canonicalV6CidrGroups(whole, inPlace, from, to), JSON.stringify([before, s, after])).toBe(length);
        if (length >= 0) expect(inPlace).toEqual(alone);
      }),
      { numRuns: 5000 },
    );
  });
});
