/**
 * Profile → Plan. Every decision is made here, once:
 *
 *   bypass  = tunnel endpoint ∪ orchestration addresses ∪ (DoH addresses when doh_via: direct)
 *   exclude = tunnel = ((all − excluded) ∪ always_tunnel) − bypass
 *   include = tunnel = (included ∪ always_tunnel ∪ (DoH addresses when doh_via: tunnel)) − bypass
 *   direct  = all − tunnel
 *
 * Service modes without routing (1dot1, proxy, posture_only) send everything direct.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatPrefix, parseAddress, parsePrefix, prefixContains, type Address, type Prefix } from '../net/ip.js';
import { DualSet } from '../net/prefix-set.js';
import { parseHostPattern } from '../net/names.js';
import { DNS_PROXY_SELF_NAMES, DNS_PROXY_V4, DNS_PROXY_V6, LOCAL_PROXY } from '../profile/defaults.js';
import type { Profile, ServiceMode } from '../profile/types.js';
import type { AddressRule, BypassAddress, DnsPlan, Features, FallbackRule, HostRule, Path, Plan, TunnelPlan } from './types.js';

const FEATURES: Record<ServiceMode, Features> = {
  warp: { dns: true, tunnel: true, routes: true, firewall: true, localProxy: false },
  '1dot1': { dns: true, tunnel: false, routes: false, firewall: false, localProxy: false },
  warp_tunnel_only: { dns: false, tunnel: true, routes: true, firewall: true, localProxy: false },
  proxy: { dns: false, tunnel: false, routes: false, firewall: false, localProxy: true },
  posture_only: { dns: false, tunnel: false, routes: false, firewall: false, localProxy: false },
};

export function featuresOf(mode: ServiceMode): Features {
  return FEATURES[mode];
}

/** Ranges a fallback server is "local" in: reaching one through the tunnel needs the gateway's help. */
const LOCAL_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'].map(mustPrefix);
const LOOPBACK = ['127.0.0.0/8', '::1/128'].map(mustPrefix);

function mustPrefix(text: string): Prefix {
  const r = parsePrefix(text);
  if (!r.ok) throw new Error(`bad built-in prefix ${text}`);
  return r.prefix;
}

/** Why an address bypasses the tunnel, in words (for explain and diagnostics). */
export const BYPASS_WHY: Record<BypassAddress['reason'], string> = {
  tunnel_endpoint: 'it is the tunnel endpoint, which always bypasses the tunnel',
  orchestration: 'it is a device orchestration address, which never follows Split Tunnel rules',
  doh_direct: 'it is a DoH address and dns.doh_via is direct',
};

function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}

function hostPrefix(a: Address): Prefix {
  return { family: a.family, network: a.value, length: a.family === 4 ? 32 : 128 };
}

export function buildPlan(profile: Profile): { plan: Plan; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const features = FEATURES[profile.serviceMode];
  const routed = features.routes;

  /* Bypass: what must never enter the tunnel. */
  const bypass: BypassAddress[] = [];
  const addBypass = (address: string, reason: BypassAddress['reason']): void => {
    if (!bypass.some((b) => b.address === address)) bypass.push({ address, reason });
  };
  addBypass(profile.tunnel.endpoint.host, 'tunnel_endpoint');
  for (const a of profile.orchestration.addresses) addBypass(a, 'orchestration');
  if (profile.dns.dohVia === 'direct') for (const a of profile.dns.dohAddresses) addBypass(a, 'doh_direct');
  const bypassSet = DualSet.of(bypass.map((b) => hostPrefix(parseAddress(b.address)!)));

  /* The address inputs, for the algebra and for explain. */
  const rules: AddressRule[] = [];
  const listed: Prefix[] = [];
  for (const e of profile.splitTunnel.entries) {
    if (e.kind !== 'address') continue;
    const p = mustPrefix(e.address);
    listed.push(p);
    rules.push({ cidr: formatPrefix(p), source: 'entry', description: e.description, pos: e.pos, isDefault: e.isDefault });
  }
  const always: Prefix[] = [];
  for (const a of profile.alwaysTunnel) {
    const p = mustPrefix(a.address);
    always.push(p);
    rules.push({ cidr: formatPrefix(p), source: 'always_tunnel', description: 'always in the tunnel', pos: a.pos, isDefault: a.pos.line === 0 });
    if (routed) {
      for (const b of bypass) {
        const addr = parseAddress(b.address)!;
        if (prefixContains(p, addr)) {
          ds.push(diag('AlwaysTunnelBypassed', { value: a.address, address: b.address, reason: b.reason.replace(/_/g, ' ') }, a.pos));
        }
      }
    }
  }

  let tunnel: DualSet;
  if (!routed) {
    tunnel = DualSet.empty();
  } else if (profile.splitTunnel.mode === 'exclude') {
    tunnel = DualSet.subtract(DualSet.union(DualSet.complement(DualSet.of(listed)), DualSet.of(always)), bypassSet);
  } else {
    const doh = profile.dns.dohVia === 'tunnel' && features.dns ? profile.dns.dohAddresses.map((a) => hostPrefix(parseAddress(a)!)) : [];
    tunnel = DualSet.subtract(DualSet.of([...listed, ...always, ...doh]), bypassSet);
    const endpoint = parseAddress(profile.tunnel.endpoint.host)!;
    for (const e of profile.splitTunnel.entries) {
      if (e.kind === 'address' && prefixContains(mustPrefix(e.address), endpoint)) {
        ds.push(diag('EndpointInsideTunnelOnly', { value: e.address, endpoint: profile.tunnel.endpoint.host }, e.pos));
      }
    }
  }
  const direct = DualSet.complement(tunnel);

  /* DoH goes inside the tunnel when dns.doh_via says so, unless a bypass or an exclude entry keeps an address out. */
  if (routed && features.dns && profile.dns.dohVia === 'tunnel') {
    for (const a of profile.dns.dohAddresses) {
      const addr = parseAddress(a)!;
      if (DualSet.contains(tunnel, addr)) continue;
      const b = bypass.find((x) => sameAddress(parseAddress(x.address)!, addr));
      let reason: string;
      if (b) reason = BYPASS_WHY[b.reason];
      else {
        // Exclude mode is the only other way out of the tunnel.
        const e = profile.splitTunnel.entries.find((x) => x.kind === 'address' && prefixContains(mustPrefix(x.address), addr));
        if (e?.kind !== 'address') throw new Error(`DoH address ${a} is outside the tunnel for no reason`);
        reason = `split tunnel exclude entry ${e.address} (${e.isDefault ? 'a default entry' : `line ${e.pos.line}`}) contains it`;
      }
      ds.push(diag('DohAddressOutsideTunnel', { address: a, reason }, profile.dns.dohAddressPos.get(a)!));
    }
  }

  /* Host entries: enforced at run time by the DNS proxy. */
  const hostAction: Path = profile.splitTunnel.mode === 'exclude' ? 'direct' : 'tunnel';
  const hosts: HostRule[] = [];
  if (routed && features.dns) {
    for (const e of profile.splitTunnel.entries) {
      if (e.kind !== 'host') continue;
      const r = parseHostPattern(e.host);
      if (!r.ok) throw new Error(`unvalidated host pattern ${e.host}`);
      hosts.push({ pattern: r.pattern, text: e.host, action: hostAction, description: e.description, pos: e.pos });
    }
  }

  /* DNS. */
  let dns: DnsPlan | null = null;
  if (features.dns) {
    const pathOf = (address: string): Path => {
      const a = parseAddress(address)!;
      if (LOOPBACK.some((p) => prefixContains(p, a))) return 'direct';
      return DualSet.contains(tunnel, a) ? 'tunnel' : 'direct';
    };
    const fallback: FallbackRule[] = profile.fallbackDomains.map((f) => {
      const servers = f.dnsServers.map((address) => ({ address, path: pathOf(address) }));
      for (const s of servers) {
        const a = parseAddress(s.address)!;
        if (LOOPBACK.some((p) => prefixContains(p, a))) {
          ds.push(diag('LoopbackFallbackServer', { server: s.address, suffix: f.suffix }, f.pos));
        } else if (s.path === 'tunnel' && LOCAL_RANGES.some((p) => prefixContains(p, a))) {
          const kind = a.family === 4 ? 'private' : 'local';
          ds.push(diag('FallbackServerPath', { server: s.address, suffix: f.suffix, kind }, f.pos));
        }
      }
      return { suffix: f.suffix, servers, useSystemResolvers: servers.length === 0, description: f.description, pos: f.pos };
    });
    dns = {
      listen: { v4: [...DNS_PROXY_V4], v6: [...DNS_PROXY_V6] },
      doh: { url: profile.dns.dohUrl, addresses: profile.dns.dohAddresses, via: profile.dns.dohVia === 'direct' || !routed ? 'direct' : 'tunnel' },
      search: profile.dns.search,
      fallback,
      localAnswers: DNS_PROXY_SELF_NAMES.map((name) => ({ name, addresses: [...DNS_PROXY_V4] })),
    };
  }

  let tunnelPlan: TunnelPlan | null = null;
  if (features.tunnel) {
    if (profile.tunnel.peerPublicKey === null) ds.push(diag('NoPeerKey', {}, { line: 0, col: 0, path: ['tunnel', 'peer_public_key'] }));
    tunnelPlan = {
      protocol: 'wireguard',
      endpoint: profile.tunnel.endpoint,
      peerPublicKey: profile.tunnel.peerPublicKey,
      // Routing decides what enters the tunnel; the peer may answer from anywhere (host rules add addresses at run time).
      allowedIps: ['0.0.0.0/0', '::/0'],
    };
  }

  const plan: Plan = {
    name: profile.name,
    serviceMode: profile.serviceMode,
    features,
    interface: profile.interface,
    split: { mode: profile.splitTunnel.mode, tunnel, direct, rules, hosts, bypass },
    tunnel: tunnelPlan,
    dns,
    localProxy: features.localProxy ? { address: LOCAL_PROXY.address, port: LOCAL_PROXY.port } : null,
    targets: profile.targets,
  };
  return { plan, diagnostics: ds };
}
