/**
 * /etc/resolv.conf: inspect (kind, writability), back up, write, restore.
 *
 * Kinds: a regular file (written atomically by rename), a symlink (replaced by
 * a regular file, the link restored on the way out), a bind mount (rename
 * cannot replace a mount point: written in place), missing. A read-only file
 * or folder is a clear error before anything changes.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, open, readFile, readlink, realpath, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hostPath, type Executor } from '../exec.js';

export const RESOLV_CONF = '/etc/resolv.conf';

export type ResolvKind = 'regular' | 'symlink' | 'bind-mount' | 'missing';

export interface ResolvSnapshot {
  readonly kind: ResolvKind;
  /** The link text when kind is symlink. */
  readonly symlinkTarget: string | null;
  /** The bytes applications read (through the link), base64; null when unreadable or missing. */
  readonly contentB64: string | null;
  readonly sha256: string | null;
  readonly mode: number | null;
  readonly uid: number | null;
  readonly gid: number | null;
  /** Why it cannot be written, or null when it can. */
  readonly readOnly: string | null;
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Mount points from /proc/self/mountinfo (field 5), octal escapes decoded. */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[4]) out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

async function writableError(path: string): Promise<string | null> {
  try {
    await access(path, constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `${path} is on a read-only file system`;
    if (code === 'EPERM') return `${path} is immutable (chattr +i?)`;
    if (code === 'EACCES') return `${path} is not writable by this user`;
    return `${path}: ${code ?? String(err)}`;
  }
}

export async function inspectResolv(exec: Executor): Promise<ResolvSnapshot> {
  const path = hostPath(exec.root, RESOLV_CONF);
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { kind: 'missing', symlinkTarget: null, contentB64: null, sha256: null, mode: null, uid: null, gid: null, readOnly: await writableError(dirname(path)) };
  }
  let content: Buffer | null = null;
  try {
    content = await readFile(path);
  } catch {
    content = null;
  }
  const base = { contentB64: content ? content.toString('base64') : null, sha256: content ? sha256(content) : null };
  if (st.isSymbolicLink()) {
    return { kind: 'symlink', symlinkTarget: await readlink(path), ...base, mode: null, uid: null, gid: null, readOnly: await writableError(dirname(path)) };
  }
  const mounts = await mountPoints();
  const real = await realpath(path).catch(() => path);
  if (mounts.has(real)) {
    return { kind: 'bind-mount', symlinkTarget: null, ...base, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, readOnly: await writableError(path) };
  }
  const readOnly = (await writableError(path)) ?? (await writableError(dirname(path)));
  return { kind: 'regular', symlinkTarget: null, ...base, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, readOnly };
}

/** Nameservers listed in resolv.conf bytes. */
export function nameserversOf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push((m[1] as string).replace(/%.*$/, ''));
  }
  return out;
}

/** The backup in the state dir: a header saying who owns it and how to restore, then the original bytes. */
export async function writeBackup(exec: Executor, snap: ResolvSnapshot): Promise<string> {
  const file = join(exec.stateDir, 'resolv.conf.backup');
  const header = [
    `# warpc backup of ${RESOLV_CONF}: the device's own file, saved before warpc changed it.`,
    `# kind: ${snap.kind}${snap.symlinkTarget ? ` -> ${snap.symlinkTarget}` : ''}; sha256 of the original: ${snap.sha256 ?? 'none'}`,
    `# owner: warpc (pid ${process.pid}, ${new Date().toISOString()}); 'warpc down' or 'warpc recover --state-dir ${exec.stateDir}' restores it.`,
    '# The original bytes follow this line.',
    '',
  ].join('\n');
  const body = snap.contentB64 ? Buffer.from(snap.contentB64, 'base64') : Buffer.alloc(0);
  await atomicWrite(file, Buffer.concat([Buffer.from(header), body]), 0o600);
  return file;
}

/** Write a file by rename (same folder), fsynced. */
export async function atomicWrite(path: string, bytes: Buffer, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const tmp = join(dirname(path), `.${path.split('/').pop() ?? 'f'}.warpc-${process.pid}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(bytes);
    await fh.chmod(mode);
    if (owner) await fh.chown(owner.uid, owner.gid).catch(() => undefined);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

async function writeInPlace(path: string, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(0);
    await fh.write(bytes, 0, bytes.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Point resolv.conf at the proxy (the compiled file's bytes), by the method its kind allows. */
export async function writeResolv(exec: Executor, snap: ResolvSnapshot, bytes: Buffer): Promise<void> {
  if (snap.readOnly) throw new Error(`cannot change ${RESOLV_CONF}: ${snap.readOnly}`);
  const path = hostPath(exec.root, RESOLV_CONF);
  if (snap.kind === 'bind-mount') await writeInPlace(path, bytes);
  else await atomicWrite(path, bytes, 0o644, snap.uid !== null && snap.gid !== null ? { uid: snap.uid, gid: snap.gid } : undefined);
}

export type RestoreOutcome = 'unchanged' | 'restored' | 'left-alone';

/**
 * Put resolv.conf back as the snapshot says, byte for byte and kind for kind,
 * if it is still what warpc wrote (`writtenSha256`). A file somebody else has
 * rewritten since is left alone (reported), never clobbered.
 */
export async function restoreResolv(exec: Executor, snap: ResolvSnapshot, writtenSha256: string | null): Promise<{ outcome: RestoreOutcome; detail: string }> {
  const now = await inspectResolv(exec);
  const path = hostPath(exec.root, RESOLV_CONF);
  const same = now.kind === snap.kind && now.symlinkTarget === snap.symlinkTarget && now.sha256 === snap.sha256 && (snap.kind !== 'regular' || now.mode === snap.mode);
  if (same) return { outcome: 'unchanged', detail: `${RESOLV_CONF} already matches the snapshot` };
  const ours = writtenSha256 !== null && now.sha256 === writtenSha256 && (now.kind === 'regular' || now.kind === 'bind-mount');
  if (!ours) return { outcome: 'left-alone', detail: `${RESOLV_CONF} was changed by someone else after warpc wrote it (sha256 ${now.sha256 ?? 'none'}); left as it is, the original is in ${join(exec.stateDir, 'resolv.conf.backup')}` };
  const original = snap.contentB64 === null ? null : Buffer.from(snap.contentB64, 'base64');
  switch (snap.kind) {
    case 'bind-mount':
      await writeInPlace(path, original ?? Buffer.alloc(0));
      break;
    case 'regular':
      await atomicWrite(path, original ?? Buffer.alloc(0), snap.mode ?? 0o644, snap.uid !== null && snap.gid !== null ? { uid: snap.uid, gid: snap.gid } : undefined);
      break;
    case 'symlink': {
      const tmp = join(dirname(path), `.resolv.conf.warpc-${process.pid}.link`);
      await rm(tmp, { force: true });
      await symlink(snap.symlinkTarget as string, tmp);
      await rename(tmp, path);
      await fsyncDir(dirname(path));
      break;
    }
    case 'missing':
      await rm(path, { force: true });
      break;
  }
  return { outcome: 'restored', detail: `${RESOLV_CONF} restored (${snap.kind})` };
}
