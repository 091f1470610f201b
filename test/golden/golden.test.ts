/**
 * Golden tests: every fixture profile compiled for every registered target must
 * reproduce fixtures/<case>/expected/ exactly — the same set of files, the same
 * bytes — and every error fixture must produce exactly its diagnostics.txt and
 * no files. A missing golden fails. To accept new output after reviewing it:
 *
 *   npm run goldens:update
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { formatText, withFile } from '../../src/diagnostics/diagnostic.js';
import { TARGETS } from '../../src/emit/registry.js';
import { errorFixtures, listFiles, validFixtures } from '../helpers/fixtures.js';

const UPDATE = process.env['WARPC_UPDATE_GOLDENS'] === '1';

function diagnosticsText(source: string, diags: ReturnType<typeof compile>['diagnostics']): string {
  return withFile(diags, 'profile.yaml').map((d) => `${formatText(d, source)}\n`).join('');
}

describe('golden outputs', () => {
  const fixtures = validFixtures();
  it('has the fixture profiles the compiler promises', () => {
    expect(fixtures.map((f) => f.name)).toEqual(expect.arrayContaining(['defaults', 'corporate-exclude', 'include-only', 'ipv6-heavy', 'dns-only', 'tunnel-only']));
  });

  for (const fx of fixtures) {
    it(`${fx.name}: every target reproduces expected/ exactly`, () => {
      const result = compile(fx.source, TARGETS);
      expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const expectedDir = join(fx.dir, 'expected');
      const diagFile = join(fx.dir, 'diagnostics.txt');
      const diagText = diagnosticsText(fx.source, result.diagnostics);
      if (UPDATE) {
        rmSync(expectedDir, { recursive: true, force: true });
        for (const [path, f] of result.files) {
          const full = join(expectedDir, path);
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, f.text);
        }
        if (diagText) writeFileSync(diagFile, diagText);
        else rmSync(diagFile, { force: true });
        return;
      }
      const actualPaths = [...result.files.keys()].sort();
      expect(actualPaths, 'the exact set of files').toEqual(listFiles(expectedDir));
      for (const path of actualPaths) {
        expect(result.files.get(path)!.text, path).toBe(readFileSync(join(expectedDir, path), 'utf8'));
      }
      let expectedDiags = '';
      try {
        expectedDiags = readFileSync(diagFile, 'utf8');
      } catch {
        /* no warnings expected */
      }
      expect(diagText).toBe(expectedDiags);
    });

    it(`${fx.name}: compiling twice gives identical bytes`, () => {
      const a = compile(fx.source, TARGETS);
      const b = compile(fx.source, TARGETS);
      expect([...b.files.entries()]).toEqual([...a.files.entries()]);
    });
  }
});

describe('error fixtures', () => {
  const fixtures = errorFixtures();
  it('has at least 12 error cases', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
  });
  for (const fx of fixtures) {
    it(`${fx.name}: reports exactly diagnostics.txt and writes nothing`, () => {
      const result = compile(fx.source, TARGETS);
      expect(result.files.size).toBe(0);
      expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
      const text = diagnosticsText(fx.source, result.diagnostics);
      const file = join(fx.dir, 'diagnostics.txt');
      if (UPDATE) {
        writeFileSync(file, text);
        return;
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }
});

describe('capabilities', () => {
  it('the core refuses a plan feature a target cannot express, with a coded error and no files', async () => {
    const { linux } = await import('../../targets/linux/index.js');
    const limited = { ...linux, name: 'limited', capabilities: { ...linux.capabilities, hostEntries: { by: 'none' as const }, firewall: false } };
    const source = readFileSync(join(validFixtures().find((f) => f.name === 'corporate-exclude')!.dir, 'profile.yaml'), 'utf8');
    const result = compile(source, [limited]);
    expect(result.files.size).toBe(0);
    expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.line} ${d.message}`)).toEqual([
      'WARPC0101 0 target limited cannot express the firewall that keeps tunnel-bound traffic off other interfaces (service mode warp needs it); leave limited out of --target',
      'WARPC0100 15 target limited cannot express Split Tunnel host entries: "*.zoom.us" would be ignored; remove host entries or leave limited out of --target',
      'WARPC0100 16 target limited cannot express Split Tunnel host entries: "teams.microsoft.com" would be ignored; remove host entries or leave limited out of --target',
    ]);
  });
});
