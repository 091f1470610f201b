/**
 * schema/profile.schema.json is generated: the shared sections (src/profile/schema.ts)
 * plus each registry target's options fragment (targets/<os>/options.ts). The committed
 * file, which editors and users reference, must be exactly that assembly;
 * `npm run goldens:update` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetOptions } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { assembleProfileSchema, profileSchemaText } from '../../src/profile/schema.js';

const FILE = join(import.meta.dirname, '..', '..', 'schema', 'profile.schema.json');

describe('schema/profile.schema.json', () => {
  it('is the assembly of the shared sections and the registry targets\' option fragments', () => {
    const expected = profileSchemaText(targetOptions(TARGETS));
    const actual = readFileSync(FILE, 'utf8');
    if (actual !== expected && process.env['WARPC_UPDATE_GOLDENS'] === '1') {
      writeFileSync(FILE, expected);
      return;
    }
    expect(actual, 'schema/profile.schema.json is stale: run npm run goldens:update').toBe(expected);
  });

  it('lists under targets exactly the registry rows that declare options, each under its own name, in registry order', () => {
    const schema = assembleProfileSchema(targetOptions(TARGETS)) as { properties: { targets: { properties: Record<string, unknown> } } };
    expect(Object.keys(schema.properties.targets.properties)).toEqual(TARGETS.filter((t) => t.options).map((t) => t.name));
    for (const t of TARGETS) if (t.options) expect(t.options.name, t.name).toBe(t.name);
    expect(Object.keys(schema.properties.targets.properties)).toEqual(['linux', 'macos', 'windows']);
  });
});
