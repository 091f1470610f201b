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
import { MAX, parseAddress, parsePrefix, prefixLast, type Family } from '../net/ip.js';
import type { AddressRule, BypassAddress, Plan } from '../plan/types.js';

/** Why a segment takes its path: an index into the side's reasons table. */
export type SegmentReason =
  | { readonly kind: 'no_routing'; readonly serviceMode: string }
  | { readonly kind: 'bypass'; readonly bypass: BypassAddress }
  | { readonly kind: 'always_tunnel'; readonly rule: AddressRule }
  | { readonly kind: 'entry'; readonly rule: AddressRule }
  | { readonly kind: 'doh_tunnel'; readonly address: string }
  | { readonly kind: 'mode_default'; readonly mode: 'exclude' | 'include' };

/** Sorted, disjoint, gap-free segments covering [0, MAX]: starts ascending; segment i ends at starts[i + 1] - 1. */
export interface Segments {
  readonly family: Family;
  readonly starts: bigint[];
  /** Index into `reasons` per segment. */
  readonly labels: number[];
  readonly reasons: SegmentReason[];
}

interface Span {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly label: number;
}

/** The most specific covering span at every covered address; spans nest or are disjoint. Ties: the first listed wins. */
function mostSpecific(spans: Span[]): Span[] {
  const sorted = spans.map((s, i) => ({ s, i })).sort((a, b) => (a.s.lo < b.s.lo ? -1 : a.s.lo > b.s.lo ? 1 : a.s.hi > b.s.hi ? -1 : a.s.hi < b.s.hi ? 1 : a.i - b.i));
  const out: Span[] = [];
  const stack: Span[] = [];
  let cur = 0n;
  const emit = (lo: bigint, hi: bigint, label: number): void => {
    if (lo > hi) return;
    const last = out[out.length - 1];
    if (last && last.label === label && last.hi + 1n === lo) out[out.length - 1] = { lo: last.lo, hi, label };
    else out.push({ lo, hi, label });
  };
  const popUntil = (lo: bigint): void => {
    while (stack.length > 0 && stack[stack.length - 1]!.hi < lo) {
      const top = stack.pop()!;
      if (cur <= top.hi) emit(cur > top.lo ? cur : top.lo, top.hi, top.label);
      cur = top.hi + 1n;
    }
  };
  for (const { s } of sorted) {
    const top = stack[stack.length - 1];
    if (top && top.lo === s.lo && top.hi === s.hi) continue; // a duplicate: the first decides
    popUntil(s.lo);
    const outer = stack[stack.length - 1];
    if (outer && cur < s.lo) emit(cur, s.lo - 1n, outer.label);
    cur = s.lo;
    stack.push(s);
  }
  popUntil(MAX_ANY + 1n);
  return out;
}

const MAX_ANY = MAX[6];

/** Paint `top` over `bottom` (both sorted, disjoint span lists); gaps of both stay gaps. */
function overlay(top: Span[], bottom: Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  let pos = 0n; // everything below pos in bottom has been consumed
  const pushBottom = (upTo: bigint): void => {
    // bottom's coverage of [pos, upTo]
    while (j < bottom.length && bottom[j]!.hi < pos) j++;
    let k = j;
    while (k < bottom.length && bottom[k]!.lo <= upTo) {
      const b = bottom[k]!;
      const lo = b.lo > pos ? b.lo : pos;
      const hi = b.hi < upTo ? b.hi : upTo;
      if (lo <= hi) out.push({ lo, hi, label: b.label });
      if (b.hi > upTo) break;
      k++;
    }
    j = k;
  };
  for (const t of top) {
    if (t.lo > pos) pushBottom(t.lo - 1n);
    out.push(t);
    pos = t.hi + 1n;
  }
  pushBottom(MAX_ANY);
  return out;
}

/** The segments of one family of a plan. */
export function planSegments(plan: Pick<Plan, 'serviceMode' | 'features' | 'split'>, family: Family): Segments {
  const reasons: SegmentReason[] = [];
  const max = MAX[family];
  if (!plan.features.routes) {
    reasons.push({ kind: 'no_routing', serviceMode: plan.serviceMode });
    return { family, starts: [0n], labels: [0], reasons };
  }
  const hostSpans = (addresses: readonly string[], make: (a: string, i: number) => SegmentReason): Span[] => {
    const spans: Span[] = [];
    addresses.forEach((text, i) => {
      const a = parseAddress(text);
      if (!a || a.family !== family) return;
      reasons.push(make(text, i));
      spans.push({ lo: a.value, hi: a.value, label: reasons.length - 1 });
    });
    return spans;
  };
  const bypass = mostSpecific(hostSpans(plan.split.bypass.map((b) => b.address), (_, i) => ({ kind: 'bypass', bypass: plan.split.bypass[i]! })));
  const ruleSpans = (source: AddressRule['source']): Span[] => {
    const spans: Span[] = [];
    for (const rule of plan.split.rules) {
      if (rule.source !== source) continue;
      const p = parsePrefix(rule.cidr);
      if (!p.ok || p.prefix.family !== family) continue;
      reasons.push(source === 'entry' ? { kind: 'entry', rule } : { kind: 'always_tunnel', rule });
      spans.push({ lo: p.prefix.network, hi: prefixLast(p.prefix), label: reasons.length - 1 });
    }
    return mostSpecific(spans);
  };
  const always = ruleSpans('always_tunnel');
  const entries = ruleSpans('entry');
  const doh = mostSpecific(hostSpans(plan.split.dohTunnel, (a) => ({ kind: 'doh_tunnel', address: a })));
  reasons.push({ kind: 'mode_default', mode: plan.split.mode });
  const fallback: Span[] = [{ lo: 0n, hi: max, label: reasons.length - 1 }];
  const painted = overlay(bypass, overlay(always, overlay(entries, overlay(doh, fallback))));
  const starts: bigint[] = [];
  const labels: number[] = [];
  for (const s of painted) {
    if (labels.length > 0 && labels[labels.length - 1] === s.label) continue;
    starts.push(s.lo);
    labels.push(s.label);
  }
  return { family, starts, labels, reasons };
}

/** The end (inclusive) of segment i. */
export function segmentEnd(s: Segments, i: number): bigint {
  return i + 1 < s.starts.length ? s.starts[i + 1]! - 1n : MAX[s.family];
}
