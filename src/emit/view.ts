/** View-model pieces several targets render the same way. */
import { canonicalAddress } from '../net/ip.js';
import { PrefixSet } from '../net/prefix-set.js';
import type { AddressRule, Path, Plan, TunnelPlan } from '../plan/types.js';
import { DNS_PROXY_V6_WINDOWS } from '../profile/defaults.js';
import { renderLines, type LineHelpers, type Lines } from './render.js';
import type { TargetCapabilities } from './target.js';

export interface EntryRow {
  /** `exclude` or `include` (the list's mode), or `always` for always_tunnel. */
  readonly action: string;
  readonly cidr: string;
  readonly description: string;
}

/** The profile's address entries as written (with always_tunnel), for comments next to what they became. */
export function splitEntryRows(plan: Plan): EntryRow[] {
  return plan.split.rules.map((r) => ({ action: r.source === 'always_tunnel' ? 'always' : plan.split.mode, cidr: r.cidr, description: r.description }));
}

/**
 * The same rows as `#   ACTION PREFIX  DESCRIPTION` comment lines (shell, nft and `ip -batch`
 * comments alike), all of them or one family's. Each line is rendered once per plan: three
 * Linux files list them, and a large profile has 100,000s.
 */
export function entryCommentLines(plan: Plan, family?: 4 | 6): Lines {
  let c = ENTRY_COMMENTS.get(plan);
  if (c === undefined) {
    const mode = plan.split.mode;
    const rules = plan.split.rules;
    const line = (r: AddressRule, h: LineHelpers): string => `#   ${h.ident(r.source === 'always_tunnel' ? 'always' : mode)} ${h.cidr(r.cidr)}${r.description ? `  ${h.comment(r.description)}` : ''}`;
    const v4 = rules.filter((r) => !r.cidr.includes(':'));
    const v6 = rules.filter((r) => r.cidr.includes(':'));
    const all = renderLines(rules, line);
    // When the list holds one family only, that family's lines are all of them: rendered once.
    c = { all, v4: v6.length === 0 ? all : renderLines(v4, line), v6: v4.length === 0 ? all : renderLines(v6, line) };
    ENTRY_COMMENTS.set(plan, c);
  }
  return family === undefined ? c.all : family === 4 ? c.v4 : c.v6;
}
const ENTRY_COMMENTS = new WeakMap<Plan, { all: Lines; v4: Lines; v6: Lines }>();

/**
 * The addresses a target points the OS resolver at (empty when the plan leaves DNS to
 * the OS), decided here from its capabilities, not by the target: the proxy's own, or
 * (`ipv4-mapped-v6`, Windows) its IPv4 addresses plus the IPv4-mapped IPv6 address the
 * proxy also answers on.
 */
export function dnsServers(plan: Plan, caps: TargetCapabilities): { readonly v4: readonly string[]; readonly v6: readonly string[] } {
  if (!plan.dns) return { v4: [], v6: [] };
  if (caps.dnsServers === 'proxy') return plan.dns.listen;
  return { v4: plan.dns.listen.v4, v6: DNS_PROXY_V6_WINDOWS.map(canonicalBuiltIn) };
}

/** The same as one list, IPv4 first: what a resolver setting names. */
export function dnsServerList(plan: Plan, caps: TargetCapabilities): string[] {
  const s = dnsServers(plan, caps);
  return [...s.v4, ...s.v6];
}

function canonicalBuiltIn(address: string): string {
  const c = canonicalAddress(address);
  if (c === null) throw new Error(`bad built-in address ${address}`);
  return c;
}

/** Whether a target's routes can take prefixes out of a wider tunnel route (policy routing's `throw`, or excludeRoute; `since` counts: the newest form can). */
export function canExcludeRoutes(caps: TargetCapabilities): boolean {
  return caps.policyRouting || caps.excludeRoute !== false;
}

/** The routes of one family: prefixes routed into the tunnel, and prefixes taken out of them. */
export interface FamilyRoutes {
  readonly included: string[];
  readonly excluded: string[];
}

/**
 * The route form of one family, the same for every target: with routes that can exclude,
 * exclude mode is the default route in and the direct set out (the longest match wins);
 * without, and in include mode, it is the tunnel set itself (its minimal cover). A family
 * with nothing in the tunnel has no routes.
 */
export function familyRoutes(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet, canExclude: boolean): FamilyRoutes {
  const r = familyRouteSets(mode, tunnel, direct, canExclude);
  return { included: r.included.toCidrs(), excluded: r.excluded.toCidrs() };
}

/** The same routes as sets (their minimal covers are the lists): for writers that write a cover from the set's numbers (src/emit/prefix-list.ts). */
export function familyRouteSets(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet, canExclude: boolean): { readonly included: PrefixSet; readonly excluded: PrefixSet } {
  const none = PrefixSet.empty(tunnel.family);
  if (tunnel.isEmpty) return { included: none, excluded: none };
  // The default route (0.0.0.0/0, ::/0) is the cover of the whole family.
  if (mode === 'exclude' && canExclude) return { included: PrefixSet.all(tunnel.family), excluded: direct };
  return { included: tunnel, excluded: none };
}

/** A Local Domain Fallback rule as the mobile targets' JSON settings carry it. */
export interface FallbackDomainView {
  suffix: string;
  servers: { address: string; path: Path }[];
  useSystemResolvers: boolean;
}

/** The plan's fallback rules for the mobile targets' settings (none when DNS is not handled). */
export function fallbackDomainViews(plan: Plan): FallbackDomainView[] {
  return plan.dns
    ? plan.dns.fallback.map((r) => ({ suffix: r.suffix, servers: r.servers.map((s) => ({ address: s.address, path: s.path })), useSystemResolvers: r.useSystemResolvers }))
    : [];
}

/** The [Peer] section of a wireguard.conf (Linux, macOS, Windows): null until the profile names the peer's key. */
export interface WireguardPeerView {
  publicKey: string;
  host: string;
  port: number;
  /** The endpoint is an IPv6 address (written in brackets). */
  ipv6: boolean;
  allowedIps: readonly string[];
}

export function wireguardPeerView(t: TunnelPlan): WireguardPeerView | null {
  return t.protocol === 'wireguard' && t.peerPublicKey ? { publicKey: t.peerPublicKey, host: t.endpoint.host, port: t.endpoint.port, ipv6: t.endpoint.host.includes(':'), allowedIps: t.allowedIps } : null;
}
