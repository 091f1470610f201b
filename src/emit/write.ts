/**
 * Writing compiled output. All files go to a fresh sibling directory first and
 * replace the output directory in one rename, so a failure leaves either the
 * old output or nothing — never a mix. An existing directory is replaced only
 * when it is a previous warpc output (it has a manifest.json) or empty.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE } from '../contract/manifest.js';

export class OutputError extends Error {
  constructor(readonly kind: 'not-warpc' | 'io', readonly path: string, message: string) {
    super(message);
  }
}

export function writeOutput(outDir: string, files: ReadonlyMap<string, { text: string; mode: number }>): void {
  const target = resolve(outDir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new OutputError('not-warpc', target, 'it is not a directory');
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) throw new OutputError('not-warpc', target, 'not a warpc output directory');
  }
  const parent = dirname(target);
  const staging = join(parent, `.${basename(target)}.warpc-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(parent, { recursive: true });
    mkdirSync(staging);
    for (const [path, f] of files) {
      const full = join(staging, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, f.text, { mode: f.mode });
      chmodSync(full, f.mode); // the umask must not change what the manifest says
    }
    if (existsSync(target)) {
      const old = `${staging}.old`;
      renameSync(target, old);
      renameSync(staging, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(staging, target);
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new OutputError('io', target, err instanceof Error ? err.message : String(err));
  }
}
