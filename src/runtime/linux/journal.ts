/**
 * The journal: `<state-dir>/journal.json`, written (atomically, fsynced)
 * before warpc changes anything, updated after every step, closed when the
 * device is back to its snapshot. It carries everything a restore needs, so
 * `warpc recover` works even when the compiled folder is gone.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Executor } from '../exec.js';
import { processAlive } from '../proc.js';
import type { DeviceOverride } from '../../contract/device-override.js';
import type { DnsManager } from './dns-manager.js';
import type { NetSnapshot, RuleSpec } from './netstate.js';
import { atomicWrite, type ResolvSnapshot } from './resolv.js';

export type JournalState = 'applying' | 'committed' | 'reverting' | 'closed';

/** The steps of `up`, in order. The fault-injection hook names them. */
export const STEPS = ['verify', 'preflight', 'journal', 'tunnel', 'routes', 'firewall', 'dns', 'proxy', 'health', 'commit'] as const;
export type Step = (typeof STEPS)[number];

/** A compiled plan the agent runs (or ran). */
export interface PlanRef {
  manifest_sha256: string;
  compiled_dir: string;
  applied_at: string;
}

/**
 * `warpc apply` in progress: written before the first change and removed at the
 * end. The journal's restore data (rule_specs, resolv hashes, resolved script)
 * cover both plans while it is open, so a crash at any moment restores the
 * snapshot whole, and `recover` can say which plans were involved.
 */
export interface Transition {
  from: PlanRef;
  to: { manifest_sha256: string; compiled_dir: string };
  started_at: string;
  state: 'applying' | 'rolling-back';
  steps_done: string[];
  /** sha256 of the new resolv.conf, recorded before it is written. */
  resolv_sha256: string | null;
}

export interface Journal {
  version: 1;
  state: JournalState;
  mode: 'up' | 'try';
  pid: number;
  pid_start: string | null;
  started_at: string;
  updated_at: string;
  compiled_dir: string;
  manifest_sha256: string;
  root: string;
  steps_done: Step[];
  names: { ifname: string; table: number; fwmark: number; nft_table: string };
  rule_specs: RuleSpec[];
  snapshot: { net: NetSnapshot; resolv: ResolvSnapshot | null };
  tunnel: { backend: 'wireguard-go' | 'kernel' | 'masque'; pid: number | null; pid_start: string | null; socket: string | null } | null;
  lo_added: string[];
  dns: {
    manager: DnsManager;
    reason: string;
    /** sha256 of the resolv.conf bytes warpc writes (set before writing). */
    resolv_written_sha256: string | null;
    /** The compiled resolved.sh, kept so `down` works without the compiled folder. */
    resolved_script: string | null;
    resolved_link: string | null;
    resolved_applied: boolean;
  } | null;
  try_deadline: string | null;
  /** When the running plan (manifest_sha256) was applied: by up, or by the last apply. */
  applied_at?: string;
  /** The plan that ran before the last apply. */
  previous?: PlanRef | null;
  transition?: Transition | null;
  /** `warpc apply --timeout`: the new plan is rolled back at this time unless confirmed. */
  apply_deadline?: string | null;
  /** The enrolled device's override the plan runs with (addresses, gateway peer, bypass); absent otherwise. */
  override?: DeviceOverride | null;
  /** What the last restore did, and any errors. */
  restore: { done: string[]; errors: string[]; resolv: string } | null;
}

export function journalPath(stateDir: string): string {
  return join(stateDir, 'journal.json');
}

export async function readJournal(stateDir: string): Promise<Journal | null> {
  try {
    return JSON.parse(await readFile(journalPath(stateDir), 'utf8')) as Journal;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${journalPath(stateDir)}: unreadable journal (${(err as Error).message}); inspect it, then remove it by hand`);
  }
}

export async function writeJournal(exec: Executor, j: Journal): Promise<void> {
  j.updated_at = new Date().toISOString();
  await mkdir(exec.stateDir, { recursive: true, mode: 0o700 });
  await atomicWrite(journalPath(exec.stateDir), Buffer.from(`${JSON.stringify(j, null, 2)}\n`), 0o600);
}

/** Is the recorded agent process still alive (the same PID and start time, not a zombie)? */
export async function agentAlive(j: Journal): Promise<boolean> {
  if (j.pid === process.pid) return false;
  return processAlive(j.pid, j.pid_start);
}

export function isOpen(j: Journal | null): j is Journal {
  return j !== null && j.state !== 'closed';
}
