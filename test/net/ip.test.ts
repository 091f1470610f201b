/**
 * src/net/ip.ts: strict parsing and canonical (RFC 5952) formatting.
 * ip-cidr serves as an independent oracle for the ranges of valid prefixes.
 */
import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { oracleAddress, oraclePrefix } from '../helpers/oracle.js';
import { describe, expect, it } from 'vitest';
import {
  MAX,
  canonicalAddress,
  formatAddress,
  formatPrefix,
  hostMaskOf,
  isIPv4Mapped,
  mappedIPv4,
  mappedIPv4Prefix,
  nonUnicastKind,
  orderV6,
  orderV6Words,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixCovers,
  prefixLast,
  putV6Words,
  sharedV6Prefixes,
  v6Words,
  V6Prefixes,
  type Address,
  type Family,
  type Prefix,
} from '../../src/net/ip.js';

const v6 = (text: string): bigint => {
  const a = parseAddress(text);
  if (a === null || a.family !== 6) throw new Error(`test setup: ${text} is not IPv6`);
  return a.value;
};

describe('parseAddress: IPv4', () => {
  it.each([
    ['0.0.0.0', 0n],
    ['255.255.255.255', MAX[4]],
    ['1.2.3.4', 0x01020304n],
    ['10.0.0.1', 0x0a000001n],
    ['192.168.100.200', 0xc0a864c8n],
  ])('%s', (text, value) => {
    expect(parseAddress(text)).toEqual({ family: 4, value });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '256.0.0.0',
    '01.2.3.4', // leading zero: octal to some parsers
    '1.2.3.04',
    '1.2.3.00',
    '1.2.3.000',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4\n',
    '1.2.3.-4',
    '1.2.3.+4',
    '0x1.2.3.4',
    '1.2.3.4%eth0',
    '1.2.3.1e1',
    '16909060', // a bare integer is not an address
    '１.2.3.4', // full-width digit
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeNull();
  });
});

describe('parseAddress: IPv6', () => {
  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['::ffff:1.2.3.4', 0xffff_0102_0304n],
    ['::ffff:0:0', 0xffff_0000_0000n],
    ['::1.2.3.4', 0x0102_0304n],
    ['a:b:c:d:e:f:1.2.3.4', 0x000a_000b_000c_000d_000e_000f_0102_0304n],
    ['1:2:3:4:5:6:7:8', 0x0001_0002_0003_0004_0005_0006_0007_0008n],
    ['1:2:3:4:5:6:7::', 0x0001_0002_0003_0004_0005_0006_0007_0000n],
    ['::2:3:4:5:6:7:8', 0x0000_0002_0003_0004_0005_0006_0007_0008n],
    ['1::8', 0x0001_0000_0000_0000_0000_0000_0000_0008n],
    ['2001:DB8::A', 0x2001_0db8_0000_0000_0000_0000_0000_000an],
    ['2001:0db8:0000:0000:0000:0000:0000:000a', 0x2001_0db8_0000_0000_0000_0000_0000_000an],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', MAX[6]],
    ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', MAX[6]],
    ['1:2:3:4:5::1.2.3.4', 0x0001_0002_0003_0004_0005_0000_0102_0304n],
    ['fe80::1', 0xfe80_0000_0000_0000_0000_0000_0000_0001n],
  ])('%s', (text, value) => {
    expect(parseAddress(text)).toEqual({ family: 6, value });
  });

  it.each([
    ':::',
    ':',
    '1:::2',
    '::1::',
    '1::2::3',
    ':1::2',
    '1::2:',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '1:2:3:4:5:6:7', // too few groups
    '1:2:3:4:5:6:7:8:9', // too many groups
    '1:2:3:4:5:6:7:8::', // '::' must stand for at least one group
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4::5:6:7:8',
    '12345::',
    '::g',
    'fe80::1%eth0', // zone ids are refused
    'fe80::1%1',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    '::1.2.3.4:1',
    'a:b:c:d:e:f:g:1.2.3.4',
    'a:b:c:d:e:f:0:1.2.3.4', // 9 groups' worth
    '1:2:3:4:5:6::1.2.3.4', // '::' for zero groups
    ':1.2.3.4',
    '[::1]',
    ' ::1',
    '::1 ',
    '0000:0000:0000:0000:0000:0000:0000:00000',
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeNull();
  });
});

describe('parsePrefix', () => {
  it.each([
    ['0.0.0.0/0', 4, 0n, 0],
    ['::/0', 6, 0n, 0],
    ['10.0.0.0/8', 4, 0x0a000000n, 8],
    ['1.2.3.4/32', 4, 0x01020304n, 32],
    ['1.2.3.4', 4, 0x01020304n, 32],
    ['2001:db8::/32', 6, 0x2001_0db8n << 96n, 32],
    ['::1/128', 6, 1n, 128],
    ['::1', 6, 1n, 128],
    ['::ffff:0:0/96', 6, 0xffffn << 32n, 96],
    ['::ffff:10.0.0.0/104', 6, (0xffffn << 32n) | 0x0a000000n, 104],
  ])('%s', (text, family, network, length) => {
    expect(parsePrefix(text)).toEqual({ ok: true, prefix: { family, network, length } });
  });

  it.each([
    ['1.2.3.0/33', 'length'],
    ['::/129', 'length'],
    ['1.2.3.0/', 'length'],
    ['1.2.3.0/024', 'length'],
    ['1.2.3.0/-1', 'length'],
    ['1.2.3.0/+24', 'length'],
    ['1.2.3.0/24/24', 'length'],
    ['1.2.3.0/ 24', 'length'],
    ['1.2.3.0/1000', 'length'],
    ['10.0.0.1/8', 'host-bits'],
    ['1.2.3.4/0', 'host-bits'],
    ['0.0.0.1/31', 'host-bits'],
    ['2001:db8::1/64', 'host-bits'],
    ['::1/0', 'host-bits'],
    ['::ffff:1.2.3.4/96', 'host-bits'],
    ['/8', 'syntax'],
    ['', 'syntax'],
    ['01.0.0.0/8', 'syntax'],
    ['fe80::%eth0/64', 'syntax'],
    [':::/0', 'syntax'],
  ] as const)('refuses %j (%s)', (text, error) => {
    expect(parsePrefix(text)).toEqual({ ok: false, error });
  });
});

describe('formatAddress: canonical text (RFC 5952)', () => {
  it.each([
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8::1', '2001:db8::1'], // lowercase
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // no leading zeros, '::' used
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
    ['1:2:3:4:5:6:0:0', '1:2:3:4:5:6::'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    // Mixed notation is optional in RFC 5952 section 5; warpc prints hex everywhere.
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:102:304', '::ffff:1.2.3.4'],
    ['0:0:0:0:0:ffff:7f00:202', '::ffff:127.0.2.2'],
    ['::fffe:1.2.3.4', '::fffe:102:304'],
    ['a:b:c:d:e:f:1.2.3.4', 'a:b:c:d:e:f:102:304'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  it('returns null for text that does not parse', () => {
    expect(canonicalAddress('1.2.3.04')).toBeNull();
    expect(canonicalAddress('fe80::1%eth0')).toBeNull();
  });

  it('formatPrefix', () => {
    expect(formatPrefix({ family: 4, network: 0n, length: 0 })).toBe('0.0.0.0/0');
    expect(formatPrefix({ family: 6, network: 0n, length: 0 })).toBe('::/0');
    expect(formatPrefix({ family: 6, network: 0xffffn << 32n, length: 96 })).toBe('::ffff:0.0.0.0/96');
  });
});

describe('prefix helpers', () => {
  const p = (text: string): Prefix => {
    const r = parsePrefix(text);
    if (!r.ok) throw new Error(`test setup: ${text}`);
    return r.prefix;
  };

  it('hostMaskOf and prefixLast', () => {
    expect(hostMaskOf(4, 0)).toBe(MAX[4]);
    expect(hostMaskOf(4, 32)).toBe(0n);
    expect(hostMaskOf(6, 0)).toBe(MAX[6]);
    expect(prefixLast(p('10.0.0.0/8'))).toBe(0x0affffffn);
    expect(prefixLast(p('::/0'))).toBe(MAX[6]);
    expect(prefixLast(p('::1'))).toBe(1n);
  });

  it('prefixContains keeps families apart', () => {
    expect(prefixContains(p('0.0.0.0/0'), { family: 4, value: MAX[4] })).toBe(true);
    expect(prefixContains(p('0.0.0.0/0'), { family: 6, value: 0n })).toBe(false);
    expect(prefixContains(p('::/0'), { family: 4, value: 0n })).toBe(false);
    expect(prefixContains(p('10.0.0.0/8'), { family: 4, value: 0x0b000000n })).toBe(false);
    expect(prefixContains(p('10.0.0.0/8'), { family: 4, value: 0x09ffffffn })).toBe(false);
  });

  it('prefixCovers', () => {
    expect(prefixCovers(p('10.0.0.0/8'), p('10.1.0.0/16'))).toBe(true);
    expect(prefixCovers(p('10.0.0.0/8'), p('10.0.0.0/8'))).toBe(true);
    expect(prefixCovers(p('10.1.0.0/16'), p('10.0.0.0/8'))).toBe(false);
    expect(prefixCovers(p('10.0.0.0/8'), p('11.0.0.0/16'))).toBe(false);
    expect(prefixCovers(p('::/0'), p('0.0.0.0/0'))).toBe(false);
  });

  it('isIPv4Mapped', () => {
    expect(isIPv4Mapped({ family: 6, value: v6('::ffff:127.0.2.2') })).toBe(true);
    expect(isIPv4Mapped({ family: 6, value: v6('::ffff:0:0') })).toBe(true);
    expect(isIPv4Mapped({ family: 6, value: v6('::1:ffff:0:0') })).toBe(false);
    expect(isIPv4Mapped({ family: 6, value: v6('::fffe:ffff:ffff') })).toBe(false);
    expect(isIPv4Mapped({ family: 4, value: 0xffffn << 32n })).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// Properties

const familyArb = fc.constantFrom<Family>(4, 6);
const addressArb = (family: Family): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: MAX[family] });
const anyAddressArb = familyArb.chain((family) => addressArb(family).map((value) => ({ family, value })));
const prefixArb: fc.Arbitrary<Prefix> = familyArb.chain((family) =>
  fc.tuple(addressArb(family), fc.integer({ min: 0, max: family === 4 ? 32 : 128 })).map(([a, length]) => ({
    family,
    network: a & ~hostMaskOf(family, length) & MAX[family],
    length,
  })),
);

/** IPv6 values with many zero groups (runs, ties, single zeros), which random 128-bit values almost never have. */
const zeroyV6Arb: fc.Arbitrary<bigint> = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((gs) => gs.reduce((v, g) => (v << 16n) | BigInt(g), 0n));

/** Every RFC 4291 text form of an IPv6 value: any '::' placement, any leading zeros, any case, maybe a dotted tail. */
const v6TextArb: fc.Arbitrary<{ value: bigint; text: string }> = fc
  .record({
    value: fc.oneof(addressArb(6), zeroyV6Arb, fc.bigInt({ min: 0n, max: 0xffff_ffff_ffffn }), fc.constant(0n), fc.constant(MAX[6])),
    pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
    upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    dotted: fc.boolean(),
    cut: fc.tuple(fc.nat(8), fc.nat(8)),
  })
  .map(({ value, pad, upper, dotted, cut }) => {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) {
      let g = Number((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16);
      g = g.padStart(Math.min(4, g.length + pad[i]!), '0');
      groups.push(upper[i] ? g.toUpperCase() : g);
    }
    let tail: string[] = [];
    let n = 8;
    if (dotted) {
      tail = [formatAddress(4, value & 0xffff_ffffn)];
      n = 6;
    }
    const body = groups.slice(0, n);
    // Replace a run of zero groups (if any, and chosen) with '::'.
    let [a, b] = cut[0] <= cut[1] ? cut : [cut[1], cut[0]];
    b = Math.min(b, n);
    a = Math.min(a, b);
    const run = body.slice(a, b);
    if (b > a && run.every((g) => /^0+$/.test(g))) {
      const left = body.slice(0, a).join(':');
      const right = [...body.slice(b), ...tail].join(':');
      return { value, text: `${left}::${right}` };
    }
    return { value, text: [...body, ...tail].join(':') };
  });

describe('properties', () => {
  it('format then parse is the identity, and formatting is canonical', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyAddressArb,
          zeroyV6Arb.map((value) => ({ family: 6 as const, value })),
        ),
        ({ family, value }) => {
          const text = formatAddress(family, value);
          expect(parseAddress(text)).toEqual({ family, value });
          expect(canonicalAddress(text)).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every RFC 4291 text form parses to its value and formats to one canonical text', () => {
    fc.assert(
      fc.property(v6TextArb, ({ value, text }) => {
        expect(parseAddress(text)).toEqual({ family: 6, value });
        expect(canonicalAddress(text)).toBe(formatAddress(6, value));
      }),
      { numRuns: 3000 },
    );
  });

  it('IPv4-mapped addresses keep the IPv4 part dotted (RFC 5952 section 5)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffffffffn }), (v4) => {
        const text = formatAddress(6, (0xffffn << 32n) | v4);
        expect(text).toBe(`::ffff:${formatAddress(4, v4)}`);
        expect(parseAddress(text)).toEqual({ family: 6, value: (0xffffn << 32n) | v4 });
      }),
      { numRuns: 500 },
    );
  });

  it('canonical IPv6 text follows RFC 5952 section 4 (other than IPv4-mapped)', () => {
    fc.assert(
      fc.property(fc.oneof(addressArb(6), zeroyV6Arb), (value) => {
        fc.pre(value >> 32n !== 0xffffn);
        const text = formatAddress(6, value);
        expect(text).toMatch(/^[0-9a-f:]+$/); // lowercase, no dotted tail
        expect(text.split('::').length).toBeLessThanOrEqual(2);
        for (const g of text.split(':')) if (g !== '') expect(g).toMatch(/^(0|[1-9a-f][0-9a-f]{0,3})$/);
        // The compressed run is the longest (first among equals), of length >= 2.
        const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
        let best = 0;
        let bestAt = -1;
        for (let i = 0; i < 8; i++) {
          let j = i;
          while (j < 8 && groups[j] === 0) j++;
          if (j - i > best) [best, bestAt] = [j - i, i];
        }
        if (best >= 2) {
          const left = text.split('::')[0]!;
          expect(text).toContain('::');
          expect(left === '' ? 0 : left.split(':').length).toBe(bestAt);
        } else {
          expect(text).not.toContain('::');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('ip-cidr agrees on the first and last address of every valid prefix', () => {
    fc.assert(
      fc.property(prefixArb, (p) => {
        expect(parsePrefix(formatPrefix(p))).toEqual({ ok: true, prefix: p });
        const text = oraclePrefix(p);
        expect(IPCIDR.isValidCIDR(text)).toBe(true);
        const oracle = new IPCIDR(text);
        expect(oracle.start<bigint>({ type: 'bigInteger' })).toBe(p.network);
        expect(oracle.end<bigint>({ type: 'bigInteger' })).toBe(prefixLast(p));
      }),
      { numRuns: 2000 },
    );
  });

  it('ip-cidr agrees on containment', () => {
    fc.assert(
      fc.property(
        prefixArb.chain((p) =>
          fc.tuple(
            fc.constant(p),
            fc.oneof(
              addressArb(p.family),
              // near the edges of the prefix, where the bugs live
              fc.constantFrom(-1n, 0n, 1n).map((d) => p.network + d),
              fc.constantFrom(-1n, 0n, 1n).map((d) => prefixLast(p) + d),
            ),
          ),
        ),
        ([p, value]) => {
          fc.pre(value >= 0n && value <= MAX[p.family]);
          const oracle = new IPCIDR(oraclePrefix(p));
          expect(prefixContains(p, { family: p.family, value })).toBe(oracle.contains(oracleAddress(p.family, value)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a prefix with any host bit set is refused', () => {
    fc.assert(
      fc.property(prefixArb, fc.nat(127), (p, bit) => {
        const host = BigInt(bit % (p.family === 4 ? 32 : 128));
        const mask = hostMaskOf(p.family, p.length);
        fc.pre(((1n << host) & mask) !== 0n);
        const text = `${formatAddress(p.family, p.network | (1n << host))}/${p.length}`;
        expect(parsePrefix(text)).toEqual({ ok: false, error: 'host-bits' });
      }),
    );
  });
});

describe('IPv4-mapped and non-unicast addresses', () => {
  const addr = (t: string): Address => parseAddress(t)!;
  const pfx = (t: string): Prefix => {
    const r = parsePrefix(t);
    if (!r.ok) throw new Error(t);
    return r.prefix;
  };
  it('mappedIPv4: the IPv4 address behind ::ffff:a.b.c.d in either text form', () => {
    expect(mappedIPv4(addr('::ffff:10.1.2.3'))).toBe('10.1.2.3');
    expect(mappedIPv4(addr('::ffff:0a00:0001'))).toBe('10.0.0.1');
    expect(mappedIPv4(addr('::10.1.2.3'))).toBeNull();
    expect(mappedIPv4(addr('10.1.2.3'))).toBeNull();
    expect(mappedIPv4(addr('64:ff9b::a01:203'))).toBeNull();
  });
  it('mappedIPv4Prefix: prefixes strictly inside ::ffff:0:0/96 only', () => {
    expect(mappedIPv4Prefix(pfx('::ffff:10.0.0.0/104'))).toBe('10.0.0.0/8');
    expect(mappedIPv4Prefix(pfx('::ffff:10.1.2.3/128'))).toBe('10.1.2.3/32');
    expect(mappedIPv4Prefix(pfx('::ffff:0:0/96'))).toBeNull();
    expect(mappedIPv4Prefix(pfx('::/0'))).toBeNull();
    expect(mappedIPv4Prefix(pfx('::fffe:10.0.0.0/104'))).toBeNull();
    expect(mappedIPv4Prefix(pfx('10.0.0.0/8'))).toBeNull();
  });
  it('nonUnicastKind: unspecified, broadcast, loopback, multicast; unicast is null', () => {
    const k = (t: string): string | null => nonUnicastKind(addr(t));
    expect(['0.0.0.0', '255.255.255.255', '127.0.0.1', '127.255.0.9', '224.0.0.1', '239.255.255.255', '::', '::1', 'ff02::1', 'ff0e::101', '::ffff:127.0.0.1'].map((t) => k(t) !== null)).toEqual(
      Array(11).fill(true),
    );
    expect(['1.1.1.1', '126.255.255.255', '128.0.0.0', '223.255.255.255', '240.0.0.1', '172.16.0.2', '2606:4700::1', 'fe80::1', 'fd00::2', '::2'].map(k)).toEqual(Array(10).fill(null));
  });
});

describe('orderV6', () => {
  // Values drawn from few digits so that they share digits, tie and repeat (the radix passes skip, and stability matters).
  const digit = fc.constantFrom(0, 1, 0xdb8, 0x2001, 0xffff);
  const value = fc.array(digit, { minLength: 8, maxLength: 8 }).map((ds) => ds.reduce((v, d) => (v << 16n) | BigInt(d), 0n));
  const reference = (values: readonly bigint[], lengths?: readonly number[]): number[] =>
    values.map((_, i) => i).sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : (lengths ? lengths[a]! - lengths[b]! : 0) || a - b));

  it('orders by value, then length, then index, few or many (the radix sort from 512)', () => {
    for (const size of [40, 2000]) {
      fc.assert(
        fc.property(fc.array(fc.tuple(value, fc.integer({ min: 0, max: 128 })), { minLength: size / 2, maxLength: size }), fc.boolean(), (items, withLengths) => {
          const values = items.map(([v]) => v);
          const lengths = withLengths ? items.map(([, l]) => l) : undefined;
          expect([...orderV6(values, lengths)]).toEqual(reference(values, lengths));
        }),
        { numRuns: size > 100 ? 30 : 200 },
      );
    }
  });
});

describe('orderV6Words', () => {
  it('sorts on every digit that varies, even when one value alone differs, in any digit (the radix sort skips the others)', () => {
    const n = 600;
    for (let digit = 0; digit < 8; digit++) {
      for (const odd of [0, n - 1, 300]) {
        const values = Array.from({ length: n }, () => 0x20010db8n << 96n);
        // Every value equal but one, which is lower in `digit` (the others hold 0x8000 there).
        for (let i = 0; i < n; i++) values[i] = values[i]! | (0x8000n << BigInt(112 - 16 * digit));
        values[odd] = values[odd]! & ~(0xffffn << BigInt(112 - 16 * digit));
        const order = [...orderV6Words(v6Words(values))];
        expect(order[0], `digit ${digit}, odd value at ${odd}`).toBe(odd);
        expect(order.slice(1)).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => i !== odd));
      }
    }
  });
});

describe('sharedV6Prefixes', () => {
  it('names the V6Prefixes that holds the picked items at places 0, 1, … in order, and nothing else', () => {
    const list = new V6Prefixes();
    const p = (n: bigint): Prefix => ({ family: 6, network: n << 64n, length: 64 });
    const items = [{ v6: list.add(p(1n)), v6Prefixes: list }, { v6: -1 }, { v6: list.add(p(2n)), v6Prefixes: list }];
    const isV6 = (i: number): boolean => i !== 1;
    expect(sharedV6Prefixes(items, isV6)).toBe(list);
    // Out of order, from another list, without one, or with the list holding more: none.
    expect(sharedV6Prefixes([items[2]!, items[1]!, items[0]!], isV6)).toBeUndefined();
    const other = new V6Prefixes();
    expect(sharedV6Prefixes([items[0]!, items[1]!, { v6: other.add(p(2n)), v6Prefixes: other }], isV6)).toBeUndefined();
    expect(sharedV6Prefixes([items[0]!, items[1]!, {}], isV6)).toBeUndefined();
    expect(sharedV6Prefixes(items.slice(0, 2), (i) => i === 0)).toBeUndefined();
    expect(sharedV6Prefixes([], () => true)).toBeUndefined();
  });
});

describe('V6Prefixes', () => {
  const prefix6 = fc.tuple(fc.bigInt({ min: 0n, max: MAX[6] }), fc.integer({ min: 0, max: 128 })).map(([a, length]): Prefix => ({ family: 6, network: a & ~hostMaskOf(6, length) & MAX[6], length }));

  it('keeps each prefix by place, past the room it expected, and copies from another', () => {
    fc.assert(
      fc.property(fc.array(prefix6, { maxLength: 40 }), fc.integer({ min: 0, max: 8 }), (ps, expected) => {
        const list = new V6Prefixes(expected);
        ps.forEach((p, i) => {
          // Half as groups (the canonical-text scan's form), half as Prefix.
          if (i % 2 === 0) expect(list.add(p)).toBe(i);
          else expect(list.addGroups(groupsOf(p.network), p.length)).toBe(i);
        });
        expect(list.count).toBe(ps.length);
        expect(ps.map((_, i) => list.prefix(i))).toEqual(ps);
        const copy = new V6Prefixes();
        ps.forEach((_, i) => copy.addFrom(list, ps.length - 1 - i));
        expect(ps.map((_, i) => copy.prefix(i))).toEqual([...ps].reverse());
      }),
      { numRuns: 200 },
    );
  });

  it('contains() agrees with prefixContains, at the prefix, its ends and around them', () => {
    fc.assert(
      fc.property(prefix6, fc.bigInt({ min: 0n, max: MAX[6] }), (p, other) => {
        const list = new V6Prefixes();
        list.add(p);
        const probes = [p.network, prefixLast(p), p.network - 1n, prefixLast(p) + 1n, other].filter((a) => a >= 0n && a <= MAX[6]);
        const words = new Uint32Array(4 * probes.length);
        probes.forEach((a, j) => putV6Words(words, j, a));
        probes.forEach((a, j) => expect(list.contains(0, words, j), formatAddress(6, a)).toBe(prefixContains(p, { family: 6, value: a })));
      }),
      { numRuns: 500 },
    );
  });
});

/** The eight 16-bit groups of an IPv6 value. */
function groupsOf(v: bigint): number[] {
  return Array.from({ length: 8 }, (_, g) => Number((v >> BigInt(112 - 16 * g)) & 0xffffn));
}
