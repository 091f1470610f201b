/**
 * The profile sections Cloudflare interop adds: `selector:` (which devices get a custom
 * profile), `cloudflare:` (the typed pass-through of the fields warpc does not model yet, so an
 * import loses nothing) and `deployment:` (the MDM keys; its rules live in src/mdm): their semantic
 * checks. Their schema fragments are section-schema.ts (spread into the profile schema).
 *
 * Decides: what these sections may hold. Must not touch: the plan (none of them changes what
 * the device routes), files.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { matchDiagnostic } from '../match/diagnose.js';
import { parseMatch } from '../match/parse.js';
import { readDeployment } from '../mdm/deployment.js';

export { INTEROP_PROPERTIES } from './section-schema.js';

interface SectionChecker {
  readonly ds: Diagnostic[];
  at(path: (string | number)[], opts?: { key?: boolean }): { line: number; col: number; length: number; path: readonly (string | number)[] };
}

/** Semantic checks of the three sections (their schema already passed). */
export function checkInteropSections(raw: { selector?: { match?: string }; cloudflare?: { include?: unknown[] }; deployment?: unknown; split_tunnel?: { mode?: string }; service_mode?: string }, c: SectionChecker, source: string): void {
  const m = raw.selector?.match;
  if (m !== undefined) {
    const r = parseMatch(m);
    if (!r.ok) {
      const pos = c.at(['selector', 'match']);
      // A quoted YAML scalar starts one column before its text; escapes are rare in a match and counted as written.
      const quoted = source.split('\n')[pos.line - 1]?.[pos.col - 1];
      c.ds.push(matchDiagnostic(r.error, { line: pos.line, col: pos.col + (quoted === '"' || quoted === "'" ? 1 : 0), path: ['selector', 'match'] }));
    }
  }
  const inc = raw.cloudflare?.include;
  if (inc !== undefined && inc.length > 0 && raw.split_tunnel?.mode !== 'include') {
    c.ds.push(diag('SchemaConstraint', { what: 'cloudflare.include', constraint: 'must be empty while split_tunnel is in exclude mode: Cloudflare puts a profile in include mode whenever its include list has entries (move them to split_tunnel.entries with mode include)' }, c.at(['cloudflare', 'include'])));
  }
  if (raw.deployment !== undefined) {
    // Checked without resolving secrets (check never reads them); compile resolves them.
    const r = readDeployment({ value: raw.deployment, ...(raw.service_mode ? { serviceMode: raw.service_mode } : {}), locate: (p) => c.at(p), redact: true, resolve: () => ({ ok: false, reason: 'not resolved while checking' }) });
    c.ds.push(...r.diagnostics);
  }
}
