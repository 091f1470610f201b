/**
 * `warpc diff` as a pipeline runs it: the built binary's exit codes (0, 1, 2, and 3 with
 * --exit-code), JSON that satisfies schema/diff.schema.json, and the artifacts section
 * held to what `warpc compile` writes for each side.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PAIRS = join(FIXTURES_DIR, '_diff_');

function warpc(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const pair = (name: string): [string, string] => [join(PAIRS, name, 'old.yaml'), join(PAIRS, name, 'new.yaml')];

beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
});

describe('warpc diff', () => {
  it('exits 0 with differences, 3 with --exit-code, and 0 with --exit-code when there are none', () => {
    const r = warpc(['diff', ...pair('add-exclude-shadowed')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('IPv4 direct → tunnel: 10.128.0.0/9');
    expect(r.stdout).toContain('was entry 10.0.0.0/8 (line 7: Corporate LAN); now exclude mode default');
    expect(warpc(['diff', ...pair('add-exclude-shadowed'), '--exit-code']).code).toBe(3);
    const same = warpc(['diff', ...pair('identical'), '--exit-code', '--target', 'all']);
    expect(same.code).toBe(0);
    expect(same.stdout).toBe('no differences\n');
  });

  it('exits 1 when a side has errors, with that side\'s diagnostics, and 2 on usage errors', () => {
    const bad = join(FIXTURES_DIR, '_error_', 'bad-prefixes', 'profile.yaml');
    const r = warpc(['diff', pair('identical')[0], bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad-prefixes\/profile\.yaml:\d+:\d+: error WARPC0020/);
    const j = warpc(['diff', bad, pair('identical')[0], '--format', 'json']);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; diff: unknown; old: { diagnostics: { code: string }[] } };
    expect(doc.ok).toBe(false);
    expect(doc.diff).toBeNull();
    expect(doc.old.diagnostics.some((d) => d.code === 'WARPC0020')).toBe(true);
    expect(warpc(['diff', ...pair('identical'), '--target', 'plan9']).code).toBe(2);
    expect(warpc(['diff', pair('identical')[0]]).code).toBe(2);
    expect(warpc(['diff', ...pair('identical'), '--format', 'yaml']).code).toBe(2);
  });

  it('prints JSON that satisfies schema/diff.schema.json, and the artifacts that compile would change, with unified diffs', () => {
    const [a, b] = pair('endpoint-and-interface');
    const r = warpc(['diff', a, b, '--format', 'json', '--target', 'all', '--artifacts', '--exit-code']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { different: boolean; unified: string[]; diff: { artifacts: { target: string; files: { path: string; status: string; lines_added: number; lines_removed: number }[] }[] } };
    const validate = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'diff.schema.json'), 'utf8')) as object);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.different).toBe(true);
    // The changed files are exactly those whose bytes differ between the two compiles (the manifest aside).
    const ca = compile(readFileSync(a, 'utf8'), TARGETS).files;
    const cb = compile(readFileSync(b, 'utf8'), TARGETS).files;
    const changed = [...new Set([...ca.keys(), ...cb.keys()])].filter((p) => p !== 'manifest.json' && ca.get(p)?.text !== cb.get(p)?.text).sort();
    const reported = doc.diff.artifacts.flatMap((t) => t.files.map((f) => `${t.target}/${f.path}`)).sort();
    expect(reported).toEqual(changed);
    // Each unified diff applies: its '-' and '+' lines are the old and new texts' lines that differ.
    expect(doc.unified.length).toBe(changed.length);
    for (const u of doc.unified) {
      const path = /^--- a\/(\S+)/m.exec(u)![1]!;
      const minus = u.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---')).map((l) => l.slice(1));
      const plus = u.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1));
      const oldLines = ca.get(path)!.text.split('\n');
      const newLines = cb.get(path)!.text.split('\n');
      for (const l of minus) expect(oldLines).toContain(l);
      for (const l of plus) expect(newLines).toContain(l);
      const f = doc.diff.artifacts.flatMap((t) => t.files.map((x) => ({ ...x, full: `${t.target}/${x.path}` }))).find((x) => x.full === path)!;
      expect([plus.length, minus.length]).toEqual([f.lines_added, f.lines_removed]);
    }
    const wg = doc.unified.find((u) => u.includes('linux/wireguard.conf'))!;
    expect(wg).toContain('-Endpoint = 162.159.193.7:2408');
    expect(wg).toContain('+Endpoint = 162.159.193.9:2408');
  });
});
