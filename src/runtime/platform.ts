/**
 * The runtime platform seam: everything `warpc up`, `try`, `down`, `confirm`,
 * `recover` and `status` need from the OS they run on, behind one interface.
 *
 * A platform applies a compiled folder of its own target (OUT/<target>) as one
 * transaction — tunnel link, routes and rules, firewall, the OS's DNS manager,
 * the DNS proxy — supervises it in the foreground, and restores its journal's
 * snapshot on the way out, after a failure, or after a crash. It decides
 * nothing about policy: the compiled folder (src/contract/) says what to apply.
 *
 * src/runtime/linux/ is the one implementation. A second platform gets its own
 * folder under src/runtime/, implements RuntimePlatform, and adds one row to
 * LOADERS below; the CLI does not change. This file must not import a platform
 * eagerly: `warpc check` and `--version` never load runtime code.
 */
import type { DeviceOverride } from '../contract/device-override.js';
import type { LiveStateReport } from '../contract/live-state.js';
import type { DnsManagerChoice } from '../contract/settings.js';

/** What `up` and `try` ask for. */
export interface AgentRequest {
  /** The compiled folder of this platform's target (OUT/<target>); its manifest is in the parent. */
  readonly compiledDir: string;
  readonly stateDir: string;
  /** Files such as /etc/resolv.conf are read and written below this folder (tests, containers). */
  readonly root: string;
  readonly dnsManager?: DnsManagerChoice;
  /** Extra CA certificates (PEM file) for the DoH server. */
  readonly dohCa?: string;
  readonly mode: 'up' | 'try';
  readonly tryTimeoutSeconds?: number;
  /** An enrolled device's own addresses and gateway peer, over every plan this agent applies (up and live apply). */
  readonly override?: DeviceOverride;
  /** Aborting it stops the agent as SIGTERM does (restore included): the orchestrated agent's revocation. */
  readonly stop?: AbortSignal;
  /** Called once the plan is up and the control socket listens, with an in-process live apply (what warpc apply does): it resolves with the summary or throws with why nothing changed. */
  readonly onReady?: (apply: (compiledDir: string) => Promise<string[]>) => void;
}

/** `warpc status`: the journal and the tunnel, snake_case for JSON. */
export interface StatusReport {
  state_dir: string;
  journal_state: string;
  mode: string | null;
  agent_running: boolean;
  pid: number | null;
  started_at: string | null;
  steps_done: string[];
  try_deadline: string | null;
  /** sha256 of the running plan's manifest.json, and when it was applied (up or apply). */
  manifest_sha256: string | null;
  applied_at: string | null;
  /** The plan before the last apply. */
  previous: { manifest_sha256: string; compiled_dir: string; applied_at: string } | null;
  /** An `apply --timeout` waiting for `warpc confirm`. */
  apply_deadline: string | null;
  interface: string | null;
  tunnel_backend: string | null;
  /** wireguard or masque (null: no tunnel). */
  protocol: string | null;
  /** MASQUE: connecting, connected, backoff, stopped (WireGuard has no session state: null). */
  session_state: string | null;
  /** Packets through the tunnel (MASQUE; WireGuard's UAPI counts bytes only: null). */
  packets_rx: number | null;
  packets_tx: number | null;
  /** MASQUE: packets dropped while no session was up, sessions re-established, the last error. */
  dropped_packets: number | null;
  reconnects: number | null;
  last_error: string | null;
  public_key: string | null;
  listen_port: number | null;
  fwmark: string | null;
  endpoint: string | null;
  latest_handshake: string | null;
  latest_handshake_seconds_ago: number | null;
  transfer_rx: number | null;
  transfer_tx: number | null;
  peers: { public_key: string; endpoint: string | null; allowed_ips: string[]; latest_handshake: string | null; transfer_rx: number; transfer_tx: number }[];
  dns_manager: string | null;
  dns_manager_reason: string | null;
  routing_table: number | null;
  nft_table: string | null;
  last_restore: { done: string[]; errors: string[]; resolv: string } | null;
}

export interface RuntimePlatform {
  /** The OS, as Node names it (`process.platform`). */
  readonly os: NodeJS.Platform;
  /** The compile target whose folder this platform applies. */
  readonly target: string;
  readonly defaults: { readonly stateDir: string; readonly root: string };
  /** Apply and supervise in the foreground until a signal or `down`; restore on the way out (`try`: also at the deadline). */
  run(req: AgentRequest): Promise<void>;
  /** Stop the running agent and wait until the device is restored; restore from the journal when the agent is gone. */
  down(stateDir: string, root: string | undefined, timeoutSeconds: number): Promise<void>;
  /** Restore the snapshot of an open journal (after a crash); nothing to do when it is closed. */
  recover(stateDir: string, root: string | undefined): Promise<void>;
  /** Keep what a running `try` (or `apply --timeout`) applied. */
  confirm(stateDir: string): Promise<void>;
  /** Hand a new compiled folder to the running agent, which applies only the difference. */
  apply(stateDir: string, compiledDir: string, timeoutSeconds: number | undefined): Promise<void>;
  status(stateDir: string): Promise<StatusReport>;
  formatStatus(report: StatusReport): string;
  /**
   * `warpc status --diff`: the live state and what a compiled plan (default: the
   * journal's) wants, as canonical lines per area; changes nothing. AgentExit
   * with code 2 when there is nothing to compare (no plan, unreadable state).
   */
  liveState(req: { stateDir: string; compiledDir?: string; root?: string }): Promise<LiveStateReport>;
}

/** A runtime command's failure, with its exit code: the CLI prints the message and exits. */
export class AgentExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One row per platform: loaded only when a runtime command runs. */
const LOADERS: Partial<Record<NodeJS.Platform, () => Promise<RuntimePlatform>>> = {
  linux: async () => (await import('./linux/platform.js')).linuxPlatform,
};

/** The platform warpc runs on, or AgentExit when it has no runtime here (compiling works everywhere). */
export async function currentPlatform(os: NodeJS.Platform = process.platform): Promise<RuntimePlatform> {
  const load = LOADERS[os];
  if (!load) throw new AgentExit(1, `warpc's runtime does not run on ${os} yet (it runs on ${Object.keys(LOADERS).join(', ')}); compile this OS's artifacts with warpc compile --target and apply them with its scripts`);
  return load();
}

/** Defaults the CLI shows in --help without loading a platform. */
export const DEFAULT_STATE_DIR = '/var/lib/warpc';
export const DEFAULT_ROOT = '/';
