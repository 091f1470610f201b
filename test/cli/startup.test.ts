/**
 * Start-up: a command loads its implementation when it runs, so `warpc --version`,
 * `warpc status` and `warpc check` do not pay for packages they never use, and the
 * built CLI validates with the precompiled schema validators (src/schemas.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_OPTIONS } from '../../src/schemas.js';
import { readLoaded, writeLoadProbe } from '../helpers/load-probe.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const require = createRequire(import.meta.url);

let tmp: string;
let probe: string;
beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'warpc-startup-'));
  probe = writeLoadProbe(tmp);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The package files (under node_modules/) a CLI run loaded. */
function loaded(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--require', probe, BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return readLoaded(r.stderr).files.flatMap((f) => /node_modules\/(.*)$/.exec(f)?.[1] ?? []);
}

const packages = (files: string[]): Set<string> => new Set(files.map((f) => f.split('/')[0]!));

describe('start-up loads only what the command uses', () => {
  it('--version loads no package, not even commander', () => {
    expect(loaded(['--version'])).toEqual([]);
  });

  it('status and check load commander and nothing of the other commands', () => {
    expect(packages(loaded(['status', '--state-dir', join(tmp, 'no-state')])).has('commander')).toBe(true);
  });

  it('status loads neither the YAML parser, ajv nor handlebars', () => {
    const p = packages(loaded(['status', '--state-dir', join(tmp, 'no-state')]));
    for (const heavy of ['yaml', 'ajv', 'handlebars']) expect(p.has(heavy), heavy).toBe(false);
  });

  it('check parses YAML but neither compiles a schema with ajv nor loads handlebars', () => {
    const files = loaded(['check', join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml')]);
    expect(packages(files).has('yaml')).toBe(true);
    expect(packages(files).has('handlebars')).toBe(false);
    // The Public Suffix List loads for a profile's own fallback suffixes (corporate-exclude has some), not before.
    expect(packages(files).has('tldts')).toBe(true);
    expect(packages(loaded(['check', join(FIXTURES_DIR, 'defaults', 'profile.yaml')])).has('tldts')).toBe(false);
    // The precompiled validator needs only ajv's small runtime helpers, never ajv itself.
    expect(files.filter((f) => f.startsWith('ajv/') && !f.startsWith('ajv/dist/runtime/'))).toEqual([]);
  });

  it("compile renders with the build's precompiled templates: Handlebars' runtime, never its compiler", () => {
    const files = loaded(['compile', join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml'), '--target', 'all', '--out', join(tmp, 'compiled')]);
    const hbs = files.filter((f) => f.startsWith('handlebars/'));
    expect(hbs).toContain('handlebars/dist/cjs/handlebars.runtime.js');
    expect(hbs.filter((f) => f.startsWith('handlebars/lib/') || f.includes('/compiler/') || f === 'handlebars/dist/cjs/handlebars.js')).toEqual([]);
  });
});

describe('precompiled schema validators', () => {
  it('the build writes one per schema, and the built CLI uses it', async () => {
    const dir = join(ROOT, 'dist', 'src', 'schemas');
    expect(readdirSync(dir).sort()).toEqual(
      Object.keys(SCHEMA_OPTIONS)
        .map((n) => `${n}.cjs`)
        .sort(),
    );
    const built = (await import(join(ROOT, 'dist', 'src', 'schemas.js'))) as typeof import('../../src/schemas.js');
    for (const name of Object.keys(SCHEMA_OPTIONS)) expect(built.schemaValidator(name)).toBe(require(join(dir, `${name}.cjs`)));
  });

  it('the precompiled profile validator reports exactly what ajv compiling the schema reports', () => {
    const name = 'profile.schema.json';
    const pre = require(join(ROOT, 'dist', 'src', 'schemas', `${name}.cjs`)) as ValidateFunction;
    const fresh = new Ajv(SCHEMA_OPTIONS[name]).compile(JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as object);
    const dir = join(FIXTURES_DIR, '_error_');
    let failing = 0;
    for (const c of readdirSync(dir)) {
      let doc: unknown;
      try {
        doc = parse(readFileSync(join(dir, c, 'profile.yaml'), 'utf8'), { version: '1.2', uniqueKeys: false, logLevel: 'error' });
      } catch {
        continue; // not YAML at all: the schema never sees it
      }
      const a = pre(doc);
      const b = fresh(doc);
      expect(a, c).toBe(b);
      expect(pre.errors ?? null, c).toEqual(fresh.errors ?? null);
      if (!a) failing++;
    }
    expect(failing).toBeGreaterThan(3);
  });

  it('a precompiled validator made from another schema text is not used', async () => {
    // A copy of the built module in a package of its own, whose precompiled validator is stale.
    const pkg = join(tmp, 'stale-pkg');
    mkdirSync(join(pkg, 'dist', 'src', 'schemas'), { recursive: true });
    mkdirSync(join(pkg, 'schema'));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'warpc', version: '0.0.0', type: 'module' }));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    for (const f of ['schemas.js', 'schemas.js.map', 'version.js', 'version.js.map']) copyFileSync(join(ROOT, 'dist', 'src', f), join(pkg, 'dist', 'src', f));
    copyFileSync(join(ROOT, 'schema', 'profile.schema.json'), join(pkg, 'schema', 'profile.schema.json'));
    const built = readFileSync(join(ROOT, 'dist', 'src', 'schemas', 'profile.schema.json.cjs'), 'utf8');
    const stale = `${built}\nmodule.exports.schemaSource = ${JSON.stringify('{"type":"object"}')};\n`;
    writeFileSync(join(pkg, 'dist', 'src', 'schemas', 'profile.schema.json.cjs'), stale);
    const copy = (await import(join(pkg, 'dist', 'src', 'schemas.js'))) as typeof import('../../src/schemas.js');
    const v = copy.schemaValidator('profile.schema.json');
    expect(v).not.toBe(require(join(pkg, 'dist', 'src', 'schemas', 'profile.schema.json.cjs')));
    expect(v({ version: 1, no_such_key: true })).toBe(false); // compiled from the real schema
  });
});
