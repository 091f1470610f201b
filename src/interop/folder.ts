/**
 * Reading an import folder (what `warpc import --out DIR` wrote) back: its index, in precedence
 * order, with every `match` parsed and each bad one reported at its column. Used by `warpc match`
 * and `warpc explain DIR`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Candidate } from '../match/eval.js';
import { matchDiagnostic } from '../match/diagnose.js';
import { parseMatch } from '../match/parse.js';
import { loadProfileSource } from '../profile/load.js';
import { parseJson } from './json.js';

export interface ImportFolder {
  readonly dir: string;
  readonly indexFile: string;
  readonly indexText: string;
  readonly candidates: readonly Candidate[];
  /** The default profile's file, relative to dir. */
  readonly defaultFile: string;
}

export function readImportFolder(dir: string): { folder: ImportFolder | null; diagnostics: Diagnostic[]; indexText: string | null; indexFile: string } {
  const bad = (reason: string, file = dir): { folder: null; diagnostics: Diagnostic[]; indexText: null; indexFile: string } => ({
    folder: null,
    diagnostics: [{ ...diag('MatchNotImportFolder', { path: dir, reason }), file }],
    indexText: null,
    indexFile: file,
  });
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return bad('no such folder');
  }
  if (!isDir) return bad('it is not a folder (give the folder `warpc import --out` wrote)');
  const ext = ['yaml', 'json'].find((e) => existsSync(join(dir, `index.${e}`)));
  if (!ext) return bad('it has no index.yaml or index.json (write one with `warpc import --out`)');
  const indexFile = join(dir, `index.${ext}`);
  const text = readFileSync(indexFile, 'utf8');
  let value: unknown;
  let locate: (path: (string | number)[]) => { line: number; col: number; length: number };
  if (ext === 'json') {
    const r = parseJson(text);
    if (!r.ok) return { folder: null, diagnostics: [{ ...diag('ImportJsonSyntax', { detail: r.detail }, { line: r.line, col: r.col }), file: indexFile }], indexText: text, indexFile };
    value = r.doc.value;
    locate = (p) => r.doc.locate(p);
  } else {
    const r = loadProfileSource(text);
    if (!r.doc) return { folder: null, diagnostics: r.diagnostics.map((d) => ({ ...d, file: indexFile })), indexText: text, indexFile };
    value = r.doc.value;
    locate = (p) => r.doc!.locate(p);
  }
  const profiles = (value as { profiles?: unknown } | null)?.profiles;
  if (!Array.isArray(profiles)) return { ...bad('its index has no profiles list', indexFile), indexText: text };
  const diagnostics: Diagnostic[] = [];
  const candidates: Candidate[] = [];
  let defaultFile: string | null = null;
  profiles.forEach((p: Record<string, unknown>, i) => {
    const file = typeof p?.['file'] === 'string' ? p['file'] : null;
    if (file === null || /[\\/]/.test(file)) {
      diagnostics.push({ ...diag('ImportShape', { what: `profiles[${i}].file`, expected: 'a file name in the folder' }, { ...locate(['profiles', i]), path: ['profiles', i] }), file: indexFile });
      return;
    }
    if (p['default'] === true) {
      defaultFile = file;
      return;
    }
    const match = typeof p['match'] === 'string' ? p['match'] : '';
    const parsed = parseMatch(match);
    if (!parsed.ok) {
      const pos = locate(['profiles', i, 'match']);
      const quoted = text[offsetOf(text, pos.line, pos.col)] === '"' || text[offsetOf(text, pos.line, pos.col)] === "'";
      diagnostics.push({ ...matchDiagnostic(parsed.error, { line: pos.line, col: pos.col + (quoted ? 1 : 0), path: ['profiles', i, 'match'] }), file: indexFile });
    }
    candidates.push({
      name: typeof p['name'] === 'string' ? p['name'] : file,
      file,
      policyId: typeof p['policy_id'] === 'string' ? p['policy_id'] : file,
      precedence: typeof p['precedence'] === 'number' ? p['precedence'] : Number.MAX_SAFE_INTEGER,
      enabled: p['enabled'] !== false,
      match,
    });
  });
  if (defaultFile === null) diagnostics.push({ ...diag('MatchNotImportFolder', { path: dir, reason: 'its index names no default profile' }), file: indexFile });
  if (diagnostics.length > 0) return { folder: null, diagnostics, indexText: text, indexFile };
  return { folder: { dir, indexFile, indexText: text, candidates, defaultFile: defaultFile! }, diagnostics: [], indexText: text, indexFile };
}

function offsetOf(text: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) off = text.indexOf('\n', off) + 1;
  return off + col - 1;
}

/**
 * `warpc check DIR/index.yaml`: the index read as `warpc match` reads it, plus every file it
 * names present beside it.
 */
export function checkImportIndex(dir: string): { indexFile: string; indexText: string | null; diagnostics: Diagnostic[]; summary: { profiles: number; default: string } | null } {
  const r = readImportFolder(dir);
  const diagnostics = [...r.diagnostics];
  if (!r.folder) return { indexFile: r.indexFile, indexText: r.indexText, diagnostics, summary: null };
  const f = r.folder;
  for (const file of [...f.candidates.map((c) => c.file), f.defaultFile].filter((x): x is string => typeof x === 'string')) {
    if (!existsSync(join(dir, file))) diagnostics.push({ ...diag('MatchNotImportFolder', { path: dir, reason: `its index lists ${file}, which is not there` }), file: f.indexFile });
  }
  return { indexFile: f.indexFile, indexText: f.indexText, diagnostics, summary: { profiles: f.candidates.length + 1, default: f.defaultFile } };
}
