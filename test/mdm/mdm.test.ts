/**
 * MDM deployment files, read back by readers that are not warpc's code: xmllint --noout,
 * plistutil and Python's plistlib (and JSON.parse for the Intune JSON), compared key by key with
 * the deployment section; every rule of the MDM reference as a coded diagnostic; secrets only by
 * reference, never in a diagnostic; a property test over generated deployment sections.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readDeployment, type SecretResolver } from '../../src/mdm/deployment.js';
import { renderMdm, stableUuid, type MdmFile } from '../../src/mdm/render.js';

const SECRET = 'Sup3r-s3cret-value-9f2c';
const resolve: SecretResolver = (ref) => ('env' in ref && ref.env === 'WARP_SECRET' ? { ok: true, value: SECRET } : { ok: false, reason: 'env' in ref ? `the environment variable ${ref.env} is not set` : `cannot read ${ref.file}` });
const locate = (): { line: number; col: number } => ({ line: 1, col: 1 });
const read = (value: unknown, opts: { redact?: boolean; serviceMode?: string } = {}) => readDeployment({ value, locate, resolve, redact: opts.redact ?? false, ...(opts.serviceMode ? { serviceMode: opts.serviceMode } : {}) });

const tmp = mkdtempSync(join(tmpdir(), 'warpc-mdm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeAll(dir: string, files: readonly MdmFile[]): void {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.text);
  }
}

const PLIST_WRAP = (dict: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n${dict}</plist>\n`;

/** Every XML file of each case dir, read by Python's plistlib (a bare <dict> is wrapped in <plist> first). */
function plistlibRead(dirs: string[]): Record<string, Record<string, unknown>>[] {
  const script = `
import json, plistlib, sys, pathlib
out = []
for d in sys.argv[1:]:
    r = {}
    for rel in ["linux/mdm.xml", "windows/mdm.xml", "ios/app-config.xml", "macos/com.cloudflare.warp.plist", "macos/cloudflare-warp.mobileconfig"]:
        b = pathlib.Path(d, rel).read_bytes()
        if not b.lstrip().startswith(b"<?xml"):
            b = b'<?xml version="1.0" encoding="UTF-8"?>\\n<plist version="1.0">\\n' + b + b"</plist>\\n"
        r[rel] = plistlib.loads(b)
    out.append(r)
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, ...dirs], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<string, Record<string, unknown>>[];
}

function xmllint(dirs: string[]): void {
  const files = dirs.flatMap((d) => ['linux/mdm.xml', 'windows/mdm.xml', 'ios/app-config.xml', 'macos/com.cloudflare.warp.plist', 'macos/cloudflare-warp.mobileconfig'].map((f) => join(d, f)));
  execFileSync('xmllint', ['--noout', ...files], { stdio: 'pipe' });
}

function plistutil(dir: string): void {
  for (const f of ['macos/com.cloudflare.warp.plist', 'macos/cloudflare-warp.mobileconfig']) {
    execFileSync('plistutil', ['-i', join(dir, f), '-o', join(dir, `${f}.bin`), '-f', 'bin'], { stdio: 'pipe' });
    const back = execFileSync('plistutil', ['-i', join(dir, `${f}.bin`), '-f', 'xml'], { encoding: 'utf8' });
    expect(back).toContain('<plist');
  }
  for (const f of ['linux/mdm.xml', 'windows/mdm.xml', 'ios/app-config.xml']) {
    const wrapped = join(dir, `${f}.plist`);
    writeFileSync(wrapped, PLIST_WRAP(execFileSync('cat', [join(dir, f)], { encoding: 'utf8' })));
    execFileSync('plistutil', ['-i', wrapped, '-o', join(dir, `${f}.bin`), '-f', 'bin'], { stdio: 'pipe' });
  }
}

const FULL = {
  organization: 'acme-robotics',
  gateway_unique_id: '0c9a8b7d6e5f4a3b2c1d0e9f8a7b6c5d',
  display_name: 'Acme <prod> & "friends" ]]>',
  auto_connect: 15,
  switch_locked: true,
  onboarding: false,
  support_url: 'https://help.acme-robotics.example/warp?x=1&y=2',
  proxy_port: 40000,
  warp_tunnel_protocol: 'wireguard',
  override_api_endpoint: '192.0.2.10',
  override_doh_endpoint: '2001:db8::53',
  override_warp_endpoint: '[2001:db8::1]:2408',
  environment: 'normal',
  enable_pmtud: true,
  enable_post_quantum: false,
  enable_netbt: true,
  unique_client_id: 'device-1234',
  auth_client_id: '88bf3b6d86161464f6509f7219099e57.access',
  auth_client_secret: { env: 'WARP_SECRET' },
  multi_user: true,
  pre_login: { organization: 'acme-robotics', auth_client_id: '88bf3b6d86161464f6509f7219099e57.access', auth_client_secret: { env: 'WARP_SECRET' } },
  tunneled_apps: [{ app_identifier: 'com.android.chrome', is_browser: true }],
};

describe('MDM files read back by independent readers', () => {
  const r = read(FULL, { serviceMode: 'warp_tunnel_only' });
  const out = renderMdm('engineering', r.deployment!);
  const dir = join(tmp, 'full');
  writeAll(dir, out.files);

  it('reads the deployment without errors, and warns that iOS gets auto_connect 1', () => {
    expect(r.diagnostics).toEqual([]);
    expect(out.diagnostics.map((d) => d.code)).toEqual(['WARPC0197']);
  });
  it('xmllint --noout and plistutil accept every XML file', () => {
    xmllint([dir]);
    plistutil(dir);
  });
  it('plistlib reads every key back with its type, per OS', () => {
    const [got] = plistlibRead([dir]);
    const common = { organization: 'acme-robotics', display_name: FULL.display_name, auto_connect: 15, switch_locked: true, onboarding: false, support_url: FULL.support_url, service_mode: 'tunnelonly', proxy_port: 40000, auth_client_secret: SECRET };
    expect(got!['linux/mdm.xml']).toMatchObject(common);
    expect(got!['linux/mdm.xml']).not.toHaveProperty('enable_netbt');
    expect(got!['linux/mdm.xml']).not.toHaveProperty('unique_client_id');
    expect(got!['windows/mdm.xml']).toMatchObject({ ...common, enable_netbt: true, multi_user: true, pre_login: { organization: 'acme-robotics', auth_client_secret: SECRET } });
    expect(got!['ios/app-config.xml']).toMatchObject({ ...common, auto_connect: 1, unique_client_id: 'device-1234' });
    expect(got!['macos/com.cloudflare.warp.plist']).toMatchObject(common);
    const mc = got!['macos/cloudflare-warp.mobileconfig'] as { PayloadContent: Record<string, unknown>[]; PayloadType: string; PayloadScope: string; PayloadUUID: string };
    expect(mc).toMatchObject({ PayloadType: 'Configuration', PayloadScope: 'System', PayloadVersion: 1, PayloadUUID: stableUuid('engineering/configuration') });
    expect(mc.PayloadContent[0]).toMatchObject({ ...common, PayloadType: 'com.cloudflare.warp', PayloadVersion: 1 });
  });
  it('the Intune JSON has the managed configuration shape', () => {
    const j = JSON.parse(out.files.find((f) => f.path === 'android/managed-config.json')!.text);
    expect(j.kind).toBe('androidenterprise#managedConfiguration');
    expect(j.productId).toBe('app:com.cloudflare.cloudflareoneagent');
    const props = j.managedProperty[0].valueBundleArray[0].managedProperty as { key: string }[];
    expect(props).toContainEqual({ key: 'organization', valueString: 'acme-robotics' });
    expect(props).toContainEqual({ key: 'auto_connect', valueInteger: 15 });
    expect(props).toContainEqual({ key: 'switch_locked', valueBool: true });
    expect(props.find((p) => p.key === 'tunneled_apps')).toBeDefined();
  });
  it('the msiexec line carries the MSI properties', () => {
    const line = out.files.find((f) => f.path === 'windows/msiexec.cmd')!.text;
    expect(line).toMatch(/^msiexec \/i Cloudflare_WARP_Release-x64\.msi \/qn ORGANIZATION="acme-robotics" GATEWAY_UNIQUE_ID="0c9a8b7d6e5f4a3b2c1d0e9f8a7b6c5d" AUTH_CLIENT_ID=".*\.access" AUTH_CLIENT_SECRET=".*" ONBOARDING="false"/);
    expect(line).toContain('SERVICE_MODE="tunnelonly"');
  });
  it('PayloadUUIDs are stable per profile and differ between profiles', () => {
    expect(renderMdm('engineering', r.deployment!).files).toEqual(out.files);
    expect(stableUuid('a')).not.toBe(stableUuid('b'));
    expect(stableUuid('a')).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });
});

describe('secrets', () => {
  it('a literal secret is an error whose message does not contain it', () => {
    const r = read({ organization: 'x', auth_client_id: 'a.access', auth_client_secret: SECRET });
    expect(r.deployment).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['WARPC0193']);
    expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
  });
  it('an unresolvable reference names the reference, not a value', () => {
    const r = read({ organization: 'x', auth_client_id: 'a.access', auth_client_secret: { env: 'NOPE' } });
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([['WARPC0194', 'deployment: auth_client_secret (env:NOPE) cannot be resolved: the environment variable NOPE is not set']]);
  });
  it('--redact writes a placeholder and never asks for the secret', () => {
    const r = readDeployment({ value: { organization: 'x', auth_client_id: 'a.access', auth_client_secret: { env: 'WARP_SECRET' } }, locate, redact: true, resolve: () => { throw new Error('resolved a secret under --redact'); } });
    const files = renderMdm('p', r.deployment!).files;
    expect(files.map((f) => f.text).join('')).not.toContain(SECRET);
    expect(files.find((f) => f.path === 'linux/mdm.xml')!.text).toContain('<string>REDACTED(env:WARP_SECRET)</string>');
  });
});

describe('every rule of the MDM reference is a coded diagnostic', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['integer written as a string', { organization: 'x', auto_connect: '15' }, 'WARPC0185'],
    ['string written as a number', { organization: 12 }, 'WARPC0185'],
    ['auto_connect out of range', { organization: 'x', auto_connect: 1441 }, 'WARPC0186'],
    ['negative auto_connect', { organization: 'x', auto_connect: -1 }, 'WARPC0186'],
    ['enabled and auto_connect', { organization: 'x', enabled: true, auto_connect: 0 }, 'WARPC0187'],
    ['override_api_endpoint not an IP', { organization: 'x', override_api_endpoint: 'api.example.com' }, 'WARPC0188'],
    ['override_warp_endpoint without port', { organization: 'x', override_warp_endpoint: '162.159.193.1' }, 'WARPC0188'],
    ['override_warp_endpoint IPv6 without brackets', { organization: 'x', override_warp_endpoint: '2001:db8::1:2408' }, 'WARPC0188'],
    ['support_url http', { organization: 'x', support_url: 'http://help.example.com' }, 'WARPC0189'],
    ['config without display_name', { configs: [{ organization: 'x' }] }, 'WARPC0191'],
    ['26 configs', { configs: Array.from({ length: 26 }, (_, i) => ({ organization: 'x', display_name: `c${i}` })) }, 'WARPC0192'],
    ['literal secret', { organization: 'x', auth_client_id: 'a.access', auth_client_secret: 's' }, 'WARPC0193'],
    ['control character', { organization: 'x\u0000y' }, 'WARPC0195'],
    ['newline', { organization: 'x', display_name: 'a\nb' }, 'WARPC0195'],
    ['auth_client_id without .access', { organization: 'x', auth_client_id: 'abc', auth_client_secret: { env: 'WARP_SECRET' } }, 'WARPC0196'],
    ['service token half', { organization: 'x', auth_client_id: 'a.access' }, 'WARPC0198'],
    ['emergency signal over http', { organization: 'x', external_emergency_signal_url: 'https://signal.example.com/x' }, 'WARPC0198'],
    ['emergency fingerprint', { organization: 'x', external_emergency_signal_fingerprint: 'abc' }, 'WARPC0198'],
    ['emergency interval', { organization: 'x', external_emergency_signal_interval: 10 }, 'WARPC0198'],
    ['no organization', { display_name: 'x' }, 'WARPC0199'],
    ['service_mode spelling', { organization: 'x', service_mode: 'posture_only' }, 'WARPC0178'],
    ['environment', { organization: 'x', environment: 'fedramp' }, 'WARPC0178'],
    ['unknown key', { organization: 'x', auto_connnect: 1 }, 'WARPC0179'],
  ];
  it.each(cases)('%s → %s', (_, value, code) => {
    const r = read(value);
    expect(r.deployment).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toContain(code);
  });
  it('msiexec refuses a value cmd.exe would read', () => {
    const r = read({ organization: 'x', support_url: 'https://help.example.com/%PATH%' });
    expect(renderMdm('p', r.deployment!).diagnostics.map((d) => d.code)).toContain('WARPC0195');
  });
});

describe('property: generated deployment sections read back the same through plistlib', () => {
  const text = fc.oneof(fc.constantFrom('acme', 'a&b', '<x>', ']]>', '"q"', "it's", 'ünï', '中文', '${x}'), fc.string({ maxLength: 12 }).filter((s) => s !== '' && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/.test(s) && !/[\ud800-\udfff]/.test(s)));
  const config = fc.record(
    { organization: text, display_name: text, auto_connect: fc.integer({ min: 0, max: 1440 }), switch_locked: fc.boolean(), onboarding: fc.boolean(), gateway_unique_id: text, warp_tunnel_protocol: fc.constantFrom('wireguard', 'masque') },
    { requiredKeys: ['organization', 'display_name'] },
  );
  const deployment = fc.oneof(config, fc.record({ configs: fc.array(config, { minLength: 1, maxLength: 4 }), multi_user: fc.boolean() }));
  it('for 60 generated sections', () => {
    const samples = fc.sample(deployment, { numRuns: 60, seed: 10 });
    const dirs: string[] = [];
    samples.forEach((s, i) => {
      const r = read(s);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const dir = join(tmp, `p${i}`);
      writeAll(dir, renderMdm(`p${i}`, r.deployment!).files);
      dirs.push(dir);
    });
    xmllint(dirs);
    const got = plistlibRead(dirs);
    samples.forEach((s, i) => {
      const want = 'configs' in s ? { configs: (s.configs as Record<string, unknown>[]).map((c) => expect.objectContaining(c)) } : s;
      expect(got[i]!['linux/mdm.xml']).toEqual('configs' in s ? expect.objectContaining(want) : want);
      expect(got[i]!['macos/com.cloudflare.warp.plist']).toEqual(got[i]!['linux/mdm.xml']);
    });
  });
});
