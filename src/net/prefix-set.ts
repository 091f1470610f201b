/**
 * Sets of addresses of one family, as sorted, disjoint, non-adjacent inclusive
 * intervals. Union, intersection, subtraction and complement are linear merges;
 * `toPrefixes()` gives the unique minimal CIDR cover (each maximal interval
 * split greedily into the largest aligned blocks).
 *
 * Instances are immutable.
 */
import { canonicalV4CidrValue, v4Length, v4Network } from './canonical.js';
import { MAX, formatPrefix, formatV4Number, orderV6, parsePrefix, type Address, type Family, type Prefix, prefixLast } from './ip.js';
import { asciiBytes, put, writeLength, writeV4, writeV6 } from './prefix-bytes.js';

/**
 * An interval bound: a number for IPv4 (exact, and much faster than bigint),
 * a bigint for IPv6. One set holds one kind only, so the algorithms below are
 * written once; `<`, `<=`, `>` compare either kind, and `next`/`prev` step by one.
 */
type Bound = number | bigint;

const next = (b: Bound): Bound => (typeof b === 'number' ? b + 1 : b + 1n);
const prev = (b: Bound): Bound => (typeof b === 'number' ? b - 1 : b - 1n);
const ZERO: Record<Family, Bound> = { 4: 0, 6: 0n };
const TOP: Record<Family, Bound> = { 4: Number(MAX[4]), 6: MAX[6] };

/**
 * Room for up to `n` bounds of a family, written by index and cut to length by `fit`:
 * IPv4 bounds live in a presized Float64Array (no growth by push, no boxing), IPv6
 * bounds in an array of bigints.
 */
function room(family: Family, n: number): Bound[] {
  return (family === 4 ? new Float64Array(n) : new Array<bigint>(n)) as unknown as Bound[];
}

function fit(bounds: Bound[], n: number): Bound[] {
  if (bounds instanceof Float64Array) return (n === bounds.length ? bounds : bounds.slice(0, n)) as unknown as Bound[];
  bounds.length = n;
  return bounds;
}

export class PrefixSet {
  private constructor(
    readonly family: Family,
    /** Interval starts, ascending. */
    private readonly los: readonly Bound[],
    /** Interval ends (inclusive); his[i] + 1 < los[i + 1]. */
    private readonly his: readonly Bound[],
  ) {}

  static empty(family: Family): PrefixSet {
    return new PrefixSet(family, [], []);
  }

  static all(family: Family): PrefixSet {
    return new PrefixSet(family, [ZERO[family]], [TOP[family]]);
  }

  /** A bound of this set's kind for an address value. */
  private bound(v: bigint): Bound {
    return this.family === 4 ? Number(v) : v;
  }

  /** Build from prefixes of this family (others are ignored by the caller's choice: they throw). */
  static fromPrefixes(family: Family, prefixes: Iterable<Prefix>): PrefixSet {
    if (family === 4) {
      // IPv4 fits in doubles: each prefix as one number, no bigint arithmetic, a native typed-array sort.
      const values: number[] = [];
      for (const p of prefixes) {
        if (p.family !== family) throw new Error(`PrefixSet(${family}) given an IPv${p.family} prefix`);
        values.push(Number(p.network) * 64 + p.length);
      }
      return PrefixSet.fromV4Values(values);
    }
    const los: bigint[] = [];
    const his: bigint[] = [];
    for (const p of prefixes) {
      if (p.family !== family) throw new Error(`PrefixSet(${family}) given an IPv${p.family} prefix`);
      los.push(p.network);
      his.push(prefixLast(p));
    }
    return PrefixSet.mergeV6(los, his);
  }

  /** Build from IPv4 prefixes written as numbers (`network * 64 + length`, src/net/canonical.ts): no Prefix or bigint each. */
  static fromV4Values(values: ArrayLike<number>): PrefixSet {
    // Sorted as numbers, prefixes come in order of network (then length): one sort and one sweep
    // that extends the open interval while the next prefix starts inside it or right after it.
    const sorted = Float64Array.from(values).sort();
    const n = sorted.length;
    const los = new Float64Array(n);
    const his = new Float64Array(n);
    let k = 0;
    let lo = 0;
    let end = -1; // exclusive; -1: nothing open yet
    for (let i = 0; i < n; i++) {
      const v = sorted[i]!;
      const start = v4Network(v);
      const stop = start + 2 ** (32 - v4Length(v));
      if (start <= end) {
        if (stop > end) end = stop;
        continue;
      }
      if (end >= 0) {
        los[k] = lo;
        his[k++] = end - 1;
      }
      lo = start;
      end = stop;
    }
    if (end >= 0) {
      los[k] = lo;
      his[k++] = end - 1;
    }
    return new PrefixSet(4, fit(los as unknown as Bound[], k), fit(his as unknown as Bound[], k));
  }

  /**
   * Union of IPv4 half-open intervals [starts[k], ends[k]) by a sweep over the sorted
   * starts and the sorted ends: an interval closes when the count of open ones drops to
   * zero; a start equal to an end comes first, so adjacent intervals merge.
   */
  private static fromHalfOpenV4(starts: Float64Array, ends: Float64Array): PrefixSet {
    starts.sort();
    ends.sort();
    const n = starts.length;
    const los = new Float64Array(n);
    const his = new Float64Array(n);
    let k = 0;
    let depth = 0;
    let open = 0;
    let j = 0;
    for (let i = 0; i < n;) {
      if (starts[i]! <= ends[j]!) {
        if (depth++ === 0) open = starts[i]!;
        i++;
      } else {
        if (--depth === 0) {
          los[k] = open;
          his[k++] = ends[j]! - 1;
        }
        j++;
      }
    }
    if (n > 0) {
      los[k] = open;
      his[k++] = ends[n - 1]! - 1;
    }
    return new PrefixSet(4, fit(los as unknown as Bound[], k), fit(his as unknown as Bound[], k));
  }

  /** Build from CIDR text; throws on text that does not parse (validate first). */
  static fromCidrs(family: Family, cidrs: Iterable<string>): PrefixSet {
    if (family === 4) return PrefixSet.fromCidrsV4(cidrs);
    const prefixes: Prefix[] = [];
    for (const c of cidrs) {
      const r = parsePrefix(c);
      if (!r.ok) throw new Error(`not a prefix: ${c}`);
      prefixes.push(r.prefix);
    }
    return PrefixSet.fromPrefixes(family, prefixes);
  }

  /** IPv4 CIDR text straight to numbers: canonical text in one scan, anything else through parsePrefix; no bigint per prefix on the fast path. */
  private static fromCidrsV4(cidrs: Iterable<string>): PrefixSet {
    const values: number[] = [];
    for (const c of cidrs) {
      let packed = canonicalV4CidrValue(c);
      if (packed < 0) {
        const r = parsePrefix(c);
        if (!r.ok) throw new Error(`not a prefix: ${c}`);
        if (r.prefix.family !== 4) throw new Error(`PrefixSet(4) given an IPv${r.prefix.family} prefix`);
        packed = Number(r.prefix.network) * 64 + r.prefix.length;
      }
      values.push(packed);
    }
    return PrefixSet.fromV4Values(values);
  }

  /** Build from arbitrary inclusive ranges: sorts and merges overlapping and adjacent ones. */
  static fromRanges(family: Family, ranges: readonly (readonly [bigint, bigint])[]): PrefixSet {
    if (family === 4) {
      const starts: number[] = [];
      const ends: number[] = [];
      for (const [lo, hi] of ranges) {
        if (lo > hi) continue;
        starts.push(Number(lo));
        ends.push(Number(hi) + 1);
      }
      return PrefixSet.fromHalfOpenV4(Float64Array.from(starts), Float64Array.from(ends));
    }
    return PrefixSet.mergeV6(
      ranges.map((r) => r[0]),
      ranges.map((r) => r[1]),
    );
  }

  /** IPv6 inclusive ranges [starts[k], ends[k]] (empty ones skipped) sorted by start and merged where they overlap or touch. */
  private static mergeV6(starts: readonly bigint[], ends: readonly bigint[]): PrefixSet {
    const order = orderV6(starts);
    const los: bigint[] = [];
    const his: bigint[] = [];
    for (let k = 0; k < order.length; k++) {
      const lo = starts[order[k]!]!;
      const hi = ends[order[k]!]!;
      if (lo > hi) continue;
      const last = his.length - 1;
      if (last >= 0 && lo <= his[last]! + 1n) {
        if (hi > his[last]!) his[last] = hi;
      } else {
        los.push(lo);
        his.push(hi);
      }
    }
    return new PrefixSet(6, los, his);
  }

  get isEmpty(): boolean {
    return this.los.length === 0;
  }

  /** The maximal intervals, ascending. */
  ranges(): [bigint, bigint][] {
    return Array.from(this.los, (lo, i) => [BigInt(lo), BigInt(this.his[i]!)]);
  }

  /** Number of addresses in the set. */
  size(): bigint {
    let n = 0n;
    for (let i = 0; i < this.los.length; i++) n += BigInt(this.his[i]!) - BigInt(this.los[i]!) + 1n;
    return n;
  }

  contains(address: Address | bigint): boolean {
    if (typeof address !== 'bigint' && address.family !== this.family) return false;
    const addr = this.bound(typeof address === 'bigint' ? address : address.value);
    const i = this.lastStartingAtOrBefore(addr);
    return i >= 0 && addr <= this.his[i]!;
  }

  /** Is the whole prefix inside the set? */
  covers(p: Prefix): boolean {
    if (p.family !== this.family) return false;
    const i = this.lastStartingAtOrBefore(this.bound(p.network));
    return i >= 0 && this.bound(prefixLast(p)) <= this.his[i]!;
  }

  /** Binary search: the index of the last interval that starts at or before b, or -1. */
  private lastStartingAtOrBefore(b: Bound): number {
    let lo = 0;
    let hi = this.los.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.los[mid]! <= b) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  union(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    // Both lists are sorted: merge them in one pass, no re-sorting.
    const los = room(this.family, this.los.length + other.los.length);
    const his = room(this.family, this.los.length + other.los.length);
    let k = 0;
    let i = 0;
    let j = 0;
    while (i < this.los.length || j < other.los.length) {
      let lo: Bound;
      let hi: Bound;
      if (j >= other.los.length || (i < this.los.length && this.los[i]! <= other.los[j]!)) {
        lo = this.los[i]!;
        hi = this.his[i++]!;
      } else {
        lo = other.los[j]!;
        hi = other.his[j++]!;
      }
      if (k > 0 && lo <= next(his[k - 1]!)) {
        if (hi > his[k - 1]!) his[k - 1] = hi;
      } else {
        los[k] = lo;
        his[k++] = hi;
      }
    }
    return new PrefixSet(this.family, fit(los, k), fit(his, k));
  }

  complement(): PrefixSet {
    const los = room(this.family, this.los.length + 1);
    const his = room(this.family, this.los.length + 1);
    let k = 0;
    const top = TOP[this.family];
    let from = ZERO[this.family];
    for (let i = 0; i < this.los.length; i++) {
      if (this.los[i]! > from) {
        los[k] = from;
        his[k++] = prev(this.los[i]!);
      }
      if (this.his[i]! === top) return new PrefixSet(this.family, fit(los, k), fit(his, k));
      from = next(this.his[i]!);
    }
    los[k] = from;
    his[k++] = top;
    return new PrefixSet(this.family, fit(los, k), fit(his, k));
  }

  intersect(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    const los = room(this.family, this.los.length + other.los.length);
    const his = room(this.family, this.los.length + other.los.length);
    let k = 0;
    let i = 0;
    let j = 0;
    while (i < this.los.length && j < other.los.length) {
      const lo = this.los[i]! > other.los[j]! ? this.los[i]! : other.los[j]!;
      const hi = this.his[i]! < other.his[j]! ? this.his[i]! : other.his[j]!;
      if (lo <= hi) {
        los[k] = lo;
        his[k++] = hi;
      }
      if (this.his[i]! < other.his[j]!) i++;
      else j++;
    }
    // Pieces of disjoint non-adjacent intervals stay disjoint and non-adjacent.
    return new PrefixSet(this.family, fit(los, k), fit(his, k));
  }

  subtract(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (this.isEmpty || other.isEmpty) return this;
    // One pass: cut each interval of this set by the intervals of other that overlap it.
    // Each interval of other cuts at most one more piece.
    const los = room(this.family, this.los.length + other.los.length);
    const his = room(this.family, this.los.length + other.los.length);
    let n = 0;
    const ol = other.los;
    const oh = other.his;
    let j = 0;
    for (let i = 0; i < this.los.length; i++) {
      let lo = this.los[i]!;
      const hi = this.his[i]!;
      while (j < ol.length && oh[j]! < lo) j++;
      let k = j;
      while (k < ol.length && ol[k]! <= hi) {
        if (ol[k]! > lo) {
          los[n] = lo;
          his[n++] = prev(ol[k]!);
        }
        if (oh[k]! >= hi) {
          lo = next(hi); // nothing left of this interval
          break;
        }
        lo = next(oh[k]!);
        k++;
      }
      if (lo <= hi) {
        los[n] = lo;
        his[n++] = hi;
      }
    }
    return new PrefixSet(this.family, fit(los, n), fit(his, n));
  }

  equals(other: PrefixSet): boolean {
    if (this.family !== other.family || this.los.length !== other.los.length) return false;
    for (let i = 0; i < this.los.length; i++) {
      if (this.los[i] !== other.los[i] || this.his[i] !== other.his[i]) return false;
    }
    return true;
  }

  /** The minimal cover, computed once per (immutable) set: every target renders the same sets. */
  private cover?: readonly Prefix[];
  private coverText?: readonly string[];

  /** The unique minimal list of prefixes whose union is this set, ascending. */
  toPrefixes(): Prefix[] {
    this.cover ??= this.computePrefixes();
    return [...this.cover];
  }

  private computePrefixes(): Prefix[] {
    if (this.family === 4) return this.toPrefixesV4();
    const out: Prefix[] = [];
    this.blocksV6((network, length) => out.push({ family: 6, network, length }));
    return out;
  }

  /** The minimal IPv6 blocks as (network, length) pairs. */
  private blocksV6(visit: (network: bigint, length: number) => void): void {
    for (let i = 0; i < this.los.length; i++) {
      let lo = this.los[i] as bigint;
      const hi = this.his[i] as bigint;
      while (lo <= hi) {
        // The largest block aligned at lo that does not run past hi.
        const fits = bitLength(hi - lo + 1n) - 1;
        const size = lo === 0n ? fits : Math.min(trailingZeros(lo), fits);
        visit(lo, 128 - size);
        lo += 1n << BigInt(size);
      }
    }
  }

  /** The minimal IPv4 blocks as (network, length) pairs, on doubles: every value is exact below 2^53. */
  private blocksV4(visit: (network: number, length: number) => void): void {
    for (let i = 0; i < this.los.length; i++) {
      let lo = this.los[i] as number;
      const end = (this.his[i] as number) + 1;
      while (lo < end) {
        // The largest block that does not run past end ...
        const left = end - lo;
        const fits = left >= 2 ** 32 ? 32 : 31 - Math.clz32(left);
        // ... and is aligned at lo (lo < 2^32; 0 is aligned to everything).
        const low = lo === 0 ? 32 : 31 - Math.clz32((lo | 0) & -(lo | 0));
        const size = Math.min(low, fits);
        visit(lo, 32 - size);
        lo += 2 ** size;
      }
    }
  }

  private toPrefixesV4(): Prefix[] {
    const out: Prefix[] = [];
    this.blocksV4((network, length) => out.push({ family: 4, network: BigInt(network), length }));
    return out;
  }

  /** The first prefix of the minimal cover (the lowest addresses), without building the rest of it; null for the empty set. */
  firstCidr(): string | null {
    if (this.isEmpty) return null;
    return formatPrefix(PrefixSet.fromRanges(this.family, [[BigInt(this.los[0]!), BigInt(this.his[0]!)]]).toPrefixes()[0]!);
  }

  toCidrs(): string[] {
    if (this.coverText === undefined) {
      if (this.family === 4 && this.cover === undefined) {
        const text: string[] = [];
        this.blocksV4((network, length) => text.push(`${formatV4Number(network)}/${length}`));
        this.coverText = text;
      } else {
        this.coverText = (this.cover ??= this.computePrefixes()).map(formatPrefix);
      }
    }
    return [...this.coverText];
  }

  /**
   * The minimal cover as ASCII text written straight from the set's numbers, with no string
   * per prefix: each prefix as `head` + its canonical text (formatPrefix's, byte for byte:
   * test/net/prefix-text.property.test.ts) + `tail`, and `between` between two.
   * `cidrText('', '\n')` is a prefix list, one a line; `cidrText('"', '"', ',\n  ')` the
   * elements of an indented JSON array. Empty for an empty set. One buffer: see cidrChunks
   * for the form that never holds the whole text.
   */
  cidrText(head = '', tail = '\n', between = '', chunkBytes = CHUNK_BYTES): Buffer {
    const parts: Buffer[] = [];
    for (const c of this.cidrChunks(head, tail, between, chunkBytes)) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }

  /**
   * cidrText's bytes in chunks of about `chunkBytes`, written into one buffer that is reused:
   * a chunk is valid only until the next one is asked for (hash it, write it, or copy it).
   * The whole list is never held, so a list of 678,000 prefixes costs one small buffer.
   */
  *cidrChunks(head = '', tail = '\n', between = '', chunkBytes = CHUNK_BYTES): Generator<Uint8Array, void, undefined> {
    if (this.isEmpty) return;
    const h = asciiBytes(head, 'head');
    const t = asciiBytes(tail, 'tail');
    const b = asciiBytes(between, 'between');
    // The longest canonical prefix: 15 + 3 (IPv4), 39 + 4 (IPv6); a chunk ends before an item could overrun it.
    const item = h.length + t.length + b.length + (this.family === 4 ? 18 : 43);
    const out = Buffer.allocUnsafe(Math.max(chunkBytes, 2 * item));
    const full = out.length - item;
    let at = 0;
    let first = true;
    const v4 = this.family === 4;
    const groups = new Array<number>(8);
    for (let i = 0; i < this.los.length; i++) {
      // The interval's blocks, each the largest aligned at its start that does not run past its end
      // (as blocksV4 and blocksV6 find them, inline: no call per block); IPv4 on numbers, IPv6 on bigints.
      let lo4 = v4 ? (this.los[i] as number) : 0;
      const end4 = v4 ? (this.his[i] as number) + 1 : 0;
      let lo6 = v4 ? 0n : (this.los[i] as bigint);
      const hi6 = v4 ? -1n : (this.his[i] as bigint);
      while (v4 ? lo4 < end4 : lo6 <= hi6) {
        let size: number;
        if (v4) {
          const left = end4 - lo4;
          const fits = left >= 2 ** 32 ? 32 : 31 - Math.clz32(left);
          const low = lo4 === 0 ? 32 : 31 - Math.clz32((lo4 | 0) & -(lo4 | 0));
          size = low < fits ? low : fits;
        } else {
          const fits = bitLength(hi6 - lo6 + 1n) - 1;
          size = lo6 === 0n ? fits : Math.min(trailingZeros(lo6), fits);
        }
        if (at > full) {
          yield out.subarray(0, at);
          at = 0;
        }
        if (first) first = false;
        else at = put(out, at, b);
        at = put(out, at, h);
        at = v4 ? writeV4(out, at, lo4) : writeV6(out, at, lo6, groups);
        at = writeLength(out, at, (v4 ? 32 : 128) - size);
        at = put(out, at, t);
        if (v4) lo4 += 2 ** size;
        else lo6 += 1n << BigInt(size);
      }
    }
    if (at > 0) yield out.subarray(0, at);
  }

  /**
   * Number of prefixes in the minimal cover, counted per interval without building the
   * cover (an IPv6 complement of 100,000 /64s is millions of prefixes).
   */
  prefixCount(): number {
    if (this.cover !== undefined) return this.cover.length;
    if (this.coverText !== undefined) return this.coverText.length;
    if (this.count === undefined) {
      let n = 0;
      if (this.family === 4) for (let i = 0; i < this.los.length; i++) n += coverCountV4(this.los[i] as number, this.his[i] as number);
      else for (let i = 0; i < this.los.length; i++) n += coverCount(this.los[i] as bigint, this.his[i] as bigint);
      this.count = n;
    }
    return this.count;
  }
  private count?: number;

  toJSON(): string[] {
    return this.toCidrs();
  }

  private sameFamily(other: PrefixSet): void {
    if (other.family !== this.family) throw new Error(`cannot combine IPv${this.family} and IPv${other.family} sets`);
  }
}

/** cidrChunks' chunk: large enough that a chunk's call costs nothing, small enough to stay in cache. */
const CHUNK_BYTES = 256 * 1024;

/**
 * The number of blocks in the minimal CIDR cover of [lo, hi]: split at m, the highest
 * boundary inside the interval (hi with the bits below its highest bit differing from lo
 * cleared); the greedy cover of [lo, m) is one block per set bit of m - lo, that of
 * [m, hi] one per set bit of hi + 1 - m, and two equal halves of 2^k make one block.
 */
export function coverCount(lo: bigint, hi: bigint): number {
  if (lo === hi) return 1;
  const k = bitLength(lo ^ hi) - 1;
  const half = 1n << BigInt(k);
  const m = hi & ~(half - 1n);
  const left = m - lo;
  const right = hi + 1n - m;
  if (left === half && right === half) return 1;
  return popcount(left) + popcount(right);
}

/** coverCount for IPv4 bounds as numbers (below 2^32: no bigint per interval). */
export function coverCountV4(lo: number, hi: number): number {
  if (lo === hi) return 1;
  const k = 31 - Math.clz32((lo ^ hi) >>> 0);
  const half = 2 ** k;
  const m = hi - (hi % half);
  const left = m - lo;
  const right = hi + 1 - m;
  if (left === half && right === half) return 1;
  return popcount32(left) + popcount32(right);
}

/** Set bits of 0 ≤ v ≤ 2^32 (2^32 itself has one). */
function popcount32(v: number): number {
  if (v === 2 ** 32) return 1;
  let x = v >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
}

/**
 * The 32-bit words of 0 ≤ v < 2^128 in W (W.getUint32(0) the most significant), for the bit counts
 * below: one bigint (the shift) per value instead of one per 32 bits. False for v ≥ 2^128.
 */
function toWords(v: bigint): boolean {
  if (v >= TWO_128) return false;
  W.setBigUint64(0, v >> 64n);
  W.setBigUint64(8, v); // the low 64 bits: setBigUint64 takes a bigint modulo 2^64
  return true;
}
const W = new DataView(new ArrayBuffer(16));
const TWO_128 = 1n << 128n;

function popcount(v: bigint): number {
  if (toWords(v)) return popcount32(W.getUint32(0)) + popcount32(W.getUint32(4)) + popcount32(W.getUint32(8)) + popcount32(W.getUint32(12));
  let n = 0;
  while (v > 0n) {
    n += popcount32(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return n;
}

/** Trailing zero bits of 0 < v < 2^128. */
function trailingZeros(v: bigint): number {
  toWords(v);
  for (let i = 3; i >= 0; i--) {
    const w = W.getUint32(4 * i);
    if (w !== 0) return 32 * (3 - i) + 31 - Math.clz32(w & -w);
  }
  return 128;
}

/** Number of bits needed for v > 0. */
function bitLength(v: bigint): number {
  if (toWords(v)) {
    for (let i = 0; i < 4; i++) {
      const w = W.getUint32(4 * i);
      if (w !== 0) return 32 * (4 - i) - Math.clz32(w);
    }
    return 0;
  }
  let n = 0;
  while (v > 0xffffffffn) {
    v >>= 32n;
    n += 32;
  }
  return n + 32 - Math.clz32(Number(v));
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
