/** The registration over the plan (src/contract/device-override.ts): addresses and the first peer change in memory, nothing else. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, resolveTargets } from '../../src/compile.js';
import { loadCompiled, withDeviceOverride } from '../../src/runtime/linux/compiled.js';
import { parseWgConf } from '../../src/runtime/tunnel/wgconf.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const out = mkdtempSync(join(tmpdir(), 'warpc-override-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('withDeviceOverride', () => {
  it('puts the registration addresses and gateway peer over the plan; files on disk and the manifest sha stay', async () => {
    const r = compile(readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml'), 'utf8'), resolveTargets('linux').targets);
    for (const [p, f] of r.files) {
      mkdirSync(join(out, p, '..'), { recursive: true });
      writeFileSync(join(out, p), f.text);
    }
    const c = await loadCompiled(join(out, 'linux'));
    const key = Buffer.alloc(32, 9).toString('base64');
    const o = withDeviceOverride(c, { interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' }, peer: { public_key: key, endpoint: '10.9.0.1:51820' } });
    expect(o.settings.interface).toEqual({ ...c.settings.interface, ipv4: '100.96.0.7', ipv6: 'fd00:96::7' });
    const before = parseWgConf(c.files.get('wireguard.conf')!.toString());
    const after = parseWgConf(o.files.get('wireguard.conf')!.toString());
    expect(after).toEqual({ ...before, peers: [{ ...before.peers[0]!, publicKey: key, endpoint: '10.9.0.1:51820' }] });
    expect(o.manifestSha256).toBe(c.manifestSha256);
    expect(o.files.get('routes4.batch')).toBe(c.files.get('routes4.batch'));
    expect(readFileSync(join(out, 'linux', 'wireguard.conf'), 'utf8')).toBe(c.files.get('wireguard.conf')!.toString());
    expect(withDeviceOverride(c, undefined)).toBe(c);
    expect(() => withDeviceOverride(c, { interface: { ipv4: 'fd00::1', ipv6: null }, peer: { public_key: key, endpoint: '10.9.0.1:1' } })).toThrow(/IPv4 address "fd00::1" is not valid/);
    expect(() => withDeviceOverride(c, { interface: { ipv4: '10.0.0.1', ipv6: null }, peer: { public_key: 'x', endpoint: '10.9.0.1:1' } })).toThrow(/peer public key "x"/);
    expect(() => withDeviceOverride(c, { interface: { ipv4: '10.0.0.1', ipv6: null }, peer: { public_key: key, endpoint: 'a b' } })).toThrow(/peer endpoint "a b"/);
  });
});
