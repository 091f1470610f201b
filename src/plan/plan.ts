/**
 * Profile → Plan. Every decision is made here, once:
 *
 *   bypass  = tunnel endpoint ∪ orchestration addresses ∪ (DoH addresses when doh_via: direct)
 *   exclude = tunnel = ((all − excluded) ∪ always_tunnel) − bypass
 *   include = tunnel = (included ∪ always_tunnel ∪ (DoH addresses when doh_via: tunnel)) − bypass
 *   direct  = all − tunnel
 *
 * Service modes without routing (1dot1, proxy, posture_only) send everything direct.
 *
 * Which path one address takes, and why, is decided by decideAddress alone: the
 * plan records that decision for every DoH address and fallback server, and
 * explain and dns-proxy.json read it from there (DoH's `via` is the path its
 * addresses actually take, `mixed` when they differ).
 */
import { MASQUE_AUTHORITY } from '../contract/masque.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatAddress, formatPrefix, parseAddress, parsePrefix, prefixContains, putV6Words, sharedV6Prefixes, V6Prefixes, type Address, type Prefix } from '../net/ip.js';
import { POW2, v4Length, v4Network } from '../net/canonical.js';
import { DualSet, PrefixSet } from '../net/prefix-set.js';
import { parseHostPattern } from '../net/names.js';
import { DNS_PROXY_SELF_NAMES, DNS_PROXY_V4, DNS_PROXY_V6, LOCAL_PROXY } from '../profile/defaults.js';
import type { Profile, ServiceMode, SplitEntry } from '../profile/types.js';
import type { AddressDecision, AddressRule, BypassAddress, DnsPlan, Features, FallbackRule, HostRule, Path, Plan, TunnelPlan } from './types.js';

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

/** Why a DoH address is in an include-mode tunnel although no entry lists it. */
export const DOH_TUNNEL_WHY = 'it is a DoH address and dns.doh_via is tunnel';

/**
 * The path of one address and the rule that decided it: the one place this is
 * decided. The path comes from the computed sets (what every target renders);
 * the reason replays the algebra's precedence: bypass > always_tunnel > the
 * most specific entry > DoH via the tunnel (include mode) > the mode's default.
 * The plan records this for its DoH addresses and fallback servers; explain
 * answers every address with it.
 */
export function decideAddress(plan: Pick<Plan, 'serviceMode' | 'features' | 'split'>, address: Address): AddressDecision {
  return decideAddresses(plan, [address])[0]!;
}

/** decideAddress for each of `addresses`, in one pass over the rules (a plan decides its DoH addresses and fallback servers against 100,000s). */
export function decideAddresses(plan: Pick<Plan, 'serviceMode' | 'features' | 'split'>, addresses: readonly Address[]): AddressDecision[] {
  const out: AddressDecision[] = [];
  const texts = addresses.map((a) => formatAddress(a.family, a.value));
  const paths = addresses.map((a): Path => (DualSet.contains(plan.split.tunnel, a) ? 'tunnel' : 'direct'));
  // The addresses no bypass decides: the rules' turn.
  const pending: number[] = [];
  addresses.forEach((address, i) => {
    if (!plan.features.routes) out[i] = { address: texts[i]!, path: paths[i]!, reason: { kind: 'no_routing', serviceMode: plan.serviceMode } };
    else {
      const bypass = plan.split.bypass.find((b) => sameAddress(parseAddress(b.address)!, address));
      if (bypass) out[i] = { address: texts[i]!, path: paths[i]!, reason: { kind: 'bypass', bypass } };
      else pending.push(i);
    }
  });
  if (pending.length === 0) return out;
  // The most specific rule of each source that contains each address.
  const index = ruleIndex(plan.split.rules);
  const { lengths, always: fromAlways } = index;
  const rules = plan.split.rules;
  const m = pending.length;
  const numbers = addressNumbers(pending.map((i) => addresses[i]!));
  const always = new Int32Array(m).fill(-1);
  const entry = new Int32Array(m).fill(-1);
  for (let r = 0; r < rules.length; r++) {
    const length = lengths[r]!;
    for (let k = 0; k < m; k++) {
      if (!ruleHolds(index, r, numbers, k)) continue;
      if (fromAlways[r] === 1) {
        if (always[k]! < 0 || length > lengths[always[k]!]!) always[k] = r;
      } else if (entry[k]! < 0 || length > lengths[entry[k]!]!) entry[k] = r;
    }
  }
  pending.forEach((i, k) => {
    const d = { address: texts[i]!, path: paths[i]! };
    if (always[k]! >= 0) out[i] = { ...d, reason: { kind: 'always_tunnel', rule: rules[always[k]!]! } };
    else if (entry[k]! >= 0) out[i] = { ...d, reason: { kind: 'entry', rule: rules[entry[k]!]! } };
    else if (plan.split.dohTunnel.some((s) => sameAddress(parseAddress(s)!, addresses[i]!))) out[i] = { ...d, reason: { kind: 'doh_tunnel' } };
    else out[i] = { ...d, reason: { kind: 'mode_default', mode: plan.split.mode } };
  });
  return out;
}

/**
 * Each rule's prefix as numbers, made once per rule list: a plan decides several addresses against
 * 100,000 rules, and comparing numbers makes no bigint per rule and address. For rule i: its
 * length, and for IPv4 its half-open range [network, end) in `v4` (a pair per rule; an end of 0
 * marks a rule that is not IPv4), for IPv6 its prefix at place at6[i] of v6[i] (at6[i] is -1 for a
 * rule that is not IPv6). An entry validation parsed (`v4`, `v6`) is not parsed or copied again.
 */
interface RuleIndex {
  readonly lengths: Uint8Array;
  readonly v4: Float64Array;
  readonly v6: readonly (V6Prefixes | undefined)[];
  readonly at6: Int32Array;
  /** 1 for an always_tunnel rule. */
  readonly always: Uint8Array;
}
const RULE_INDEX = new WeakMap<readonly AddressRule[], RuleIndex>();
function ruleIndex(rules: readonly AddressRule[]): RuleIndex {
  let index = RULE_INDEX.get(rules);
  if (index === undefined || index.lengths.length !== rules.length) {
    const n = rules.length;
    const lengths = new Uint8Array(n);
    const v4 = new Float64Array(2 * n);
    const v6 = new Array<V6Prefixes | undefined>(n).fill(undefined);
    const at6 = new Int32Array(n).fill(-1);
    let parsed6: V6Prefixes | undefined; // the IPv6 rules parsed here
    const always = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      // An entry carries what validation parsed (`v4`, or `v6` in its list's words); an always_tunnel rule is parsed here.
      const r = rules[i]!;
      if (r.source === 'always_tunnel') always[i] = 1;
      if (r.v6 !== undefined && r.v6 >= 0) {
        v6[i] = r.v6Prefixes!;
        at6[i] = r.v6;
        lengths[i] = r.v6Prefixes!.lengths[r.v6]!;
        continue;
      }
      let packed = r.v4 ?? -1;
      if (packed < 0) {
        const parsed = parsePrefix(r.cidr);
        if (!parsed.ok) continue;
        const p = parsed.prefix;
        if (p.family === 6) {
          v6[i] = parsed6 ??= new V6Prefixes();
          at6[i] = parsed6.add(p);
          lengths[i] = p.length;
          continue;
        }
        packed = Number(p.network) * 64 + p.length;
      }
      lengths[i] = v4Length(packed);
      v4[2 * i] = v4Network(packed);
      v4[2 * i + 1] = v4Network(packed) + POW2[32 - lengths[i]!]!;
    }
    index = { lengths, v4, v6, at6, always };
    RULE_INDEX.set(rules, index);
  }
  return index;
}

/** Addresses as numbers for ruleHolds: an IPv4 one in `v4` (-1 for IPv6), an IPv6 one as four words at its place in `v6`. */
interface AddressNumbers {
  readonly v4: Float64Array;
  readonly v6: Uint32Array;
}
function addressNumbers(addresses: readonly Address[]): AddressNumbers {
  const v4 = Float64Array.from(addresses, (a) => (a.family === 4 ? Number(a.value) : -1));
  const v6 = new Uint32Array(4 * addresses.length);
  addresses.forEach((a, k) => {
    if (a.family === 6) putV6Words(v6, k, a.value);
  });
  return { v4, v6 };
}

/** Does rule r of the index hold address k? */
function ruleHolds(index: RuleIndex, r: number, a: AddressNumbers, k: number): boolean {
  const hi = index.v4[2 * r + 1]!;
  if (hi !== 0) return a.v4[k]! >= index.v4[2 * r]! && a.v4[k]! < hi;
  const p = index.at6[r]!;
  return a.v4[k]! < 0 && p >= 0 && index.v6[r]!.contains(p, a.v6, k);
}

/** An address entry's IPv4 prefix as a number (`network * 64 + length`), -1 for IPv6: what validation made, or parsed now. */
function entryV4(e: Extract<SplitEntry, { kind: 'address' }>): number {
  if (e.v4 !== undefined) return e.v4;
  const p = e.prefix ?? mustPrefix(e.address);
  return p.family === 4 ? Number(p.network) * 64 + p.length : -1;
}

/** The IPv6 prefixes of the address entries `isV4` does not mark, made elsewhere than one validated list (copied, or parsed), as words. */
function entriesV6(entries: readonly Extract<SplitEntry, { kind: 'address' }>[], isV4: Uint8Array): V6Prefixes {
  const out = new V6Prefixes(entries.length);
  for (let i = 0; i < entries.length; i++) {
    if (isV4[i] === 1) continue;
    const e = entries[i]!;
    if (e.v6 !== undefined && e.v6 >= 0) out.addFrom(e.v6Prefixes!, e.v6);
    else out.add(e.prefix ?? mustPrefix(e.address));
  }
  return out;
}

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
  // Validation parsed and formatted each address entry already (its text is canonical), and the entry is its own rule.
  const rules: AddressRule[] = profile.splitTunnel.entries.filter((e) => e.kind === 'address');
  // The listed prefixes: IPv4 as numbers (network * 64 + length: validation made them, no bigint per entry), IPv6 as
  // words: the list's own V6Prefixes when validation wrote every IPv6 entry into it, in order (no copy, no array of them).
  const listed4 = new Float64Array(rules.length);
  const isV4 = new Uint8Array(rules.length);
  let n4 = 0;
  for (let i = 0; i < rules.length; i++) {
    const packed = entryV4(rules[i] as Extract<SplitEntry, { kind: 'address' }>);
    if (packed < 0) continue;
    listed4[n4++] = packed;
    isV4[i] = 1;
  }
  const v6 = sharedV6Prefixes(rules, (i) => isV4[i] === 0) ?? entriesV6(rules as Extract<SplitEntry, { kind: 'address' }>[], isV4);
  const listedSet: DualSet = { v4: PrefixSet.fromV4Values(listed4.subarray(0, n4)), v6: PrefixSet.fromV6Words(v6.words.subarray(0, 4 * v6.count), v6.lengths.subarray(0, v6.count)) };
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
  let direct: DualSet | undefined;
  let dohTunnel: string[] = [];
  if (!routed) {
    tunnel = DualSet.empty();
  } else if (profile.splitTunnel.mode === 'exclude') {
    // ((all − excluded) ∪ always) − bypass is all − ((excluded − always) ∪ bypass): the direct set
    // first, the tunnel its complement. The same sets, one complement fewer, and with few always
    // and bypass addresses against many entries, the subtraction and union answer the entries' own set.
    direct = DualSet.union(DualSet.subtract(listedSet, DualSet.of(always)), bypassSet);
    tunnel = DualSet.complement(direct);
  } else {
    dohTunnel = profile.dns.dohVia === 'tunnel' && features.dns ? [...profile.dns.dohAddresses] : [];
    tunnel = DualSet.subtract(DualSet.union(listedSet, DualSet.of([...always, ...dohTunnel.map((a) => hostPrefix(parseAddress(a)!))])), bypassSet);
    // The entries that hold the endpoint (which bypasses the tunnel all the same), by the rule index
    // decideAddresses reads too (made once for the rules).
    const index = ruleIndex(rules);
    const endpoint = addressNumbers([parseAddress(profile.tunnel.endpoint.host)!]);
    rules.forEach((e, r) => {
      if (e.source === 'entry' && ruleHolds(index, r, endpoint, 0)) ds.push(diag('EndpointInsideTunnelOnly', { value: e.cidr, endpoint: profile.tunnel.endpoint.host }, e.pos));
    });
  }
  direct ??= DualSet.complement(tunnel);
  const split: Plan['split'] = { mode: profile.splitTunnel.mode, tunnel, direct, rules, hosts: [], bypass, dohTunnel };
  // The addresses the plan records a decision for, decided together (one pass over the rules).
  const toDecide = [...new Set([...profile.dns.dohAddresses, ...(features.dns ? profile.fallbackDomains.flatMap((f) => f.dnsServers) : [])])];
  const decisions = decideAddresses(
    { serviceMode: profile.serviceMode, features, split },
    toDecide.map((a) => parseAddress(a)!),
  );
  const decided = new Map(toDecide.map((a, i) => [a, decisions[i]!]));
  const decide = (address: string): AddressDecision => decided.get(address)!;

  /* DoH goes inside the tunnel when dns.doh_via says so, unless a bypass or an exclude entry keeps an address out. */
  const dohDecisions = profile.dns.dohAddresses.map(decide);
  if (routed && features.dns && profile.dns.dohVia === 'tunnel') {
    dohDecisions.forEach((d, i) => {
      if (d.path === 'tunnel') return;
      let reason: string;
      if (d.reason.kind === 'bypass') reason = BYPASS_WHY[d.reason.bypass.reason];
      else if (d.reason.kind === 'entry') {
        // Exclude mode is the only other way out of the tunnel.
        const e = d.reason.rule;
        reason = `split tunnel exclude entry ${e.cidr} (${e.isDefault ? 'a default entry' : `line ${e.pos.line}`}) contains it`;
      } else throw new Error(`DoH address ${d.address} is outside the tunnel for no reason (${d.reason.kind})`);
      const address = profile.dns.dohAddresses[i]!;
      ds.push(diag('DohAddressOutsideTunnel', { address, reason }, profile.dns.dohAddressPos.get(address)!));
    });
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
    const serverDecision = (address: string): AddressDecision => {
      const a = parseAddress(address)!;
      if (LOOPBACK.some((p) => prefixContains(p, a))) return { address, path: 'direct', reason: { kind: 'loopback' } };
      return { ...decide(address), address };
    };
    const fallback: FallbackRule[] = profile.fallbackDomains.map((f) => {
      const servers = f.dnsServers.map(serverDecision);
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
      doh: {
        url: profile.dns.dohUrl,
        requestedVia: profile.dns.dohVia,
        addresses: dohDecisions.map((d, i) => ({ ...d, address: profile.dns.dohAddresses[i]! })),
        via: dohDecisions.every((d) => d.path === 'tunnel') ? 'tunnel' : dohDecisions.every((d) => d.path === 'direct') ? 'direct' : 'mixed',
      },
      search: profile.dns.search,
      fallback,
      localAnswers: DNS_PROXY_SELF_NAMES.map((name) => ({ name, addresses: [...DNS_PROXY_V4] })),
    };
  }

  let tunnelPlan: TunnelPlan | null = null;
  if (features.tunnel) {
    const masque = profile.tunnel.protocol === 'masque';
    if (!masque && profile.tunnel.peerPublicKey === null) ds.push(diag('NoPeerKey', {}, { line: 0, col: 0, path: ['tunnel', 'peer_public_key'] }));
    tunnelPlan = {
      protocol: profile.tunnel.protocol,
      endpoint: profile.tunnel.endpoint,
      peerPublicKey: masque ? null : profile.tunnel.peerPublicKey,
      // Validation refuses a MASQUE profile without a pin, so both are set here.
      masque: masque ? { serverPin: profile.tunnel.peerPublicKey ?? '', sni: profile.tunnel.sni ?? '', authority: MASQUE_AUTHORITY } : null,
      // Routing decides what enters the tunnel; the peer may answer from anywhere (host rules add addresses at run time).
      allowedIps: ['0.0.0.0/0', '::/0'],
    };
  }

  const plan: Plan = {
    name: profile.name,
    serviceMode: profile.serviceMode,
    features,
    interface: profile.interface,
    split: { ...split, hosts },
    tunnel: tunnelPlan,
    dns,
    localProxy: features.localProxy ? { address: LOCAL_PROXY.address, port: LOCAL_PROXY.port } : null,
    targets: profile.targets,
  };
  return { plan, diagnostics: ds };
}
