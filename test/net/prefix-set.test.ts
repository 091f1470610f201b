/**
 * src/net/prefix-set.ts against brute-force models:
 *  - a bitset over a small window of addresses (every address checked), placed at
 *    interesting spots: 0, MAX, around ::ffff:0:0, inside 10.0.0.0/20;
 *  - on the full range, membership decided straight from the input prefixes, checked at
 *    every input boundary and its neighbours (sets are constant between boundaries, so
 *    that is every case);
 *  - the minimal CIDR cover computed independently, top-down by halving aligned blocks.
 */
import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { oracleAddress, oraclePrefix } from '../helpers/oracle.js';
import { describe, expect, it } from 'vitest';
import { BITS, MAX, formatAddress, formatPrefix, hostMaskOf, parsePrefix, prefixLast, putV6Words, type Family, type Prefix } from '../../src/net/ip.js';
import { coverCount, coverCountV4, DualSet, PrefixSet } from '../../src/net/prefix-set.js';
import { mulberry32 } from '../../bench/lib/prng.js';

// ---------------------------------------------------------------------------
// Models

/** Independent minimal cover: a block fully inside is emitted, a block fully outside is dropped, others are halved. */
function modelCover(family: Family, member: (lo: bigint, hi: bigint) => 'all' | 'none' | 'some'): Prefix[] {
  const out: Prefix[] = [];
  const walk = (network: bigint, length: number): void => {
    const last = network + (1n << BigInt(BITS[family] - length)) - 1n;
    const m = member(network, last);
    if (m === 'none') return;
    if (m === 'all') {
      out.push({ family, network, length });
      return;
    }
    const half = 1n << BigInt(BITS[family] - length - 1);
    walk(network, length + 1);
    walk(network + half, length + 1);
  };
  walk(0n, 0);
  return out;
}

/** Membership of a block against sorted disjoint intervals. */
function intervalMember(ranges: readonly (readonly [bigint, bigint])[]) {
  return (lo: bigint, hi: bigint): 'all' | 'none' | 'some' => {
    let covered = 0n;
    for (const [a, b] of ranges) {
      const x = a > lo ? a : lo;
      const y = b < hi ? b : hi;
      if (x <= y) covered += y - x + 1n;
    }
    return covered === 0n ? 'none' : covered === hi - lo + 1n ? 'all' : 'some';
  };
}

/** Checks every structural property of a minimal cover, independent of how it was made. */
function expectMinimalCover(set: PrefixSet): Prefix[] {
  // Counted without the cover (a copy has none cached yet), then built.
  const counted = PrefixSet.fromRanges(set.family, set.ranges()).prefixCount();
  const ps = set.toPrefixes();
  expect(counted).toBe(ps.length);
  const bits = BITS[set.family];
  const problems: string[] = [];
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const text = `${formatAddress(p.family, p.network)}/${p.length}`;
    if (p.family !== set.family || p.length < 0 || p.length > bits) problems.push(`bad prefix ${text}`);
    if ((p.network & hostMaskOf(p.family, p.length)) !== 0n) problems.push(`not aligned: ${text}`);
    if (!set.covers(p)) problems.push(`not inside the set: ${text}`);
    if (i > 0) {
      const q = ps[i - 1]!;
      if (!(prefixLast(q) < p.network)) problems.push(`overlapping or out of order: ${formatPrefix(q)} ${text}`);
      // Mergeable siblings: same length, q is the lower half of an aligned block of twice the size.
      const mergeable = q.length === p.length && p.length > 0 && (q.network & hostMaskOf(q.family, q.length - 1)) === 0n && prefixLast(q) + 1n === p.network;
      if (mergeable) problems.push(`mergeable: ${formatPrefix(q)} ${text}`);
    }
  }
  expect(problems).toEqual([]);
  // A cover: the same set.
  expect(PrefixSet.fromPrefixes(set.family, ps).equals(set)).toBe(true);
  // Minimal and unique: identical to the independent top-down computation.
  expect(ps).toEqual(modelCover(set.family, intervalMember(set.ranges())));
  expect(set.prefixCount()).toBe(ps.length);
  expect(set.toCidrs()).toEqual(ps.map(formatPrefix));
  return ps;
}

// ---------------------------------------------------------------------------
// Small windows: a bitset per set, every address checked.

interface Window {
  readonly name: string;
  readonly family: Family;
  /** Aligned to 2^11; the window is 2^12 addresses. */
  readonly base: bigint;
}
const SIZE = 4096;
const WINDOWS: Window[] = [
  { name: 'IPv4 at 0', family: 4, base: 0n },
  { name: 'IPv4 10.0.0.0/20', family: 4, base: 0x0a000000n },
  { name: 'IPv4 at MAX', family: 4, base: MAX[4] + 1n - BigInt(SIZE) },
  { name: 'IPv4 straddling 128.0.0.0', family: 4, base: 0x80000000n - 2048n },
  { name: 'IPv6 at ::', family: 6, base: 0n },
  { name: 'IPv6 at MAX', family: 6, base: MAX[6] + 1n - BigInt(SIZE) },
  { name: 'IPv6 straddling ::ffff:0:0', family: 6, base: (0xffffn << 32n) - 2048n },
  { name: 'IPv6 straddling 8000::', family: 6, base: (1n << 127n) - 2048n },
  // Where a step carries from one 32-bit word of a bound into the next (the sets hold IPv6 bounds as four words).
  { name: 'IPv6 straddling ::1:0:0:0:0 (2^64)', family: 6, base: (1n << 64n) - 2048n },
  { name: 'IPv6 straddling 0:1:: (2^96)', family: 6, base: (1n << 96n) - 2048n },
];

type Shape = { kind: 'prefix'; offset: number; size: number } | { kind: 'range'; from: number; to: number };
/** A random set inside the window, as a mix of aligned prefixes (up to 2^11) and arbitrary ranges. */
const shapesArb: fc.Arbitrary<Shape[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('prefix' as const), offset: fc.nat(SIZE - 1), size: fc.nat(11) }),
    fc.record({ kind: fc.constant('range' as const), from: fc.nat(SIZE - 1), to: fc.nat(SIZE - 1) }),
  ),
  { maxLength: 12 },
);

function build(w: Window, shapes: readonly Shape[]): { set: PrefixSet; bits: Uint8Array } {
  const bits = new Uint8Array(SIZE);
  const prefixes: Prefix[] = [];
  const ranges: [bigint, bigint][] = [];
  for (const s of shapes) {
    if (s.kind === 'prefix') {
      const start = s.offset & ~((1 << s.size) - 1);
      for (let i = start; i < start + (1 << s.size); i++) bits[i] = 1;
      prefixes.push({ family: w.family, network: w.base + BigInt(start), length: BITS[w.family] - s.size });
    } else {
      const [a, b] = s.from <= s.to ? [s.from, s.to] : [s.to, s.from];
      for (let i = a; i <= b; i++) bits[i] = 1;
      ranges.push([w.base + BigInt(a), w.base + BigInt(b)]);
    }
  }
  const set = PrefixSet.fromPrefixes(w.family, prefixes).union(PrefixSet.fromRanges(w.family, ranges));
  return { set, bits };
}

/** The set must equal the bitset inside the window, and be `outside` everywhere else. */
function expectMatchesBits(w: Window, set: PrefixSet, bits: Uint8Array, outside: boolean, probeAll: boolean): void {
  // Every address of the window, read off the intervals ...
  const got = new Uint8Array(SIZE);
  const end = w.base + BigInt(SIZE) - 1n;
  for (const [lo, hi] of set.ranges()) {
    const a = lo > w.base ? lo : w.base;
    const b = hi < end ? hi : end;
    for (let x = a; x <= b; x++) got[Number(x - w.base)] = 1;
  }
  const wrong = (arr: Uint8Array) => {
    const i = arr.findIndex((v, k) => v !== bits[k]);
    return i < 0 ? 'none' : `${formatAddress(w.family, w.base + BigInt(i))} expected ${bits[i] === 1 ? 'in' : 'out of'} the set`;
  };
  expect(wrong(got), w.name).toBe('none');
  // ... and through contains() (binary search), for both argument forms.
  if (probeAll) {
    const viaContains = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i++) {
      const a = w.base + BigInt(i);
      const c = set.contains(a);
      if (c !== set.contains({ family: w.family, value: a })) expect.fail(`contains() differs by argument form at ${formatAddress(w.family, a)}`);
      viaContains[i] = c ? 1 : 0;
    }
    expect(wrong(viaContains), w.name).toBe('none');
  }
  const win = PrefixSet.fromRanges(w.family, [[w.base, w.base + BigInt(SIZE) - 1n]]);
  expect(set.subtract(win).equals(outside ? PrefixSet.all(w.family).subtract(win) : PrefixSet.empty(w.family))).toBe(true);
  // size() agrees with a popcount
  let n = 0n;
  for (const b of bits) n += BigInt(b);
  const outsideSize = outside ? MAX[w.family] + 1n - BigInt(SIZE) : 0n;
  expect(set.size()).toBe(n + outsideSize);
  // Structure: sorted, disjoint, non-adjacent.
  const rs = set.ranges();
  for (let i = 0; i < rs.length; i++) {
    expect(rs[i]![0] <= rs[i]![1]).toBe(true);
    if (i > 0) expect(rs[i - 1]![1] + 1n < rs[i]![0]).toBe(true);
  }
}

const zip = (a: Uint8Array, b: Uint8Array, f: (x: number, y: number) => number): Uint8Array => a.map((x, i) => f(x, b[i]!));

describe.each(WINDOWS)('small universe: $name', (w) => {
  it('union, intersect, subtract, complement agree with bitsets at every address', () => {
    fc.assert(
      fc.property(shapesArb, shapesArb, (sa, sb) => {
        const A = build(w, sa);
        const B = build(w, sb);
        expectMatchesBits(w, A.set, A.bits, false, true);
        expectMatchesBits(
          w,
          A.set.union(B.set),
          zip(A.bits, B.bits, (x, y) => x | y),
          false,
          false,
        );
        expectMatchesBits(
          w,
          A.set.intersect(B.set),
          zip(A.bits, B.bits, (x, y) => x & y),
          false,
          false,
        );
        expectMatchesBits(
          w,
          A.set.subtract(B.set),
          zip(A.bits, B.bits, (x, y) => x & (1 - y)),
          false,
          false,
        );
        expectMatchesBits(
          w,
          A.set.complement(),
          A.bits.map((x) => 1 - x),
          true,
          true,
        );
      }),
      { numRuns: 50 },
    );
  });

  it('toPrefixes is an aligned, disjoint, minimal cover that round-trips', () => {
    fc.assert(
      fc.property(shapesArb, shapesArb, (sa, sb) => {
        const A = build(w, sa).set;
        const B = build(w, sb).set;
        for (const s of [A, A.union(B), A.subtract(B), A.complement(), A.intersect(B).complement()]) {
          const ps = expectMinimalCover(s);
          expect(PrefixSet.fromPrefixes(w.family, ps).equals(s)).toBe(true);
          expect(PrefixSet.fromCidrs(w.family, s.toCidrs()).equals(s)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('covers(p) agrees with the bitset for every aligned block in the window', () => {
    fc.assert(
      fc.property(shapesArb, (sa) => {
        const { set, bits } = build(w, sa);
        for (let size = 0; size <= 12; size++) {
          for (let start = 0; start < SIZE; start += 1 << size) {
            const network = w.base + BigInt(start);
            if ((network & ((1n << BigInt(size)) - 1n)) !== 0n) continue; // not aligned in the family
            let all = true;
            for (let i = start; i < start + (1 << size) && all; i++) all = bits[i] === 1;
            if (set.covers({ family: w.family, network, length: BITS[w.family] - size }) !== all) {
              expect.fail(`${w.name}: covers(${formatAddress(w.family, network)}/${BITS[w.family] - size}) should be ${all}`);
            }
          }
        }
      }),
      { numRuns: 15 },
    );
  });
});

// ---------------------------------------------------------------------------
// Full range: random prefixes anywhere, membership straight from the inputs.

const prefixArb = (family: Family): fc.Arbitrary<Prefix> => {
  const bits = BITS[family];
  const address = fc.oneof(
    fc.bigInt({ min: 0n, max: MAX[family] }),
    // clustered near interesting places so that random prefixes touch, nest and abut
    fc
      .constantFrom(0n, MAX[family], ...(family === 6 ? [0xffffn << 32n, 1n << 64n, 1n << 96n] : [0x0a000000n]))
      .chain((c) => fc.bigInt({ min: -65536n, max: 65536n }).map((d) => (c + d < 0n ? 0n : c + d > MAX[family] ? MAX[family] : c + d))),
    // 32-bit words from a few values (IPv6 bounds are four words): bounds that agree in some words and step or carry in others.
    fc.array(fc.constantFrom(0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff), { minLength: bits / 32, maxLength: bits / 32 }).map((ws) => ws.reduce((v, w) => (v << 32n) | BigInt(w), 0n)),
  );
  const length = fc.oneof(fc.integer({ min: 0, max: bits }), fc.integer({ min: bits - 20, max: bits }));
  return fc.tuple(address, length).map(([a, length]) => ({ family, network: a & ~hostMaskOf(family, length) & MAX[family], length }));
};
const prefixesArb = (family: Family) => fc.array(prefixArb(family), { maxLength: 15 });

const inAny = (ps: readonly Prefix[], x: bigint): boolean => ps.some((p) => x >= p.network && x <= prefixLast(p));

/** Every input boundary, its neighbours, and the ends of the family. */
function probes(family: Family, ...lists: (readonly Prefix[])[]): bigint[] {
  const out = new Set<bigint>([0n, 1n, MAX[family] - 1n, MAX[family]]);
  for (const ps of lists) {
    for (const p of ps) {
      for (const x of [p.network - 1n, p.network, p.network + 1n, prefixLast(p) - 1n, prefixLast(p), prefixLast(p) + 1n]) {
        if (x >= 0n && x <= MAX[family]) out.add(x);
      }
    }
  }
  return [...out];
}

describe('fromV4Values', () => {
  it('builds from IPv4 prefixes written as network * 64 + length the set fromPrefixes builds', () => {
    fc.assert(
      fc.property(prefixesArb(4), (pa) => {
        const values = pa.map((p) => Number(p.network) * 64 + p.length);
        expect(PrefixSet.fromV4Values(values).equals(PrefixSet.fromPrefixes(4, pa))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fromV6Words', () => {
  it('builds from IPv6 networks as words and their lengths the set fromPrefixes builds', () => {
    fc.assert(
      fc.property(prefixesArb(6), (pa) => {
        const words = new Uint32Array(4 * pa.length);
        pa.forEach((p, i) => putV6Words(words, i, p.network));
        expect(
          PrefixSet.fromV6Words(
            words,
            Uint8Array.from(pa, (p) => p.length),
          ).ranges(),
        ).toEqual(PrefixSet.fromPrefixes(6, pa).ranges());
      }),
      { numRuns: 300 },
    );
  });
});

describe.each([4, 6] as const)('full range, IPv%i', (family) => {
  const arb = prefixesArb(family);

  it('set operations agree with a brute-force model at every boundary', () => {
    fc.assert(
      fc.property(arb, arb, (pa, pb) => {
        const A = PrefixSet.fromPrefixes(family, pa);
        const B = PrefixSet.fromPrefixes(family, pb);
        const U = A.union(B);
        const I = A.intersect(B);
        const D = A.subtract(B);
        const C = A.complement();
        for (const x of probes(family, pa, pb)) {
          const a = inAny(pa, x);
          const b = inAny(pb, x);
          expect(A.contains(x)).toBe(a);
          expect(U.contains(x)).toBe(a || b);
          expect(I.contains(x)).toBe(a && b);
          expect(D.contains(x)).toBe(a && !b);
          expect(C.contains(x)).toBe(!a);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('union and subtract of many intervals with a few (inside them, clear of them, or across) agree with the model', () => {
    // Many against a few takes the shortcuts (the answer is one of the sets, when the few are all inside or all clear):
    // long prefixes, so that A is many intervals.
    const longPrefix = prefixArb(family).map((p) => {
      const length = Math.max(p.length, BITS[family] - 12);
      return { ...p, network: p.network & ~hostMaskOf(family, length), length };
    });
    fc.assert(
      fc.property(
        fc.array(longPrefix, { minLength: 300, maxLength: 500 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(-2, 0, 1, 'last' as const)), { maxLength: 4 }),
        fc.array(prefixArb(family), { maxLength: 1 }),
        (pa, picks, extra) => {
          // A few of A's own prefixes, their lower halves or last addresses (inside), or their
          // grandparents (across or around them), and one anywhere.
          const bits = BITS[family];
          const pb = [
            ...picks.map(([k, step]) => {
              const p = pa[k % pa.length]!;
              if (step === 'last') return { family, network: prefixLast(p), length: bits };
              const length = Math.min(bits, Math.max(0, p.length + step));
              return { ...p, network: p.network & ~hostMaskOf(family, length), length };
            }),
            ...extra,
          ];
          const A = PrefixSet.fromPrefixes(family, pa);
          const B = PrefixSet.fromPrefixes(family, pb);
          const U = A.union(B);
          const U2 = B.union(A);
          const D = A.subtract(B);
          for (const x of probes(family, pa, pb)) {
            const a = inAny(pa, x);
            const b = inAny(pb, x);
            expect(U.contains(x)).toBe(a || b);
            expect(U2.contains(x)).toBe(a || b);
            expect(D.contains(x)).toBe(a && !b);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('firstCidr is the first prefix of the cover (null for the empty set)', () => {
    fc.assert(
      fc.property(arb, (pa) => {
        for (const set of [PrefixSet.fromPrefixes(family, pa), PrefixSet.fromPrefixes(family, pa).complement()]) {
          expect(set.firstCidr()).toBe(set.toCidrs()[0] ?? null);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('algebraic laws', () => {
    fc.assert(
      fc.property(arb, arb, arb, (pa, pb, pc) => {
        const A = PrefixSet.fromPrefixes(family, pa);
        const B = PrefixSet.fromPrefixes(family, pb);
        const C = PrefixSet.fromPrefixes(family, pc);
        const all = PrefixSet.all(family);
        const none = PrefixSet.empty(family);
        expect(A.complement().complement().equals(A)).toBe(true);
        expect(A.union(B).complement().equals(A.complement().intersect(B.complement()))).toBe(true);
        expect(A.intersect(B).complement().equals(A.complement().union(B.complement()))).toBe(true);
        expect(A.subtract(B).equals(A.intersect(B.complement()))).toBe(true);
        expect(A.union(B).equals(B.union(A))).toBe(true);
        expect(A.intersect(B).equals(B.intersect(A))).toBe(true);
        expect(
          A.union(B)
            .union(C)
            .equals(A.union(B.union(C))),
        ).toBe(true);
        expect(A.intersect(B.union(C)).equals(A.intersect(B).union(A.intersect(C)))).toBe(true);
        expect(A.union(A.complement()).equals(all)).toBe(true);
        expect(A.intersect(A.complement()).isEmpty).toBe(true);
        expect(A.subtract(A).isEmpty).toBe(true);
        expect(A.union(none).equals(A)).toBe(true);
        expect(A.intersect(all).equals(A)).toBe(true);
        expect(all.subtract(A).equals(A.complement())).toBe(true);
        expect(A.subtract(B).union(A.intersect(B)).equals(A)).toBe(true);
        expect(A.size() + A.complement().size()).toBe(MAX[family] + 1n);
        // Order of the input does not matter.
        expect(PrefixSet.fromPrefixes(family, [...pa].reverse()).equals(A)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('toPrefixes is the unique minimal cover and round-trips', () => {
    fc.assert(
      fc.property(arb, arb, (pa, pb) => {
        const A = PrefixSet.fromPrefixes(family, pa);
        const B = PrefixSet.fromPrefixes(family, pb);
        for (const s of [A, A.union(B), A.subtract(B), A.complement(), B.subtract(A).complement()]) {
          const ps = expectMinimalCover(s);
          expect(PrefixSet.fromPrefixes(family, ps).equals(s)).toBe(true);
          // The minimal cover never has more prefixes than the input it came from.
          if (s === A) expect(ps.length).toBeLessThanOrEqual(pa.length);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('covers(p) agrees with the model on input prefixes and their halves', () => {
    fc.assert(
      fc.property(arb, arb, (pa, pb) => {
        const A = PrefixSet.fromPrefixes(family, pa);
        const member = intervalMember(A.ranges());
        const candidates = [...pa, ...pb].flatMap((p) =>
          p.length < BITS[family] ? [p, { ...p, length: p.length + 1 }, { ...p, network: p.network + (1n << BigInt(BITS[family] - p.length - 1)), length: p.length + 1 }] : [p],
        );
        for (const p of candidates) {
          expect(A.covers(p)).toBe(member(p.network, prefixLast(p)) === 'all');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ip-cidr agrees on containment in the minimal cover', () => {
    fc.assert(
      fc.property(arb, arb, (pa, pb) => {
        const A = PrefixSet.fromPrefixes(family, pa).subtract(PrefixSet.fromPrefixes(family, pb));
        // The oracle gets plain hex groups: it does not read RFC 5952's dotted IPv4-mapped form.
        const oracles = A.toPrefixes().map((p) => new IPCIDR(oraclePrefix(p)));
        for (const x of probes(family, pa, pb)) {
          const text = oracleAddress(family, x);
          expect(A.contains(x)).toBe(oracles.some((o) => o.contains(text)));
        }
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------
// Edge cases and unit examples

const cidrs = (family: Family, list: string[]): PrefixSet => PrefixSet.fromCidrs(family, list);

describe('edge cases', () => {
  it.each([4, 6] as const)('empty and all (IPv%i)', (family) => {
    const none = PrefixSet.empty(family);
    const all = PrefixSet.all(family);
    expect(none.isEmpty).toBe(true);
    expect(none.toCidrs()).toEqual([]);
    expect(none.size()).toBe(0n);
    expect(all.toCidrs()).toEqual([family === 4 ? '0.0.0.0/0' : '::/0']);
    expect(all.size()).toBe(MAX[family] + 1n);
    expect(none.complement().equals(all)).toBe(true);
    expect(all.complement().equals(none)).toBe(true);
    expect(all.contains(0n) && all.contains(MAX[family])).toBe(true);
    expect(none.contains(0n) || none.contains(MAX[family])).toBe(false);
    expect(all.subtract(all).isEmpty).toBe(true);
    expect(none.subtract(all).isEmpty).toBe(true);
    expect(all.subtract(none).equals(all)).toBe(true);
    expect(all.union(none).equals(all)).toBe(true);
    expect(all.intersect(none).isEmpty).toBe(true);
    expect(PrefixSet.fromPrefixes(family, []).equals(none)).toBe(true);
    expect(all.covers({ family, network: 0n, length: 0 })).toBe(true);
    expect(none.covers({ family, network: 0n, length: BITS[family] })).toBe(false);
  });

  it('0.0.0.0/0 and ::/0 from text', () => {
    expect(cidrs(4, ['0.0.0.0/0']).equals(PrefixSet.all(4))).toBe(true);
    expect(cidrs(6, ['::/0']).equals(PrefixSet.all(6))).toBe(true);
    expect(cidrs(4, ['0.0.0.0/1', '128.0.0.0/1']).toCidrs()).toEqual(['0.0.0.0/0']);
    expect(cidrs(6, ['::/1', '8000::/1']).toCidrs()).toEqual(['::/0']);
  });

  it.each([4, 6] as const)('single addresses at 0 and MAX (IPv%i)', (family) => {
    const bits = BITS[family];
    const zero = PrefixSet.fromPrefixes(family, [{ family, network: 0n, length: bits }]);
    const max = PrefixSet.fromPrefixes(family, [{ family, network: MAX[family], length: bits }]);
    expect(zero.toCidrs()).toEqual([`${formatAddress(family, 0n)}/${bits}`]);
    expect(max.toCidrs()).toEqual([`${formatAddress(family, MAX[family])}/${bits}`]);
    expect(zero.contains(0n)).toBe(true);
    expect(zero.contains(1n)).toBe(false);
    expect(max.contains(MAX[family])).toBe(true);
    expect(max.contains(MAX[family] - 1n)).toBe(false);
    // all but one address: one prefix per bit
    expect(zero.complement().prefixCount()).toBe(bits);
    expect(max.complement().prefixCount()).toBe(bits);
    expect(zero.union(max).complement().prefixCount()).toBe(2 * (bits - 1));
    expect(zero.union(max).complement().size()).toBe(MAX[family] - 1n);
    expectMinimalCover(zero.union(max).complement());
  });

  it('the familiar exclusions', () => {
    expect(
      PrefixSet.all(4)
        .subtract(cidrs(4, ['10.0.0.0/8']))
        .toCidrs(),
    ).toEqual(['0.0.0.0/5', '8.0.0.0/7', '11.0.0.0/8', '12.0.0.0/6', '16.0.0.0/4', '32.0.0.0/3', '64.0.0.0/2', '128.0.0.0/1']);
    expect(cidrs(4, ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/23']).toCidrs()).toEqual(['10.0.0.0/22']);
    expect(cidrs(4, ['10.0.1.0/24', '10.0.2.0/24']).toCidrs()).toEqual(['10.0.1.0/24', '10.0.2.0/24']); // adjacent, not mergeable
    expect(cidrs(4, ['10.0.1.0/24', '10.0.2.0/24']).ranges()).toEqual([[0x0a000100n, 0x0a0002ffn]]); // but one interval
    expect(cidrs(4, ['10.0.0.0/8', '10.1.0.0/16']).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(
      cidrs(6, ['::/0'])
        .subtract(cidrs(6, ['::ffff:0:0/96']))
        .prefixCount(),
    ).toBe(96);
    expect(
      cidrs(6, ['2001:db8::/32'])
        .subtract(cidrs(6, ['2001:db8::/33']))
        .toCidrs(),
    ).toEqual(['2001:db8:8000::/33']);
  });

  it('fromRanges merges overlapping and adjacent ranges and skips empty ones', () => {
    const s = PrefixSet.fromRanges(4, [
      [10n, 20n],
      [21n, 30n],
      [5n, 12n],
      [40n, 39n],
      [50n, 50n],
    ]);
    expect(s.ranges()).toEqual([
      [5n, 30n],
      [50n, 50n],
    ]);
  });

  it('families do not mix', () => {
    expect(() => PrefixSet.empty(4).union(PrefixSet.empty(6))).toThrow(/IPv4 and IPv6/);
    expect(() => PrefixSet.all(6).subtract(PrefixSet.all(4))).toThrow();
    expect(() => PrefixSet.all(6).intersect(PrefixSet.all(4))).toThrow();
    expect(() => PrefixSet.fromCidrs(4, ['::/0'])).toThrow(/IPv6/);
    expect(() => PrefixSet.fromCidrs(4, ['10.0.0.1/8'])).toThrow(/not a prefix/);
    expect(PrefixSet.all(4).contains({ family: 6, value: 0n })).toBe(false);
    expect(PrefixSet.all(4).covers({ family: 6, network: 0n, length: 128 })).toBe(false);
  });

  it('toJSON gives the CIDR list', () => {
    expect(JSON.stringify(cidrs(4, ['10.0.0.0/9', '10.128.0.0/9']))).toBe('["10.0.0.0/8"]');
  });

  it('DualSet keeps the families apart', () => {
    const p = (t: string): Prefix => {
      const r = parsePrefix(t);
      if (!r.ok) throw new Error(t);
      return r.prefix;
    };
    const d = DualSet.of([p('10.0.0.0/8'), p('fc00::/7'), p('10.0.0.0/9')]);
    expect(d.v4.toCidrs()).toEqual(['10.0.0.0/8']);
    expect(d.v6.toCidrs()).toEqual(['fc00::/7']);
    expect(DualSet.contains(d, { family: 4, value: 0x0a010203n })).toBe(true);
    expect(DualSet.contains(d, { family: 6, value: 0x0a010203n })).toBe(false);
    const c = DualSet.complement(d);
    expect(DualSet.union(c, d).v4.equals(PrefixSet.all(4))).toBe(true);
    expect(DualSet.union(c, d).v6.equals(PrefixSet.all(6))).toBe(true);
    expect(DualSet.subtract(DualSet.all(), d).v6.equals(c.v6)).toBe(true);
    expect(DualSet.empty().v4.isEmpty && DualSet.empty().v6.isEmpty).toBe(true);
  });

  it('100k prefixes finish (a complexity bound, not a stopwatch)', () => {
    const rng = mulberry32(7);
    const ps: Prefix[] = [];
    for (let i = 0; i < 100_000; i++) {
      const length = 8 + Math.floor(rng() * 25);
      const a = BigInt(Math.floor(rng() * 2 ** 32));
      ps.push({ family: 4, network: a & ~hostMaskOf(4, length) & MAX[4], length });
    }
    const s = PrefixSet.fromPrefixes(4, ps);
    const c = s.complement();
    expect(s.union(c).equals(PrefixSet.all(4))).toBe(true);
    expect(s.size() + c.size()).toBe(MAX[4] + 1n);
  });
});

describe('coverCountV4', () => {
  it('counts the cover of an IPv4 interval as the bigint count does, the whole space included', () => {
    expect(coverCountV4(0, 2 ** 32 - 1)).toBe(1);
    expect(PrefixSet.all(4).prefixCount()).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(coverCountV4(lo, hi)).toBe(coverCount(BigInt(lo), BigInt(hi)));
      }),
      { numRuns: 20000 },
    );
  });
});
