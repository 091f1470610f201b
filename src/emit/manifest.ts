/** Building out/manifest.json from the files a compile wrote (the file's type and writer: src/contract/manifest.ts). */
import { createHash } from 'node:crypto';
import type { Manifest, ManifestFile } from '../contract/manifest.js';
import { chunksOf, type FileBytes } from './target.js';

/** SHA-256 of bytes, or of text as UTF-8. */
export function sha256(data: string | Uint8Array): string {
  if (typeof data !== 'string') return createHash('sha256').update(data).digest('hex');
  // Text is encoded a piece at a time: a 100,000-entry profile is megabytes, and encoding it whole
  // would copy it into fresh memory. A piece never ends inside a surrogate pair (its halves alone
  // would encode as U+FFFD each), so the bytes hashed are the text's UTF-8.
  const hash = createHash('sha256');
  for (let i = 0; i < data.length;) {
    let end = Math.min(data.length, i + TEXT_PIECE);
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end--;
    hash.update(data.slice(i, end), 'utf8');
    i = end;
  }
  return hash.digest('hex');
}
const TEXT_PIECE = 64 * 1024;

/** A file's manifest row; `bytes`, when given, is `text` already encoded (hashed as it is, piece by piece, not encoded again). */
export function manifestEntry(path: string, f: { text: string; mode: number; bytes?: FileBytes }): ManifestFile {
  const hash = createHash('sha256');
  let size = 0;
  for (const piece of chunksOf(f.bytes ?? Buffer.from(f.text, 'utf8'))) {
    hash.update(piece);
    size += piece.length;
  }
  return { path, sha256: hash.digest('hex'), size, mode: f.mode === 0o755 ? '0755' : '0644' };
}

export function buildManifest(args: {
  version: string;
  profileName: string;
  profileSource: string;
  targets: readonly string[];
  /** The files' rows (manifestEntry), in any order: the manifest lists them by path. */
  entries: readonly ManifestFile[];
}): Manifest {
  return {
    schema_version: 1,
    compiler: { name: 'warpc', version: args.version },
    profile: { name: args.profileName, sha256: sha256(args.profileSource) },
    targets: [...args.targets],
    files: [...args.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
