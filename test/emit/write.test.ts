/**
 * `compile --out DIR` replaces DIR only when it is absent, empty, or exactly a
 * previous warpc output; it removes only what the old manifest lists, and a
 * refusal leaves every byte where it was.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, compileTo, resolveTargets } from '../../src/compile.js';
import type { TargetModule } from '../../src/emit/target.js';
import { OutputError, outputSink, StagedOutput, writeOutput } from '../../src/emit/write.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'warpc-write-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SOURCE = readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml'), 'utf8');
function output(targets: string) {
  const r = compile(SOURCE, resolveTargets(targets).targets);
  expect(r.files.size).toBeGreaterThan(0);
  return r.files;
}

/** Every entry under dir (not following links): path → file bytes (hex), link target, or folder. */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(dir, p));
    if (st.isDirectory()) {
      out[`${p}/`] = `dir ${st.mode.toString(8)}`;
      Object.assign(out, snapshot(dir, p));
    } else if (st.isSymbolicLink()) out[p] = `link ${readlinkSync(join(dir, p))}`;
    else out[p] = `${st.mode.toString(8)} ${readFileSync(join(dir, p)).toString('hex')}`;
  }
  return out;
}

function refusal(fn: () => unknown): OutputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutputError) return err;
    throw err;
  }
  throw new Error('expected an OutputError');
}

let n = 0;
const fresh = (): string => join(tmp, `out${n++}`);

describe('writeOutput', () => {
  it("refuses a web app's folder whose manifest.json is not warpc's, and leaves every byte in place", () => {
    const out = fresh();
    mkdirSync(join(out, 'src'), { recursive: true });
    writeFileSync(join(out, 'manifest.json'), JSON.stringify({ manifest_version: 3, name: 'My extension', version: '1.0', background: { service_worker: 'src/bg.js' } }));
    writeFileSync(join(out, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(out, 'src', 'bg.js'), 'chrome.runtime.onInstalled.addListener(() => {});\n');
    const before = snapshot(out);
    const e = refusal(() => writeOutput(out, output('linux')));
    expect(e.kind).toBe('foreign-manifest');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(tmp).filter((x) => x.includes('.warpc-'))).toEqual([]);
  });

  it('refuses a manifest.json that is not JSON, or not a regular file', () => {
    const out = fresh();
    mkdirSync(out);
    writeFileSync(join(out, 'manifest.json'), '{"compiler": {"name": "warpc"'); // cut short
    const before = snapshot(out);
    expect(refusal(() => writeOutput(out, output('linux'))).kind).toBe('foreign-manifest');
    expect(snapshot(out)).toEqual(before);
    const out2 = fresh();
    mkdirSync(join(out2, 'manifest.json'), { recursive: true });
    expect(refusal(() => writeOutput(out2, output('linux'))).kind).toBe('foreign-manifest');
    expect(existsSync(join(out2, 'manifest.json'))).toBe(true);
  });

  it('replaces a genuine previous output, removing what it listed', () => {
    const out = fresh();
    writeOutput(out, output('all'));
    expect(existsSync(join(out, 'macos'))).toBe(true);
    const linuxOnly = output('linux');
    expect(writeOutput(out, linuxOnly)).toEqual({ leftover: null });
    const expected: Record<string, string> = {};
    for (const [p, f] of linuxOnly) expected[p] = `${(0o100000 | f.mode).toString(8)} ${Buffer.from(f.text).toString('hex')}`;
    const now = snapshot(out);
    expect(Object.fromEntries(Object.entries(now).filter(([p]) => !p.endsWith('/')))).toEqual(expected);
    expect(Object.keys(now).filter((p) => p.endsWith('/'))).toEqual(['linux/']);
    expect(readdirSync(tmp).filter((x) => x.includes('.warpc-'))).toEqual([]);
  });

  it('replaces an empty folder', () => {
    const out = fresh();
    mkdirSync(out);
    writeOutput(out, output('linux'));
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  });

  it('refuses a previous output that holds files warpc did not write, naming them, and touches nothing', () => {
    const out = fresh();
    writeOutput(out, output('linux,macos'));
    writeFileSync(join(out, 'README.md'), 'notes from the admin\n');
    writeFileSync(join(out, 'linux', 'local.conf'), 'mine\n');
    mkdirSync(join(out, 'docs'));
    writeFileSync(join(out, 'docs', 'x.txt'), 'x');
    const before = snapshot(out);
    const e = refusal(() => writeOutput(out, output('linux')));
    expect(e.kind).toBe('unexpected-files');
    expect(e.message).toBe('README.md, docs/, linux/local.conf');
    expect(snapshot(out)).toEqual(before);
  });

  it('refuses a listed folder or file that is a symbolic link (it would lead outside the output)', () => {
    const out = fresh();
    writeOutput(out, output('linux,macos'));
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'keep.txt'), 'keep');
    rmSync(join(out, 'macos'), { recursive: true });
    symlinkSync(elsewhere, join(out, 'macos'));
    rmSync(join(out, 'linux', 'up.sh'));
    symlinkSync(join(elsewhere, 'keep.txt'), join(out, 'linux', 'up.sh'));
    const before = snapshot(out);
    const e = refusal(() => writeOutput(out, output('linux')));
    expect(e.kind).toBe('unexpected-files');
    expect(e.message).toBe('linux/up.sh, macos');
    expect(snapshot(out)).toEqual(before);
    expect(readFileSync(join(elsewhere, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('refuses a warpc-shaped manifest that is damaged: bad schema, unsafe paths, duplicates', () => {
    const damage: ((m: { files: { path: string; sha256: string }[]; schema_version: number }) => void)[] = [
      (m) => (m.files[0]!.sha256 = 'not a hash'),
      (m) => (m.schema_version = 2),
      (m) => (m.files[0]!.path = 'linux/../../victim'),
      (m) => (m.files[0]!.path = 'linux/./x'),
      (m) => (m.files[0]!.path = 'linux//x'),
      (m) => m.files.push({ ...m.files[0]! }),
      (m) => m.files.push({ ...m.files[0]!, path: `${m.files[0]!.path}/inner` }),
    ];
    for (const d of damage) {
      const out = fresh();
      writeOutput(out, output('linux'));
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Parameters<typeof d>[0];
      d(m);
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(m));
      const before = snapshot(out);
      expect(refusal(() => writeOutput(out, output('linux'))).kind).toBe('damaged-manifest');
      expect(snapshot(out)).toEqual(before);
    }
  });

  it('tolerates listed files that are gone (removes the rest)', () => {
    const out = fresh();
    writeOutput(out, output('linux'));
    rmSync(join(out, 'linux', 'up.sh'));
    writeOutput(out, output('linux'));
    expect(existsSync(join(out, 'linux', 'up.sh'))).toBe(true);
  });

  it('refuses a path that is a file, and a non-empty folder without manifest.json', () => {
    const f = fresh();
    writeFileSync(f, 'a file');
    expect(refusal(() => writeOutput(f, output('linux'))).kind).toBe('not-warpc');
    expect(readFileSync(f, 'utf8')).toBe('a file');
  });
});

/** Staging entries left next to the outputs (none may be, whatever happened). */
const stagingLeft = (): string[] => readdirSync(tmp).filter((x) => x.includes('.warpc-'));

describe('writing as the compiler emits (compile --out)', () => {
  const [linux] = resolveTargets('linux').targets;
  /** A target after linux whose files cannot be built: linux's files are already staged when it fails. */
  const tooLarge: TargetModule = {
    ...linux!,
    name: 'macos',
    emit() {
      throw new RangeError('Invalid string length');
    },
  };

  it('writes every file of compileTo, each target as it is emitted, and commits the same output as compile', () => {
    const a = fresh();
    const b = fresh();
    const out = outputSink(a);
    const seen: string[] = [];
    const r = compileTo(SOURCE, resolveTargets('all').targets, (path, f) => {
      seen.push(path);
      out.write(path, f);
    });
    expect(r.manifest).not.toBeNull();
    expect(out.commit()).toEqual({ leftover: null });
    out.abort(); // a no-op after commit
    writeOutput(b, output('all'));
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(seen).toEqual(r.paths);
    expect(seen.at(-1)).toBe('manifest.json');
    expect(stagingLeft()).toEqual([]);
  });

  it('a target failing after others were staged leaves the previous output as it was, and no staging folder', () => {
    const out = fresh();
    writeOutput(out, output('linux'));
    const before = snapshot(out);
    const sink = outputSink(out);
    let staged = 0;
    const r = compileTo(SOURCE, [linux!, tooLarge], (path, f) => {
      staged++;
      sink.write(path, f);
    }, [linux!]);
    expect(staged).toBeGreaterThan(0);
    expect(r.manifest).toBeNull();
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['WARPC0076']);
    expect(stagingLeft()).toHaveLength(1); // linux's files, staged
    sink.abort();
    expect(stagingLeft()).toEqual([]);
    expect(snapshot(out)).toEqual(before);
  });

  it('the same with no previous output: no output folder at all', () => {
    const out = fresh();
    const sink = outputSink(out);
    compileTo(SOURCE, [linux!, tooLarge], sink.write, [linux!]);
    sink.abort();
    expect(existsSync(out)).toBe(false);
    expect(stagingLeft()).toEqual([]);
  });

  it('a refused output folder is kept as an error until commit; the compile goes on and nothing is touched', () => {
    const f = fresh();
    writeFileSync(f, 'a file');
    const sink = outputSink(f);
    const r = compileTo(SOURCE, [linux!], sink.write);
    expect(r.manifest).not.toBeNull();
    expect(refusal(() => sink.commit()).kind).toBe('not-warpc');
    sink.abort();
    expect(readFileSync(f, 'utf8')).toBe('a file');
    expect(stagingLeft()).toEqual([]);
  });

  it('a write that fails removes the staging folder at once', () => {
    const out = fresh();
    const staged = StagedOutput.open(out);
    staged.write('linux/a', { text: 'x', mode: 0o644 });
    expect(refusal(() => staged.write('linux/a/b', { text: 'y', mode: 0o644 })).kind).toBe('io');
    expect(stagingLeft()).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect(() => staged.commit()).toThrow(/after commit or abort/);
  });

  it('a file whose chunks fail to be made (a bug, not the disk) removes the staging folder and is not reported as unwritable', () => {
    const out = fresh();
    const staged = StagedOutput.open(out);
    const broken = (): Iterable<Uint8Array> => {
      throw new TypeError('a bug in a writer');
    };
    expect(() => staged.write('linux/a', { text: '', mode: 0o644, bytes: [Buffer.from('x'), broken] })).toThrow(TypeError);
    expect(stagingLeft()).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});
