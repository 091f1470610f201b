/**
 * Import goldens: each account of fixtures/import/<account>/input imports to exactly
 * fixtures/import/<account>/expected/ (the same files, the same bytes), whatever the order the
 * inputs come in; each written profile passes check (importAccount refuses otherwise) and keeps
 * every split tunnel and fallback entry of its Cloudflare profile, in order, with its description.
 * WARPC_UPDATE_GOLDENS=1 rewrites expected/ (review the diff).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { importAccount } from '../../src/interop/import.js';
import type { InputFile } from '../../src/interop/read.js';
import { readAccount } from '../../src/interop/read.js';

const IMPORT = join(import.meta.dirname, '..', '..', 'fixtures', 'import');
const ACCOUNTS = readdirSync(IMPORT).filter((d) => !d.startsWith('_') && statSync(join(IMPORT, d)).isDirectory()).sort();
const UPDATE = process.env['WARPC_UPDATE_GOLDENS'] === '1';

function inputs(dir: string): InputFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: `fixtures/import/${dir.split('/').slice(-2).join('/')}/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}

describe.each(ACCOUNTS)('import %s', (acc) => {
  const files = inputs(join(IMPORT, acc, 'input'));
  const result = importAccount(files);
  const expectedDir = join(IMPORT, acc, 'expected');

  it('reproduces expected/ exactly', () => {
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    if (UPDATE) {
      rmSync(expectedDir, { recursive: true, force: true });
      mkdirSync(expectedDir, { recursive: true });
      for (const [name, text] of result.files) writeFileSync(join(expectedDir, name), text);
      return;
    }
    expect([...result.files.keys()].sort()).toEqual(readdirSync(expectedDir).sort());
    for (const [name, text] of result.files) expect(text, name).toBe(readFileSync(join(expectedDir, name), 'utf8'));
  });

  it('gives the same bytes whatever the order of the inputs', () => {
    const again = importAccount([...files].reverse());
    expect(again.files).toEqual(result.files);
  });

  it('every profile passes check and keeps every entry, its order and description', () => {
    const account = readAccount(files).account!;
    const byId = new Map([...account.custom, ...(account.defaultProfile ? [account.defaultProfile] : [])].map((p) => [p.policyId ?? 'default', p]));
    for (const [name, text] of result.files) {
      if (name === 'index.yaml') continue;
      expect(analyze(text).diagnostics.filter((d) => d.severity === 'error'), name).toEqual([]);
      const doc = parse(text) as { selector?: { policy_id: string }; split_tunnel?: { mode: string; entries: unknown[] }; fallback_domains?: unknown[] };
      const cf = byId.get(doc.selector?.policy_id ?? 'default')!;
      const active = (cf.include?.length ?? 0) > 0 ? cf.include : cf.exclude;
      expect(doc.split_tunnel?.entries, name).toEqual(active);
      expect(doc.fallback_domains, name).toEqual(cf.fallback_domains);
    }
  });
});
