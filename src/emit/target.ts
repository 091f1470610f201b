/**
 * The contract between the core and a target (one OS).
 *
 * A target declares what it can express (`capabilities`); the core refuses a
 * plan that needs something a target lacks, with a coded diagnostic, before
 * anything is rendered. `emit` is pure: Plan in, files out.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Deployment } from '../mdm/deployment.js';
import type { Plan } from '../plan/types.js';
import type { TargetOptions } from '../profile/target-options.js';
import type { FirewallTableLimit, RouteLimit } from './limits.js';

/**
 * Bytes written on demand (PrefixSet.cidrChunks): each call gives the chunks afresh, and a
 * chunk is valid only until the next one is asked for (one buffer is reused).
 */
export type ChunkSource = () => Iterable<Uint8Array>;

/**
 * A file's content as UTF-8: one buffer, or its pieces in order, each a buffer or a
 * ChunkSource. Never joined on the way out: hashed and written chunk by chunk, so a list of
 * 678,000 prefixes is never held whole.
 */
export type FileBytes = Uint8Array | readonly (Uint8Array | ChunkSource)[];

/** Every chunk of `b`, in order; one from a ChunkSource is valid only until the next. */
export function* chunksOf(b: FileBytes): Generator<Uint8Array, void, undefined> {
  if (b instanceof Uint8Array) {
    yield b;
    return;
  }
  for (const piece of b) {
    if (piece instanceof Uint8Array) yield piece;
    else yield* piece();
  }
}

/** `b` as one buffer (chunks copied): for a reader of the text, not for writing. */
export function joinedBytes(b: FileBytes): Buffer {
  if (b instanceof Uint8Array) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const parts: Buffer[] = [];
  for (const c of chunksOf(b)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export interface Artifact {
  /** Relative to the target's output folder, `/`-separated. */
  readonly path: string;
  readonly text: string;
  /** `text` as UTF-8 when the target wrote bytes (a prefix list written from a set's numbers): written and hashed as they are. */
  readonly bytes?: FileBytes;
  /** 0o755 for scripts an admin runs; 0o644 otherwise. */
  readonly mode: number;
}

/** How a target turns Split Tunnel host entries into routes (and firewall entries). */
export type HostEntryCapability =
  /** A warpc runtime routes the addresses of every DNS answer the proxy sees, as they arrive. */
  | { readonly by: 'dns-answer' }
  /** Exact names are resolved once, `when` (a phrase: "when the tunnel starts"); later changes are not followed. */
  | { readonly by: 'resolve-once'; readonly when: string }
  /** Not at all: a profile with host entries is refused. */
  | { readonly by: 'none' };

/**
 * A reduced second form of a target's apply/revert files (Windows: netsh scripts for
 * machines without the PowerShell modules): which files, the full form's files, and
 * what the reduced form cannot do (each absent field: it can).
 */
export interface ReducedVariant {
  readonly apply: string;
  readonly revert: string;
  /** The tool the reduced form drives (`netsh`). */
  readonly tool: string;
  readonly fullApply: string;
  readonly fullRevert: string;
  /** Why the reduced form has no firewall rules. */
  readonly noFirewall?: string;
  /** Why the reduced form does not set the DNS suffix search list. */
  readonly noDnsSearch?: string;
  /** Its revert sets every adapter's DNS servers back to automatic (DHCP) rather than to what they were. */
  readonly revertDnsToDhcp?: boolean;
  /** Its revert gives the tunnel adapter a fixed metric even if it was automatic. */
  readonly revertFixedMetric?: boolean;
}

/**
 * What a target can express, as data. The core (src/emit/capabilities.ts, called by compile and check)
 * derives every limitation diagnostic from this table, one code per limitation;
 * route forms and DNS server addresses come from shared helpers that read it
 * (src/emit/view.ts), not from the target.
 */
export interface TargetCapabilities {
  /** Policy routing: a rule sends the device's unmarked packets to a table of their own, so exclude mode is a default route plus `throw` routes for the direct set. */
  readonly policyRouting: boolean;
  /**
   * Routes that take prefixes out of a wider tunnel route (NetworkExtension excludedRoutes,
   * VpnService.excludeRoute): always, only from a release on (`since`, with a second form
   * for older releases), or never (exclude mode routes the tunnel set, the minimal complement).
   */
  readonly excludeRoute: boolean | { readonly since: string };
  /** Split Tunnel host entries. */
  readonly hostEntries: HostEntryCapability;
  /** Wildcard host entries (`*.name`): they name no address, so only a target that follows DNS answers can route them. */
  readonly wildcardHosts: boolean;
  /**
   * Host entries that go direct: routed past the tunnel (`true`), by excludeRoute (so only
   * where excludeRoute is available), or not at all (`{ no: why }`: their addresses stay in the tunnel).
   */
  readonly directHosts: true | 'exclude-route' | { readonly no: string };
  /** The addresses the OS resolver is pointed at: the proxy's own (IPv4 and unique-local IPv6), or its IPv4 ones plus the IPv4-mapped IPv6 address DNS_PROXY_V6_WINDOWS (Windows). */
  readonly dnsServers: 'proxy' | 'ipv4-mapped-v6';
  /** The firewall that keeps tunnel-bound traffic off other interfaces. */
  readonly firewall: boolean;
  /** IPv6 routes: yes, only with an IPv6 interface address (without one they capture but do not connect), or not at all. */
  readonly ipv6: true | 'needs-address' | false;
  /** service_mode proxy: warpc runs the local proxy (`true`), or `runBy` does and the target's files say so. */
  readonly localProxy: true | { readonly runBy: string };
  /** A MASQUE tunnel (CONNECT-IP over HTTP/2): carried by the warpc runtime (`true`), or not at all (`{ no: why }`). */
  readonly masque: true | { readonly no: string };
  /** A reduced second form of the apply/revert files, if the target writes one. */
  readonly reducedVariant?: ReducedVariant;
  /** How many tunnel routes the target's form can practically install (src/emit/limits.ts); absent: no bound short of what warpc can build. */
  readonly maxRoutes?: RouteLimit;
  /** How many addresses the firewall's tables hold by default (src/emit/limits.ts): past it, a warning says how to raise it; absent: no such default. */
  readonly firewallTableLimit?: FirewallTableLimit;
}

export interface EmitContext {
  /** warpc's version, for headers. */
  readonly compilerVersion: string;
  /** The profile's `deployment:` section, read and its secrets resolved (target mdm); absent or null: none. */
  readonly deployment?: Deployment | null;
}

export interface TargetModule {
  readonly name: string;
  readonly description: string;
  readonly capabilities: TargetCapabilities;
  /**
   * The target's own profile options (`targets.<name>`): schema fragment, defaults and
   * checks, declared in targets/<name>/options.ts. The profile schema is assembled from
   * every row's fragment (src/profile/schema.ts); absent: the target takes no options.
   */
  readonly options?: TargetOptions;
  /**
   * What only this target knows about the plan, beyond its capabilities (a description
   * its language cannot quote, say). Limitations that follow from `capabilities` are
   * the core's job, never reported here.
   */
  check?(plan: Plan): Diagnostic[];
  emit(plan: Plan, ctx: EmitContext): Artifact[];
}
