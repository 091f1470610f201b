/**
 * Duplicate and shadowed Split Tunnel entries (warnings), in O(n log n):
 * prefixes by a sort-and-sweep over nested intervals, host patterns by walking
 * each name's parent suffixes. A shadowed entry is one fully covered by another
 * entry of the list; it is reported at the narrower entry, naming the closest
 * broader one, whichever comes first in the profile.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { prefixLast, type Prefix } from '../net/ip.js';
import type { HostPattern } from '../net/names.js';

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

export function prefixRedundancy(items: readonly Listed<Prefix>[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const sorted = sortedPrefixes(items);
  // Prefixes either nest or are disjoint: the stack holds the chain of prefixes containing the current one.
  const stack: Listed<Prefix>[] = [];
  for (const x of sorted) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.value.family === x.value.family && prefixLast(top.value) >= x.value.network) break;
      stack.pop();
    }
    const top = stack[stack.length - 1];
    if (top && top.value.length === x.value.length) {
      out.push(diag('DuplicateEntry', { what: 'address', value: x.raw, otherLine: top.line }, x, [{ message: 'first listed here', line: top.line, col: top.col }]));
      continue;
    }
    if (top) {
      out.push(diag('ShadowedEntry', { what: 'address', value: x.raw, other: top.text, otherLine: top.line }, x, [{ message: `"${top.text}" is listed here`, line: top.line, col: top.col }]));
    }
    stack.push(x);
  }
  return out;
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

/**
 * The items ordered by family, network, length, then profile order. IPv4 networks are
 * compared as numbers (a bigint comparison per step was most of a 100,000-entry sort);
 * the sort runs over indexes, so ties fall back to profile order without a lookup table.
 */
function sortedPrefixes<T extends Listed<Prefix>>(items: readonly T[]): T[] {
  const n = items.length;
  const v4 = new Float64Array(n);
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    index[i] = i;
    const p = items[i]!.value;
    v4[i] = p.family === 4 ? Number(p.network) : -1;
  }
  const order = Array.from(index).sort((i, j) => {
    const a = items[i]!.value;
    const b = items[j]!.value;
    if (a.family !== b.family) return a.family - b.family;
    if (a.family === 4) {
      if (v4[i] !== v4[j]) return v4[i]! - v4[j]!;
    } else if (a.network !== b.network) return a.network < b.network ? -1 : 1;
    return a.length - b.length || i - j;
  });
  return order.map((i) => items[i]!);
}
