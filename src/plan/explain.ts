/**
 * Answers "what happens to this address / name?" from the Plan alone.
 *
 * An address is answered by the plan's own decision (decideAddress: the path
 * from the computed sets every target renders, the reason by the algebra's
 * precedence); a name by the plan's DNS rules, with DoH's actual path as the
 * plan records it per bootstrap address.
 */
import { parseAddress, type Address } from '../net/ip.js';
import { longestSuffixMatch, matchHostPattern, normalizeName, parseDomainName } from '../net/names.js';
import { decideAddress } from './plan.js';
import type { AddressDecision, FallbackRule, HostRule, Path, Plan } from './types.js';

export type { AddressReason } from './types.js';

/** An address's path and the rule that decided it (the plan's own decision: decideAddress). */
export type AddressExplanation = AddressDecision;

export function explainAddress(plan: Plan, address: Address): AddressExplanation {
  return decideAddress(plan, address);
}

export type Resolver =
  | { readonly kind: 'os'; readonly why: string }
  | { readonly kind: 'local'; readonly addresses: readonly string[] }
  | { readonly kind: 'fallback'; readonly rule: FallbackRule }
  | { readonly kind: 'doh'; readonly url: string; readonly path: Path | 'mixed'; readonly addresses: readonly AddressDecision[] };

export interface NameExplanation {
  readonly name: string;
  readonly resolver: Resolver;
  /** Host split-tunnel rule that applies to the name's resolved addresses, if any. */
  readonly hostRule: HostRule | null;
}

export function explainName(plan: Plan, name: string): NameExplanation {
  const n = normalizeName(name);
  const hostRule = plan.split.hosts.find((h) => matchHostPattern(h.pattern, n)) ?? null;
  if (!plan.dns) {
    return { name: n, hostRule, resolver: { kind: 'os', why: `service mode ${plan.serviceMode} leaves DNS with the OS` } };
  }
  const local = plan.dns.localAnswers.find((l) => l.name === n);
  if (local) return { name: n, hostRule, resolver: { kind: 'local', addresses: local.addresses } };
  const rule = longestSuffixMatch(plan.dns.fallback, n);
  if (rule) return { name: n, hostRule, resolver: { kind: 'fallback', rule } };
  return { name: n, hostRule, resolver: { kind: 'doh', url: plan.dns.doh.url, path: plan.dns.doh.via, addresses: plan.dns.doh.addresses } };
}

export type Query = { readonly kind: 'address'; readonly address: Address } | { readonly kind: 'name'; readonly name: string };

/** Classify a command-line query; null when it is neither an address nor a name. */
export function parseExplainQuery(text: string): Query | null {
  const a = parseAddress(text);
  if (a) return { kind: 'address', address: a };
  const n = parseDomainName(normalizeName(text));
  return n.ok ? { kind: 'name', name: n.name } : null;
}
