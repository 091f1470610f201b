/** View-model pieces several targets render the same way. */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Path, Plan, TunnelPlan } from '../plan/types.js';

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
 * The warning every target but Linux gives in service mode `proxy`: the local proxy is
 * the client application's job, and `consequence` says what that target's files do then.
 */
export function localProxyLimitation(plan: Plan, target: string, consequence: string): Diagnostic[] {
  if (!plan.features.localProxy || !plan.localProxy) return [];
  const { address, port } = plan.localProxy;
  return [diag('TargetLimitation', { target, detail: `service mode ${plan.serviceMode}: the local proxy on ${address}:${port} is run by ${consequence}` })];
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
  return t.peerPublicKey ? { publicKey: t.peerPublicKey, host: t.endpoint.host, port: t.endpoint.port, ipv6: t.endpoint.host.includes(':'), allowedIps: t.allowedIps } : null;
}
