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
  const sorted = sortedPrefixes(items);
  // Prefixes either nest or are disjoint: the stack holds the chain of prefixes containing the current one.
  const stack: ListedPrefix[] = [];
  for (const x of sorted) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.prefix.family === x.prefix.family && contains(top.prefix, x.prefix)) break;
      stack.pop();
    }
    const top = stack[stack.length - 1];
    const raw = x.written ?? x.address;
    if (top && top.prefix.length === x.prefix.length) {
      out.push(diag('DuplicateEntry', { what: 'address', value: raw, otherLine: top.pos.line }, x.pos, [{ message: 'first listed here', line: top.pos.line, col: top.pos.col }]));
      continue;
    }
    if (top) {
      out.push(diag('ShadowedEntry', { what: 'address', value: raw, other: top.address, otherLine: top.pos.line }, x.pos, [{ message: `"${top.address}" is listed here`, line: top.pos.line, col: top.pos.col }]));
    }
    stack.push(x);
  }
  return out;
}

/** Does `outer` reach `inner`'s network (sorted, same family: then it contains it)? IPv4 on numbers. */
function contains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family === 4) return Number(outer.network) + 2 ** (32 - outer.length) > Number(inner.network);
  return prefixLast(outer) >= inner.network;
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
 * The items ordered by family, network, length, then profile order. IPv4 items sort as
 * one 64-bit key each (network, length, index) in a typed array, with no comparator
 * call; IPv6 items sort by orderV6 (their networks as 32-bit words).
 */
function sortedPrefixes<T extends ListedPrefix>(items: readonly T[]): T[] {
  const n = items.length;
  let n4 = 0;
  for (let i = 0; i < n; i++) if (items[i]!.prefix.family === 4) n4++;
  const out: T[] = [];
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
    for (let j = 0; j < n4; j++) out.push(items[halves[2 * j]! & 0x3ffffff]!);
  } else if (n4 > 0) {
    out.push(...items.filter((it) => it.prefix.family === 4).sort((a, b) => (a.prefix.network < b.prefix.network ? -1 : a.prefix.network > b.prefix.network ? 1 : a.prefix.length - b.prefix.length)));
  }
  const v6: T[] = [];
  for (let i = 0; i < n; i++) if (items[i]!.prefix.family === 6) v6.push(items[i]!);
  const order = orderV6(
    v6.map((it) => it.prefix.network),
    v6.map((it) => it.prefix.length),
  );
  for (let i = 0; i < order.length; i++) out.push(v6[order[i]!]!);
  return out;
}
