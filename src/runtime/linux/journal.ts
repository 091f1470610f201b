/**
 * The journal: `<state-dir>/journal.json`, written (atomically, fsynced)
 * before warpc changes anything, updated after every step, closed when the
 * device is back to its snapshot. It carries everything a restore needs, so
 * `warpc recover` works even when the compiled folder is gone.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Executor } from '../exec.js';
import { processStartTime } from '../proc.js';
import type { DnsManager } from './dns-manager.js';
import type { NetSnapshot, RuleSpec } from './netstate.js';
import { atomicWrite, type ResolvSnapshot } from './resolv.js';

export type JournalState = 'applying' | 'committed' | 'reverting' | 'closed';

/** The steps of `up`, in order. The fault-injection hook names them. */
export const STEPS = ['verify', 'preflight', 'journal', 'tunnel', 'routes', 'firewall', 'dns', 'proxy', 'health', 'commit'] as const;
export type Step = (typeof STEPS)[number];

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

/** Is the recorded agent process still alive (the same PID and start time)? */
export async function agentAlive(j: Journal): Promise<boolean> {
  if (j.pid === process.pid) return false;
  const start = await processStartTime(j.pid);
  return start !== null && start === j.pid_start;
}

export function isOpen(j: Journal | null): j is Journal {
  return j !== null && j.state !== 'closed';
}
