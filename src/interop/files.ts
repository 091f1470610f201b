/**
 * The file-system edge of import, export and match: reading inputs (folders → their .json files),
 * and writing an import folder only when it is new, empty, or a previous import (its index lists
 * every file in it). Pure logic lives in import.ts, read.ts and the writers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { decodeProfileBytes } from '../profile/load.js';
import { readBounded } from '../read-bounded.js';
import { parseJson } from './json.js';
import type { InputFile } from './read.js';

/** The largest input file read (a big account's Terraform state stays far below). */
export const IMPORT_MAX_BYTES = 64 * 1024 * 1024;

export function readImportInputs(paths: readonly string[]): { files: InputFile[]; texts: Map<string, string>; diagnostics: Diagnostic[] } {
  const files: InputFile[] = [];
  const texts = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const readOne = (file: string): void => {
    let fd: number | null = null;
    try {
      fd = openSync(file, 'r');
      const bytes = readBounded(fd, IMPORT_MAX_BYTES);
      if (bytes === null) {
        diagnostics.push({ ...diag('InputTooLarge', { file, limit: `${IMPORT_MAX_BYTES / (1024 * 1024)} MiB` }), file });
        return;
      }
      const decoded = decodeProfileBytes(bytes);
      if (decoded.source === null) {
        diagnostics.push(...decoded.diagnostics.map((d) => ({ ...d, file })));
        return;
      }
      files.push({ name: file, text: decoded.source });
      texts.set(file, decoded.source);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? String(err));
      diagnostics.push({ ...diag('FileUnreadable', { file, reason }), file });
    } finally {
      if (fd !== null) closeSync(fd);
    }
  };
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      /* reported by readOne */
    }
    if (!isDir) {
      readOne(p);
      continue;
    }
    const found = listJson(p);
    if (found.length === 0) diagnostics.push({ ...diag('ImportEmpty', { path: p }), file: p });
    for (const f of found) readOne(f);
  }
  return { files, texts, diagnostics };
}

/** The .json files below a folder, sorted, subfolders included. */
function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...listJson(full));
    else if (e.isFile() && e.name.endsWith('.json')) out.push(full);
  }
  return out;
}

/** The files a previous import wrote, from its index (null when `dir` holds no readable index). */
export function previousImport(dir: string): string[] | null {
  for (const ext of ['yaml', 'json']) {
    const p = join(dir, `index.${ext}`);
    if (!existsSync(p)) continue;
    try {
      const text = readFileSync(p, 'utf8');
      const files = indexFiles(ext === 'json' ? (parseJsonValue(text) ?? null) : parseYaml(text, { version: '1.2' }));
      if (files !== null) return [`index.${ext}`, ...files];
    } catch {
      return null;
    }
  }
  return null;
}

function parseJsonValue(text: string): unknown {
  const r = parseJson(text);
  return r.ok ? r.doc.value : undefined;
}

function indexFiles(v: unknown): string[] | null {
  const ps = (v as { profiles?: { file?: unknown }[] } | null)?.profiles;
  return Array.isArray(ps) && ps.every((p) => typeof p?.file === 'string' && !/[\\/]/.test(p.file)) ? ps.map((p) => p.file as string) : null;
}

/** Write an import folder; refused (coded, nothing written) when `dir` holds anything but a previous import. */
export function writeImportFolder(dir: string, files: ReadonlyMap<string, string>): Diagnostic[] {
  try {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) return [{ ...diag('ImportOutRefused', { path: dir, reason: 'it is not a folder' }), file: dir }];
      const present = readdirSync(dir);
      if (present.length > 0) {
        const ours = previousImport(dir);
        if (ours === null) return [{ ...diag('ImportOutRefused', { path: dir, reason: 'it is not empty and holds no index of a previous warpc import' }), file: dir }];
        const foreign = present.filter((f) => !ours.includes(f));
        if (foreign.length > 0) return [{ ...diag('ImportOutRefused', { path: dir, reason: `it holds files a previous import did not write: ${foreign.sort().join(', ')}` }), file: dir }];
        for (const f of present) rmSync(join(dir, f), { force: true });
      }
    } else mkdirSync(dir, { recursive: true });
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    return [];
  } catch (err) {
    return [{ ...diag('OutputUnwritable', { path: dir, reason: (err as Error).message }), file: dir }];
  }
}
