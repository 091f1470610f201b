/**
 * Sets of addresses of one family, as sorted, disjoint, non-adjacent inclusive
 * intervals. Union, intersection, subtraction and complement are linear merges (a run
 * of intervals the other set does not touch is copied in bulk, and a few intervals
 * against many may answer a set at hand); `toPrefixes()` gives the unique minimal CIDR cover (each maximal interval
 * split greedily into the largest aligned blocks).
 *
 * A bound is 32-bit words in a Uint32Array: one word for an IPv4 address, four for an IPv6
 * one (the most significant first). The merges compare and step words, written once for
 * both families, and no operation makes a bigint per interval: a list of 100,000 IPv6
 * entries makes millions of blocks. Bigints appear only at the edges (an Address or
 * Prefix in or out).
 *
 * Instances are immutable.
 */
import { canonicalV4CidrValue, POW2, v4Length, v4Network } from './canonical.js';
import { formatPrefix, formatV4Number, orderV6Words, parsePrefix, putV6Words, v6WordsValue, type Address, type Family, type Prefix } from './ip.js';
import { asciiBytes, put, writeLength, writeV4, writeV6Words } from './prefix-bytes.js';

type Words = Uint32Array;

/** Words per bound. */
const WORDS: Record<Family, number> = { 4: 1, 6: 4 };
const ONES = 0xffffffff;

/* ---- Bounds: bound i of a list is words [w * i, w * i + w). ---- */

/** Bound i of a against bound j of b: negative, zero or positive. */
function cmp(a: Words, i: number, b: Words, j: number, w: number): number {
  const p = w * i;
  const q = w * j;
  for (let x = 0; x < w; x++) {
    const d = a[p + x]! - b[q + x]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Is bound i of a exactly one above bound j of b? */
function isNext(a: Words, i: number, b: Words, j: number, w: number): boolean {
  const p = w * i;
  const q = w * j;
  let x = w - 1;
  // The low words where adding one carries: all ones in b, zero in a.
  for (; x >= 0 && b[q + x] === ONES; x--) if (a[p + x] !== 0) return false;
  if (x < 0 || a[p + x] !== b[q + x]! + 1) return false; // nothing is one above the top
  for (let y = 0; y < x; y++) if (a[p + y] !== b[q + y]) return false;
  return true;
}

/** lo ≤ hi + 1: an interval starting at bound i of `lo` overlaps or touches one ending at bound j of `hi`. */
function reaches(lo: Words, i: number, hi: Words, j: number, w: number): boolean {
  return cmp(lo, i, hi, j, w) <= 0 || isNext(lo, i, hi, j, w);
}

/** The first of bounds [from, to) of `his` (ascending) that reaches bound j of `lo` (his + 1 ≥ lo), or `to`: a binary search. */
function firstReaching(his: Words, from: number, to: number, lo: Words, j: number, w: number): number {
  while (from < to) {
    const mid = (from + to) >> 1;
    if (reaches(lo, j, his, mid, w)) to = mid;
    else from = mid + 1;
  }
  return from;
}

/** The first of bounds [from, to) of `his` (ascending) at or above bound j of `b`, or `to`: a binary search. */
function firstAtOrAbove(his: Words, from: number, to: number, b: Words, j: number, w: number): number {
  while (from < to) {
    const mid = (from + to) >> 1;
    if (cmp(his, mid, b, j, w) >= 0) to = mid;
    else from = mid + 1;
  }
  return from;
}

/** Bound k of dst = bound i of src. */
function copy(dst: Words, k: number, src: Words, i: number, w: number): void {
  for (let x = 0; x < w; x++) dst[w * k + x] = src[w * i + x]!;
}

/** Bound k of dst = bound i of src + 1 (src's is not the top; a Uint32Array stores 2^32 as 0). */
function copyNext(dst: Words, k: number, src: Words, i: number, w: number): void {
  let carry = 1;
  for (let x = w - 1; x >= 0; x--) {
    const v = src[w * i + x]! + carry;
    dst[w * k + x] = v;
    carry = v > ONES ? 1 : 0;
  }
}

/** Bound k of dst = bound i of src - 1 (src's is not zero; a Uint32Array stores -1 as 2^32 - 1). */
function copyPrev(dst: Words, k: number, src: Words, i: number, w: number): void {
  let borrow = 1;
  for (let x = w - 1; x >= 0; x--) {
    const v = src[w * i + x]! - borrow;
    dst[w * k + x] = v;
    borrow = v < 0 ? 1 : 0;
  }
}

/** Bounds [from, to) of a, each + 1 in place (none is the top). */
function stepUp(a: Words, from: number, to: number, w: number): void {
  for (let b = from; b < to; b++) {
    for (let x = w * b + w - 1; x >= w * b; x--) {
      const v = a[x]! + 1;
      a[x] = v;
      if (v <= ONES) break; // no carry
    }
  }
}

/** Bounds [from, to) of a, each - 1 in place (none is zero). */
function stepDown(a: Words, from: number, to: number, w: number): void {
  for (let b = from; b < to; b++) {
    for (let x = w * b + w - 1; x >= w * b; x--) {
      const v = a[x]! - 1;
      a[x] = v;
      if (v >= 0) break; // no borrow
    }
  }
}

function isZero(a: Words, i: number, w: number): boolean {
  for (let x = 0; x < w; x++) if (a[w * i + x] !== 0) return false;
  return true;
}

function isTop(a: Words, i: number, w: number): boolean {
  for (let x = 0; x < w; x++) if (a[w * i + x] !== ONES) return false;
  return true;
}

/** Bound k of dst = the last address of the prefix whose network is bound i of src and whose length is `length`. */
function copyLast(dst: Words, k: number, src: Words, i: number, length: number, w: number): void {
  for (let x = 0; x < w; x++) {
    const keep = length - 32 * x; // network bits in this word
    dst[w * k + x] = keep >= 32 ? src[w * i + x]! : keep <= 0 ? ONES : src[w * i + x]! | (ONES >>> keep);
  }
}

/** The words of an address value at bound k of dst. */
function putValue(dst: Words, k: number, v: bigint, w: number): void {
  if (w === 1) dst[k] = Number(v);
  else putV6Words(dst, k, v);
}

/** Bound i of a as a bigint. */
function valueAt(a: Words, i: number, w: number): bigint {
  return w === 1 ? BigInt(a[i]!) : v6WordsValue(a, i);
}

/** Scratch bounds (four words: room for either family) for the operations below; none calls another while it holds one. */
const A = new Uint32Array(4);
const B = new Uint32Array(4);

/** Room for n bounds, written by index; `fit` cuts it to the k written (a view: no copy, and the room is at most twice the set). */
function fit(bounds: Words, k: number, w: number): Words {
  return w * k === bounds.length ? bounds : bounds.subarray(0, w * k);
}

export class PrefixSet {
  /** Words per bound. */
  private readonly w: number;
  private constructor(
    readonly family: Family,
    /** Interval starts, ascending. */
    private readonly los: Words,
    /** Interval ends (inclusive); his[i] + 1 < los[i + 1]. */
    private readonly his: Words,
  ) {
    this.w = WORDS[family];
  }

  /** Number of intervals. */
  private get n(): number {
    return this.los.length / this.w;
  }

  static empty(family: Family): PrefixSet {
    return new PrefixSet(family, new Uint32Array(0), new Uint32Array(0));
  }

  static all(family: Family): PrefixSet {
    return new PrefixSet(family, new Uint32Array(WORDS[family]), new Uint32Array(WORDS[family]).fill(ONES));
  }

  /** Build from prefixes of this family (others are ignored by the caller's choice: they throw). */
  static fromPrefixes(family: Family, prefixes: Iterable<Prefix>): PrefixSet {
    const values: number[] = [];
    const networks: bigint[] = [];
    const lengths: number[] = [];
    for (const p of prefixes) {
      if (p.family !== family) throw new Error(`PrefixSet(${family}) given an IPv${p.family} prefix`);
      // IPv4 fits in doubles: each prefix as one number, a native typed-array sort.
      if (family === 4) values.push(Number(p.network) * 64 + p.length);
      else {
        networks.push(p.network);
        lengths.push(p.length);
      }
    }
    if (family === 4) return PrefixSet.fromV4Values(values);
    const words = new Uint32Array(4 * networks.length);
    for (let i = 0; i < networks.length; i++) putV6Words(words, i, networks[i]!);
    return PrefixSet.fromV6Words(words, lengths);
  }

  /** Build from IPv4 prefixes written as numbers (`network * 64 + length`, src/net/canonical.ts): no Prefix or bigint each. */
  static fromV4Values(values: ArrayLike<number>): PrefixSet {
    // Sorted as numbers, prefixes come in order of network (then length): one sort and one sweep
    // that extends the open interval while the next prefix starts inside it or right after it.
    const sorted = Float64Array.from(values).sort();
    const n = sorted.length;
    const los = new Uint32Array(n);
    const his = new Uint32Array(n);
    let k = 0;
    let lo = 0;
    let end = -1; // exclusive; -1: nothing open yet
    for (let i = 0; i < n; i++) {
      const v = sorted[i]!;
      const start = v4Network(v);
      const stop = start + POW2[32 - v4Length(v)]!;
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
    return new PrefixSet(4, fit(los, k, 1), fit(his, k, 1));
  }

  /**
   * Build from IPv6 prefixes as words: prefix i's network is words [4i, 4i + 4) (most significant
   * first, as putV6Words writes them), its length lengths[i]. No Prefix or bigint each.
   */
  static fromV6Words(words: Uint32Array, lengths: ArrayLike<number>): PrefixSet {
    return PrefixSet.merge(6, words, { lengths }, orderV6Words(words));
  }

  /**
   * The union of inclusive intervals [starts[i], ends[i]] (bounds of the family's width), taken
   * in `order` (ascending starts): empty ones skipped, overlapping and adjacent ones merged.
   * The ends are given as bounds, or as prefix lengths (each interval the prefix at its start: no array of ends is made).
   */
  private static merge(family: Family, starts: Words, given: { ends: Words } | { lengths: ArrayLike<number> }, order: ArrayLike<number>): PrefixSet {
    const w = WORDS[family];
    const lengths = 'lengths' in given ? given.lengths : undefined;
    const ends = 'ends' in given ? given.ends : new Uint32Array(w); // with lengths: the current prefix's end
    const los = new Uint32Array(starts.length);
    const his = new Uint32Array(starts.length);
    // The open interval is his[k - 1]; `after` holds its end + 1 (none past the top). The loop
    // compares words inline, with no call per range: it runs once over 100,000s of them.
    const after = new Uint32Array(w);
    let open = false; // an interval is open and does not end at the top
    let k = 0;
    for (let o = 0; o < order.length; o++) {
      const p = w * order[o]!;
      if (lengths !== undefined) copyLast(ends, 0, starts, order[o]!, lengths[order[o]!]!, w);
      const q = lengths === undefined ? p : 0; // where the end's words are
      let c = 0; // start - end, by sign; an empty range is skipped
      for (let x = 0; x < w && c === 0; x++) c = starts[p + x]! - ends[q + x]!;
      if (c > 0) continue;
      let reach = k > 0 && !open; // the open interval ends at the top: everything reaches it
      if (open) {
        let d = 0; // start - (end + 1)
        for (let x = 0; x < w && d === 0; x++) d = starts[p + x]! - after[x]!;
        reach = d <= 0;
      }
      if (reach) {
        let e = 0; // this range's end - the open interval's
        for (let x = 0; x < w && e === 0; x++) e = ends[q + x]! - his[w * (k - 1) + x]!;
        if (e <= 0) continue;
      } else {
        for (let x = 0; x < w; x++) los[w * k + x] = starts[p + x]!;
        k++;
      }
      // The open interval ends at this range's end.
      let carry = 1;
      for (let x = w - 1; x >= 0; x--) {
        const v = ends[q + x]!;
        his[w * (k - 1) + x] = v;
        after[x] = v + carry;
        carry = carry === 1 && v === ONES ? 1 : 0;
      }
      open = carry === 0;
    }
    return new PrefixSet(family, fit(los, k, w), fit(his, k, w));
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
    const w = WORDS[family];
    const starts = new Uint32Array(w * ranges.length);
    const ends = new Uint32Array(w * ranges.length);
    ranges.forEach(([lo, hi], i) => {
      putValue(starts, i, lo, w);
      putValue(ends, i, hi, w);
    });
    const order = family === 6 ? orderV6Words(starts) : Uint32Array.from(ranges.keys()).sort((i, j) => starts[i]! - starts[j]!);
    return PrefixSet.merge(family, starts, { ends }, order);
  }

  get isEmpty(): boolean {
    return this.los.length === 0;
  }

  /** The maximal intervals, ascending. */
  ranges(): [bigint, bigint][] {
    return Array.from({ length: this.n }, (_, i) => [valueAt(this.los, i, this.w), valueAt(this.his, i, this.w)]);
  }

  /** Number of addresses in the set. */
  size(): bigint {
    let n = 0n;
    for (const [lo, hi] of this.ranges()) n += hi - lo + 1n;
    return n;
  }

  contains(address: Address | bigint): boolean {
    if (typeof address !== 'bigint' && address.family !== this.family) return false;
    putValue(A, 0, typeof address === 'bigint' ? address : address.value, this.w);
    const i = this.lastStartingAtOrBefore(A, 0);
    return i >= 0 && cmp(A, 0, this.his, i, this.w) <= 0;
  }

  /** Is the whole prefix inside the set? */
  covers(p: Prefix): boolean {
    if (p.family !== this.family) return false;
    putValue(A, 0, p.network, this.w);
    copyLast(B, 0, A, 0, p.length, this.w);
    const i = this.lastStartingAtOrBefore(A, 0);
    return i >= 0 && cmp(B, 0, this.his, i, this.w) <= 0;
  }

  /** Binary search: the index of the last interval that starts at or before bound j of b, or -1. */
  private lastStartingAtOrBefore(b: Words, j: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(this.los, mid, b, j, this.w) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /**
   * Is `other` a few intervals, each inside one of this set's (`inside`) or each clear of all of
   * them (not `inside`)? A binary search each. A set operation with such a set answers a set it
   * has (a plan unites and subtracts 100,000s of intervals with a few): no copy. False for many.
   */
  private fewAll(other: PrefixSet, inside: boolean): boolean {
    const m = other.n;
    if (m === 0 || 16 * m > this.n) return false;
    for (let j = 0; j < m; j++) {
      if (inside) {
        const i = this.lastStartingAtOrBefore(other.los, j);
        if (i < 0 || cmp(this.his, i, other.his, j, this.w) < 0) return false;
      } else {
        const i = this.lastStartingAtOrBefore(other.his, j);
        if (i >= 0 && cmp(this.his, i, other.los, j, this.w) >= 0) return false;
      }
    }
    return true;
  }

  union(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (other.isEmpty || this.fewAll(other, true)) return this;
    if (this.isEmpty || other.fewAll(this, true)) return other;
    // Both lists are sorted: merge them in one pass, no re-sorting.
    const w = this.w;
    const los = new Uint32Array(this.los.length + other.los.length);
    const his = new Uint32Array(this.los.length + other.los.length);
    const n = this.n;
    const m = other.n;
    let k = 0;
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      // A run of one side's intervals that stand clear of the open interval and end before the other
      // side's next one starts (not touching it) is the union's as it is: copied in bulk (a plan unites
      // 100,000s of intervals with a few).
      const ri = i < n ? PrefixSet.clearRun(this, i, other, j, his, k) : i;
      if (ri > i) {
        k = PrefixSet.copyRunOf(los, his, k, this, i, ri);
        i = ri;
        continue;
      }
      const rj = j < m ? PrefixSet.clearRun(other, j, this, i, his, k) : j;
      if (rj > j) {
        k = PrefixSet.copyRunOf(los, his, k, other, j, rj);
        j = rj;
        continue;
      }
      const fromThis = j >= m || (i < n && cmp(this.los, i, other.los, j, w) <= 0);
      const src = fromThis ? this : other;
      const at = fromThis ? i++ : j++;
      if (k > 0 && reaches(src.los, at, his, k - 1, w)) {
        if (cmp(src.his, at, his, k - 1, w) > 0) copy(his, k - 1, src.his, at, w);
      } else {
        copy(los, k, src.los, at, w);
        copy(his, k++, src.his, at, w);
      }
    }
    return new PrefixSet(this.family, fit(los, k, w), fit(his, k, w));
  }

  complement(): PrefixSet {
    const w = this.w;
    const n = this.n;
    if (n === 0) return PrefixSet.all(this.family);
    // The gaps: before the first interval (unless it starts at zero), between each two, after the
    // last (unless it ends at the top). Their bounds are the intervals' bounds stepped by one,
    // copied in bulk and stepped in place: no call per gap.
    const head = isZero(this.los, 0, w) ? 0 : 1;
    const tail = isTop(this.his, n - 1, w) ? 0 : 1;
    const k = head + n - 1 + tail;
    const los = new Uint32Array(w * k); // the head gap starts at zero, as made
    const his = new Uint32Array(w * k);
    // Starts: one past each interval's end (but the top's).
    los.set(this.his.subarray(0, w * (n - 1 + tail)), w * head);
    stepUp(los, head, k, w);
    // Ends: one before each interval's start (but zero's), then the top.
    his.set(this.los.subarray(w * (1 - head), w * n));
    stepDown(his, 0, n - 1 + head, w);
    if (tail) his.fill(ONES, w * (k - 1));
    return new PrefixSet(this.family, los, his);
  }

  intersect(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    const w = this.w;
    const los = new Uint32Array(this.los.length + other.los.length);
    const his = new Uint32Array(this.los.length + other.los.length);
    const n = this.n;
    const m = other.n;
    let k = 0;
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      // The later start and the earlier end; a piece when they do not cross.
      const thisStartsLater = cmp(this.los, i, other.los, j, w) > 0;
      const thisEndsFirst = cmp(this.his, i, other.his, j, w) < 0;
      const start = thisStartsLater ? this.los : other.los;
      const startAt = thisStartsLater ? i : j;
      const end = thisEndsFirst ? this.his : other.his;
      const endAt = thisEndsFirst ? i : j;
      if (cmp(start, startAt, end, endAt, w) <= 0) {
        copy(los, k, start, startAt, w);
        copy(his, k++, end, endAt, w);
      }
      if (thisEndsFirst) i++;
      else j++;
    }
    // Pieces of disjoint non-adjacent intervals stay disjoint and non-adjacent.
    return new PrefixSet(this.family, fit(los, k, w), fit(his, k, w));
  }

  subtract(other: PrefixSet): PrefixSet {
    this.sameFamily(other);
    if (this.isEmpty || other.isEmpty || this.fewAll(other, false)) return this;
    // One pass: cut each interval of this set by the intervals of other that overlap it.
    // Each interval of other cuts at most one more piece.
    const w = this.w;
    // At most n + m pieces, and one more bound for the start written ahead.
    const los = new Uint32Array(this.los.length + other.los.length + w);
    const his = new Uint32Array(this.los.length + other.los.length + w);
    const n = this.n;
    const ol = other.los;
    const oh = other.his;
    const m = other.n;
    let out = 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      while (j < m && cmp(oh, j, this.los, i, w) < 0) j++;
      // The intervals that end before other's next one starts are untouched: copied in bulk.
      const r = j < m ? firstAtOrAbove(this.his, i, n, ol, j, w) : n;
      if (r > i) {
        out = PrefixSet.copyRunOf(los, his, out, this, i, r);
        i = r - 1;
        continue;
      }
      // What is left of interval i starts at los[out], written ahead of time.
      copy(los, out, this.los, i, w);
      let left = true;
      for (let k = j; k < m && cmp(ol, k, this.his, i, w) <= 0; k++) {
        if (cmp(ol, k, los, out, w) > 0) copyPrev(his, out++, ol, k, w);
        if (cmp(oh, k, this.his, i, w) >= 0) {
          left = false; // nothing left of this interval
          break;
        }
        copyNext(los, out, oh, k, w);
      }
      if (left) copy(his, out++, this.his, i, w);
    }
    return new PrefixSet(this.family, fit(los, out, w), fit(his, out, w));
  }

  /**
   * For union: where the run of `a`'s intervals from i ends that stand clear of the open interval
   * (his[k - 1]) and end before b's interval j starts, not touching it; i when there is none.
   */
  private static clearRun(a: PrefixSet, i: number, b: PrefixSet, j: number, his: Words, k: number): number {
    if (k > 0 && reaches(a.los, i, his, k - 1, a.w)) return i;
    return j < b.n ? firstReaching(a.his, i, a.n, b.los, j, a.w) : a.n;
  }

  /** Intervals [from, to) of `set` at place k of los and his; returns the place after them. */
  private static copyRunOf(los: Words, his: Words, k: number, set: PrefixSet, from: number, to: number): number {
    const w = set.w;
    los.set(set.los.subarray(w * from, w * to), w * k);
    his.set(set.his.subarray(w * from, w * to), w * k);
    return k + to - from;
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
    const out: Prefix[] = [];
    if (this.family === 4) this.blocksV4((network, length) => out.push({ family: 4, network: BigInt(network), length }));
    else this.blocksV6((network, length) => out.push({ family: 6, network: v6WordsValue(network, 0), length }));
    return out;
  }

  /** The minimal IPv4 blocks as (network, length) pairs, on doubles: every value is exact below 2^53. */
  private blocksV4(visit: (network: number, length: number) => void): void {
    for (let i = 0; i < this.los.length; i++) {
      let lo = this.los[i]!;
      const end = this.his[i]! + 1;
      while (lo < end) {
        const size = blockSizeV4(lo, end);
        visit(lo, 32 - size);
        lo += POW2[size]!;
      }
    }
  }

  /** The minimal IPv6 blocks as (network, length) pairs; `network` is scratch, valid during the call. */
  private blocksV6(visit: (network: Words, length: number) => void): void {
    for (let i = 0; i < this.n; i++) {
      copy(A, 0, this.los, i, 4);
      for (;;) {
        const size = blockSizeV6(A, this.his, i);
        visit(A, 128 - (size & SIZE));
        if (size & LAST) break;
        addPowerOfTwo(A, size);
      }
    }
  }

  /** The first prefix of the minimal cover (the lowest addresses), without building the rest of it; null for the empty set. */
  firstCidr(): string | null {
    if (this.isEmpty) return null;
    return formatPrefix(new PrefixSet(this.family, this.los.slice(0, this.w), this.his.slice(0, this.w)).toPrefixes()[0]!);
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
   * The minimal cover as ASCII text written straight from the set's words, with no string
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
    // The block's network: IPv4 a number, IPv6 words (its own scratch: a generator's caller may run other set operations between chunks).
    const lo6 = new Uint32Array(4);
    for (let i = 0; i < this.n; i++) {
      // The interval's blocks, each the largest aligned at its start that does not run past its end
      // (as blocksV4 and blocksV6 find them, inline: no call per block).
      let lo4 = v4 ? this.los[i]! : 0;
      const end4 = v4 ? this.his[i]! + 1 : 0;
      if (!v4) copy(lo6, 0, this.los, i, 4);
      for (let last = false; !last;) {
        let size: number;
        if (v4) {
          size = blockSizeV4(lo4, end4);
          last = lo4 + POW2[size]! === end4;
        } else {
          size = blockSizeV6(lo6, this.his, i);
          last = (size & LAST) !== 0;
          size &= SIZE;
        }
        if (at > full) {
          yield out.subarray(0, at);
          at = 0;
        }
        if (first) first = false;
        else at = put(out, at, b);
        at = put(out, at, h);
        at = v4 ? writeV4(out, at, lo4) : writeV6Words(out, at, lo6);
        at = writeLength(out, at, (v4 ? 32 : 128) - size);
        at = put(out, at, t);
        if (v4) lo4 += POW2[size]!;
        else if (!last) addPowerOfTwo(lo6, size);
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
      if (this.family === 4) for (let i = 0; i < this.los.length; i++) n += coverCountV4(this.los[i]!, this.his[i]!);
      else for (let i = 0; i < this.n; i++) n += coverCountV6(this.los, this.his, i);
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

/** The size (log2 of its addresses) of the largest block aligned at lo that does not run past end (exclusive), on numbers: lo < end ≤ 2^32. */
function blockSizeV4(lo: number, end: number): number {
  // The largest block that does not run past end ...
  const left = end - lo;
  const fits = left >= 2 ** 32 ? 32 : 31 - Math.clz32(left);
  // ... and is aligned at lo (lo < 2^32; 0 is aligned to everything).
  const low = lo === 0 ? 32 : 31 - Math.clz32((lo | 0) & -(lo | 0));
  return low < fits ? low : fits;
}

/** blockSizeV6's answer: the size in the low bits, LAST set when the block ends the interval. */
const SIZE = 0xff;
const LAST = 0x100;

/** blockSizeV6's scratch: hi - lo. */
const D = new Uint32Array(4);

/**
 * blockSizeV4 for IPv6 words: the size of the largest block aligned at `lo` (four words at 0) that
 * does not run past bound i of `his`, with LAST set when it ends exactly there.
 */
function blockSizeV6(lo: Words, his: Words, i: number): number {
  let borrow = 0;
  for (let x = 3; x >= 0; x--) {
    const v = his[4 * i + x]! - lo[x]! - borrow;
    D[x] = v;
    borrow = v < 0 ? 1 : 0;
  }
  // The block may hold up to D + 1 addresses: 2^fits with fits = floor(log2(D + 1)), which is D's bit
  // length b when D is 2^b - 1 (all ones below b), else b - 1.
  let b = 0;
  let ones = true;
  for (let x = 0; x < 4; x++) {
    const d = D[x]!;
    if (d === 0) continue;
    b = 32 * (4 - x) - Math.clz32(d);
    ones = ((d + 1) & d) === 0; // (2^32 & d) is 0: a whole word of ones is all ones
    for (let y = x + 1; y < 4 && ones; y++) ones = D[y] === ONES;
    break;
  }
  const fits = ones ? b : b - 1;
  let low = 128; // lo's trailing zeros: 0 is aligned to everything
  for (let x = 3; x >= 0; x--) {
    const v = lo[x]!;
    if (v !== 0) {
      low = 32 * (3 - x) + 31 - Math.clz32(v & -v);
      break;
    }
  }
  const size = low < fits ? low : fits;
  // The block ends at hi when D = 2^size - 1.
  return ones && b === size ? size | LAST : size;
}

/** a (four words at 0) += 2^bit, bit < 128 (the caller never carries past the top). */
function addPowerOfTwo(a: Words, bit: number): void {
  let x = 3 - (bit >> 5);
  let v = a[x]! + POW2[bit & 31]!;
  a[x] = v;
  while (v > ONES && --x >= 0) {
    v = a[x]! + 1;
    a[x] = v;
  }
}

/**
 * The number of blocks in the minimal CIDR cover of [lo, hi]: split at m, the highest
 * boundary inside the interval (hi with the bits below its highest bit differing from lo
 * cleared); the greedy cover of [lo, m) is one block per set bit of m - lo, that of
 * [m, hi] one per set bit of hi + 1 - m, and two equal halves of 2^k make one block.
 */
export function coverCount(lo: bigint, hi: bigint): number {
  const los = new Uint32Array(4);
  const his = new Uint32Array(4);
  putV6Words(los, 0, lo);
  putV6Words(his, 0, hi);
  return coverCountV6(los, his, 0);
}

/** coverCount for IPv4 bounds as numbers (below 2^32: no bigint per interval). */
export function coverCountV4(lo: number, hi: number): number {
  if (lo === hi) return 1;
  const k = 31 - Math.clz32((lo ^ hi) >>> 0);
  const half = POW2[k]!;
  const m = hi - (hi % half);
  const left = m - lo;
  const right = hi + 1 - m;
  if (left === half && right === half) return 1;
  return popcount32(left) + popcount32(right);
}

/**
 * coverCount for interval i of IPv6 words. With k the highest bit where lo and hi differ,
 * A = lo mod 2^k and B = hi mod 2^k: m - lo = 2^k - A, whose set bits number
 * k - popcount(A - 1) = k + 1 - popcount(A) - tz(A) (1 when A is 0), and hi + 1 - m = B + 1,
 * whose set bits number popcount(B) + 1 - (trailing ones of B) (1 when B is 2^k - 1). Counts
 * of bits per word: nothing is stepped or copied.
 */
function coverCountV6(los: Words, his: Words, i: number): number {
  let k = -1;
  for (let x = 0; x < 4; x++) {
    const d = (los[4 * i + x]! ^ his[4 * i + x]!) >>> 0;
    if (d !== 0) {
      k = 32 * (3 - x) + 31 - Math.clz32(d);
      break;
    }
  }
  if (k < 0) return 1;
  let popA = 0;
  let tzA = -1; // -1 while A's words so far (from the lowest) are zero
  let popB = 0;
  let onesB = -1; // B's trailing ones, -1 while B's words so far are all ones
  let bFull = true; // B = 2^k - 1
  for (let x = 3; x >= 0; x--) {
    const keep = k - 32 * (3 - x); // bits of this word below k
    if (keep <= 0) break;
    const mask = keep >= 32 ? ONES : ONES >>> (32 - keep);
    const a = (los[4 * i + x]! & mask) >>> 0;
    const b = (his[4 * i + x]! & mask) >>> 0;
    popA += popcount32(a);
    popB += popcount32(b);
    if (tzA < 0 && a !== 0) tzA = 32 * (3 - x) + 31 - Math.clz32(a & -a);
    if (b !== mask) bFull = false;
    if (onesB < 0 && b !== ONES) onesB = 32 * (3 - x) + 31 - Math.clz32(~b & (b + 1)); // the lowest zero bit of b
  }
  if (tzA < 0 && bFull) return 1; // [lo, hi] is one aligned block of 2^(k+1)
  const left = tzA < 0 ? 1 : k + 1 - popA - tzA;
  const right = bFull ? 1 : popB + 1 - onesB;
  return left + right;
}

/** Set bits of 0 ≤ v ≤ 2^32 (2^32 itself has one). */
function popcount32(v: number): number {
  if (v === 2 ** 32) return 1;
  let x = v >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
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
