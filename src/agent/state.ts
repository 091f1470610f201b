/**
 * The enrolled device's state directory (mode 0700), beside the runtime's own
 * files (journal.json, control.sock, and private.key, the WireGuard key the
 * runtime's tunnel/keys.ts makes, 0600, which never leaves the device):
 *
 *   registration.json      0600  id, device token, addresses, gateway peers, orchestrator URL,
 *                                pinned TLS certificate (SPKI sha256) or CA, pinned bundle key,
 *                                the MASQUE key it registered (masque.key/masque.crt beside it are
 *                                the runtime's, src/runtime/masque/cert.ts)
 *   bundles/<version>/     verified bundles: manifest.json, <os>/…, statement (the signed bytes)
 *                          and statement.sig; written beside the old one, fsynced, then
 *   current                0600  "<version>\n", replaced atomically: the bundle the device runs
 *   orchestration.json     0600  what `warpc status` shows: orchestrator, id, version, last check,
 *                                last error, revoked
 *
 * It decides nothing about policy and never touches the network or the plan.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RegistrationPeer } from '../contract/orchestrator.js';
import { atomicWrite } from '../runtime/linux/resolv.js';
import { agentError } from './errors.js';
import { verifyStatement, type VerifyContext } from './verify.js';

export const REGISTRATION_FILE = 'registration.json';
export const BUNDLES_DIR = 'bundles';
export const CURRENT_FILE = 'current';
export const STATUS_FILE = 'orchestration.json';
export const STATEMENT_FILE = 'statement';
export const SIGNATURE_FILE = 'statement.sig';

export interface RegistrationFile {
  readonly version: 1;
  /** https://host:port, no path. */
  readonly orchestrator: string;
  readonly id: string;
  readonly token: string;
  readonly install_id: string;
  readonly os: string;
  readonly addresses: { readonly v4: string; readonly v6: string };
  readonly peers: readonly RegistrationPeer[];
  /** How the orchestrator's TLS is trusted: a pinned SPKI sha256 (base64), or a CA (PEM) whose chain and name are checked. */
  readonly tls: { readonly pin: string | null; readonly ca: string | null };
  readonly bundle_key: { readonly spki_sha256: string; readonly pem: string };
  readonly enrolled_at: string;
  /** The MASQUE key this device registered (base64 of its P-256 SPKI DER, src/agent/masque.ts), once it ran a MASQUE plan. */
  readonly masque_key?: string;
}

export interface AgentStatusFile {
  orchestrator: string;
  registration_id: string;
  bundle_version: number | null;
  profile: { id: string; revision: number } | null;
  last_checked: string | null;
  last_error: string | null;
  revoked: { at: string; status: number } | null;
}

export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (err) {
    throw agentError('AgentStateDir', { dir, reason: (err as Error).message });
  }
}

export async function readRegistration(dir: string): Promise<RegistrationFile | null> {
  let text: string;
  try {
    text = await readFile(join(dir, REGISTRATION_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw agentError('AgentStateDir', { dir, reason: `cannot read ${REGISTRATION_FILE}: ${(err as Error).message}` });
  }
  try {
    const r = JSON.parse(text) as RegistrationFile;
    if (r.version !== 1 || typeof r.id !== 'string' || typeof r.token !== 'string' || typeof r.orchestrator !== 'string') throw new Error('not a registration');
    return r;
  } catch (err) {
    throw agentError('AgentStateDir', { dir, reason: `${REGISTRATION_FILE} is damaged (${(err as Error).message}); unenroll and enroll again` });
  }
}

export async function writeRegistration(dir: string, r: RegistrationFile): Promise<void> {
  await ensureStateDir(dir);
  await atomicWrite(join(dir, REGISTRATION_FILE), Buffer.from(`${JSON.stringify(r, null, 2)}\n`), 0o600);
}

export async function readAgentStatus(dir: string): Promise<AgentStatusFile | null> {
  try {
    return JSON.parse(await readFile(join(dir, STATUS_FILE), 'utf8')) as AgentStatusFile;
  } catch {
    return null;
  }
}

export async function writeAgentStatus(dir: string, s: AgentStatusFile): Promise<void> {
  await atomicWrite(join(dir, STATUS_FILE), Buffer.from(`${JSON.stringify(s, null, 2)}\n`), 0o600);
}

/** bundles/<version>: the bundle's folder (its <os>/ subfolder is what the runtime applies). */
export function bundleDir(dir: string, version: number): string {
  return join(dir, BUNDLES_DIR, String(version));
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface BundleToStore {
  readonly version: number;
  readonly statementBytes: Buffer;
  readonly signature: Buffer;
  readonly files: ReadonlyMap<string, Buffer>;
}

/**
 * Write a verified bundle beside the current one and flip `current` to it.
 * Every byte is written into bundles/.<version>.partial, fsynced, renamed to
 * bundles/<version>, then `current` is replaced atomically. On any failure
 * (ENOSPC above all) what was written is removed and `current` still names
 * the previous bundle, intact. `hooks.beforeWrite` lets a test fail a write where it
 * cannot fill a real disk.
 */
export async function storeBundle(dir: string, b: BundleToStore, currentVersion: number | null, hooks: { beforeWrite?: (path: string) => void } = {}): Promise<string> {
  const root = join(dir, BUNDLES_DIR);
  const final = bundleDir(dir, b.version);
  const partial = join(root, `.${b.version}.partial`);
  const currentTmp = join(dir, `.${CURRENT_FILE}.warpc-${process.pid}.tmp`);
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { mode: 0o700 });
    const all = new Map(b.files);
    all.set(STATEMENT_FILE, b.statementBytes);
    all.set(SIGNATURE_FILE, b.signature);
    const dirs = new Set<string>([partial]);
    for (const [rel, bytes] of all) {
      const path = join(partial, rel);
      if (!path.startsWith(`${partial}/`)) throw new Error(`unsafe path ${rel}`);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      dirs.add(dirname(path));
      hooks.beforeWrite?.(path);
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (const d of dirs) await fsyncPath(d);
    await rm(final, { recursive: true, force: true });
    await rename(partial, final);
    await fsyncPath(root);
    hooks.beforeWrite?.(join(dir, CURRENT_FILE));
    await atomicWrite(join(dir, CURRENT_FILE), Buffer.from(`${b.version}\n`), 0o600);
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    await rm(currentTmp, { force: true }).catch(() => undefined);
    // The pointer did not flip: the new folder is not in use, and may be incomplete on disk.
    if ((await readCurrentVersion(dir)) !== b.version) await rm(final, { recursive: true, force: true }).catch(() => undefined);
    throw agentError('AgentBundleWrite', { version: b.version, dir, reason: (err as Error).message, current: currentVersion === null ? 'no bundle' : `bundle ${currentVersion}` });
  }
  await pruneBundles(dir, b.version, currentVersion);
  return final;
}

/** Keep the current bundle and the one before it; remove older ones and leftovers. */
async function pruneBundles(dir: string, keep: number, previous: number | null): Promise<void> {
  const root = join(dir, BUNDLES_DIR);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name === String(keep) || (previous !== null && name === String(previous))) continue;
    await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function readCurrentVersion(dir: string): Promise<number | null> {
  try {
    const v = Number((await readFile(join(dir, CURRENT_FILE), 'utf8')).trim());
    return Number.isSafeInteger(v) && v >= 1 ? v : null;
  } catch {
    return null;
  }
}

/** The current bundle, its statement verified again (the runtime verifies the files against the manifest when it loads them). */
export async function readCurrentBundle(dir: string, ctx: Omit<VerifyContext, 'runningVersion'>): Promise<{ version: number; dir: string; profile: { id: string; revision: number } } | null> {
  const version = await readCurrentVersion(dir);
  if (version === null) return null;
  const bdir = bundleDir(dir, version);
  try {
    await lstat(bdir);
  } catch {
    return null;
  }
  const statementBytes = await readFile(join(bdir, STATEMENT_FILE));
  const signature = await readFile(join(bdir, SIGNATURE_FILE));
  const st = verifyStatement(statementBytes, signature, { ...ctx, runningVersion: null });
  if (st.version !== version) throw agentError('AgentNoBundle', { reason: `${bdir} holds a statement for version ${st.version}` });
  const manifestSha = createHash('sha256').update(await readFile(join(bdir, 'manifest.json'))).digest('hex');
  if (manifestSha !== st.manifest_sha256) throw agentError('AgentNoBundle', { reason: `${bdir}/manifest.json does not match its signed statement` });
  return { version, dir: bdir, profile: st.profile };
}

/** Remove everything enrollment made (the device key included: it was made for this registration; the runtime's journal stays). */
export async function removeEnrollment(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of [REGISTRATION_FILE, CURRENT_FILE, STATUS_FILE, BUNDLES_DIR, 'private.key']) {
    try {
      await lstat(join(dir, name));
    } catch {
      continue;
    }
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
