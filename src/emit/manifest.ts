/** out/manifest.json: the list of every written file with its sha256 (shape: schema/manifest.schema.json). */
import { createHash } from 'node:crypto';
import { stableJson } from './json.js';

export interface ManifestFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mode: '0644' | '0755';
}

export interface Manifest {
  readonly schema_version: 1;
  readonly compiler: { readonly name: 'warpc'; readonly version: string };
  readonly profile: { readonly name: string; readonly sha256: string };
  readonly targets: readonly string[];
  readonly files: readonly ManifestFile[];
}

export const MANIFEST_FILE = 'manifest.json';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function buildManifest(args: {
  version: string;
  profileName: string;
  profileSource: string;
  targets: readonly string[];
  files: ReadonlyMap<string, { text: string; mode: number }>;
}): Manifest {
  const files = [...args.files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, f]) => ({ path, sha256: sha256(f.text), size: Buffer.byteLength(f.text), mode: f.mode === 0o755 ? ('0755' as const) : ('0644' as const) }));
  return {
    schema_version: 1,
    compiler: { name: 'warpc', version: args.version },
    profile: { name: args.profileName, sha256: sha256(args.profileSource) },
    targets: [...args.targets],
    files,
  };
}

export function serializeManifest(m: Manifest): string {
  return stableJson(m);
}
