/**
 * package.json's dependencies are exactly the packages the shipped code (src/, targets/) imports:
 * anything only tests or benches use is a devDependency, and nothing shipped needs one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(ROOT, dir, f));
}

/** Package names of the value imports (static, dynamic, require, createRequire(…)(…)) in shipped code; `import type` does not ship. */
function shippedImports(): Set<string> {
  const names = new Set<string>();
  for (const file of [...tsFiles('src'), ...tsFiles('targets')]) {
    const text = readFileSync(file, 'utf8');
    const specs = [...[...text.matchAll(/^import (?!type\b)[^;]*?from '([^']+)'/gms)].map((m) => m[1]!), ...[...text.matchAll(/(?:import|require|\))\('([^']+)'\)/g)].map((m) => m[1]!)];
    for (const s of specs) {
      if (s.startsWith('.') || s.startsWith('node:') || builtinModules.includes(s)) continue;
      names.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
    }
  }
  return names;
}

it('dependencies are what src/ and targets/ import, and nothing else', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
  const shipped = shippedImports();
  const optional = Object.keys(pkg.optionalDependencies ?? {});
  expect([...shipped].filter((n) => !optional.includes(n)).sort()).toEqual(Object.keys(pkg.dependencies).sort());
});
