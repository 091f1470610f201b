/** The registration over the plan (src/contract/device-override.ts): addresses, the first peer and the bypass change in memory, nothing else. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overrideOf } from '../../src/agent/follow.js';
import { compile, resolveTargets } from '../../src/compile.js';
import { parseMasque } from '../../src/contract/masque.js';
import { spkiSha256 } from '../../src/runtime/masque/cert.js';
import { loadCompiled, withDeviceOverride, type CompiledLinux } from '../../src/runtime/linux/compiled.js';
import { expectedRoutes, parseNftText } from '../../src/runtime/linux/live-state.js';
import { batchDiff, parseRuleset } from '../../src/runtime/linux/plan-diff.js';
import { profileSources } from '../../src/orchestrator/profiles.js';
import { parseWgConf } from '../../src/runtime/tunnel/wgconf.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const out = mkdtempSync(join(tmpdir(), 'warpc-override-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function compiled(fixture: string, source = readFileSync(join(FIXTURES_DIR, fixture, 'profile.yaml'), 'utf8')): Promise<CompiledLinux> {
  const r = compile(source, resolveTargets('linux').targets);
  for (const [p, f] of r.files) {
    mkdirSync(join(out, fixture, p, '..'), { recursive: true });
    writeFileSync(join(out, fixture, p), f.text);
  }
  return loadCompiled(join(out, fixture, 'linux'));
}

describe('withDeviceOverride', () => {
  it('puts the registration addresses and gateway peer over the plan; files on disk and the manifest sha stay', async () => {
    const c = await compiled('corporate-exclude');
    const key = Buffer.alloc(32, 9).toString('base64');
    const o = withDeviceOverride(c, { interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' }, peer: { public_key: key, endpoint: '10.9.0.1:51820' } });
    expect(o.settings.interface).toEqual({ ...c.settings.interface, ipv4: '100.96.0.7', ipv6: 'fd00:96::7' });
    const before = parseWgConf(c.files.get('wireguard.conf')!.toString());
    const after = parseWgConf(o.files.get('wireguard.conf')!.toString());
    expect(after).toEqual({ ...before, peers: [{ ...before.peers[0]!, publicKey: key, endpoint: '10.9.0.1:51820' }] });
    expect(o.manifestSha256).toBe(c.manifestSha256);
    expect(o.files.get('routes4.batch')).toBe(c.files.get('routes4.batch'));
    expect(readFileSync(join(out, 'corporate-exclude', 'linux', 'wireguard.conf'), 'utf8')).toBe(c.files.get('wireguard.conf')!.toString());
    expect(withDeviceOverride(c, undefined)).toBe(c);
    expect(() => withDeviceOverride(c, { interface: { ipv4: 'fd00::1', ipv6: null }, peer: { public_key: key, endpoint: '10.9.0.1:1' } })).toThrow(/IPv4 address "fd00::1" is not valid/);
    expect(() => withDeviceOverride(c, { interface: { ipv4: '10.0.0.1', ipv6: null }, peer: { public_key: 'x', endpoint: '10.9.0.1:1' } })).toThrow(/peer public key "x"/);
    expect(() => withDeviceOverride(c, { interface: { ipv4: '10.0.0.1', ipv6: null }, peer: { public_key: key, endpoint: 'a b' } })).toThrow(/peer endpoint "a b"/);
  });

  it('gives a wireguard.conf without a [Peer] (the orchestrator\'s profiles never name one) the gateway as its peer', async () => {
    // The default profile as the admin API stores it, compiled as the orchestrator compiles its bundles.
    const src = profileSources([{ id: 'default', body: { exclude: [{ address: '192.168.0.0/16' }] } }]).get('default')!;
    const c = await compiled('admin-api-default', src.text);
    expect(parseWgConf(c.files.get('wireguard.conf')!.toString()).peers).toEqual([]);
    const key = Buffer.alloc(32, 9).toString('base64');
    const o = withDeviceOverride(c, { interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' }, peer: { public_key: key, endpoint: '198.51.100.1:2408' } });
    expect(parseWgConf(o.files.get('wireguard.conf')!.toString())).toEqual({
      ...parseWgConf(c.files.get('wireguard.conf')!.toString()),
      peers: [{ publicKey: key, endpoint: '198.51.100.1:2408', allowedIps: ['0.0.0.0/0', '::/0'], persistentKeepalive: null }],
    });
    // The same AllowedIPs a compiled peer has.
    const withPeer = await compiled('corporate-exclude');
    expect(parseWgConf(withPeer.files.get('wireguard.conf')!.toString()).peers[0]!.allowedIps).toEqual(['0.0.0.0/0', '::/0']);
  });

  const key = Buffer.alloc(32, 9).toString('base64');
  const base = { interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' }, peer: { public_key: key, endpoint: '198.51.100.1:2408' } };

  for (const fixture of ['corporate-exclude', 'include-only']) {
    it(`keeps the bypass addresses outside the tunnel in both routes and firewall (${fixture})`, async () => {
      const c = await compiled(fixture);
      const o = withDeviceOverride(c, { ...base, bypass: ['198.51.100.1', '2001:db8:0:0::5', '198.51.100.1'] });
      const table = c.settings.routing.table;
      // Routes: one throw per address, after the compiled lines, which stay as they were.
      const d4 = batchDiff(c.files.get('routes4.batch')!.toString(), o.files.get('routes4.batch')!.toString());
      expect(d4.apply).toBe(`route replace throw 198.51.100.1/32 table ${table}\n`);
      expect(d4.removed).toBe(0);
      expect(expectedRoutes(o.files.get('routes6.batch')!.toString(), '-6', table)).toContainEqual(expect.stringContaining('throw 2001:db8::5/128'));
      // Firewall: the host_bypass sets hold the addresses from the start; everything else is as compiled.
      const nft = parseNftText(o.files.get('ruleset.nft')!.toString(), c.settings.nft_table);
      expect(nft.sets.get('host_bypass4')!.elements).toEqual(['198.51.100.1/32']);
      expect(nft.sets.get('host_bypass6')!.elements).toEqual(['2001:db8::5/128']);
      const before = parseRuleset(c.files.get('ruleset.nft')!.toString())!;
      const after = parseRuleset(o.files.get('ruleset.nft')!.toString())!;
      expect(after.skeleton.replace(/\nelements of host_bypass[46]/g, '')).toBe(before.skeleton);
      expect([...after.sets.keys()].filter((k) => !before.sets.has(k))).toEqual(['host_bypass4', 'host_bypass6']);
      // The same override over the same plan twice: the same bytes (a live apply between two bundles sees no change here).
      expect(withDeviceOverride(c, { ...base, bypass: ['198.51.100.1', '2001:db8::5'] }).files.get('ruleset.nft')).toEqual(o.files.get('ruleset.nft'));
      expect(o.manifestSha256).toBe(c.manifestSha256);
    });
  }

  it('adds no second throw for an address the plan already throws as a host prefix, and refuses what is not an address', async () => {
    const c = await compiled('corporate-exclude');
    const thrown = /^route add throw (\d+\.\d+\.\d+\.\d+)\/32 table/m.exec(c.files.get('routes4.batch')!.toString());
    expect(thrown).not.toBeNull();
    const o = withDeviceOverride(c, { ...base, bypass: [thrown![1]!] });
    expect(o.files.get('routes4.batch')!.toString()).toBe(c.files.get('routes4.batch')!.toString());
    expect(() => withDeviceOverride(c, { ...base, bypass: ['198.51.100.0/24'] })).toThrow(/bypass address "198.51.100.0\/24" is not valid/);
    expect(() => withDeviceOverride(c, { ...base, bypass: ['orch.example'] })).toThrow(/bypass address "orch.example"/);
  });
});

describe('withDeviceOverride on a MASQUE plan', () => {
  const serverKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const profilePin = `sha256/${spkiSha256(serverKey)}`;
  const regPin = `sha256/${Buffer.alloc(32, 5).toString('base64')}`;
  const wgKey = Buffer.alloc(32, 9).toString('base64');

  async function masquePlan(): Promise<CompiledLinux> {
    const name = 'masque-plan';
    const r = compile(`version: 1\nname: m\ntunnel: { protocol: masque, endpoint: "198.51.100.1:443", peer_public_key: "${profilePin}", sni: gw.example.net }\n`, resolveTargets('linux').targets);
    for (const [p, f] of r.files) {
      mkdirSync(join(out, name, p, '..'), { recursive: true });
      writeFileSync(join(out, name, p), f.text);
    }
    return loadCompiled(join(out, name, 'linux'));
  }

  it("puts the registration's MASQUE gateway (endpoint, server pin) over masque.json in memory; SNI, authority, keepalive and the manifest stay", async () => {
    const c = await masquePlan();
    expect(c.masque).toMatchObject({ endpoint: { host: '198.51.100.1', port: 443 }, server_pin: profilePin });
    const o = withDeviceOverride(c, { interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' }, peer: { public_key: '', endpoint: '' }, masque: { endpoint: '203.0.113.9:8443', server_pin: regPin } });
    expect(o.masque).toEqual({ ...c.masque!, endpoint: { host: '203.0.113.9', port: 8443 }, server_pin: regPin });
    expect(parseMasque(o.files.get('masque.json')!.toString())).toEqual(o.masque);
    expect(o.settings.interface).toMatchObject({ ipv4: '100.96.0.7' });
    expect(o.files.has('wireguard.conf')).toBe(false);
    expect(o.manifestSha256).toBe(c.manifestSha256);
    // On disk: still the profile's, and it still verifies.
    expect(readFileSync(join(out, 'masque-plan', 'linux', 'masque.json'), 'utf8')).toBe(c.files.get('masque.json')!.toString());
    expect((await loadCompiled(join(out, 'masque-plan', 'linux'))).masque).toEqual(c.masque);
    // IPv6 endpoint.
    expect(withDeviceOverride(c, { interface: { ipv4: '100.96.0.7', ipv6: null }, peer: { public_key: '', endpoint: '' }, masque: { endpoint: '[2001:db8::9]:443', server_pin: regPin } }).masque!.endpoint).toEqual({ host: '2001:db8::9', port: 443 });
  });

  it("without the override's MASQUE side, masque.json's stays; a WireGuard plan ignores it; bad values are refused", async () => {
    const c = await masquePlan();
    const base = { interface: { ipv4: '100.96.0.7', ipv6: null }, peer: { public_key: '', endpoint: '' } };
    const o = withDeviceOverride(c, base);
    expect(o.masque).toEqual(c.masque);
    expect(o.files.get('masque.json')).toBe(c.files.get('masque.json'));
    const wg = await compiled('corporate-exclude');
    const w = withDeviceOverride(wg, { ...base, peer: { public_key: wgKey, endpoint: '10.9.0.1:51820' }, masque: { endpoint: '203.0.113.9:443', server_pin: regPin } });
    expect(w.masque).toBeNull();
    expect(w.files.has('masque.json')).toBe(false);
    for (const endpoint of ['gw.example:443', '203.0.113.9', '203.0.113.9:0', '203.0.113.9:70000', '2001:db8::9:443', '[203.0.113.9]:443'])
      expect(() => withDeviceOverride(c, { ...base, masque: { endpoint, server_pin: regPin } }), endpoint).toThrow(/MASQUE endpoint/);
    for (const pin of ['abc', regPin.slice(7), 'sha256/AAAA', `sha1/${regPin.slice(7)}`]) expect(() => withDeviceOverride(c, { ...base, masque: { endpoint: '203.0.113.9:443', server_pin: pin } }), pin).toThrow(/MASQUE server pin/);
  });

  it("the agent's override takes the WireGuard peer and the MASQUE peer from the registration by tunnel_type, and keeps both endpoints outside the tunnel", () => {
    const reg = {
      version: 1 as const,
      orchestrator: 'https://127.0.0.1:8443',
      id: 'd1',
      token: 't',
      install_id: 'i',
      os: 'linux',
      addresses: { v4: '100.96.0.7', v6: 'fd00:96::7' },
      peers: [
        { tunnel_type: 'masque' as const, public_key: regPin, endpoint: { v4: '203.0.113.9:443' } },
        { public_key: wgKey, endpoint: { v4: '198.51.100.1:2408' } },
      ],
      tls: { pin: 'x', ca: null },
      bundle_key: { spki_sha256: 'y', pem: 'z' },
      enrolled_at: '2026-01-01T00:00:00Z',
    };
    expect(overrideOf(reg)).toEqual({
      interface: { ipv4: '100.96.0.7', ipv6: 'fd00:96::7' },
      peer: { public_key: wgKey, endpoint: '198.51.100.1:2408' },
      masque: { endpoint: '203.0.113.9:443', server_pin: regPin },
      bypass: ['203.0.113.9', '198.51.100.1'],
    });
    expect(overrideOf({ ...reg, peers: [reg.peers[1]!] }).masque).toBeUndefined();
  });
});
