/**
 * Every bad import input is a coded diagnostic with its position, and nothing is produced:
 * fixtures/import/_error_/<case>/input/ and the expected diagnostics.txt beside it
 * (WARPC_UPDATE_GOLDENS=1 rewrites them; review the diff).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatText } from '../../src/diagnostics/diagnostic.js';
import { readImportInputs } from '../../src/interop/files.js';
import { importAccount } from '../../src/interop/import.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ERR = join(ROOT, 'fixtures', 'import', '_error_');
const cases = readdirSync(ERR).sort();

export function runImport(dir: string): { text: string; files: number; errors: number } {
  const rel = relative(ROOT, dir);
  const read = readImportInputs([rel]);
  const result = read.diagnostics.some((d) => d.severity === 'error') ? null : importAccount(read.files, 'yaml', 'out');
  const diags = [...read.diagnostics, ...(result?.diagnostics ?? [])];
  const text = diags.map((d) => formatText(d, d.file !== undefined ? read.texts.get(d.file) : undefined)).join('\n');
  return { text: `${text}\n`, files: result?.files.size ?? 0, errors: diags.filter((d) => d.severity === 'error').length };
}

describe('import: bad inputs', () => {
  it('covers every bad-input case of the issue', () => {
    for (const c of ['malformed-json', 'api-failure', 'address-and-host', 'unknown-policy-id', 'unknown-resources-only', 'duplicate-policy-ids', 'empty-folder']) expect(cases).toContain(c);
  });
  it.each(cases)('%s: coded errors, nothing produced', (c) => {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const r = runImport(join(ERR, c, 'input'));
      expect(r.errors).toBeGreaterThan(0);
      expect(r.files).toBe(0);
      const expectedFile = join(ERR, c, 'diagnostics.txt');
      if (process.env['WARPC_UPDATE_GOLDENS'] === '1' || !existsSync(expectedFile)) {
        if (process.env['WARPC_UPDATE_GOLDENS'] === '1') writeFileSync(expectedFile, r.text);
        else throw new Error(`missing ${expectedFile} (WARPC_UPDATE_GOLDENS=1 writes it)`);
      }
      expect(r.text).toBe(readFileSync(expectedFile, 'utf8'));
    } finally {
      process.chdir(cwd);
    }
  });
});
