/**
 * The Plan: every routing, firewall and DNS decision, made once, OS-agnostic.
 *
 * Targets translate a Plan into their own syntax and never decide anything
 * themselves; `warpc explain` answers from the Plan. All prefix sets are
 * minimal and exact (see src/net/prefix-set.ts).
 */
import type { V6Prefixes } from '../net/ip.js';
import type { DualSet } from '../net/prefix-set.js';
import type { HostPattern } from '../net/names.js';
import type { Pos, Profile, ServiceMode, SplitMode } from '../profile/types.js';

export type Path = 'tunnel' | 'direct';

/** What the service mode lets warpc change on the device. */
export interface Features {
  /** The local DNS proxy and pointing the OS resolver at it. */
  readonly dns: boolean;
  /** The WireGuard tunnel interface. */
  readonly tunnel: boolean;
  /** Routes (and policy rules) that send traffic into the tunnel. */
  readonly routes: boolean;
  /** Firewall rules that keep tunnel-bound traffic off other interfaces. */
  readonly firewall: boolean;
  /** A local SOCKS5/HTTP proxy instead of OS routing (service_mode: proxy). */
  readonly localProxy: boolean;
}

/** Why an address bypasses the tunnel whatever the Split Tunnel list says. */
export type BypassReason = 'tunnel_endpoint' | 'orchestration' | 'doh_direct';

export interface BypassAddress {
  readonly address: string;
  readonly reason: BypassReason;
}

/**
 * Why an address takes its path: the rule that put it there, by the plan's
 * precedence (bypass > always_tunnel > the most specific entry > DoH via the
 * tunnel in include mode > the mode's default). `loopback` is only for
 * fallback servers (their queries never leave the device).
 */
export type AddressReason =
  | { readonly kind: 'no_routing'; readonly serviceMode: string }
  | { readonly kind: 'bypass'; readonly bypass: BypassAddress }
  | { readonly kind: 'always_tunnel'; readonly rule: AddressRule }
  | { readonly kind: 'entry'; readonly rule: AddressRule }
  | { readonly kind: 'doh_tunnel' }
  | { readonly kind: 'mode_default'; readonly mode: SplitMode }
  | { readonly kind: 'loopback' };

/** The path one address takes, and why: recorded in the plan, read by explain and by every artifact. */
export interface AddressDecision {
  /** Canonical address. */
  readonly address: string;
  readonly path: Path;
  readonly reason: AddressReason;
}

/** One input to the split-tunnel computation, kept for `explain` and for diagnostics. */
export interface AddressRule {
  /** Canonical CIDR. */
  readonly cidr: string;
  readonly source: 'entry' | 'always_tunnel';
  readonly description: string;
  readonly pos: Pos;
  readonly isDefault: boolean;
  /**
   * An IPv4 `cidr` as one number (`network * 64 + length`, src/net/canonical.ts; -1 for IPv6), when
   * the rule is an entry validation parsed: what code that reads 100,000s of rules reads instead of the text.
   */
  readonly v4?: number;
  /** An IPv6 `cidr`'s place in `v6Prefixes` (-1 for IPv4), when the rule is an entry validation parsed: the same, as words. */
  readonly v6?: number;
  readonly v6Prefixes?: V6Prefixes;
}

/** A Split Tunnel host entry, enforced at run time by the DNS proxy. */
export interface HostRule {
  readonly pattern: HostPattern;
  /** Canonical text: `name` or `*.name`. */
  readonly text: string;
  /** Where addresses resolved for a matching name go. */
  readonly action: Path;
  readonly description: string;
  readonly pos: Pos;
}

/** A fallback server: the path queries to it take (from the Split Tunnel sets; loopback stays local) and why. */
export type FallbackServer = AddressDecision;

export interface FallbackRule {
  readonly suffix: string;
  /** Empty when `useSystemResolvers`. */
  readonly servers: readonly FallbackServer[];
  /** No dns_server given: the resolvers the device had before warpc took over DNS. */
  readonly useSystemResolvers: boolean;
  readonly description: string;
  readonly pos: Pos;
}

export interface DnsPlan {
  /** Where the local proxy listens (port 53). */
  readonly listen: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  readonly doh: {
    readonly url: string;
    /** dns.doh_via as the profile asks. */
    readonly requestedVia: Path;
    /** Each bootstrap address (profile order) with the path it actually takes and why. */
    readonly addresses: readonly AddressDecision[];
    /** The actual path of DoH traffic: the path of every address, or `mixed` when they differ. */
    readonly via: Path | 'mixed';
  };
  readonly search: readonly string[];
  /** Longest suffix wins; sorted by suffix for determinism. */
  readonly fallback: readonly FallbackRule[];
  /** Names the proxy answers itself, with their addresses. */
  readonly localAnswers: readonly { readonly name: string; readonly addresses: readonly string[] }[];
}

export interface TunnelPlan {
  readonly protocol: 'wireguard' | 'masque';
  readonly endpoint: { readonly host: string; readonly port: number };
  /** WireGuard's peer key; null for MASQUE (its server is pinned in `masque`). */
  readonly peerPublicKey: string | null;
  /** MASQUE (CONNECT-IP over HTTP/2): the server's pin (`sha256/BASE64`), SNI and CONNECT authority; null for WireGuard. */
  readonly masque: { readonly serverPin: string; readonly sni: string; readonly authority: string } | null;
  /** What the peer may send us / we send to it: everything the routes can steer in. */
  readonly allowedIps: readonly string[];
}

export interface Plan {
  readonly name: string;
  readonly serviceMode: ServiceMode;
  readonly features: Features;
  readonly interface: { readonly ipv4: string; readonly ipv6: string | null; readonly mtu: number };
  readonly split: {
    readonly mode: SplitMode;
    /** Destinations whose packets go into the tunnel (address rules only; hosts are run-time). */
    readonly tunnel: DualSet;
    /** The complement of `tunnel`: destinations that go directly. */
    readonly direct: DualSet;
    /** The address inputs, in profile order (entries then always_tunnel). */
    readonly rules: readonly AddressRule[];
    readonly hosts: readonly HostRule[];
    /** Addresses that always bypass the tunnel (subtracted from `tunnel`). */
    readonly bypass: readonly BypassAddress[];
    /** DoH addresses that dns.doh_via: tunnel adds to an include-mode tunnel (bypass still wins); empty otherwise. */
    readonly dohTunnel: readonly string[];
  };
  /** Null when the service mode has no tunnel. */
  readonly tunnel: TunnelPlan | null;
  /** Null when the service mode leaves DNS to the OS. */
  readonly dns: DnsPlan | null;
  /** A local proxy (service_mode: proxy), otherwise null. */
  readonly localProxy: { readonly address: string; readonly port: number } | null;
  /** Per-OS options, as validated from the profile. */
  readonly targets: Profile['targets'];
}
