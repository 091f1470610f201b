/**
 * Answers "what happens to this address / name?" from the Plan alone.
 *
 * The path always comes from the computed sets (the same ones every target
 * renders); the reason is the rule that put the address there, found by
 * replaying the precedence of the plan's algebra: bypass > always_tunnel >
 * the most specific entry > the mode's default.
 */
import { formatAddress, parseAddress, parsePrefix, prefixContains, type Address } from '../net/ip.js';
import { DualSet } from '../net/prefix-set.js';
import { longestSuffixMatch, matchHostPattern, normalizeName, parseDomainName } from '../net/names.js';
import type { AddressRule, BypassAddress, FallbackRule, HostRule, Path, Plan } from './types.js';

export type AddressReason =
  | { readonly kind: 'no_routing'; readonly serviceMode: string }
  | { readonly kind: 'bypass'; readonly bypass: BypassAddress }
  | { readonly kind: 'always_tunnel'; readonly rule: AddressRule }
  | { readonly kind: 'entry'; readonly rule: AddressRule }
  | { readonly kind: 'mode_default'; readonly mode: 'exclude' | 'include' };

export interface AddressExplanation {
  readonly address: string;
  readonly path: Path;
  readonly reason: AddressReason;
}

export function explainAddress(plan: Plan, address: Address): AddressExplanation {
  const text = addressText(address);
  const path: Path = DualSet.contains(plan.split.tunnel, address) ? 'tunnel' : 'direct';
  if (!plan.features.routes) return { address: text, path, reason: { kind: 'no_routing', serviceMode: plan.serviceMode } };
  const bypass = plan.split.bypass.find((b) => {
    const a = parseAddress(b.address)!;
    return a.family === address.family && a.value === address.value;
  });
  if (bypass) return { address: text, path, reason: { kind: 'bypass', bypass } };
  const containing = (source: AddressRule['source']): AddressRule | undefined => {
    let best: AddressRule | undefined;
    let bestLen = -1;
    for (const r of plan.split.rules) {
      if (r.source !== source) continue;
      const p = parsePrefix(r.cidr);
      if (p.ok && prefixContains(p.prefix, address) && p.prefix.length > bestLen) {
        best = r;
        bestLen = p.prefix.length;
      }
    }
    return best;
  };
  const always = containing('always_tunnel');
  if (always) return { address: text, path, reason: { kind: 'always_tunnel', rule: always } };
  const entry = containing('entry');
  if (entry) return { address: text, path, reason: { kind: 'entry', rule: entry } };
  return { address: text, path, reason: { kind: 'mode_default', mode: plan.split.mode } };
}

export type Resolver =
  | { readonly kind: 'os'; readonly why: string }
  | { readonly kind: 'local'; readonly addresses: readonly string[] }
  | { readonly kind: 'fallback'; readonly rule: FallbackRule }
  | { readonly kind: 'doh'; readonly url: string; readonly path: Path };

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
  return { name: n, hostRule, resolver: { kind: 'doh', url: plan.dns.doh.url, path: plan.dns.doh.via } };
}

export type Query = { readonly kind: 'address'; readonly address: Address } | { readonly kind: 'name'; readonly name: string };

/** Classify a command-line query; null when it is neither an address nor a name. */
export function parseQuery(text: string): Query | null {
  const a = parseAddress(text);
  if (a) return { kind: 'address', address: a };
  const n = parseDomainName(normalizeName(text));
  return n.ok ? { kind: 'name', name: n.name } : null;
}

function addressText(a: Address): string {
  return formatAddress(a.family, a.value);
}
