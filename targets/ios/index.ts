/**
 * The iOS target: the settings a NetworkExtension packet tunnel provider applies
 * (NEPacketTunnelNetworkSettings), keyed like Apple's API, as JSON built by a
 * serializer (schema/targets/ios.network-settings.schema.json). The app reads
 * it and calls setTunnelNetworkSettings; host entries are resolved when the
 * tunnel starts. It translates the Plan; it decides nothing.
 *
 * Routes are prefix strings (file version 2): `includedRoutes`/`excludedRoutes`
 * list canonical CIDR text ("10.0.0.0/8", "2001:db8::/32"), written from the plan's
 * sets' numbers (src/emit/prefix-list.ts), and the app makes one NEIPv4Route
 * (destinationAddress, subnetMask from the length) or NEIPv6Route
 * (destinationAddress, networkPrefixLength) of each, in order. Version 1 wrote
 * one {destinationAddress, subnetMask} object per route: four times the bytes
 * (10 MB for 100,000 excluded /24s), and a parse and format per route to build.
 * The same form as Android's route batches, so both apps parse one thing.
 */
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { canExcludeRoutes, dnsServerList, fallbackDomainViews, familyRouteSets, type FallbackDomainView } from '../../src/emit/view.js';
import { bytesArtifact, jsonWithPrefixLists, PrefixList } from '../../src/emit/prefix-list.js';
import { BITS, formatAddress, hostMaskOf, MAX } from '../../src/net/ip.js';
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

export interface IosNetworkSettings {
  /** 2: routes as prefix strings (1 had {destinationAddress, subnetMask | networkPrefixLength} objects). */
  version: 2;
  profile: string;
  serviceMode: Plan['serviceMode'];
  /** Null when the service mode has no tunnel (nothing to start). */
  tunnelRemoteAddress: string | null;
  ipv4Settings: { addresses: string[]; subnetMasks: string[]; includedRoutes: PrefixList; excludedRoutes: PrefixList } | null;
  ipv6Settings: { addresses: string[]; networkPrefixLengths: number[]; includedRoutes: PrefixList; excludedRoutes: PrefixList } | null;
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

export function iosSettings(plan: Plan): IosNetworkSettings {
  const f = plan.features;
  const canExclude = canExcludeRoutes(IOS_CAPABILITIES);
  const s4 = familyRouteSets(plan.split.mode, plan.split.tunnel.v4, plan.split.direct.v4, canExclude);
  const s6 = familyRouteSets(plan.split.mode, plan.split.tunnel.v6, plan.split.direct.v6, canExclude);
  const r4 = { included: new PrefixList([s4.included]), excluded: new PrefixList([s4.excluded]) };
  const r6 = { included: new PrefixList([s6.included]), excluded: new PrefixList([s6.excluded]) };
  const tunnel = plan.tunnel !== null;
  const vpn = tunnel || plan.dns !== null;
  return {
    version: 2,
    profile: plan.name,
    serviceMode: plan.serviceMode,
    tunnelRemoteAddress: plan.tunnel ? plan.tunnel.endpoint.host : null,
    ipv4Settings:
      tunnel && f.routes ? { addresses: [plan.interface.ipv4], subnetMasks: [maskOf(BITS[4])], includedRoutes: r4.included, excludedRoutes: r4.excluded } : null,
    ipv6Settings:
      tunnel && f.routes && (plan.interface.ipv6 !== null || r6.included.length > 0)
        ? {
            addresses: plan.interface.ipv6 ? [plan.interface.ipv6] : [],
            networkPrefixLengths: plan.interface.ipv6 ? [BITS[6]] : [],
            includedRoutes: r6.included,
            excludedRoutes: r6.excluded,
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
  return [bytesArtifact('network-settings.json', jsonWithPrefixLists(iosSettings(plan)))];
}

export const ios: TargetModule = {
  name: NAME,
  description: 'iOS: NEPacketTunnelNetworkSettings for a NetworkExtension packet tunnel, as JSON',
  capabilities: IOS_CAPABILITIES,
  emit,
};
