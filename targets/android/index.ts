/**
 * The Android target: the VpnService.Builder calls the app makes, in order, as
 * JSON built by a serializer (schema/targets/android.vpn-service.schema.json).
 * `calls` is for API 33+ (excludeRoute); `callsBeforeApi33` routes the plan's
 * tunnel set itself (the minimal complement of the direct set) for older
 * releases. Host entries are resolved when the tunnel starts. It translates
 * the Plan; it decides nothing.
 *
 * Routes travel as batches (file version 2): `{"method": "addRoutes", "prefixes":
 * ["10.0.0.0/8", …]}` stands for one addRoute(address, prefixLength) per prefix,
 * in list order, at that place in the call order (likewise `excludeRoutes`). A
 * prefix is canonical CIDR text, written from the plan's sets' numbers
 * (src/emit/prefix-list.ts); the app splits it at the `/`. One short string per route keeps the pre-API-33
 * list (the complement of 100,000 excluded /24s is 678,326 prefixes) a sixth of
 * the size of one call object per route, while the file stays a readable call list.
 */
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { count, tunnelRouteCounts } from '../../src/emit/limits.js';
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { canExcludeRoutes, dnsServerList, fallbackDomainViews, familyRouteSets, type FallbackDomainView } from '../../src/emit/view.js';
import { bytesArtifact, jsonWithPrefixLists, PrefixList } from '../../src/emit/prefix-list.js';
import { BITS } from '../../src/net/ip.js';
import type { Plan } from '../../src/plan/types.js';

const NAME = 'android';
const FILE = 'vpn-service.json';
/** The first release with VpnService.Builder.excludeRoute. */
const EXCLUDE_ROUTE_SINCE = 'Android 13 (API 33)';

/**
 * The most addRoute calls callsBeforeApi33 holds: the same practical bound as Windows and
 * macOS (one route each; src/emit/limits.ts). Past it the list is left out (null) with
 * WARPC0120 rather than the whole target refused: the API 33+ calls list only the direct
 * set, which grows with the profile's entries. Building the cover is also the costly part
 * (the complement of 100,000 IPv6 /64s is 1.48 million prefixes).
 */
export const LEGACY_ROUTE_LIMIT = { limit: 1_000_000, reason: 'each is one addRoute call, all passed to the system at establish()' };

const ANDROID_CAPABILITIES: TargetCapabilities = {
  policyRouting: false,
  // `calls` use excludeRoute; `callsBeforeApi33` route the tunnel set without it.
  excludeRoute: { since: EXCLUDE_ROUTE_SINCE },
  // The app resolves exact names when the tunnel starts; their addresses become addRoute/excludeRoute calls.
  hostEntries: { by: 'resolve-once', when: 'when the tunnel starts' },
  wildcardHosts: false,
  directHosts: 'exclude-route',
  dnsServers: 'proxy',
  firewall: true,
  ipv6: true,
  masque: { no: "vpn-service.json configures the app's WireGuard peer; warpc has no Android MASQUE client" },
  localProxy: { runBy: 'the app; vpn-service.json establishes no VPN' },
};

export type BuilderCall =
  | { method: 'addAddress'; address: string; prefixLength: number }
  /** addRoute(address, prefixLength) for each prefix, in order (a JSON array of prefix strings). */
  | { method: 'addRoutes'; prefixes: PrefixList }
  /** excludeRoute(IpPrefix) for each prefix, in order (API 33+). */
  | { method: 'excludeRoutes'; prefixes: PrefixList }
  | { method: 'addDnsServer'; address: string }
  | { method: 'addSearchDomain'; domain: string }
  | { method: 'setMtu'; mtu: number };

export interface AndroidVpnService {
  /** 2: routes as addRoutes/excludeRoutes batches of prefix strings (1 had one addRoute/excludeRoute object per route). */
  version: 2;
  profile: string;
  serviceMode: Plan['serviceMode'];
  /** False when the service mode establishes no VPN (the call lists are then empty). */
  establish: boolean;
  /** The WireGuard peer the app connects to; null without a tunnel. */
  tunnelEndpoint: { host: string; port: number } | null;
  /**
   * The plan's firewall intent: no app may bypass the VPN (the app never calls
   * allowBypass()), and the device policy enables always-on VPN with lockdown
   * (DevicePolicyManager.setAlwaysOnVpnPackage(…, lockdownEnabled = true)).
   */
  lockdown: boolean;
  /** API 33 and later: excludeRoute(IpPrefix) is available. */
  calls: BuilderCall[];
  /** API 32 and earlier: no excludeRoute; the tunnel set is routed as its minimal cover. Null past LEGACY_ROUTE_LIMIT routes (WARPC0120). */
  callsBeforeApi33: BuilderCall[] | null;
  /** Split Tunnel host entries: resolved when the tunnel starts; addresses become addRoute/excludeRoute calls. */
  hostEntries: { host: string; route: 'add' | 'exclude' }[];
  /** Local Domain Fallback, for the DNS proxy inside the app. */
  fallbackDomains: FallbackDomainView[];
}

/**
 * The Builder calls for the routes of both families: one addRoutes batch (IPv4, then
 * IPv6) before one excludeRoutes batch; an empty batch is left out.
 */
function routeCalls(plan: Plan, canExclude: boolean): BuilderCall[] {
  const v4 = familyRouteSets(plan.split.mode, plan.split.tunnel.v4, plan.split.direct.v4, canExclude);
  const v6 = familyRouteSets(plan.split.mode, plan.split.tunnel.v6, plan.split.direct.v6, canExclude);
  const calls: BuilderCall[] = [];
  const included = new PrefixList([v4.included, v6.included]);
  const excluded = new PrefixList([v4.excluded, v6.excluded]);
  if (included.length > 0) calls.push({ method: 'addRoutes', prefixes: included });
  if (excluded.length > 0) calls.push({ method: 'excludeRoutes', prefixes: excluded });
  return calls;
}

export function androidSettings(plan: Plan): AndroidVpnService {
  const f = plan.features;
  const establish = plan.tunnel !== null || plan.dns !== null;
  const head: BuilderCall[] = [];
  const tail: BuilderCall[] = [];
  if (establish) {
    head.push({ method: 'addAddress', address: plan.interface.ipv4, prefixLength: BITS[4] });
    if (plan.interface.ipv6) head.push({ method: 'addAddress', address: plan.interface.ipv6, prefixLength: BITS[6] });
    if (plan.dns) {
      for (const a of dnsServerList(plan, ANDROID_CAPABILITIES)) tail.push({ method: 'addDnsServer', address: a });
      for (const d of plan.dns.search) tail.push({ method: 'addSearchDomain', domain: d });
    }
    tail.push({ method: 'setMtu', mtu: plan.interface.mtu });
  }
  const routed = establish && f.routes;
  // `calls`: the newest releases, with excludeRoute; `callsBeforeApi33`: the same routes without it.
  const modern = routed ? routeCalls(plan, canExcludeRoutes(ANDROID_CAPABILITIES)) : [];
  const legacy = legacyOmitted(plan) ? null : routed ? routeCalls(plan, false) : [];
  return {
    version: 2,
    profile: plan.name,
    serviceMode: plan.serviceMode,
    establish,
    tunnelEndpoint: plan.tunnel ? { host: plan.tunnel.endpoint.host, port: plan.tunnel.endpoint.port } : null,
    lockdown: plan.tunnel !== null && f.firewall,
    calls: [...head, ...modern, ...tail],
    callsBeforeApi33: legacy ? [...head, ...legacy, ...tail] : null,
    hostEntries: plan.split.hosts.map((h) => ({ host: h.text, route: h.action === 'tunnel' ? 'add' : 'exclude' })),
    fallbackDomains: fallbackDomainViews(plan),
  };
}

/** Whether the file routes and its tunnel set is past LEGACY_ROUTE_LIMIT (counted without building it). */
function legacyOmitted(plan: Plan): boolean {
  const establish = plan.tunnel !== null || plan.dns !== null;
  return establish && plan.features.routes && tunnelRouteCounts(plan).total > LEGACY_ROUTE_LIMIT.limit;
}

function check(plan: Plan): Diagnostic[] {
  if (!legacyOmitted(plan)) return [];
  const n = tunnelRouteCounts(plan);
  return [
    diag('LegacyRoutesOmitted', {
      target: NAME,
      since: EXCLUDE_ROUTE_SINCE,
      count: count(n.total),
      v4: count(n.v4),
      v6: count(n.v6),
      limit: count(LEGACY_ROUTE_LIMIT.limit),
      reason: LEGACY_ROUTE_LIMIT.reason,
      file: FILE,
      field: 'callsBeforeApi33',
    }),
  ];
}

function emit(plan: Plan, _ctx: EmitContext): Artifact[] {
  return [bytesArtifact(FILE, jsonWithPrefixLists(androidSettings(plan)))];
}

export const android: TargetModule = {
  name: NAME,
  description: 'Android: the VpnService.Builder calls (API 33+ with excludeRoute, and a variant for older releases), as JSON',
  capabilities: ANDROID_CAPABILITIES,
  check,
  emit,
};
