/**
 * The artifacts each side of a diff would compile to, per target, in memory (as
 * `warpc compile` would write them, without the manifest, whose hashes change with
 * any byte of the profile). A target whose checks fail has an error summary instead.
 */
import { artifactTooLarge } from '../emit/limits.js';
import { targetDiagnostics } from '../emit/capabilities.js';
import type { TargetModule } from '../emit/target.js';
import type { Plan } from '../plan/types.js';
import { VERSION } from '../version.js';
import type { ArtifactSide } from './diff.js';

export function artifactsOf(plan: Plan, targets: readonly TargetModule[]): ArtifactSide {
  const files = new Map<string, ReadonlyMap<string, string> | { readonly error: string }>();
  for (const t of targets) {
    const errors = targetDiagnostics(t, plan).filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      files.set(t.name, { error: [...new Set(errors.map((d) => d.code))].join(', ') });
      continue;
    }
    try {
      files.set(t.name, new Map(t.emit(plan, { compilerVersion: VERSION }).map((a) => [a.path, a.text])));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      files.set(t.name, { error: artifactTooLarge(t.name, plan, err).code });
    }
  }
  return { files };
}
