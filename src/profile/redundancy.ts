/**
 * Duplicate and shadowed Split Tunnel entries (warnings), in O(n log n):
 * prefixes by a sort-and-sweep over nested intervals, host patterns by walking
 * each name's parent suffixes. A shadowed entry is one fully covered by another
 * entry of the list; it is reported at the narrower entry, naming the closest
 * broader one, whichever comes first in the profile.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { POW2, v4Length, v4Network } from '../net/canonical.js';
import { orderV6Words, putV6Words, sameV6Bits, sharedV6Prefixes, type Prefix, type V6Prefixes } from '../net/ip.js';
import type { HostPattern } from '../net/names.js';
import type { Pos } from './types.js';

export interface Listed<T> {
  readonly value: T;
  /** Canonical text. */
  readonly text: string;
  /** As written in the profile. */
  readonly raw: string;
  readonly line: number;
  readonly col: number;
  readonly path: readonly (string | number)[];
  readonly length: number;
}

/**
 * A listed address entry as the redundancy check reads it: the split tunnel's entries
 * themselves (no copy per entry). `written` is the text as the profile wrote it, when
 * that is not the canonical `address`.
 */
export interface ListedPrefix {
  readonly prefix: Prefix;
  /** An IPv4 prefix as one number (`network * 64 + length`, src/net/canonical.ts), when the item has it; -1 for IPv6. */
  readonly v4?: number;
  /** An IPv6 prefix's place in `v6Prefixes` (-1 for IPv4), when the item has it. */
  readonly v6?: number;
  readonly v6Prefixes?: V6Prefixes;
  readonly address: string;
  readonly written?: string;
  readonly pos: Pos & { readonly length?: number };
}

export function prefixRedundancy(items: readonly ListedPrefix[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Each family in order of network, then length, then profile order; prefixes either nest or are
  // disjoint, so a stack holds the chain of prefixes containing the current one. The sweep reads
  // numbers (an IPv4 item's bounds, an IPv6 item's words, every item's length, by index) and touches
  // an item only to report it; an item with `v4` and `v6` makes no Prefix at all.
  const n = items.length;
  const packed = new Float64Array(n);
  const lengths = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = items[i]!;
    let v = x.v4;
    if (v === undefined) {
      const p = x.prefix;
      v = p.family === 4 ? Number(p.network) * 64 + p.length : -1;
    }
    packed[i] = v;
    lengths[i] = v >= 0 ? v4Length(v) : x.v6 !== undefined && x.v6 >= 0 ? x.v6Prefixes!.lengths[x.v6]! : x.prefix.length;
  }
  const { v4, v4Covers, v6, v6Covers } = sortedPrefixes(items, packed, lengths);
  sweep(items, v4, v4Covers, lengths, out);
  sweep(items, v6, v6Covers, lengths, out);
  return out;
}

/**
 * The stack sweep over the items of one family in sorted order (`order`: item indexes):
 * `reaches(t, k)`, by places in `order`, tells whether the item at place t, on the stack,
 * contains the one at place k (in this order, whether it reaches k's network).
 */
function sweep(items: readonly ListedPrefix[], order: ArrayLike<number>, reaches: (t: number, k: number) => boolean, lengths: Uint8Array, out: Diagnostic[]): void {
  // Places in `order`.
  const stack: number[] = [];
  for (let k = 0; k < order.length; k++) {
    while (stack.length > 0 && !reaches(stack[stack.length - 1]!, k)) stack.pop();
    if (stack.length > 0) {
      const i = order[k]!;
      const t = order[stack[stack.length - 1]!]!;
      const x = items[i]!;
      const top = items[t]!;
      const raw = x.written ?? x.address;
      if (lengths[t] === lengths[i]) {
        out.push(diag('DuplicateEntry', { what: 'address', value: raw, otherLine: top.pos.line }, x.pos, [{ message: 'first listed here', line: top.pos.line, col: top.pos.col }]));
        continue;
      }
      out.push(
        diag('ShadowedEntry', { what: 'address', value: raw, other: top.address, otherLine: top.pos.line }, x.pos, [
          { message: `"${top.address}" is listed here`, line: top.pos.line, col: top.pos.col },
        ]),
      );
    }
    stack.push(k);
  }
}

export function hostRedundancy(items: readonly Listed<HostPattern>[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const first = new Map<string, Listed<HostPattern>>();
  for (const it of items) {
    const prev = first.get(it.text);
    if (prev) out.push(diag('DuplicateEntry', { what: 'host', value: it.raw, otherLine: prev.line }, it, [{ message: 'first listed here', line: prev.line, col: prev.col }]));
    else first.set(it.text, it);
  }
  for (const it of first.values()) {
    // `*.p` covers `name` and `*.name` whenever p is a proper parent of name; take the closest.
    const labels = it.value.name.split('.');
    for (let i = 1; i < labels.length; i++) {
      const cover = first.get(`*.${labels.slice(i).join('.')}`);
      if (cover) {
        out.push(
          diag('ShadowedEntry', { what: 'host', value: it.raw, other: cover.text, otherLine: cover.line }, it, [{ message: `"${cover.text}" is listed here`, line: cover.line, col: cover.col }]),
        );
        break;
      }
    }
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The indexes of the IPv4 items and of the IPv6 items (by `packed`: an IPv4 item's number, -1
 * for IPv6), each ordered by network, length, then profile order, and for the IPv6 ones whether
 * the item at one place contains the network at another (by places in `v6`). IPv4 items sort as
 * one 64-bit key each (network, length, index) in a typed array, with no comparator call; IPv6
 * items on their networks' 32-bit words (orderV6Words), which the containment test reads too:
 * no bigint per item.
 */
function sortedPrefixes(
  items: readonly ListedPrefix[],
  packed: Float64Array,
  lengths: Uint8Array,
): { v4: Uint32Array; v4Covers: (t: number, k: number) => boolean; v6: Uint32Array; v6Covers: (t: number, k: number) => boolean } {
  const n = packed.length;
  let n4 = 0;
  for (let i = 0; i < n; i++) if (packed[i]! >= 0) n4++;
  const v4 = new Uint32Array(n4);
  // The item at place t reaches the network of the one at place k (it ends past it).
  let v4Covers = (t: number, k: number): boolean => {
    const a = packed[v4[t]!]!;
    return v4Network(a) + POW2[32 - v4Length(a)]! > v4Network(packed[v4[k]!]!);
  };
  if (n4 > 0 && n < 2 ** 26 && LITTLE_ENDIAN) {
    // Each key is (network << 32) | (length << 26) | index, written as two 32-bit halves
    // (no bigint per item): the native sort of the 64-bit array orders them.
    const keys = new BigUint64Array(n4);
    const halves = new Uint32Array(keys.buffer);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = packed[i]!;
      if (v < 0) continue;
      halves[2 * k] = ((v4Length(v) << 26) | i) >>> 0;
      halves[2 * k + 1] = v4Network(v);
      k++;
    }
    keys.sort();
    for (let j = 0; j < n4; j++) v4[j] = halves[2 * j]! & 0x3ffffff;
    // The keys hold each place's network and length in order: read there, not through `packed`.
    v4Covers = (t, k) => halves[2 * t + 1]! + POW2[32 - (halves[2 * t]! >>> 26)]! > halves[2 * k + 1]!;
  } else if (n4 > 0) {
    // `packed` orders by network, then length.
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (packed[i]! >= 0) idx.push(i);
    idx.sort((i, j) => packed[i]! - packed[j]! || i - j);
    v4.set(idx);
  }
  const n6 = n - n4;
  const idx6 = new Uint32Array(n6);
  for (let i = 0, k = 0; i < n; i++) if (packed[i]! < 0) idx6[k++] = i;
  // Words by place in idx6: the items' shared V6Prefixes itself when they are its prefixes in order
  // (a validated list's IPv6 entries), else copied from it or from each Prefix. `order` lists the places sorted.
  const shared = sharedV6Prefixes(items, (i) => packed[i]! < 0);
  const words = shared ? shared.words.subarray(0, 4 * n6) : new Uint32Array(4 * n6);
  for (let k = 0; !shared && k < n6; k++) {
    const x = items[idx6[k]!]!;
    if (x.v6 !== undefined && x.v6 >= 0) {
      const from = x.v6Prefixes!.words;
      for (let w = 0; w < 4; w++) words[4 * k + w] = from[4 * x.v6 + w]!;
    } else putV6Words(words, k, x.prefix.network);
  }
  const order = orderV6Words(
    words,
    idx6.map((i) => lengths[i]!),
  );
  const v6 = new Uint32Array(order.length);
  for (let k = 0; k < order.length; k++) v6[k] = idx6[order[k]!]!;
  // The first `length` bits of the two networks agree.
  const v6Covers = (t: number, k: number): boolean => sameV6Bits(words, order[t]!, words, order[k]!, lengths[v6[t]!]!);
  return { v4, v4Covers, v6, v6Covers };
}
