/**
 * A plan's address space cut into segments, each with the one rule that decides it.
 *
 * The plan decides an address by precedence (src/plan/plan.ts, decideAddress): bypass >
 * the most specific always_tunnel > the most specific entry > DoH via the tunnel
 * (include mode) > the mode's default. Here that precedence is painted over the whole
 * space once, in O(n log n), so a diff can name the deciding rule of every moved range
 * without asking decideAddress address by address. Prefixes either nest or are
 * disjoint, so "the most specific covering prefix" is a stack walk over them sorted.
 */
import { MAX, parseAddress, parsePrefix, parseV4Number, prefixLast, type Family } from '../net/ip.js';
import type { AddressRule, BypassAddress, Plan } from '../plan/types.js';

/** Why a segment takes its path: an index into the side's reasons table. */
export type SegmentReason =
  | { readonly kind: 'no_routing'; readonly serviceMode: string }
  | { readonly kind: 'bypass'; readonly bypass: BypassAddress }
  | { readonly kind: 'always_tunnel'; readonly rule: AddressRule }
  | { readonly kind: 'entry'; readonly rule: AddressRule }
  | { readonly kind: 'doh_tunnel'; readonly address: string }
  | { readonly kind: 'mode_default'; readonly mode: 'exclude' | 'include' };

/**
 * An address as a segment bound: a number for IPv4 (exact in a double, and no bigint
 * allocation: 100,000 entries made this mostly garbage collection), a bigint for IPv6.
 */
export type Bound = number | bigint;
const inc = (b: Bound): Bound => (typeof b === 'number' ? b + 1 : b + 1n);
const dec = (b: Bound): Bound => (typeof b === 'number' ? b - 1 : b - 1n);
const TOP: Record<Family, Bound> = { 4: Number(MAX[4]), 6: MAX[6] };
const bound = (family: Family, v: bigint): Bound => (family === 4 ? Number(v) : v);

/** Sorted, disjoint, gap-free segments covering [0, MAX]: starts ascending; segment i ends at starts[i + 1] - 1. */
export interface Segments {
  readonly family: Family;
  readonly starts: Bound[];
  /** Index into `reasons` per segment. */
  readonly labels: number[];
  readonly reasons: SegmentReason[];
}

interface Span {
  readonly lo: Bound;
  readonly hi: Bound;
  readonly label: number;
}

/** The most specific covering span at every covered address; spans nest or are disjoint. Ties: the first listed wins. */
function mostSpecific(spans: Span[], top: Bound): Span[] {
  const order = spans.map((_, i) => i);
  order.sort((x, y) => {
    const a = spans[x]!;
    const b = spans[y]!;
    return a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : a.hi > b.hi ? -1 : a.hi < b.hi ? 1 : x - y;
  });
  const out: Span[] = [];
  const stack: Span[] = [];
  let cur: Bound = typeof top === 'number' ? 0 : 0n;
  let done = false; // cur ran past the top of the space
  const emit = (lo: Bound, hi: Bound, label: number): void => {
    if (lo > hi) return;
    const last = out[out.length - 1];
    if (last && last.label === label && inc(last.hi) === lo) out[out.length - 1] = { lo: last.lo, hi, label };
    else out.push({ lo, hi, label });
  };
  const popUntil = (lo: Bound | null): void => {
    while (stack.length > 0 && (lo === null || stack[stack.length - 1]!.hi < lo)) {
      const t = stack.pop()!;
      if (!done && cur <= t.hi) emit(cur > t.lo ? cur : t.lo, t.hi, t.label);
      if (t.hi === top) done = true;
      else cur = inc(t.hi);
    }
  };
  for (const k of order) {
    const s = spans[k]!;
    const t = stack[stack.length - 1];
    if (t && t.lo === s.lo && t.hi === s.hi) continue; // a duplicate: the first decides
    popUntil(s.lo);
    const outer = stack[stack.length - 1];
    if (outer && cur < s.lo) emit(cur, dec(s.lo), outer.label);
    cur = s.lo;
    done = false;
    stack.push(s);
  }
  popUntil(null);
  return out;
}

/** Paint `top` over `bottom` (both sorted, disjoint span lists); gaps of both stay gaps. */
function overlay(top: Span[], bottom: Span[], max: Bound): Span[] {
  if (top.length === 0) return bottom;
  const out: Span[] = [];
  let j = 0;
  let pos: Bound = typeof max === 'number' ? 0 : 0n; // everything below pos has been painted
  const pushBottom = (upTo: Bound): void => {
    while (j < bottom.length && bottom[j]!.hi < pos) j++;
    let k = j;
    while (k < bottom.length && bottom[k]!.lo <= upTo) {
      const b = bottom[k]!;
      const lo = b.lo > pos ? b.lo : pos;
      const hi = b.hi < upTo ? b.hi : upTo;
      if (lo <= hi) out.push(lo === b.lo && hi === b.hi ? b : { lo, hi, label: b.label });
      if (b.hi > upTo) break;
      k++;
    }
    j = k;
  };
  for (const t of top) {
    if (t.lo > pos) pushBottom(dec(t.lo));
    out.push(t);
    if (t.hi === max) return out;
    pos = inc(t.hi);
  }
  pushBottom(max);
  return out;
}

/** The segments of one family of a plan. */
export function planSegments(plan: Pick<Plan, 'serviceMode' | 'features' | 'split'>, family: Family): Segments {
  const reasons: SegmentReason[] = [];
  const max = TOP[family];
  const zero: Bound = family === 4 ? 0 : 0n;
  if (!plan.features.routes) {
    reasons.push({ kind: 'no_routing', serviceMode: plan.serviceMode });
    return { family, starts: [zero], labels: [0], reasons };
  }
  const hostSpans = (addresses: readonly string[], make: (a: string, i: number) => SegmentReason): Span[] => {
    const spans: Span[] = [];
    addresses.forEach((text, i) => {
      const a = parseAddress(text);
      if (!a || a.family !== family) return;
      reasons.push(make(text, i));
      const v = bound(family, a.value);
      spans.push({ lo: v, hi: v, label: reasons.length - 1 });
    });
    return spans;
  };
  const bypass = mostSpecific(
    hostSpans(
      plan.split.bypass.map((b) => b.address),
      (_, i) => ({ kind: 'bypass', bypass: plan.split.bypass[i]! }),
    ),
    max,
  );
  const ruleSpans = (source: AddressRule['source']): Span[] => {
    const spans: Span[] = [];
    const v6 = family === 6;
    for (const rule of plan.split.rules) {
      if (rule.source !== source || rule.cidr.includes(':') !== v6) continue;
      if (!v6) {
        // Canonical IPv4 CIDRs: numbers only, no bigint per rule.
        const slash = rule.cidr.indexOf('/');
        const network = parseV4Number(rule.cidr.slice(0, slash));
        const length = Number(rule.cidr.slice(slash + 1));
        if (network < 0) continue;
        reasons.push(source === 'entry' ? { kind: 'entry', rule } : { kind: 'always_tunnel', rule });
        spans.push({ lo: network, hi: network + 2 ** (32 - length) - 1, label: reasons.length - 1 });
        continue;
      }
      const p = parsePrefix(rule.cidr);
      if (!p.ok) continue;
      reasons.push(source === 'entry' ? { kind: 'entry', rule } : { kind: 'always_tunnel', rule });
      spans.push({ lo: bound(family, p.prefix.network), hi: bound(family, prefixLast(p.prefix)), label: reasons.length - 1 });
    }
    return mostSpecific(spans, max);
  };
  const always = ruleSpans('always_tunnel');
  const entries = ruleSpans('entry');
  const doh = mostSpecific(
    hostSpans(plan.split.dohTunnel, (a) => ({ kind: 'doh_tunnel', address: a })),
    max,
  );
  reasons.push({ kind: 'mode_default', mode: plan.split.mode });
  const fallback: Span[] = [{ lo: zero, hi: max, label: reasons.length - 1 }];
  const painted = overlay(bypass, overlay(always, overlay(entries, overlay(doh, fallback, max), max), max), max);
  const starts: Bound[] = [];
  const labels: number[] = [];
  for (const s of painted) {
    if (labels.length > 0 && labels[labels.length - 1] === s.label) continue;
    starts.push(s.lo);
    labels.push(s.label);
  }
  return { family, starts, labels, reasons };
}

/** The end (inclusive) of segment i. */
export function segmentEnd(s: Segments, i: number): Bound {
  return i + 1 < s.starts.length ? dec(s.starts[i + 1]!) : TOP[s.family];
}

/** The last address of a family, as a bound. */
export function topOf(family: Family): Bound {
  return TOP[family];
}

/** The address after b. */
export const nextBound = inc;
