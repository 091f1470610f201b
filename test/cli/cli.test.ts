/**
 * The command line as a pipeline uses it: the built binary, exit codes,
 * output directories, JSON, determinism, the manifest contract.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/emit/manifest.js';
import { FIXTURES_DIR, listFiles, validFixtures } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function warpc(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'warpc-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const corp = join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml');

describe('warpc compile', () => {
  it('writes the goldens, a valid manifest with correct hashes, and identical bytes twice', () => {
    const out = join(tmp, 'o1');
    const r = warpc(['compile', corp, '--target', 'linux', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote \d+ files to /);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string; size: number; mode: string }[]; profile: { sha256: string }; targets: string[] };
    const ajv = new Ajv({ strict: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'manifest.schema.json'), 'utf8')) as object);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest.targets).toEqual(['linux']);
    expect(manifest.profile.sha256).toBe(sha256(readFileSync(corp)));
    expect(manifest.files.map((f) => f.path).sort()).toEqual(listFiles(out).filter((p) => p !== 'manifest.json'));
    for (const f of manifest.files) {
      const data = readFileSync(join(out, f.path));
      expect(sha256(data), f.path).toBe(f.sha256);
      expect(data.length).toBe(f.size);
      expect((statSync(join(out, f.path)).mode & 0o777).toString(8).padStart(4, '0')).toBe(f.mode);
      expect(data.toString('utf8'), `${f.path} is the golden`).toBe(readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'expected', f.path), 'utf8'));
    }
    const first = listFiles(out).map((p) => readFileSync(join(out, p), 'utf8'));
    expect(warpc(['compile', corp, '--out', out]).code).toBe(0);
    expect(listFiles(out).map((p) => readFileSync(join(out, p), 'utf8'))).toEqual(first);
  });

  it('--target all reproduces every fixture\'s goldens for all six targets (five OSes and mdm), byte for byte, twice', () => {
    for (const fx of validFixtures()) {
      const out = join(tmp, `all-${fx.name}`);
      for (let run = 0; run < 2; run++) {
        const r = warpc(['compile', join(fx.dir, 'profile.yaml'), '--target', 'all', '--out', out]);
        expect(r.code, `${fx.name}: ${r.stderr}`).toBe(0);
        const expectedDir = join(fx.dir, 'expected');
        expect(listFiles(out), fx.name).toEqual(listFiles(expectedDir));
        for (const path of listFiles(out)) expect(readFileSync(join(out, path), 'utf8'), `${fx.name}/${path}`).toBe(readFileSync(join(expectedDir, path), 'utf8'));
      }
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { targets: string[] };
      expect(manifest.targets).toEqual(['linux', 'macos', 'windows', 'ios', 'android', 'mdm']);
    }
  });

  it('reads the profile from standard input with -', () => {
    const out = join(tmp, 'stdin');
    const r = warpc(['compile', '-', '--out', out], readFileSync(corp, 'utf8'));
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'linux', 'ruleset.nft'), 'utf8')).toBe(readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'expected', 'linux', 'ruleset.nft'), 'utf8'));
  });

  it('a broken profile: exit 1, file:line:col with the source line and caret, no output directory', () => {
    const out = join(tmp, 'never');
    const bad = join(FIXTURES_DIR, '_error_', 'bad-prefixes', 'profile.yaml');
    const r = warpc(['compile', bad, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:5:16: error WARPC0021: "10.0.0.1/8" has host bits set: did you mean 10.0.0.0/8?`);
    expect(r.stderr).toContain('5 |     - address: 10.0.0.1/8\n  |                ^^^^^^^^^^');
    expect(existsSync(out)).toBe(false);
  });

  it('a broken profile leaves an existing output untouched', () => {
    const out = join(tmp, 'keep');
    expect(warpc(['compile', corp, '--out', out]).code).toBe(0);
    const before = listFiles(out).map((p) => readFileSync(join(out, p), 'utf8'));
    expect(warpc(['compile', join(FIXTURES_DIR, '_error_', 'duplicate-key', 'profile.yaml'), '--out', out]).code).toBe(1);
    expect(listFiles(out).map((p) => readFileSync(join(out, p), 'utf8'))).toEqual(before);
  });

  it('refuses to replace a directory that is not warpc output', () => {
    const out = join(tmp, 'precious');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = warpc(['compile', corp, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARPC0071');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(listFiles(out)).toEqual(['notes.txt']);
  });

  it('refuses a web app folder with its own manifest.json (WARPC0072), a warpc output with extra files (WARPC0073), a damaged warpc manifest (WARPC0074)', () => {
    const app = join(tmp, 'webapp');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'manifest.json'), '{"name": "app", "short_name": "app", "start_url": "/index.html"}\n');
    writeFileSync(join(app, 'index.html'), '<!doctype html>');
    writeFileSync(join(app, 'src', 'main.js'), 'console.log(1)');
    const appBefore = listFiles(app).map((p) => [p, readFileSync(join(app, p), 'utf8')]);
    let r = warpc(['compile', corp, '--out', app]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error WARPC0072');
    expect(r.stderr).toContain('nothing written');
    expect(listFiles(app).map((p) => [p, readFileSync(join(app, p), 'utf8')])).toEqual(appBefore);

    const out = join(tmp, 'extra');
    expect(warpc(['compile', corp, '--out', out]).code).toBe(0);
    writeFileSync(join(out, 'README.md'), 'admin notes');
    r = warpc(['compile', corp, '--out', out, '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { diagnostics: { code: string; severity: string; message: string }[] };
    // The profile's own warnings (pitfalls) come with it; the one error is the refusal.
    const errors = j.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['WARPC0073']);
    expect(errors[0]!.message).toContain('files warpc did not write: README.md;');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('admin notes');

    rmSync(join(out, 'README.md'));
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { path: string }[] };
    m.files[0]!.path = 'linux/../../../etc/passwd';
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(m));
    r = warpc(['compile', corp, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error WARPC0074');
    expect(r.stderr).toContain('is not a plain relative path');
  });

  it('--format json gives the diagnostics as objects', () => {
    const r = warpc(['compile', join(FIXTURES_DIR, '_error_', 'unknown-property', 'profile.yaml'), '--out', join(tmp, 'j'), '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string; line: number; column: number; severity: string; message: string; path: unknown[] }[] };
    expect(j.ok).toBe(false);
    expect(j.diagnostics).toEqual([
      expect.objectContaining({ code: 'WARPC0011', severity: 'error', line: 2, column: 1, path: ['split_tunel'], message: 'unknown property "split_tunel" (did you mean "split_tunnel"?)' }),
    ]);
  });

  it('usage errors exit 2', () => {
    expect(warpc(['compile', corp, '--target', 'beos', '--out', join(tmp, 'u')]).code).toBe(2);
    expect(warpc(['compile']).code).toBe(2);
    expect(warpc(['frobnicate']).code).toBe(2);
    expect(warpc(['compile', corp, '--format', 'xml']).code).toBe(2);
  });

  it('refuses /dev/zero and an endless pipe after a bounded read: WARPC0008, exit 1', () => {
    let r = warpc(['check', '/dev/zero']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error WARPC0008');
    const p = spawnSync('sh', ['-c', 'yes "# a comment" | exec "$0" "$1" check -', process.execPath, BIN], { encoding: 'utf8', cwd: ROOT });
    r = { code: p.status ?? -1, stdout: p.stdout, stderr: p.stderr };
    expect(r.stderr).toContain('<stdin>: error WARPC0008');
    expect(r.code).toBe(1);
  });

  it('a missing profile file is a coded error, exit 1', () => {
    const r = warpc(['compile', join(tmp, 'nope.yaml'), '--out', join(tmp, 'n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARPC0001');
  });
});

describe('warpc check', () => {
  it('ok with a summary; warnings do not fail', () => {
    const r = warpc(['check', join(FIXTURES_DIR, 'ipv6-heavy', 'profile.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning WARPC0033');
    expect(r.stdout).toMatch(/: ok \(0 errors, \d+ warnings?\)/);
  });
  it('json summary', () => {
    const r = warpc(['check', corp, '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; summary: { service_mode: string; host_rules: number } };
    expect(j.ok).toBe(true);
    expect(j.summary).toMatchObject({ service_mode: 'warp', host_rules: 2 });
  });
});

describe('warpc explain', () => {
  it('addresses: path and the deciding entry', () => {
    const r = warpc(['explain', corp, '10.1.2.3', '8.8.8.8', '162.159.193.7', '172.64.130.1']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('10.1.2.3: direct — split tunnel exclude entry 10.0.0.0/8 (line 10: Corporate LAN)');
    expect(lines[1]).toBe('8.8.8.8: tunnel — no exclude entry matches, so it goes into the tunnel');
    expect(lines[2]).toBe('162.159.193.7: direct — it is the tunnel endpoint, which always bypasses the tunnel');
    expect(lines[3]).toBe('172.64.130.1: tunnel — always_tunnel 172.64.128.0/20 (default)');
  });
  it('names: resolver, path, and host rule', () => {
    const r = warpc(['explain', corp, 'build.dev.corp.example.com', 'www.example.org', 'us02web.zoom.us', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { results: Record<string, unknown>[] };
    expect(j.results[0]).toMatchObject({ query: 'build.dev.corp.example.com', resolver: { kind: 'fallback', suffix: 'dev.corp.example.com', servers: [{ address: '10.20.0.53', path: 'direct' }] } });
    expect(j.results[1]).toMatchObject({ resolver: { kind: 'doh', path: 'tunnel' }, host_rule: null });
    expect(j.results[2]).toMatchObject({ host_rule: { pattern: '*.zoom.us', action: 'direct' } });
  });
  it('an IPv4-mapped address is explained as the IPv4 address it stands for', () => {
    const r = warpc(['explain', corp, '::ffff:10.1.2.3', '10.1.2.3', '::ffff:0808:0808']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`::ffff:10.1.2.3 (IPv4-mapped) = ${lines[1]}`);
    expect(lines[2]).toBe('::ffff:0808:0808 (IPv4-mapped) = 8.8.8.8: tunnel — no exclude entry matches, so it goes into the tunnel');
    const j = JSON.parse(warpc(['explain', corp, '::ffff:10.1.2.3', '--format', 'json']).stdout) as { results: Record<string, unknown>[] };
    expect(j.results[0]).toMatchObject({ query: '10.1.2.3', ipv4_mapped_from: '::ffff:10.1.2.3', path: 'direct' });
  });
  it('DoH addresses: the reason matches the path, and names say the path DoH actually takes', () => {
    const include = join(tmp, 'doh-include.yaml');
    writeFileSync(include, 'version: 1\nsplit_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\ndns: { doh_addresses: [162.159.36.5], doh_via: tunnel }\n');
    let r = warpc(['explain', include, '162.159.36.5']);
    expect(r.stdout).toBe('162.159.36.5: tunnel — it is a DoH address and dns.doh_via is tunnel\n');
    const held = join(tmp, 'doh-held.yaml');
    writeFileSync(held, 'version: 1\nsplit_tunnel: { mode: exclude, entries: [{ address: 162.159.36.0/24, description: DoH LAN }] }\ndns: { doh_addresses: [162.159.36.5], doh_via: tunnel }\n');
    r = warpc(['explain', held, '162.159.36.5', 'www.example.com']);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      '162.159.36.5: direct — split tunnel exclude entry 162.159.36.0/24 (line 2: DoH LAN)',
      'www.example.com: Gateway DNS over HTTPS https://cloudflare-dns.com/dns-query via direct',
      '  DoH address 162.159.36.5: direct — split tunnel exclude entry 162.159.36.0/24 (line 2: DoH LAN)',
    ]);
    const out = join(tmp, 'doh-held-out');
    expect(warpc(['compile', held, '--out', out]).code).toBe(0);
    expect((JSON.parse(readFileSync(join(out, 'linux', 'dns-proxy.json'), 'utf8')) as { doh: { via: string } }).doh.via).toBe('direct');
  });
  it('a query that is neither an address nor a name is a usage error', () => {
    expect(warpc(['explain', corp, 'not a name!']).code).toBe(2);
  });
});

describe('diagnostics name the file; usage errors', () => {
  it('--target "" is a usage error listing the known targets, for compile and check', () => {
    for (const cmd of ['compile', 'check']) {
      const r = warpc([cmd, corp, '--target', '', '--out', join(tmp, 'empty-target')].slice(0, cmd === 'check' ? 4 : 6));
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toBe(`${corp}: error WARPC0059: --target names no target; known targets: linux, macos, windows, ios, android, mdm, all\n`);
    }
    expect(warpc(['compile', corp, '--target', ' , ', '--out', join(tmp, 'empty-target')]).code).toBe(2);
    expect(existsSync(join(tmp, 'empty-target'))).toBe(false);
    const j = warpc(['compile', corp, '--target', '', '--format', 'json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, diagnostics: [{ code: 'WARPC0059', file: corp }], files: [] });
  });
  it('no diagnostic of check, compile or explain is labelled <profile> when a file was given', () => {
    const precious = join(tmp, 'precious-2');
    mkdirSync(precious);
    writeFileSync(join(precious, 'notes.txt'), 'mine');
    const runs = [
      warpc(['check', corp, '--target', 'beos']),
      warpc(['compile', corp, '--target', 'linux,beos', '--out', join(tmp, 'b')]),
      warpc(['compile', corp, '--out', precious]),
      warpc(['explain', corp, 'not a name!']),
      warpc(['check', join(FIXTURES_DIR, 'mtu-never', 'profile.yaml')]),
      warpc(['check', join(FIXTURES_DIR, '_error_', 'mtu-below-ipv6-minimum', 'profile.yaml')]),
      warpc(['explain', join(FIXTURES_DIR, '_error_', 'missing-version', 'profile.yaml'), '1.1.1.1']),
    ];
    for (const r of runs) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/error WARPC00\d\d/);
      expect(r.stderr).not.toContain('<profile>');
    }
    expect(runs[2]!.stderr).toContain(`${corp}: error WARPC0071`);
    expect(runs[3]!.stderr).toContain(`${corp}: error WARPC0080`);
    expect(warpc(['check', '-', '--target', 'beos'], 'version: 1\n').stderr).toContain('<stdin>: error WARPC0060');
  });
  it('a profile that is not UTF-8 is refused at the first bad byte, from a file or standard input', () => {
    const latin1 = join(tmp, 'latin1.yaml');
    writeFileSync(latin1, Buffer.concat([Buffer.from('version: 1\nname: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r = warpc(['check', latin1]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${latin1}:2:10: error WARPC0016: the profile is not UTF-8: byte 0xE9`);
    const c = spawnSync(process.execPath, [BIN, 'compile', '-', '--out', join(tmp, 'latin1-out')], { input: readFileSync(latin1), cwd: ROOT, encoding: 'utf8' });
    expect(c.status).toBe(1);
    expect(c.stderr).toContain('<stdin>:2:10: error WARPC0016');
    expect(existsSync(join(tmp, 'latin1-out'))).toBe(false);
  });
});

describe('help and version', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = warpc(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
  it('--help lists commands with examples', () => {
    const r = warpc(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['compile', 'check', 'explain', 'Examples:', 'Exit codes']) expect(r.stdout).toContain(word);
  });
});

describe('warpc status --diff (no device state read)', () => {
  it('a folder without --diff is a usage error; the help says what + and - mean and the exit codes', () => {
    const r = warpc(['status', 'build/linux']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a folder is only taken with --diff/);
    const h = warpc(['status', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/\+ a line the device has and the plan does not/);
    expect(h.stdout).toMatch(/- a line the plan wants and the device lacks/);
    expect(h.stdout).toMatch(/Exit codes with --diff: 0 no drift, 1 drift, 2 nothing to compare/);
  });
  it('a folder that is not a compiled output: exit 2 before anything is read from the device', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'warpc-sd-'));
    try {
      const r = warpc(['status', '--diff', join(tmp, 'linux'), '--state-dir', join(tmp, 'state'), '--format', 'json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: expect.stringMatching(/manifest\.json: missing/) as unknown });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
