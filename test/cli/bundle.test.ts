/**
 * The bundled CLI (dist/bin/warpc.js, package.json's `bin`, written by `npm run build` with
 * esbuild: scripts/build.ts) behaves as the modules tsc built: the same version, the same
 * diagnostics, every fixture's goldens byte for byte, and it loads neither the packages it
 * carries nor the ones a command does not use.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, listFiles, validFixtures } from '../helpers/fixtures.js';
import { readLoaded, writeLoadProbe } from '../helpers/load-probe.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'bin', 'warpc.js');
const MODULES = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

let tmp: string;
let probe: string;
beforeAll(() => {
  if (!existsSync(BUNDLE)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'warpc-bundle-'));
  probe = writeLoadProbe(tmp);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(bin: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** What a run of the bundle loaded. Its output goes to files: a pipe there would load node:net. */
function loaded(args: string[]): { files: string[]; builtins: string[] } {
  const errFile = join(tmp, 'probe-stderr');
  const out = openSync(join(tmp, 'probe-stdout'), 'w');
  const err = openSync(errFile, 'w');
  try {
    spawnSync(process.execPath, ['--require', probe, BUNDLE, ...args], { cwd: ROOT, stdio: ['ignore', out, err] });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  return readLoaded(readFileSync(errFile, 'utf8'));
}

/** A 20-entry profile in block style, the form the fast YAML reader reads. */
function blockProfile(): string {
  const file = join(tmp, 'block.yaml');
  const lines = ['version: 1', 'name: small', 'split_tunnel:', '  mode: exclude', '  entries:'];
  for (let i = 0; i < 20; i++) lines.push(`    - address: 10.${i}.0.0/16`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const corp = join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml');

describe('the bundled CLI', () => {
  it('is the bin package.json installs, executable, with a node shebang', () => {
    expect(join(ROOT, pkg.bin['warpc']!)).toBe(BUNDLE);
    accessSync(BUNDLE, constants.X_OK);
    expect(readFileSync(BUNDLE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--version prints the package version, also through a symlink (as node_modules/.bin/warpc)', () => {
    expect(run(BUNDLE, ['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const link = join(tmp, 'warpc');
    symlinkSync(BUNDLE, link);
    expect(run(link, ['--version']).stdout).toBe(`${pkg.version}\n`);
    expect(run(link, ['check', corp]).code).toBe(0);
  });

  it('check prints what the modules tsc built print', () => {
    for (const profile of [corp, blockProfile(), join(FIXTURES_DIR, '_error_', 'bad-prefixes', 'profile.yaml')]) {
      for (const format of [[], ['--format', 'json']]) {
        const ours = run(BUNDLE, ['check', profile, ...format]);
        expect(ours, profile).toEqual(run(MODULES, ['check', profile, ...format]));
        expect(ours.stdout + ours.stderr).not.toContain('internal error');
      }
    }
    expect(run(BUNDLE, ['check', corp]).code).toBe(0);
  });

  it("compile --target all reproduces every fixture's goldens, byte for byte", () => {
    const fixtures = validFixtures();
    expect(fixtures.length).toBeGreaterThan(5);
    for (const fx of fixtures) {
      const out = join(tmp, `all-${fx.name}`);
      const r = run(BUNDLE, ['compile', join(fx.dir, 'profile.yaml'), '--target', 'all', '--out', out]);
      expect(r.code, `${fx.name}: ${r.stderr}`).toBe(0);
      const expectedDir = join(fx.dir, 'expected');
      expect(listFiles(out), fx.name).toEqual(listFiles(expectedDir));
      for (const path of listFiles(out)) expect(readFileSync(join(out, path), 'utf8'), `${fx.name}/${path}`).toBe(readFileSync(join(expectedDir, path), 'utf8'));
    }
  });

  it('a command it does not know, and --help, list every command as the modules do', () => {
    expect(run(BUNDLE, ['--help'])).toEqual(run(MODULES, ['--help']));
    const typo = run(BUNDLE, ['chek']);
    expect(typo.code).toBe(2);
    expect(typo).toEqual(run(MODULES, ['chek']));
  });
});

describe('what the bundled CLI loads', () => {
  const fromNodeModules = (files: string[]): string[] => files.map((f) => (/node_modules\/(.*)$/.exec(f) ?? [])[1]).filter((f): f is string => f !== undefined);

  it('--version loads no CommonJS file at all', () => {
    expect(loaded(['--version']).files).toEqual([]);
  });

  it("check of a block-style profile: no package from node_modules but ajv's runtime helpers, no YAML parser, no child_process", () => {
    const l = loaded(['check', blockProfile()]);
    expect(fromNodeModules(l.files).filter((f) => !f.startsWith('ajv/dist/runtime/'))).toEqual([]);
    expect(l.files.filter((f) => f.includes('/vendor/'))).toEqual([]);
    // No ES import of a built-in either: node:fs's ES facade would load the streams and fs/promises.
    for (const m of ['child_process', 'net', 'crypto', 'fs/promises']) expect(l.builtins, m).not.toContain(m);
  });

  it('check of a flow-style profile with fallback suffixes of its own loads the YAML parser and tldts, one vendored file each', () => {
    const l = loaded(['check', corp]);
    const vendor = join(ROOT, 'dist', 'bin', 'vendor');
    expect(l.files.filter((f) => f.startsWith(vendor)).sort()).toEqual([join(vendor, 'tldts.cjs'), join(vendor, 'yaml.cjs')]);
    expect(fromNodeModules(l.files).filter((f) => !f.startsWith('ajv/dist/runtime/'))).toEqual([]);
  });

  it('status loads none of the sockets, processes or crypto the runtime uses when it acts', () => {
    const l = loaded(['status', '--state-dir', join(tmp, 'no-state')]);
    for (const m of ['child_process', 'net', 'dgram', 'crypto', 'tls', 'http']) expect(l.builtins, m).not.toContain(m);
    expect(fromNodeModules(l.files)).toEqual([]);
  });

  it("compile renders with the precompiled templates and Handlebars' runtime alone", () => {
    const l = loaded(['compile', corp, '--target', 'all', '--out', join(tmp, 'loads')]);
    expect(fromNodeModules(l.files).filter((f) => !f.startsWith('ajv/dist/runtime/'))).toEqual([]);
    expect(l.files).toContain(join(ROOT, 'dist', 'bin', 'vendor', 'handlebars-runtime.cjs'));
    const templates = l.files.filter((f) => f.endsWith('.hbs.cjs'));
    expect(templates.length).toBeGreaterThan(10);
    for (const t of templates) expect(t.startsWith(join(ROOT, 'dist', 'targets'))).toBe(true);
    expect(l.builtins).not.toContain('child_process');
  });
});
