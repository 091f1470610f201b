/**
 * Golden diffs: every fixtures/_diff_/<case> pair gives exactly its expected.json
 * (the plan-level diff, `warpc diff --target none --format json`'s `diff`), and that
 * JSON satisfies schema/diff.schema.json. `npm run goldens:update` rewrites them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { pairs, planDiff } from '../diff/pairs.js';

const UPDATE = process.env['WARPC_UPDATE_GOLDENS'] === '1';
const SCHEMA = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'diff.schema.json'), 'utf8')) as object;

describe('warpc diff goldens', () => {
  const all = pairs();
  it('has at least 8 realistic pairs, among them an include↔exclude switch and an IPv6-only change', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.some((p) => p.old.plan.split.mode !== p.new.plan.split.mode)).toBe(true);
    const ipv6Only = all.find((p) => p.name === 'ipv6-only')!;
    const d = planDiff(ipv6Only);
    expect(d.routing.moves.length).toBeGreaterThan(0);
    expect(d.routing.moves.every((m) => m.family === 6)).toBe(true);
  });

  for (const p of all) {
    it(`${p.name}: the diff is expected.json and matches the schema`, () => {
      const diff = planDiff(p);
      const json = `${JSON.stringify(diff, null, 2)}\n`;
      const file = join(p.dir, 'expected.json');
      if (UPDATE) {
        writeFileSync(file, json);
        return;
      }
      expect(json).toBe(readFileSync(file, 'utf8'));
      const validate = new Ajv({ strict: true, allErrors: true }).compile(SCHEMA);
      const doc = { ok: true, old: { file: 'old.yaml', diagnostics: [] }, new: { file: 'new.yaml', diagnostics: [] }, different: true, diff };
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    });
  }
});
