/**
 * Sets of addresses of one family, as sorted, disjoint, non-adjacent inclusive
 * intervals. Union, intersection, subtraction and complement are linear merges;
 * `toPrefixes()` gives the unique minimal CIDR cover (each maximal interval
 * split greedily into the largest aligned blocks).
 *
 * Instances are immutable.
 */
import { BITS, MAX, formatPrefix, parsePrefix, type Address, type Family, type Prefix, prefixLast } from './ip.js';

export class PrefixSet {
  private constructor(
    readonly family: Family,
    /** Interval starts, ascending. */
    private readonly los: readonly bigint[],
    /** Interval ends (inclusive); his[i] + 1 < los[i + 1]. */
    private readonly his: readonly bigint[],
  ) {}

  static empty(family: Family): PrefixSet {
    return new PrefixSet(family, [], []);
  }

  static all(family: Family): PrefixSet {
    return new PrefixSet(family, [0n], [MAX[family]]);
  }

  /** Build from prefixes of this family (others are ignored by the caller's choice: they throw). */
  static fromPrefixes(family: Family, prefixes: Iterable<Prefix>): PrefixSet {
    const ranges: [bigint, bigint][] = [];
    for (const p of prefixes) {
      if (p.family !== family) throw new Error(`PrefixSet(${family}) given an IPv${p.family} prefix`);
      ranges.push([p.network, prefixLast(p)]);
    }
    return PrefixSet.fromRanges(family, ranges);
  }

  /** Build from CIDR text; throws on text that does not parse (validate first). */
  static fromCidrs(family: Family, cidrs: Iterable<string>): PrefixSet {
    const prefixes: Prefix[] = [];
    for (const c of cidrs) {
      const r = parsePrefix(c);
      if (!r.ok) throw new Error(`not a prefix: ${c}`);
      prefixes.push(r.prefix);
    }
    return PrefixSet.fromPrefixes(family, prefixes);
  }

  /** Build from arbitrary inclusive ranges: sorts and merges overlapping and adjacent ones. */
  static fromRanges(family: Family, ranges: readonly (readonly [bigint, bigint])[]): PrefixSet {
    const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const los: bigint[] = [];
    const his: bigint[] = [];
    for (const [lo, hi] of sorted) {
      if (lo > hi) continue;
      const last = his.length - 1;
      if (last >= 0 && lo <= his[last]! + 1n) {
        if (hi > his[last]!) his[last] = hi;
      } else {
        los.push(lo);
        his.push(hi);
      }
    }
    return new PrefixSet(family, los, his);
  }

  get isEmpty(): boolean {
    return this.los.length === 0;
  }

  /** The maximal intervals, ascending. */
  ranges(): [bigint, bigint][] {
    return this.los.map((lo, i) => [lo, this.his[i]!]);
  }

  /** Number of addresses in the set. */
  size(): bigint {
    let n = 0n;
    for (let i = 0; i < this.los.length; i++) n += this.his[i]! - this.los[i]! + 1n;
    return n;
  }

  contains(addr: Address | bigint): boolean {
    if (typeof addr !== 'bigint') {
      if (addr.family !== this.family) return false;
      addr = addr.value;
    }
    // Binary search for the last interval starting at or before addr.
    let lo = 0;
    let hi = this.los.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.los[mid]! <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && addr <= this.his[hi]!;
  }

  /** Is the whole prefix inside the set? */
  covers(p: Prefix): boolean {
    if (p.family !== this.family) return false;
    const last = prefixLast(p);
    let lo = 0;
    let hi = this.los.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.los[mid]! <= p.network) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && last <= this.his[hi]!;
  }

  union(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return PrefixSet.fromRanges(this.family, [...this.ranges(), ...other.ranges()]);
  }

  complement(): PrefixSet {
    const los: bigint[] = [];
    const his: bigint[] = [];
    let next = 0n;
    for (let i = 0; i < this.los.length; i++) {
      if (this.los[i]! > next) {
        los.push(next);
        his.push(this.los[i]! - 1n);
      }
      next = this.his[i]! + 1n;
    }
    if (next <= MAX[this.family]) {
      los.push(next);
      his.push(MAX[this.family]);
    }
    return new PrefixSet(this.family, los, his);
  }

  intersect(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    const los: bigint[] = [];
    const his: bigint[] = [];
    let i = 0;
    let j = 0;
    while (i < this.los.length && j < other.los.length) {
      const lo = this.los[i]! > other.los[j]! ? this.los[i]! : other.los[j]!;
      const hi = this.his[i]! < other.his[j]! ? this.his[i]! : other.his[j]!;
      if (lo <= hi) {
        los.push(lo);
        his.push(hi);
      }
      if (this.his[i]! < other.his[j]!) i++;
      else j++;
    }
    // Pieces of disjoint non-adjacent intervals stay disjoint and non-adjacent.
    return new PrefixSet(this.family, los, his);
  }

  subtract(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (this.isEmpty || other.isEmpty) return this;
    return this.intersect(other.complement());
  }

  equals(other: PrefixSet): boolean {
    if (this.family !== other.family || this.los.length !== other.los.length) return false;
    for (let i = 0; i < this.los.length; i++) {
      if (this.los[i] !== other.los[i] || this.his[i] !== other.his[i]) return false;
    }
    return true;
  }

  /** The unique minimal list of prefixes whose union is this set, ascending. */
  toPrefixes(): Prefix[] {
    const out: Prefix[] = [];
    const bits = BITS[this.family];
    for (let i = 0; i < this.los.length; i++) {
      let lo = this.los[i]!;
      const hi = this.his[i]!;
      while (lo <= hi) {
        // Largest block aligned at lo ...
        let size = lo === 0n ? bits : trailingZeros(lo);
        // ... that does not run past hi.
        while (size > 0 && lo + (1n << BigInt(size)) - 1n > hi) size--;
        out.push({ family: this.family, network: lo, length: bits - size });
        lo += 1n << BigInt(size);
      }
    }
    return out;
  }

  toCidrs(): string[] {
    return this.toPrefixes().map(formatPrefix);
  }

  /** Number of prefixes in the minimal cover, without building them. */
  prefixCount(): number {
    return this.toPrefixes().length;
  }

  toJSON(): string[] {
    return this.toCidrs();
  }

  private sameFamily(other: PrefixSet): void {
    if (other.family !== this.family) throw new Error(`cannot combine IPv${this.family} and IPv${other.family} sets`);
  }
}

function trailingZeros(v: bigint): number {
  let n = 0;
  while ((v & 0xffffffffn) === 0n) {
    v >>= 32n;
    n += 32;
  }
  while ((v & 1n) === 0n) {
    v >>= 1n;
    n++;
  }
  return n;
}

/** A pair of sets, one per family: most callers handle both together. */
export interface DualSet {
  readonly v4: PrefixSet;
  readonly v6: PrefixSet;
}

export const DualSet = {
  empty(): DualSet {
    return { v4: PrefixSet.empty(4), v6: PrefixSet.empty(6) };
  },
  all(): DualSet {
    return { v4: PrefixSet.all(4), v6: PrefixSet.all(6) };
  },
  of(prefixes: Iterable<Prefix>): DualSet {
    const v4: Prefix[] = [];
    const v6: Prefix[] = [];
    for (const p of prefixes) (p.family === 4 ? v4 : v6).push(p);
    return { v4: PrefixSet.fromPrefixes(4, v4), v6: PrefixSet.fromPrefixes(6, v6) };
  },
  union(a: DualSet, b: DualSet): DualSet {
    return { v4: a.v4.union(b.v4), v6: a.v6.union(b.v6) };
  },
  subtract(a: DualSet, b: DualSet): DualSet {
    return { v4: a.v4.subtract(b.v4), v6: a.v6.subtract(b.v6) };
  },
  complement(a: DualSet): DualSet {
    return { v4: a.v4.complement(), v6: a.v6.complement() };
  },
  contains(a: DualSet, addr: Address): boolean {
    return (addr.family === 4 ? a.v4 : a.v6).contains(addr);
  },
};
