/** Building out/manifest.json from the files a compile wrote (the file's type and writer: src/contract/manifest.ts). */
import { createHash } from 'node:crypto';
import type { Manifest } from '../contract/manifest.js';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function buildManifest(args: {
  version: string;
  profileName: string;
  profileSource: string;
  targets: readonly string[];
  /** The files; `bytes`, when given, is `text` already encoded (hashed as it is, not encoded again). */
  files: ReadonlyMap<string, { text: string; mode: number; bytes?: Uint8Array }>;
}): Manifest {
  const files = [...args.files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, f]) => {
      const bytes = f.bytes ?? Buffer.from(f.text, 'utf8');
      return { path, sha256: sha256(bytes), size: bytes.length, mode: f.mode === 0o755 ? ('0755' as const) : ('0644' as const) };
    });
  return {
    schema_version: 1,
    compiler: { name: 'warpc', version: args.version },
    profile: { name: args.profileName, sha256: sha256(args.profileSource) },
    targets: [...args.targets],
    files,
  };
}
