/**
 * The validated profile: every field present, defaults filled, readonly.
 *
 * Field names follow the YAML contract (schema/profile.schema.json) converted to
 * camelCase. Positions (`Pos`) point back into the YAML for diagnostics.
 */
import type { Prefix, V6Prefixes } from '../net/ip.js';

import type { RawProfile } from './schema.js';

/* The enumerations, from the schema's enums (src/profile/schema.ts). */
export type ServiceMode = NonNullable<RawProfile['service_mode']>;
export type SplitMode = NonNullable<NonNullable<RawProfile['split_tunnel']>['mode']>;
export type DnsVia = NonNullable<NonNullable<RawProfile['dns']>['doh_via']>;

/** A location in the profile source, for diagnostics: JSON path plus resolved line/col. */
export interface Pos {
  /** JSON-pointer-like path into the document, e.g. ['split_tunnel', 'entries', 3]. */
  readonly path: readonly (string | number)[];
  /** 1-based line, 0 when the value came from a default. */
  readonly line: number;
  readonly col: number;
}

export type SplitEntry =
  | {
      readonly kind: 'address';
      /** Canonical CIDR. */
      readonly address: string;
      /**
       * `address` again, and where it came from: with these an entry is also the plan's rule for it
       * (src/plan/types.ts AddressRule), so a profile of 100,000 entries makes no second record each.
       */
      readonly cidr: string;
      readonly source: 'entry';
      readonly description: string;
      readonly pos: Pos;
      readonly isDefault: boolean;
      /** `address` parsed, when validation parsed it already (the plan reuses it instead of parsing again). */
      readonly prefix?: Prefix;
      /**
       * The same, for an IPv4 prefix, as one number (`network * 64 + length`, src/net/canonical.ts; -1 for
       * IPv6), when validation parsed it: what the plan and the redundancy check read at scale.
       */
      readonly v4?: number;
      /** An IPv6 prefix's place in `v6Prefixes` (-1 for IPv4), when validation parsed it: the same, as words. */
      readonly v6?: number;
      readonly v6Prefixes?: V6Prefixes;
      /** The address as the profile wrote it, when that is not the canonical `address` (diagnostics quote it). */
      readonly written?: string;
    }
  | { readonly kind: 'host'; readonly host: string; readonly description: string; readonly pos: Pos; readonly isDefault: boolean };

export interface FallbackDomain {
  /** Lowercased, without a trailing dot. */
  readonly suffix: string;
  /** Empty: use the resolvers the device had before warpc took over DNS. */
  readonly dnsServers: readonly string[];
  readonly description: string;
  readonly pos: Pos;
  readonly isDefault: boolean;
}

export interface Profile {
  readonly version: 1;
  readonly name: string;
  readonly serviceMode: ServiceMode;
  readonly splitTunnel: { readonly mode: SplitMode; readonly entries: readonly SplitEntry[]; readonly entriesAreDefault: boolean };
  readonly fallbackDomains: readonly FallbackDomain[];
  readonly fallbackDomainsAreDefault: boolean;
  readonly alwaysTunnel: readonly { readonly address: string; readonly pos: Pos }[];
  readonly interface: { readonly ipv4: string; readonly ipv6: string | null; readonly mtu: number };
  readonly tunnel: {
    readonly protocol: 'wireguard' | 'masque';
    readonly endpoint: { readonly host: string; readonly port: number };
    /** WireGuard: the peer's key (base64). MASQUE: the server's pin, always `sha256/BASE64`. */
    readonly peerPublicKey: string | null;
    /** MASQUE: the TLS server name; null for WireGuard. */
    readonly sni: string | null;
  };
  readonly dns: {
    readonly dohUrl: string;
    readonly dohAddresses: readonly string[];
    /** Where each of `dohAddresses` was written (line 0 for the defaults), for diagnostics. */
    readonly dohAddressPos: ReadonlyMap<string, Pos>;
    readonly dohVia: DnsVia;
    readonly search: readonly string[];
  };
  readonly orchestration: { readonly url: string; readonly addresses: readonly string[] };
  /** Which devices get this profile as a Cloudflare custom profile (`selector:`); null: the account's default profile. */
  readonly selector: {
    readonly policy_id: string;
    readonly name?: string;
    readonly match?: string;
    readonly precedence?: number;
    readonly enabled?: boolean;
    readonly description?: string;
  } | null;
  /** The `deployment:` section as written (MDM keys; src/mdm reads it when compiling for target mdm), null when absent. */
  readonly deployment: unknown;
  /** Each registered target's options (targets/<os>/options.ts), defaults filled in. */
  readonly targets: Readonly<TargetOptionsByName>;
}

/**
 * Each target's validated options, by target name. Empty here: every targets/<os>/options.ts
 * adds its own row by declaration merging (`declare module '…/src/profile/types.js'`), so a
 * new target or a new target option touches no file of src/profile/.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TargetOptionsByName {}
