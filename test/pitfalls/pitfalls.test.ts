/**
 * Pitfall warnings (src/pitfalls): every fixtures/_pitfalls_/WARPC01xx-<case>/ has a
 * triggers.yaml, whose lines marked `# expect WARPC01xx` must each get that code (and no
 * other line), and a clean.yaml that must not get it. `--subtract` is held to cidr-tools.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { excludeCidr, normalizeCidr } from 'cidr-tools';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { CODES } from '../../src/diagnostics/codes.js';
import { subtract } from '../../src/pitfalls/subtract.js';
import { v4Prefix, v6Prefix } from '../helpers/arbitraries.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const DIR = join(FIXTURES_DIR, '_pitfalls_');
const ROOT = join(import.meta.dirname, '..', '..');
const cases = readdirSync(DIR).sort();

describe('pitfall warnings', () => {
  it('has a fixture pair for every pitfall code but the --subtract usage error', () => {
    const pitfallCodes = Object.values(CODES)
      .map((c) => c.code)
      .filter((c) => c >= 'WARPC0130' && c <= 'WARPC0149' && c !== CODES.SubtractMixedFamilies.code);
    expect(cases.map((c) => c.slice(0, 9))).toEqual(pitfallCodes);
  });

  for (const name of cases) {
    const code = name.slice(0, 9);
    it(`${name}: triggers.yaml warns at each marked line, clean.yaml does not warn`, () => {
      const source = readFileSync(join(DIR, name, 'triggers.yaml'), 'utf8');
      const marked = source
        .split('\n')
        .map((l, i) => (l.includes(`# expect ${code}`) ? i + 1 : 0))
        .filter((n) => n > 0);
      expect(marked.length).toBeGreaterThan(0);
      const r = analyze(source);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const hits = r.diagnostics.filter((d) => d.code === code);
      expect(hits.map((d) => d.line)).toEqual(marked);
      for (const d of hits) {
        expect(d.severity).toBe('warning');
        expect(d.col).toBeGreaterThan(0);
      }
      const clean = analyze(readFileSync(join(DIR, name, 'clean.yaml'), 'utf8'));
      expect(clean.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(clean.diagnostics.filter((d) => d.code === code)).toEqual([]);
    });
  }

  it('WARPC0132 prints the subtraction that fixes the CGNAT trap', () => {
    const r = analyze(readFileSync(join(DIR, 'WARPC0132-cgnat-interface', 'triggers.yaml'), 'utf8'));
    const d = r.diagnostics.find((x) => x.code === 'WARPC0132')!;
    expect(d.message).toContain('inside the exclude entry 100.64.0.0/10 (a default entry)');
    expect(d.message).toContain('traffic to 100.96.0.0/12 goes direct');
    expect(d.message).toContain('replace 100.64.0.0/10 with 100.64.0.0/11, 100.112.0.0/12');
  });
});

describe('warpc explain --subtract', () => {
  it('gives the minimal CIDRs of the difference, as cidr-tools computes it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(v4Prefix, fc.array(v4Prefix, { maxLength: 4 })), fc.tuple(v6Prefix, fc.array(v6Prefix, { maxLength: 4 }))), ([a, bs]) => {
        const r = subtract(a, bs);
        expect(r.diagnostics).toEqual([]);
        expect(r.cidrs).toEqual(bs.length === 0 ? [normalizeCidr(a)] : excludeCidr([a], bs));
      }),
      { numRuns: 300 },
    );
  });

  it('prints one CIDR a line; bad or mixed prefixes are usage errors', () => {
    const bin = join(ROOT, 'dist', 'src', 'cli', 'main.js');
    const run = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, 'explain', '--subtract', ...args], { encoding: 'utf8' });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const ok = run('100.64.0.0/10', '100.96.0.0/12');
    expect([ok.code, ok.stdout]).toEqual([0, '100.64.0.0/11\n100.112.0.0/12\n']);
    const json = run('100.64.0.0/10', '100.96.0.0/12', '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, cidrs: ['100.64.0.0/11', '100.112.0.0/12'] });
    const bits = run('100.64.0.0/10', '100.96.0.1/12');
    expect(bits.code).toBe(2);
    expect(bits.stderr).toContain('WARPC0021: "100.96.0.1/12" has host bits set: did you mean 100.96.0.0/12?');
    const mixed = run('100.64.0.0/10', '::/0');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('WARPC0137');
  });
});
