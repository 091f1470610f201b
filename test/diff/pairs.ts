/** The before/after profile pairs of `warpc diff`: fixtures/_diff_/<case>/{old,new}.yaml and its expected.json. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/compile.js';
import { diffProfiles, type DiffResult, type DiffSide } from '../../src/diff/diff.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

export const DIFF_DIR = join(FIXTURES_DIR, '_diff_');

export interface Pair {
  readonly name: string;
  readonly dir: string;
  readonly old: DiffSide;
  readonly new: DiffSide;
}

export function side(source: string): DiffSide {
  const r = analyze(source);
  if (!r.profile || !r.plan) throw new Error(`fixture has errors: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return { profile: r.profile, plan: r.plan };
}

export function pairs(): Pair[] {
  return readdirSync(DIFF_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(DIFF_DIR, name);
      return { name, dir, old: side(readFileSync(join(dir, 'old.yaml'), 'utf8')), new: side(readFileSync(join(dir, 'new.yaml'), 'utf8')) };
    });
}

/** The diff of a pair without artifacts (target "none"), as expected.json holds it. */
export function planDiff(p: Pair): DiffResult {
  return diffProfiles(p.old, p.new, []);
}
