/**
 * The iOS target: the settings a NetworkExtension packet tunnel provider applies
 * (NEPacketTunnelNetworkSettings), keyed like Apple's API, as JSON built by a
 * serializer (schema/targets/ios.network-settings.schema.json). The app reads
 * it and calls setTunnelNetworkSettings; host entries are resolved when the
 * tunnel starts. It translates the Plan; it decides nothing.
 */
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { stableJson } from '../../src/contract/json-file.js';
import type { Artifact, EmitContext, TargetModule } from '../../src/emit/target.js';
import { fallbackDomainViews, localProxyLimitation, type FallbackDomainView } from '../../src/emit/view.js';
import { BITS, formatAddress, hostMaskOf, MAX, parsePrefix } from '../../src/net/ip.js';
import type { PrefixSet } from '../../src/net/prefix-set.js';
import type { Plan } from '../../src/plan/types.js';

const NAME = 'ios';

export interface IosRoute4 {
  destinationAddress: string;
  subnetMask: string;
}
export interface IosRoute6 {
  destinationAddress: string;
  networkPrefixLength: number;
}

export interface IosNetworkSettings {
  version: 1;
  profile: string;
  serviceMode: Plan['serviceMode'];
  /** Null when the service mode has no tunnel (nothing to start). */
  tunnelRemoteAddress: string | null;
  ipv4Settings: { addresses: string[]; subnetMasks: string[]; includedRoutes: IosRoute4[]; excludedRoutes: IosRoute4[] } | null;
  ipv6Settings: { addresses: string[]; networkPrefixLengths: number[]; includedRoutes: IosRoute6[]; excludedRoutes: IosRoute6[] } | null;
  dnsSettings: { servers: string[]; matchDomains: string[]; searchDomains: string[] } | null;
  mtu: number | null;
  /** NEVPNProtocol.enforceRoutes: tunnel-bound destinations stay in the tunnel even when a local network has a more specific route (the plan's firewall intent). */
  enforceRoutes: boolean;
  /** Split Tunnel host entries: the app resolves them when the tunnel starts and adds the addresses to the routes. */
  hostEntries: { host: string; route: 'included' | 'excluded' }[];
  /** Local Domain Fallback, for the DNS proxy inside the extension. */
  fallbackDomains: FallbackDomainView[];
}

export function maskOf(length: number): string {
  return formatAddress(4, MAX[4] ^ hostMaskOf(4, length));
}

function split(cidr: string): { address: string; length: number } {
  const r = parsePrefix(cidr);
  if (!r.ok) throw new Error(`not a prefix: ${cidr}`);
  return { address: formatAddress(r.prefix.family, r.prefix.network), length: r.prefix.length };
}

/**
 * Included and excluded routes for one family. Exclude mode: the default route
 * in, the direct set out (NetworkExtension takes the longest match). Include
 * mode: the tunnel set in. A family with nothing in the tunnel has no routes.
 */
export function familyRoutes(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet): { included: string[]; excluded: string[] } {
  if (tunnel.isEmpty) return { included: [], excluded: [] };
  if (mode === 'exclude') return { included: [tunnel.family === 4 ? '0.0.0.0/0' : '::/0'], excluded: direct.toCidrs() };
  return { included: tunnel.toCidrs(), excluded: [] };
}

export function iosSettings(plan: Plan): IosNetworkSettings {
  const f = plan.features;
  const r4 = familyRoutes(plan.split.mode, plan.split.tunnel.v4, plan.split.direct.v4);
  const r6 = familyRoutes(plan.split.mode, plan.split.tunnel.v6, plan.split.direct.v6);
  const route4 = (c: string): IosRoute4 => {
    const s = split(c);
    return { destinationAddress: s.address, subnetMask: maskOf(s.length) };
  };
  const route6 = (c: string): IosRoute6 => {
    const s = split(c);
    return { destinationAddress: s.address, networkPrefixLength: s.length };
  };
  const tunnel = plan.tunnel !== null;
  const vpn = tunnel || plan.dns !== null;
  return {
    version: 1,
    profile: plan.name,
    serviceMode: plan.serviceMode,
    tunnelRemoteAddress: plan.tunnel ? plan.tunnel.endpoint.host : null,
    ipv4Settings:
      tunnel && f.routes
        ? { addresses: [plan.interface.ipv4], subnetMasks: [maskOf(BITS[4])], includedRoutes: r4.included.map(route4), excludedRoutes: r4.excluded.map(route4) }
        : null,
    ipv6Settings:
      tunnel && f.routes && (plan.interface.ipv6 !== null || r6.included.length > 0)
        ? {
            addresses: plan.interface.ipv6 ? [plan.interface.ipv6] : [],
            networkPrefixLengths: plan.interface.ipv6 ? [BITS[6]] : [],
            includedRoutes: r6.included.map(route6),
            excludedRoutes: r6.excluded.map(route6),
          }
        : null,
    dnsSettings: plan.dns ? { servers: [...plan.dns.listen.v4, ...plan.dns.listen.v6], matchDomains: [''], searchDomains: [...plan.dns.search] } : null,
    mtu: vpn ? plan.interface.mtu : null,
    enforceRoutes: tunnel && f.firewall,
    hostEntries: plan.split.hosts.map((h) => ({ host: h.text, route: h.action === 'tunnel' ? 'included' : 'excluded' })),
    fallbackDomains: fallbackDomainViews(plan),
  };
}

function check(plan: Plan): Diagnostic[] {
  const ds: Diagnostic[] = [];
  for (const h of plan.split.hosts) {
    ds.push(
      diag(
        'TargetLimitation',
        {
          target: NAME,
          detail: h.pattern.wildcard
            ? `host entry "${h.text}" is a wildcard: NetworkExtension resolves host entries once when the tunnel starts, and a wildcard names no address to resolve; it has no effect on iOS`
            : `host entry "${h.text}" is resolved once when the tunnel starts; later changes to its addresses are not followed`,
        },
        h.pos,
      ),
    );
  }
  if (plan.features.routes && plan.interface.ipv6 === null && !plan.split.tunnel.v6.isEmpty) {
    ds.push(
      diag('TargetLimitation', {
        target: NAME,
        detail: 'interface.ipv6 is not set: ipv6Settings has routes but no address, so IPv6 destinations in the tunnel are captured (they cannot leak) but get no connectivity',
      }),
    );
  }
  ds.push(...localProxyLimitation(plan, NAME, 'the app; network-settings.json starts no tunnel'));
  return ds;
}

function emit(plan: Plan, _ctx: EmitContext): Artifact[] {
  return [{ path: 'network-settings.json', text: stableJson(iosSettings(plan)), mode: 0o644 }];
}

export const ios: TargetModule = {
  name: NAME,
  description: 'iOS: NEPacketTunnelNetworkSettings for a NetworkExtension packet tunnel, as JSON',
  capabilities: { hostRules: 'tunnel-start', policyRouting: false, firewall: true, ipv6: true },
  check,
  emit,
};
