/**
 * Duplicate and shadowed Split Tunnel entries (warnings), in O(n log n):
 * prefixes by a sort-and-sweep over nested intervals, host patterns by walking
 * each name's parent suffixes. A shadowed entry is one fully covered by another
 * entry of the list; it is reported at the narrower entry, naming the closest
 * broader one, whichever comes first in the profile.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { orderV6, prefixLast, type Prefix } from '../net/ip.js';
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
  readonly address: string;
  readonly written?: string;
  readonly pos: Pos & { readonly length?: number };
}

export function prefixRedundancy(items: readonly ListedPrefix[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Each family in order of network, then length, then profile order; prefixes either nest or are
  // disjoint, so a stack holds the chain of prefixes containing the current one. The sweep reads
  // numbers (a prefix's end, by item index) and touches an item only to report it.
  const { v4, v6 } = sortedPrefixes(items);
  const ends4 = new Float64Array(items.length);
  for (let k = 0; k < v4.length; k++) {
    const p = items[v4[k]!]!.prefix;
    ends4[v4[k]!] = Number(p.network) + 2 ** (32 - p.length);
  }
  sweep(items, v4, (outer, inner) => ends4[outer]! > Number(items[inner]!.prefix.network), out);
  sweep(items, v6, (outer, inner) => prefixLast(items[outer]!.prefix) >= items[inner]!.prefix.network, out);
  return out;
}

/** The stack sweep over items of one family in sorted order; `reaches(a, b)`: does item a reach item b's network? */
function sweep(items: readonly ListedPrefix[], order: ArrayLike<number>, reaches: (outer: number, inner: number) => boolean, out: Diagnostic[]): void {
  const stack: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    while (stack.length > 0 && !reaches(stack[stack.length - 1]!, i)) stack.pop();
    if (stack.length > 0) {
      const x = items[i]!;
      const top = items[stack[stack.length - 1]!]!;
      const raw = x.written ?? x.address;
      if (top.prefix.length === x.prefix.length) {
        out.push(diag('DuplicateEntry', { what: 'address', value: raw, otherLine: top.pos.line }, x.pos, [{ message: 'first listed here', line: top.pos.line, col: top.pos.col }]));
        continue;
      }
      out.push(diag('ShadowedEntry', { what: 'address', value: raw, other: top.address, otherLine: top.pos.line }, x.pos, [{ message: `"${top.address}" is listed here`, line: top.pos.line, col: top.pos.col }]));
    }
    stack.push(i);
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
        out.push(diag('ShadowedEntry', { what: 'host', value: it.raw, other: cover.text, otherLine: cover.line }, it, [{ message: `"${cover.text}" is listed here`, line: cover.line, col: cover.col }]));
        break;
      }
    }
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The indexes of the IPv4 items and of the IPv6 items, each ordered by network, length, then
 * profile order. IPv4 items sort as one 64-bit key each (network, length, index) in a typed
 * array, with no comparator call; IPv6 items by orderV6 (their networks as 32-bit words).
 */
function sortedPrefixes(items: readonly ListedPrefix[]): { v4: Uint32Array; v6: Uint32Array } {
  const n = items.length;
  let n4 = 0;
  for (let i = 0; i < n; i++) if (items[i]!.prefix.family === 4) n4++;
  const v4 = new Uint32Array(n4);
  if (n4 > 0 && n < 2 ** 26 && LITTLE_ENDIAN) {
    // Each key is (network << 32) | (length << 26) | index, written as two 32-bit halves
    // (no bigint per item): the native sort of the 64-bit array orders them.
    const keys = new BigUint64Array(n4);
    const halves = new Uint32Array(keys.buffer);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const p = items[i]!.prefix;
      if (p.family !== 4) continue;
      halves[2 * k] = ((p.length << 26) | i) >>> 0;
      halves[2 * k + 1] = Number(p.network);
      k++;
    }
    keys.sort();
    for (let j = 0; j < n4; j++) v4[j] = halves[2 * j]! & 0x3ffffff;
  } else if (n4 > 0) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (items[i]!.prefix.family === 4) idx.push(i);
    idx.sort((i, j) => {
      const a = items[i]!.prefix;
      const b = items[j]!.prefix;
      return Number(a.network) - Number(b.network) || a.length - b.length || i - j;
    });
    v4.set(idx);
  }
  const idx6: number[] = [];
  for (let i = 0; i < n; i++) if (items[i]!.prefix.family === 6) idx6.push(i);
  const order = orderV6(
    idx6.map((i) => items[i]!.prefix.network),
    idx6.map((i) => items[i]!.prefix.length),
  );
  const v6 = new Uint32Array(order.length);
  for (let k = 0; k < order.length; k++) v6[k] = idx6[order[k]!]!;
  return { v4, v6 };
}
