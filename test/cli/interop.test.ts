/**
 * The Cloudflare commands as an admin runs them, on the built binary: for every import fixture,
 * `warpc import <account> --out DIR`, then `warpc check` on every profile and
 * `warpc compile DIR/default.yaml --target all`; the same bytes on a second import; `warpc match`
 * and `warpc explain DIR` over the folder (the whole device table, through the folder's index);
 * `warpc export` back to API requests and Terraform; every bad input: exit 1 and nothing written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImportFolder } from '../../src/interop/folder.js';
import { selectProfile } from '../../src/match/eval.js';
import { hclFormatProblems } from '../readers/hcl.js';
import { deviceOf } from '../interop/device-case.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const IMPORT = join(ROOT, 'fixtures', 'import');
const ACCOUNTS = readdirSync(IMPORT).filter((d) => !d.startsWith('_') && statSync(join(IMPORT, d)).isDirectory()).sort();

function warpc(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'warpc-interop-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(ACCOUNTS)('warpc import %s', (acc) => {
  it('imports, `warpc check DIR/*.yaml` passes (every profile and the index), default.yaml compiles for every target, and a second import gives the same bytes', () => {
    const out = join(tmp, acc);
    const r = warpc(['import', join('fixtures/import', acc), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const yamls = readdirSync(out).filter((f) => f.endsWith('.yaml') && f !== 'index.yaml');
    expect(yamls).toContain('default.yaml');
    // The command, `warpc check DIR/*.yaml`: every profile and the index, in one run.
    const glob = readdirSync(out).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(out, f));
    const c = warpc(['check', ...glob]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.match(/: ok \(0 errors/g)?.length, c.stdout).toBe(glob.length);
    expect(c.stdout).toContain(`${join(out, 'index.yaml')}: ok (0 errors, 0 warnings): import index of ${yamls.length} profiles`);
    const compiled = warpc(['compile', join(out, 'default.yaml'), '--target', 'all', '--out', join(tmp, `${acc}-build`)]);
    expect(compiled.code, compiled.stderr).toBe(0);
    const again = join(tmp, `${acc}-again`);
    expect(warpc(['import', join('fixtures/import', acc, 'input'), '--out', again]).code).toBe(0);
    expect(filesOf(again)).toEqual(filesOf(out));
    // The folder is the golden: fixtures/import/<account>/expected.
    expect(filesOf(out)).toEqual(filesOf(join(IMPORT, acc, 'expected')));
  });

  it('warpc match gives the documented profile for every device case, through the folder index', () => {
    const out = join(tmp, acc);
    const folder = readImportFolder(out).folder!;
    const cases = parseYaml(readFileSync(join(IMPORT, acc, 'match-cases.yaml'), 'utf8')) as { device: Parameters<typeof deviceOf>[0]; profile: string }[];
    for (const c of cases) expect(selectProfile(folder.candidates, deviceOf(c.device)).chosen?.name ?? 'default', JSON.stringify(c.device)).toBe(c.profile);
    // And a few through the binary, as text and JSON.
    for (const c of cases.slice(0, 4)) {
      const d = c.device;
      const args = ['match', out, ...(d.email ? ['--email', d.email] : []), ...(d.groups ?? []).flatMap((g) => ['--group', g]), ...(d.os ? ['--os', d.os] : []), ...(d.network ? ['--network', d.network] : []), ...(d.service_token ? ['--service-token', d.service_token] : []), '--format', 'json'];
      const r = warpc(args);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { profile: { name: string } }).profile.name).toBe(c.profile);
    }
  });

  it('warpc export writes API requests and Terraform in terraform fmt layout', () => {
    const out = join(tmp, acc);
    const profiles = readdirSync(out).filter((f) => f.endsWith('.yaml') && f !== 'index.yaml').map((f) => join(out, f));
    const tf = warpc(['export', ...profiles, '--format', 'terraform']);
    expect(tf.code, tf.stderr).toBe(0);
    expect(hclFormatProblems(tf.stdout)).toEqual([]);
    // The folder stands for the profiles its index lists.
    const viaFolder = warpc(['export', out, '--format', 'terraform']);
    expect(viaFolder.code, viaFolder.stderr).toBe(0);
    expect(viaFolder.stdout.length).toBe(tf.stdout.length);
    const api = warpc(['export', ...profiles, '--format', 'cloudflare-api', '--out', join(tmp, `${acc}-api`)]);
    expect(api.code, api.stderr).toBe(0);
    const body = JSON.parse(readFileSync(join(tmp, `${acc}-api`, 'cloudflare-api.json'), 'utf8')) as { requests: { method: string; path: string }[] };
    expect(body.requests.filter((q) => q.method === 'PATCH').length).toBe(profiles.length);
  });
});

describe('warpc match and explain over an import folder', () => {
  it('explains why, and explain answers for the chosen profile', () => {
    const out = join(tmp, 'api-acme');
    if (!existsSync(out)) expect(warpc(['import', 'fixtures/import/api-acme/input', '--out', out]).code).toBe(0);
    const m = warpc(['match', out, '--email', 'alice@acme-robotics.example', '--group', 'engineering', '--os', 'windows']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/gets "Engineering laptops" \(engineering-laptops\.yaml\): the first profile whose match holds/);
    expect(m.stdout).toContain('true   any(identity.groups.name[*] in {"engineering" "sre"})');
    const e = warpc(['explain', out, '10.40.1.2', '--email', 'c.jones@contractor.example', '--os', 'mac']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/gets "Contractors"/);
    expect(e.stdout).toMatch(/10\.40\.1\.2: tunnel — split tunnel include entry 10\.40\.0\.0\/16/);
    const d = warpc(['explain', out, '10.40.1.2', '--os', 'linux']);
    expect(d.stdout).toMatch(/gets the default profile \(default\.yaml\): no profile matched/);
    expect(d.stdout).toMatch(/10\.40\.1\.2: direct — split tunnel exclude entry 10\.0\.0\.0\/8/);
  });
  it('a folder that is not an import is a coded error', () => {
    const r = warpc(['match', join(ROOT, 'fixtures')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARPC0184');
  });
});

describe('bad inputs: exit 1, nothing written', () => {
  const ERR = join(IMPORT, '_error_');
  it.each(readdirSync(ERR).sort())('%s', (c) => {
    const out = join(tmp, `err-${c}`);
    const r = warpc(['import', join('fixtures/import/_error_', c, 'input'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error WARPC01[6-9]\d/);
    expect(r.stderr).toContain('nothing written');
    expect(existsSync(out)).toBe(false);
  });
  it('an --out folder holding other files is refused untouched', () => {
    const r = warpc(['import', 'fixtures/import/api-default-only/input', '--out', join(ROOT, 'fixtures', 'import', 'api-acme')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARPC0176');
  });
});

describe('warpc compile --target mdm: secrets', () => {
  const SECRET = 'k7Qz-9f2c-SECRET-value-41aa';
  const profile = (secret: string): string =>
    `version: 1\nname: eng\ndeployment:\n  organization: acme\n  auto_connect: 1\n  auth_client_id: 88bf3b6d86161464f6509f7219099e57.access\n  auth_client_secret: ${secret}\n`;
  function write(name: string, text: string): string {
    const p = join(tmp, name);
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', p], { input: text });
    return p;
  }
  it('an env: reference is resolved into the MDM files only: not in stdout, stderr, JSON output or manifest.json', () => {
    const p = write('secret-env.yaml', profile('{ env: WARPC_TEST_SECRET }'));
    const out = join(tmp, 'mdm-env');
    const r = warpc(['compile', p, '--target', 'mdm', '--out', out, '--format', 'json'], { WARPC_TEST_SECRET: SECRET });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).not.toContain(SECRET);
    expect(readFileSync(join(out, 'mdm', 'linux', 'mdm.xml'), 'utf8')).toContain(`<string>${SECRET}</string>`);
    expect(readFileSync(join(out, 'mdm', 'windows', 'msiexec.cmd'), 'utf8')).toContain(`AUTH_CLIENT_SECRET="${SECRET}"`);
    const check = warpc(['check', p], { WARPC_TEST_SECRET: SECRET });
    expect(check.code).toBe(0);
    expect(check.stdout + check.stderr).not.toContain(SECRET);
  });
  it('a file: reference, --redact, and an unset variable', () => {
    const secretFile = write('secret.txt', `${SECRET}\n`);
    const p = write('secret-file.yaml', profile(`{ file: ${secretFile} }`));
    const out = join(tmp, 'mdm-file');
    expect(warpc(['compile', p, '--target', 'mdm', '--out', out]).code).toBe(0);
    expect(readFileSync(join(out, 'mdm', 'macos', 'com.cloudflare.warp.plist'), 'utf8')).toContain(`<string>${SECRET}</string>`);
    const red = join(tmp, 'mdm-redacted');
    expect(warpc(['compile', p, '--target', 'mdm', '--out', red, '--redact']).code).toBe(0);
    const all = ['linux/mdm.xml', 'windows/mdm.xml', 'windows/msiexec.cmd', 'macos/com.cloudflare.warp.plist', 'macos/cloudflare-warp.mobileconfig', 'ios/app-config.xml', 'android/managed-config.json'].map((f) => readFileSync(join(red, 'mdm', f), 'utf8')).join('');
    expect(all).not.toContain(SECRET);
    expect(all).toContain(`REDACTED(file:${secretFile})`);
    const unset = warpc(['compile', write('secret-unset.yaml', profile('{ env: WARPC_TEST_UNSET }')), '--target', 'mdm', '--out', join(tmp, 'mdm-unset')]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('WARPC0194');
    expect(existsSync(join(tmp, 'mdm-unset'))).toBe(false);
  });
  it('a literal secret is refused, and not echoed', () => {
    const r = warpc(['check', write('secret-literal.yaml', profile(SECRET))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARPC0193');
    // Neither the message nor a codeframe repeats the value: the line is not echoed.
    expect(r.stderr).toMatch(/secret-literal\.yaml:7:23: error WARPC0193/);
    expect(r.stderr).not.toContain(SECRET);
  });
});

describe('warpc import --format json', () => {
  it('writes JSON profiles that pass check, and an index.json match reads', () => {
    const out = join(tmp, 'json-acme');
    expect(warpc(['import', 'fixtures/import/api-acme/input', '--out', out, '--format', 'json']).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['austin-office.json', 'contractors.json', 'default.json', 'engineering-laptops.json', 'index.json']);
    for (const f of readdirSync(out).filter((x) => x !== 'index.json')) expect(warpc(['check', join(out, f)]).code, f).toBe(0);
    const m = warpc(['match', out, '--network', 'Austin office', '--os', 'mac', '--format', 'json']);
    expect((JSON.parse(m.stdout) as { profile: { file: string } }).profile.file).toBe('austin-office.json');
  });
});
