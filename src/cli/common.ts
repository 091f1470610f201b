/** What the compiler commands share: reading the profile, printing diagnostics, --format. */
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { diag, formatText, hasErrors, toJSON, withFile, type Diagnostic } from '../diagnostics/diagnostic.js';
import { CliExit, EXIT } from './exit.js';

export type Format = 'text' | 'json';

export const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

/** Read the profile (`-` for standard input); a failure is a coded diagnostic. */
export function readProfile(path: string): { source: string | null; diagnostics: Diagnostic[]; file: string } {
  const file = path === '-' ? '<stdin>' : path;
  try {
    return { source: readFileSync(path === '-' ? 0 : path, 'utf8'), diagnostics: [], file };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? String(err));
    return { source: null, diagnostics: withFile([diag('FileUnreadable', { file, reason })], file), file };
  }
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
