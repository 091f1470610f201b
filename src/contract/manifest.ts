/**
 * manifest.json, at the top of a compiled output: every file warpc wrote, with
 * its sha256, size and mode. The compiler writes it (src/emit/manifest.ts builds
 * it, serializeManifest writes it); `compile --out` reads the previous one before
 * replacing a folder, and the runtime reads it before trusting any file beside it.
 * Shape: schema/manifest.schema.json.
 */
import { parseContract, stableJson, type ContractProblem } from './json-file.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_SCHEMA = 'manifest.schema.json';

export interface ManifestFile {
  /** `<target>/<name>`, `/`-separated, relative to the output folder. */
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

/** The one writer of manifest.json: fixed key order, 2-space JSON, final newline. */
export function serializeManifest(m: Manifest): string {
  return stableJson({
    schema_version: m.schema_version,
    compiler: { name: m.compiler.name, version: m.compiler.version },
    profile: { name: m.profile.name, sha256: m.profile.sha256 },
    targets: [...m.targets],
    files: m.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, mode: f.mode })),
  });
}

/**
 * The one reader of manifest.json: the schema, then what it cannot say — every
 * path is relative without `.`/`..` segments, listed once, and its target is one
 * the manifest names, and no path is both a file and a folder. Throws
 * ContractError naming the file and the pointer.
 */
export function parseManifest(text: string, file = MANIFEST_FILE): Manifest {
  return parseContract<Manifest>(file, text, MANIFEST_SCHEMA, (m, problems: ContractProblem[]) => {
    const seen = new Set<string>();
    const dirs = new Set<string>();
    for (const f of m.files) {
      const parts = f.path.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    m.files.forEach((f, i) => {
      const parts = f.path.split('/');
      if (parts.some((s) => s === '' || s === '.' || s === '..')) problems.push({ pointer: `/files/${i}/path`, detail: `${JSON.stringify(f.path)} is not a plain relative path` });
      else if (!m.targets.includes(parts[0]!)) problems.push({ pointer: `/files/${i}/path`, detail: `${JSON.stringify(f.path)} is outside the targets the manifest names (${m.targets.join(', ')})` });
      if (seen.has(f.path)) problems.push({ pointer: `/files/${i}/path`, detail: `${JSON.stringify(f.path)} is listed twice` });
      if (dirs.has(f.path)) problems.push({ pointer: `/files/${i}/path`, detail: `${JSON.stringify(f.path)} is listed both as a file and as a folder` });
      seen.add(f.path);
    });
  });
}
