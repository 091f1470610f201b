/** Where warpc is installed, and its version: read once from its package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'warpc') return { root: dir, version: pkg.version };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('warpc: cannot find its own package.json');
    dir = parent;
  }
}

/** The package root: templates (targets/) and schemas (schema/) are read from here, never from a profile's path. */
const found = findPackageRoot();
export const PACKAGE_ROOT: string = found.root;

export const VERSION: string = found.version;
