/**
 * Compiled bundles: a profile's warpc YAML compiled for one OS target, exactly as
 * `warpc compile --target <os>` writes it (manifest.json plus `<os>/…`), once per
 * (profile id, revision, os) and kept in memory (least recently used first out,
 * at most `max` entries). The files are kept as the bytes that end every answer of
 * the bundle (`,"files":{…}}`, a SharedTail of gzip.ts, compressed once when a
 * device asks for gzip), so serving a bundle to many devices costs a signature and
 * a small head per device.
 *
 * Decides: what a bundle holds. Must not touch: the store, HTTP, signing.
 */
import { createHash } from 'node:crypto';
import { compile } from '../compile.js';
import { hasErrors, toJSON } from '../diagnostics/diagnostic.js';
import { findTarget } from '../emit/registry.js';
import { MANIFEST_FILE } from '../contract/manifest.js';
import { SharedTail } from './gzip.js';

/** The OS targets a device can ask for (the mdm target is for administrators, not devices). */
export const BUNDLE_OS = ['linux', 'macos', 'windows', 'ios', 'android'] as const;
export type BundleOs = (typeof BUNDLE_OS)[number];

export type Compiled =
  | { readonly ok: true; readonly manifestSha256: string; readonly tail: SharedTail; readonly bytes: number }
  | { readonly ok: false; readonly diagnostics: Record<string, unknown>[] };

export class BundleCache {
  private readonly entries = new Map<string, Compiled>();
  /** How many compilations ran (tests check the cache works). */
  compilations = 0;
  constructor(private readonly max = 256) {}

  /** The bundle of `source` (the profile `key` = `<id>@<revision>`) for `os`. */
  get(key: string, os: BundleOs, source: string, name: string): Compiled {
    // The source's hash is part of the key: a rename of another profile can rename this one's file.
    const k = `${key}/${os}/${createHash('sha256').update(source).digest('hex').slice(0, 16)}`;
    const hit = this.entries.get(k);
    if (hit) {
      this.entries.delete(k);
      this.entries.set(k, hit);
      return hit;
    }
    const value = compileBundle(source, os, name);
    this.compilations++;
    this.entries.set(k, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}

function compileBundle(source: string, os: BundleOs, name: string): Compiled {
  const r = compile(source, [findTarget(os)!]);
  if (hasErrors(r.diagnostics) || !r.manifest) return { ok: false, diagnostics: r.diagnostics.map((d) => toJSON({ ...d, file: `${name}.yaml` })) };
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const path of [...r.files.keys()].sort()) {
    const buf = Buffer.from(r.files.get(path)!.text, 'utf8');
    bytes += buf.length;
    files[path] = buf.toString('base64');
  }
  const manifest = Buffer.from(r.files.get(MANIFEST_FILE)!.text, 'utf8');
  return { ok: true, manifestSha256: createHash('sha256').update(manifest).digest('hex'), tail: new SharedTail(Buffer.from(`,"files":${JSON.stringify(files)}}`, 'utf8')), bytes };
}
