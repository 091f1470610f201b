/**
 * Writing compiled output. All files go to a fresh sibling directory first and
 * replace the output directory in one rename, so a failure leaves either the
 * old output or nothing — never a mix.
 *
 * An existing directory is replaced only when it is empty or exactly a
 * previous warpc output: its manifest.json is a warpc manifest (valid against
 * schema/manifest.schema.json, with safe relative paths), and every entry in it
 * is manifest.json, a file that manifest lists, or a directory those files
 * imply. Anything else — a web app's or a browser extension's manifest.json, a
 * damaged warpc manifest, a README an admin dropped in — is refused with
 * nothing touched. The old output is then removed file by file from that list,
 * never recursively.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync, constants, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ContractError } from '../contract/json-file.js';
import { readBounded } from '../read-bounded.js';
import { MANIFEST_FILE, parseManifest, type ManifestFile } from '../contract/manifest.js';
import { manifestEntry } from './manifest.js';
import { chunksOf, type FileBytes } from './target.js';

export type OutputErrorKind =
  /** It exists and is not a directory, or is a non-empty directory without manifest.json. */
  | 'not-warpc'
  /** Its manifest.json is not a warpc manifest (a web app's, an extension's, not JSON). */
  | 'foreign-manifest'
  /** Its manifest.json says warpc but fails the schema or lists unsafe paths. */
  | 'damaged-manifest'
  /** It holds entries the manifest does not list. */
  | 'unexpected-files'
  | 'io';

export class OutputError extends Error {
  constructor(
    readonly kind: OutputErrorKind,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** A manifest.json larger than this is not one warpc wrote (a 1M-entry profile's is well under 1 MiB). */
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;
/** How many unexpected entries a refusal names. */
const UNEXPECTED_SHOWN = 5;

/** Read at most `max` bytes of a regular file (never through a link); null when it is larger or not a regular file. */
function readManifestText(path: string, max: number): string | null {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) return null;
    return readBounded(fd, max)?.toString('utf8') ?? null;
  } finally {
    closeSync(fd);
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** What a previous output may contain: its files and the directories they imply (relative paths). */
interface Previous {
  readonly files: readonly string[];
  readonly dirs: readonly string[];
}

/**
 * Read and check `target/manifest.json`. Throws OutputError (foreign or
 * damaged manifest) when it is not exactly a warpc manifest with safe paths.
 */
function readPreviousManifest(target: string): Previous {
  const file = join(target, MANIFEST_FILE);
  const foreign = (why: string): OutputError => new OutputError('foreign-manifest', target, why);
  const st = lstatSync(file);
  if (!st.isFile()) throw foreign(`${MANIFEST_FILE} is not a regular file`);
  const text = readManifestText(file, MANIFEST_MAX_BYTES);
  if (text === null) throw foreign(`${MANIFEST_FILE} is larger than any manifest warpc writes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw foreign(`${MANIFEST_FILE} is not JSON`);
  }
  const compiler = (value as { compiler?: { name?: unknown } } | null)?.compiler;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof compiler !== 'object' || compiler === null || compiler.name !== 'warpc') {
    throw foreign(`${MANIFEST_FILE} was not written by warpc (no "compiler": {"name": "warpc"})`);
  }
  let manifest;
  try {
    manifest = parseManifest(text, MANIFEST_FILE);
  } catch (err) {
    if (err instanceof ContractError) throw new OutputError('damaged-manifest', target, err.message.slice(MANIFEST_FILE.length + 2));
    throw err;
  }
  const files = manifest.files.map((f) => f.path);
  const dirs = new Set<string>();
  for (const p of files) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return { files, dirs: [...dirs] };
}

/**
 * Entries of `target` that are not part of `prev` (or have the wrong kind:
 * a listed file that is a folder or a link, an implied folder that is a file
 * or a link). Stops after a few; an unexpected folder is named, not entered.
 */
function unexpectedEntries(target: string, prev: Previous, hasManifest: boolean): string[] {
  const files = new Set(prev.files);
  if (hasManifest) files.add(MANIFEST_FILE);
  const dirs = new Set(prev.dirs);
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(rel === '' ? target : join(target, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (out.length > UNEXPECTED_SHOWN) return;
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isFile() && files.has(p)) continue;
      if (e.isDirectory() && dirs.has(p)) {
        walk(p);
        continue;
      }
      out.push(e.isDirectory() ? `${p}/` : p);
    }
  };
  walk('');
  return out;
}

/** Check that `target` may be replaced; returns what to remove afterwards. Throws OutputError otherwise. */
function checkReplaceable(target: string): Previous | null {
  const st = lstatOrNull(target);
  if (st === null) return null;
  if (!st.isDirectory()) throw new OutputError('not-warpc', target, 'it is not a directory');
  const hasManifest = lstatOrNull(join(target, MANIFEST_FILE)) !== null;
  if (!hasManifest && readdirSync(target).length > 0) throw new OutputError('not-warpc', target, 'not a warpc output directory');
  const prev = hasManifest ? readPreviousManifest(target) : { files: [], dirs: [] };
  const extra = unexpectedEntries(target, prev, hasManifest);
  if (extra.length > 0) {
    const shown = extra.slice(0, UNEXPECTED_SHOWN).join(', ');
    throw new OutputError('unexpected-files', target, extra.length > UNEXPECTED_SHOWN ? `${shown} and more` : shown);
  }
  return prev;
}

/**
 * Remove a replaced output (renamed to `old`) using only its manifest's list:
 * listed files, manifest.json, then the implied folders deepest first. An
 * entry that appeared since the check is left alone, and so is its folder.
 * Returns `old` when something was left there, else null.
 */
function removePrevious(old: string, prev: Previous): string | null {
  let left = false;
  const tryRm = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left = true;
    }
  };
  for (const f of [...prev.files, MANIFEST_FILE]) {
    const full = join(old, f);
    tryRm(() => {
      if (lstatSync(full).isFile()) unlinkSync(full);
      else left = true;
    });
  }
  for (const d of [...prev.dirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1))) tryRm(() => rmdirSync(join(old, d)));
  tryRm(() => rmdirSync(old));
  return left ? old : null;
}

/** A file written chunk by chunk (no joined copy of a large file); returns its manifest row, hashed as written. */
function writeChunks(full: string, path: string, f: { text: string; mode: number; bytes?: FileBytes }): ManifestFile {
  const fd = openSync(full, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, f.mode);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for (const chunk of chunksOf(f.bytes ?? Buffer.from(f.text, 'utf8'))) {
      hash.update(chunk);
      size += chunk.length;
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
    }
  } finally {
    closeSync(fd);
  }
  return { path, sha256: hash.digest('hex'), size, mode: f.mode === 0o755 ? '0755' : '0644' };
}

/**
 * An output written file by file as the compiler emits it (so only one target's files are
 * held at a time), into a fresh sibling staging folder that replaces `outDir` in one rename
 * on commit(); abort() removes it. So a failure at any point, before or after the first
 * file, leaves either the old output or nothing — never a mix, and no partial folder.
 * open() checks that `outDir` may be replaced before anything is written.
 */
export class StagedOutput {
  private done = false;

  private constructor(
    private readonly target: string,
    private readonly prev: Previous | null,
    private readonly staging: string,
  ) {}

  /** Check `outDir` and make the staging folder next to it; throws OutputError. */
  static open(outDir: string): StagedOutput {
    const target = resolve(outDir);
    const prev = checkReplaceable(target);
    const parent = dirname(target);
    const staging = join(parent, `.${basename(target)}.warpc-${process.pid}-${Date.now()}`);
    try {
      mkdirSync(parent, { recursive: true });
      mkdirSync(staging);
    } catch (err) {
      throw new OutputError('io', target, err instanceof Error ? err.message : String(err));
    }
    return new StagedOutput(target, prev, staging);
  }

  /**
   * Write one file (a relative `/`-separated path) into the staging folder and return its
   * manifest row (hashed as it is written: a file written from chunks is made once); on
   * failure the staging folder is removed and OutputError thrown.
   */
  write(path: string, f: { text: string; mode: number; bytes?: FileBytes }): ManifestFile {
    if (this.done) throw new Error('StagedOutput: written after commit or abort');
    try {
      const full = join(this.staging, path);
      mkdirSync(dirname(full), { recursive: true });
      const row = writeChunks(full, path, f);
      chmodSync(full, f.mode); // the umask must not change what the manifest says
      return row;
    } catch (err) {
      this.abort();
      // The file's chunks are made as it is written: an error that is not the system's is a bug, not an unwritable folder.
      if (typeof (err as NodeJS.ErrnoException | null)?.code !== 'string') throw err;
      throw new OutputError('io', this.target, err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * Replace the output folder with the staging folder. Returns the path of anything left
   * behind from the previous output (only when an entry appeared in it between the check
   * and the swap), else null.
   */
  commit(): { leftover: string | null } {
    if (this.done) throw new Error('StagedOutput: committed after commit or abort');
    try {
      if (this.prev !== null) {
        const old = `${this.staging}.old`;
        renameSync(this.target, old);
        try {
          renameSync(this.staging, this.target);
        } catch (err) {
          renameSync(old, this.target); // put the previous output back
          throw err;
        }
        this.done = true;
        return { leftover: removePrevious(old, this.prev) };
      }
      renameSync(this.staging, this.target);
      this.done = true;
      return { leftover: null };
    } catch (err) {
      this.abort();
      throw new OutputError('io', this.target, err instanceof Error ? err.message : String(err));
    }
  }

  /** Remove the staging folder (nothing of the output folder is touched); a no-op after commit or a first abort. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    rmSync(this.staging, { recursive: true, force: true });
  }
}

/** What compileTo's sink writes to: a StagedOutput of `outDir` opened at the first file. */
export interface OutputSink {
  /**
   * Write one file and return its manifest row; after a refusal or a write error, the error is
   * kept and later files are dropped (the compile goes on, so its own diagnostics are complete;
   * the rows are then computed without writing).
   */
  readonly write: (path: string, f: { text: string; mode: number; bytes?: FileBytes }) => ManifestFile;
  /** Replace `outDir` with what was written; throws the kept OutputError, if any. */
  commit(): { leftover: string | null };
  /** Remove what was staged, unless committed. Call it in a `finally`. */
  abort(): void;
}

export function outputSink(outDir: string): OutputSink {
  let staged: StagedOutput | null = null;
  let failure: OutputError | null = null;
  return {
    write: (path, f) => {
      if (failure === null) {
        try {
          return (staged ??= StagedOutput.open(outDir)).write(path, f);
        } catch (err) {
          if (!(err instanceof OutputError)) throw err;
          failure = err;
          staged?.abort();
        }
      }
      return manifestEntry(path, f);
    },
    commit: () => {
      if (failure !== null) throw failure;
      return (staged ??= StagedOutput.open(outDir)).commit();
    },
    abort: () => staged?.abort(),
  };
}

/**
 * Write `files` as the whole of `outDir`. Returns the path of anything left
 * behind from the previous output (only when an entry appeared in it between
 * the check and the swap), else null.
 */
export function writeOutput(outDir: string, files: ReadonlyMap<string, { text: string; mode: number; bytes?: FileBytes }>): { leftover: string | null } {
  const out = StagedOutput.open(outDir);
  for (const [path, f] of files) out.write(path, f);
  return out.commit();
}
