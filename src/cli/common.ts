/** What the compiler commands share: reading the profile, printing diagnostics, --format. */
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { diag, formatText, hasErrors, toJSON, withFile, type Diagnostic } from '../diagnostics/diagnostic.js';
import { resolveTargets } from '../compile.js';
import { targetNames } from '../emit/registry.js';
import type { TargetModule } from '../emit/target.js';
import { decodeProfileBytes } from '../profile/load.js';
import { CliExit, EXIT } from './exit.js';

export type Format = 'text' | 'json';

export const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

/** How diagnostics name the profile: its path, or `<stdin>` for `-`. */
export function profileLabel(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

/**
 * `--target` to target modules. An unknown or missing name is a usage error (exit 2),
 * printed with the profile's name like every other diagnostic of the command.
 */
export function targetsOrExit(spec: string, profilePath: string, format: Format, jsonExtra: Record<string, unknown> = {}): TargetModule[] {
  const { targets, diagnostics } = resolveTargets(spec);
  const ds = targets.length === 0 && diagnostics.length === 0 ? [diag('NoTargetGiven', { known: [...targetNames(), 'all'].join(', ') })] : diagnostics;
  if (ds.length === 0) return targets;
  const labelled = withFile(ds, profileLabel(profilePath));
  if (format === 'json') writeJson({ ok: false, diagnostics: diagnosticsJson(labelled), ...jsonExtra });
  else printDiagnostics(labelled, null);
  throw new CliExit(EXIT.usage);
}

/** Read the profile (`-` for standard input); a failure is a coded diagnostic. */
export function readProfile(path: string): { source: string | null; diagnostics: Diagnostic[]; file: string } {
  const file = profileLabel(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? String(err));
    return { source: null, diagnostics: withFile([diag('FileUnreadable', { file, reason })], file), file };
  }
  const decoded = decodeProfileBytes(bytes);
  return { source: decoded.source, diagnostics: withFile(decoded.diagnostics, file), file };
}

/** Print diagnostics as text to stderr. */
export function printDiagnostics(diags: readonly Diagnostic[], source: string | null): void {
  for (const d of diags) process.stderr.write(`${formatText(d, source ?? undefined)}\n`);
}

export function diagnosticsJson(diags: readonly Diagnostic[]): Record<string, unknown>[] {
  return diags.map(toJSON);
}

export function summary(diags: readonly Diagnostic[]): string {
  const e = diags.filter((d) => d.severity === 'error').length;
  const w = diags.length - e;
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}

/** End the command with exit 1 when there are errors (after output was printed). */
export function exitOnErrors(diags: readonly Diagnostic[]): void {
  if (hasErrors(diags)) throw new CliExit(EXIT.failure);
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
