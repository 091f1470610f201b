/** What the compiler commands share: reading the profile, printing diagnostics, --format. */
import { closeSync, openSync } from 'node:fs';
import { diag, formatAllText, hasErrors, toJSON, withFile, type Diagnostic } from '../diagnostics/diagnostic.js';
import { resolveTargets } from '../compile.js';
import { targetNames } from '../emit/registry.js';
import type { TargetModule } from '../emit/target.js';
import { decodeProfileBytes } from '../profile/load.js';
import { readBounded } from '../read-bounded.js';
import { CliExit, EXIT } from './exit.js';
import type { Format } from './options.js';

export type { Format };

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

/**
 * The largest profile warpc reads: 64 MiB, well above a 1M-entry profile
 * (about 40–60 MB). Anything larger — or endless, like /dev/zero or a pipe
 * that never ends — is refused (WARPC0008) after reading at most this many
 * bytes plus one, so memory stays bounded whatever the input.
 */
export const PROFILE_MAX_BYTES = 64 * 1024 * 1024;

/** Read the profile (`-` for standard input); a failure is a coded diagnostic. */
export function readProfile(path: string, maxBytes = PROFILE_MAX_BYTES): { source: string | null; diagnostics: Diagnostic[]; file: string } {
  const file = profileLabel(path);
  let fd: number | null = null;
  let bytes: Buffer | null;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
    bytes = readBounded(fd, maxBytes);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as Error).message ?? String(err));
    return { source: null, diagnostics: withFile([diag('FileUnreadable', { file, reason })], file), file };
  } finally {
    if (fd !== null && fd !== 0) closeSync(fd);
  }
  if (bytes === null) return { source: null, diagnostics: withFile([diag('InputTooLarge', { file, limit: `${maxBytes / (1024 * 1024)} MiB` })], file), file };
  const decoded = decodeProfileBytes(bytes);
  return { source: decoded.source, diagnostics: withFile(decoded.diagnostics, file), file };
}

/** Print diagnostics as text to stderr. */
export function printDiagnostics(diags: readonly Diagnostic[], source: string | null): void {
  if (diags.length === 0) return;
  process.stderr.write(`${formatAllText(diags, source ?? undefined).join('\n')}\n`);
}

export function diagnosticsJson(diags: readonly Diagnostic[]): Record<string, unknown>[] {
  return diags.map(toJSON);
}

export function summary(diags: readonly Diagnostic[]): string {
  const e = diags.filter((d) => d.severity === 'error').length;
  const w = diags.filter((d) => d.severity === 'warning').length;
  const n = diags.length - e - w;
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}${n > 0 ? `, ${n} note${n === 1 ? '' : 's'}` : ''}`;
}

/** End the command with exit 1 when there are errors (after output was printed). */
export function exitOnErrors(diags: readonly Diagnostic[]): void {
  if (hasErrors(diags)) throw new CliExit(EXIT.failure);
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
