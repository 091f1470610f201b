/**
 * The Android target: the VpnService.Builder calls the app makes, in order, as
 * JSON built by a serializer (schema/targets/android.vpn-service.schema.json).
 * `calls` is for API 33+ (excludeRoute); `callsBeforeApi33` routes the plan's
 * tunnel set itself (the minimal complement of the direct set) for older
 * releases. Host entries are resolved when the tunnel starts. It translates
 * the Plan; it decides nothing.
 */
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { stableJson } from '../../src/contract/json-file.js';
import type { Artifact, EmitContext, TargetModule } from '../../src/emit/target.js';
import { fallbackDomainViews, localProxyLimitation, type FallbackDomainView } from '../../src/emit/view.js';
import { BITS, formatAddress, parsePrefix } from '../../src/net/ip.js';
import type { PrefixSet } from '../../src/net/prefix-set.js';
import type { Plan } from '../../src/plan/types.js';

const NAME = 'android';

export type BuilderCall =
  | { method: 'addAddress'; address: string; prefixLength: number }
  | { method: 'addRoute'; address: string; prefixLength: number }
  | { method: 'excludeRoute'; address: string; prefixLength: number }
  | { method: 'addDnsServer'; address: string }
  | { method: 'addSearchDomain'; domain: string }
  | { method: 'setMtu'; mtu: number };

export interface AndroidVpnService {
  version: 1;
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
  /** API 32 and earlier: no excludeRoute; the tunnel set is routed as its minimal cover. */
  callsBeforeApi33: BuilderCall[];
  /** Split Tunnel host entries: resolved when the tunnel starts; addresses become addRoute/excludeRoute calls. */
  hostEntries: { host: string; route: 'add' | 'exclude' }[];
  /** Local Domain Fallback, for the DNS proxy inside the app. */
  fallbackDomains: FallbackDomainView[];
}

function prefixCall(method: 'addRoute' | 'excludeRoute', cidr: string): BuilderCall {
  const r = parsePrefix(cidr);
  if (!r.ok) throw new Error(`not a prefix: ${cidr}`);
  return { method, address: formatAddress(r.prefix.family, r.prefix.network), prefixLength: r.prefix.length };
}

/** API 33+: exclude mode is the default route plus excludeRoute for the direct set; include mode the tunnel set. */
function modernRoutes(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet): BuilderCall[] {
  if (tunnel.isEmpty) return [];
  if (mode === 'exclude') {
    return [prefixCall('addRoute', tunnel.family === 4 ? '0.0.0.0/0' : '::/0'), ...direct.toCidrs().map((c) => prefixCall('excludeRoute', c))];
  }
  return tunnel.toCidrs().map((c) => prefixCall('addRoute', c));
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
      for (const a of [...plan.dns.listen.v4, ...plan.dns.listen.v6]) tail.push({ method: 'addDnsServer', address: a });
      for (const d of plan.dns.search) tail.push({ method: 'addSearchDomain', domain: d });
    }
    tail.push({ method: 'setMtu', mtu: plan.interface.mtu });
  }
  const routed = establish && f.routes;
  const both = routed ? [...modernRoutes(plan.split.mode, plan.split.tunnel.v4, plan.split.direct.v4), ...modernRoutes(plan.split.mode, plan.split.tunnel.v6, plan.split.direct.v6)] : [];
  // Builder order: every addRoute, then every excludeRoute.
  const modern = [...both.filter((c) => c.method === 'addRoute'), ...both.filter((c) => c.method === 'excludeRoute')];
  const legacy = routed ? [...plan.split.tunnel.v4.toCidrs(), ...plan.split.tunnel.v6.toCidrs()].map((c) => prefixCall('addRoute', c)) : [];
  return {
    version: 1,
    profile: plan.name,
    serviceMode: plan.serviceMode,
    establish,
    tunnelEndpoint: plan.tunnel ? { host: plan.tunnel.endpoint.host, port: plan.tunnel.endpoint.port } : null,
    lockdown: plan.tunnel !== null && f.firewall,
    calls: [...head, ...modern, ...tail],
    callsBeforeApi33: [...head, ...legacy, ...tail],
    hostEntries: plan.split.hosts.map((h) => ({ host: h.text, route: h.action === 'tunnel' ? 'add' : 'exclude' })),
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
            ? `host entry "${h.text}" is a wildcard: VpnService routes are fixed when the tunnel starts and a wildcard names no address to resolve; it has no effect on Android`
            : `host entry "${h.text}" is resolved once when the tunnel starts${h.action === 'direct' ? ' (excluding its addresses needs API 33; before that they stay in the tunnel)' : ''}; later changes to its addresses are not followed`,
        },
        h.pos,
      ),
    );
  }
  ds.push(...localProxyLimitation(plan, NAME, 'the app; vpn-service.json establishes no VPN'));
  return ds;
}

function emit(plan: Plan, _ctx: EmitContext): Artifact[] {
  return [{ path: 'vpn-service.json', text: stableJson(androidSettings(plan)), mode: 0o644 }];
}

export const android: TargetModule = {
  name: NAME,
  description: 'Android: the VpnService.Builder calls (API 33+ with excludeRoute, and a variant for older releases), as JSON',
  capabilities: { hostRules: 'tunnel-start', policyRouting: false, firewall: true, ipv6: true },
  check,
  emit,
};
