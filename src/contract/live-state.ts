/**
 * What a runtime platform hands `warpc status --diff`: the live state of every
 * area warpc changes and what a compiled plan wants there, both as canonical
 * lines (one format per area, the same reader on both sides where it can be),
 * so the comparison (src/status-diff/) needs no OS knowledge and the platform
 * decides nothing about what counts as drift.
 */

/** One comparable piece of state: a routing table of one family, an nft set, a chain, resolv.conf, … */
export interface LiveGroup {
  /** routes, rules, nft, dns or proxy. */
  readonly area: 'routes' | 'rules' | 'nft' | 'dns' | 'proxy';
  /** What this group is, for people: "IPv4 table 65743", "set direct4", "chain output". */
  readonly name: string;
  /** Whether order matters (chain rules, resolv.conf): compared as sequences; otherwise as sets. */
  readonly ordered: boolean;
  /** What the plan wants, canonical lines. */
  readonly expected: readonly string[];
  /** What the device has, canonical lines (empty when the area is absent: a deleted table, no agent). */
  readonly live: readonly string[];
}

/** Something the agent adds while it runs (host entries from DNS answers): shown, never drift. */
export interface RuntimeEntry {
  readonly kind: 'route' | 'element';
  /** The route line or `set value`. */
  readonly value: string;
  /** Seconds before the element expires (nft elements), null for routes. */
  readonly expires_seconds: number | null;
}

export interface LiveStateReport {
  readonly state_dir: string;
  /** The compiled folder compared against, and where it came from. */
  readonly compiled_dir: string;
  readonly plan_source: 'argument' | 'journal';
  readonly manifest_sha256: string;
  /** Whether the agent runs exactly this plan (the journal's open plan has this manifest). */
  readonly plan_is_running: boolean;
  readonly journal_state: string;
  readonly agent_running: boolean;
  readonly dns_manager: string | null;
  readonly groups: readonly LiveGroup[];
  readonly runtime: readonly RuntimeEntry[];
  /** Facts the reader wants to know but that are not drift lines (not running, an area the plan does not use). */
  readonly notes: readonly string[];
}
