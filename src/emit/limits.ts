/**
 * How many routes an OS can practically hold, and the diagnostics for plans past
 * that or past what warpc can build at all. A plan of a million routes is legal
 * (a complement of 100,000 excluded IPv6 /64s is 1.5 million prefixes) and Linux,
 * which routes by policy, takes it; Windows and macOS install every tunnel prefix
 * as a route of its own, one command each, and are refused with a coded error
 * naming the count and the limit, never an internal error. Linux needs no bound: its
 * artifacts list the direct set in exclude mode (policy routing throws it, the nft set
 * accepts it), which grows with the profile's entries. Each target declares its
 * bound as the `maxRoutes` capability; the core checks it before anything is built.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Plan } from '../plan/types.js';

export interface RouteLimit {
  /** The OS, as the message names it. */
  readonly os: string;
  readonly limit: number;
  /** Why, in a few words. */
  readonly reason: string;
}

/**
 * The tunnel set's route count per family (the minimal prefix cover; counted without building it).
 * A routed plan's Windows and macOS routes are this set (macOS splits a /0 in two: one more).
 */
export function tunnelRouteCounts(plan: Plan): { v4: number; v6: number; total: number } {
  if (!plan.features.routes) return { v4: 0, v6: 0, total: 0 };
  const v4 = plan.split.tunnel.v4.prefixCount();
  const v6 = plan.split.tunnel.v6.prefixCount();
  return { v4, v6, total: v4 + v6 };
}

/**
 * How many addresses a target's firewall tables hold unless the machine is configured
 * otherwise (pf's `table-entries`): a default an administrator can raise, so passing it
 * is a warning that says how, not a refusal.
 */
export interface FirewallTableLimit {
  /** What is limited, as the message names it ("the default limit of …"). */
  readonly firewall: string;
  readonly limit: number;
  /** How to raise it, in a few words. */
  readonly raise: string;
}

/**
 * FirewallTableLimit when a plan's firewall tables (the tunnel set and the bypass
 * addresses) hold more than `limit` addresses; counted without building the lists.
 */
export function firewallTableCheck(target: string, plan: Plan, limit: FirewallTableLimit): Diagnostic[] {
  if (!plan.features.firewall) return [];
  const v4 = plan.split.tunnel.v4.prefixCount();
  const v6 = plan.split.tunnel.v6.prefixCount();
  const bypass = plan.split.bypass.length;
  const total = v4 + v6 + bypass;
  if (total <= limit.limit) return [];
  return [diag('FirewallTableLimit', { target, count: count(total), v4: count(v4), v6: count(v6), bypass: count(bypass), firewall: limit.firewall, limit: count(limit.limit), raise: limit.raise })];
}

/** RouteLimitExceeded when the plan's tunnel routes are more than `limit`. */
export function routeLimitCheck(target: string, plan: Plan, limit: RouteLimit): Diagnostic[] {
  const n = tunnelRouteCounts(plan);
  if (n.total <= limit.limit) return [];
  return [diag('RouteLimitExceeded', { target, count: count(n.total), v4: count(n.v4), v6: count(n.v6), os: limit.os, limit: count(limit.limit), reason: limit.reason })];
}

/** ArtifactTooLarge, for a target whose emit ran out of string or array room (RangeError). */
export function artifactTooLarge(target: string, plan: Plan, err: RangeError): Diagnostic {
  const n = tunnelRouteCounts(plan);
  return diag('ArtifactTooLarge', { target, reason: err.message, count: count(n.total), v4: count(n.v4), v6: count(n.v6) });
}

/**
 * A count as diagnostics write it (1,478,369): what toLocaleString('en') writes for an
 * integer, without loading the ICU locale data that costs a large `check` tens of milliseconds.
 */
export function count(n: number): string {
  // Counts are whole and not negative; anything else is written by ICU as before.
  if (!Number.isSafeInteger(n) || n < 0 || Object.is(n, -0)) return n.toLocaleString('en');
  const digits = String(n);
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return out;
}
