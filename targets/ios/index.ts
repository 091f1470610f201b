/**
 * The iOS target: the settings a NetworkExtension packet tunnel provider applies
 * (NEPacketTunnelNetworkSettings), keyed like Apple's API, as JSON built by a
 * serializer (schema/targets/ios.network-settings.schema.json). The app reads
 * it and calls setTunnelNetworkSettings; host entries are resolved when the
 * tunnel starts. It translates the Plan; it decides nothing.
 */
import { stableJson } from '../../src/contract/json-file.js';
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { canExcludeRoutes, dnsServerList, fallbackDomainViews, familyRoutes, type FallbackDomainView } from '../../src/emit/view.js';
import { BITS, formatAddress, hostMaskOf, MAX, parsePrefix } from '../../src/net/ip.js';
import type { Plan } from '../../src/plan/types.js';

const NAME = 'ios';

const IOS_CAPABILITIES: TargetCapabilities = {
  policyRouting: false,
  excludeRoute: true,
  // The app resolves exact names when the tunnel starts and adds their addresses to includedRoutes/excludedRoutes.
  hostEntries: { by: 'resolve-once', when: 'when the tunnel starts' },
  wildcardHosts: false,
  directHosts: 'exclude-route',
  dnsServers: 'proxy',
  firewall: true,
  ipv6: 'needs-address',
  masque: { no: 'network-settings.json is for a WireGuard packet tunnel; warpc has no iOS MASQUE client' },
  localProxy: { runBy: 'the app; network-settings.json starts no tunnel' },
};

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

export function iosSettings(plan: Plan): IosNetworkSettings {
  const f = plan.features;
  const canExclude = canExcludeRoutes(IOS_CAPABILITIES);
  const r4 = familyRoutes(plan.split.mode, plan.split.tunnel.v4, plan.split.direct.v4, canExclude);
  const r6 = familyRoutes(plan.split.mode, plan.split.tunnel.v6, plan.split.direct.v6, canExclude);
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
    dnsSettings: plan.dns ? { servers: dnsServerList(plan, IOS_CAPABILITIES), matchDomains: [''], searchDomains: [...plan.dns.search] } : null,
    mtu: vpn ? plan.interface.mtu : null,
    enforceRoutes: tunnel && f.firewall,
    hostEntries: plan.split.hosts.map((h) => ({ host: h.text, route: h.action === 'tunnel' ? 'included' : 'excluded' })),
    fallbackDomains: fallbackDomainViews(plan),
  };
}

function emit(plan: Plan, _ctx: EmitContext): Artifact[] {
  return [{ path: 'network-settings.json', text: stableJson(iosSettings(plan)), mode: 0o644 }];
}

export const ios: TargetModule = {
  name: NAME,
  description: 'iOS: NEPacketTunnelNetworkSettings for a NetworkExtension packet tunnel, as JSON',
  capabilities: IOS_CAPABILITIES,
  emit,
};
