/**
 * Every route of the orchestrator's admin and device APIs, against SQLite and PostgreSQL
 * (test/helpers/stores.ts): status codes, Cloudflare's envelope, compiler checks of profile
 * writes, selection by identity and posture, signed bundles with ETag and long-poll, and the
 * gateway's peer list.
 */
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { hashToken, newToken } from '../../src/orchestrator/tokens.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStores } from '../helpers/stores.js';
import { ADMIN, startHarness, wgKey, type Harness } from './harness.js';

const CUSTOM = { name: 'Engineering', match: 'identity.email == "alice@example.com"', precedence: 10, enabled: true, description: 'eng laptops', service_mode_v2: { mode: 'warp' } };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function statementOf(body: { statement: string }): Record<string, any> {
  return JSON.parse(Buffer.from(body.statement, 'base64').toString('utf8'));
}

describeStores('orchestrator API', (f) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(await f.open());
  });
  afterAll(async () => h?.close());

  describe('admin: profiles in Cloudflare shape', () => {
    it('refuses requests without a valid admin token', async () => {
      expect((await h.call('GET', `${ADMIN}/devices/policy`)).status).toBe(401);
      expect((await h.call('GET', `${ADMIN}/devices/policy`, { token: h.enroll })).status).toBe(401);
      const r = await h.call('GET', `${ADMIN}/devices/policy`, { token: `wpa_${'A'.repeat(43)}` });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ success: false, error: { code: 'unauthorized' } });
    });

    it('GET and PATCH the default profile; its lists by GET and PUT', async () => {
      const g = await h.call('GET', `${ADMIN}/devices/policy`, { token: h.admin });
      expect(g.status).toBe(200);
      expect(g.json).toEqual({ success: true, errors: [], messages: [], result: { default: true } });
      const p = await h.call('PATCH', `${ADMIN}/devices/policy`, { token: h.admin, body: { captive_portal: 120, service_mode_v2: { mode: 'warp' } } });
      expect(p.status).toBe(200);
      expect(p.json.result).toEqual({ captive_portal: 120, service_mode_v2: { mode: 'warp' }, default: true });
      const put = await h.call('PUT', `${ADMIN}/devices/policy/exclude`, { token: h.admin, body: [{ address: '10.0.0.0/8', description: 'corp' }, { host: 'intranet.example.com' }] });
      expect(put.status).toBe(200);
      expect(put.json.result).toEqual([{ address: '10.0.0.0/8', description: 'corp' }, { host: 'intranet.example.com' }]);
      // warpc check's warnings come back as messages
      expect(put.json.messages.map((m: { code: string }) => m.code)).toContain('WARPC0134');
      // but not "no tunnel peer": no stored profile has one, each device's registration names the gateway
      expect(put.json.messages.map((m: { code: string }) => m.code)).not.toContain('WARPC0052');
      const fb = await h.call('PUT', `${ADMIN}/devices/policy/fallback_domains`, { token: h.admin, body: [{ suffix: 'corp.example.com', dns_server: ['10.0.0.53'] }] });
      expect(fb.status).toBe(200);
      expect((await h.call('GET', `${ADMIN}/devices/policy/exclude`, { token: h.admin })).json.result).toHaveLength(2);
      expect((await h.call('GET', `${ADMIN}/devices/policy/include`, { token: h.admin })).json.result).toEqual([]);
      const all = await h.call('GET', `${ADMIN}/devices/policy`, { token: h.admin });
      expect(all.json.result.fallback_domains).toEqual([{ suffix: 'corp.example.com', dns_server: ['10.0.0.53'] }]);
    });

    it('a profile with a compiler error is refused whole, with warpc check diagnostics, and nothing changes', async () => {
      const before = await h.call('GET', `${ADMIN}/devices/policy`, { token: h.admin });
      const seq = await h.store.seq();
      const bad = await h.call('PUT', `${ADMIN}/devices/policy/exclude`, { token: h.admin, body: [{ address: '10.0.0.0/33' }] });
      expect(bad.status).toBe(400);
      expect(bad.json.success).toBe(false);
      expect(bad.json.error.code).toBe('profile_invalid');
      expect(bad.json.errors.map((e: { code: string }) => e.code)).toContain('WARPC0020');
      const badMatch = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { ...CUSTOM, match: 'identity.email ==' } });
      expect(badMatch.status).toBe(400);
      expect((await h.call('GET', `${ADMIN}/devices/policy`, { token: h.admin })).json).toEqual(before.json);
      expect(await h.store.seq()).toBe(seq);
    });

    it('custom profiles: POST, GET, list, PATCH, lists, precedence conflicts, DELETE', async () => {
      const missing = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { name: 'x', precedence: 5 } });
      expect(missing.status).toBe(400);
      expect(missing.json.error.field).toBe('/match');
      const c = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: CUSTOM });
      expect(c.status).toBe(200);
      const id = c.json.result.policy_id as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect((await h.call('GET', `${ADMIN}/devices/policy/${id}`, { token: h.admin })).json.result).toMatchObject({ ...CUSTOM, policy_id: id, default: false });
      const list = await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin });
      expect(list.json.result.map((p: { policy_id: string }) => p.policy_id)).toEqual([id]);
      expect(list.json.result_info).toMatchObject({ count: 1, total_count: 1 });
      const patched = await h.call('PATCH', `${ADMIN}/devices/policy/${id}`, { token: h.admin, body: { description: null, captive_portal: 60 } });
      expect(patched.json.result.description).toBeUndefined();
      expect(patched.json.result.captive_portal).toBe(60);
      const inc = await h.call('PUT', `${ADMIN}/devices/policy/${id}/include`, { token: h.admin, body: [{ address: '10.1.0.0/16' }] });
      expect(inc.status).toBe(200);
      expect((await h.call('GET', `${ADMIN}/devices/policy/${id}/include`, { token: h.admin })).json.result).toEqual([{ address: '10.1.0.0/16' }]);
      const clash = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { ...CUSTOM, name: 'Other' } });
      expect(clash.status).toBe(409);
      expect(clash.json.error).toMatchObject({ code: 'precedence_taken', field: '/precedence' });
      const other = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { ...CUSTOM, name: 'Other', precedence: 20 } });
      const del = await h.call('DELETE', `${ADMIN}/devices/policy/${other.json.result.policy_id}`, { token: h.admin });
      expect(del.status).toBe(200);
      expect(del.json.result.map((p: { policy_id: string }) => p.policy_id)).toEqual([id]);
      expect((await h.call('GET', `${ADMIN}/devices/policy/${other.json.result.policy_id}`, { token: h.admin })).status).toBe(404);
      expect((await h.call('DELETE', `${ADMIN}/devices/policy`, { token: h.admin })).status).toBe(405);
      expect((await h.call('GET', `${ADMIN}/devices/policy/${id}/nope`, { token: h.admin })).status).toBe(404);
    });

    it('a PATCH of an unknown policy_id creates it (an export applies to an empty orchestrator)', async () => {
      const id = '3f1e0c2a-0000-4000-8000-00000000abcd';
      const r = await h.call('PATCH', `${ADMIN}/devices/policy/${id}`, { token: h.admin, body: { name: 'Exported', match: 'os.name == "windows"', precedence: 30 } });
      expect(r.status).toBe(200);
      expect(r.json.result.policy_id).toBe(id);
      await h.call('DELETE', `${ADMIN}/devices/policy/${id}`, { token: h.admin });
    });
  });

  describe('device API', () => {
    it('POST /v0/reg registers with addresses from the pool, the gateway peer and the bundle key', async () => {
      const { reply } = await h.register();
      expect(reply.status).toBe(201);
      expect(reply.json.token).toMatch(/^wpd_[A-Za-z0-9_-]{43}$/);
      expect(reply.json.config.interface.addresses.v4).toMatch(/^100\.96\.0\.\d+$/);
      expect(reply.json.config.interface.addresses.v6).toMatch(/^fd01:5ca1:ab1e::[0-9a-f]+$/);
      expect(reply.json.config.interface.addresses.v4).not.toBe('100.96.0.1');
      expect(reply.json.config.peers).toEqual([{ public_key: expect.any(String), endpoint: { v4: '192.0.2.1:51820' } }]);
      expect(reply.json.bundle_key.spki_sha256).toBe(h.orch.signer.publicKey.spki_sha256);
    });

    it('GET, PATCH (key rotation) and DELETE its own registration', async () => {
      const d = await h.register();
      const g = await h.call('GET', `/v0/reg/${d.id}`, { token: d.token });
      expect(g.status).toBe(200);
      expect(g.json.token).toBeUndefined();
      expect(g.json.id).toBe(d.id);
      const key = wgKey();
      const p = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key, previous_key: d.key } });
      expect(p.status).toBe(200);
      expect((await h.store.device(d.id))!.publicKey).toBe(key);
      const stale = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key: wgKey(), previous_key: d.key } });
      expect(stale.status).toBe(409);
      expect(stale.json.error.code).toBe('key_changed');
      const del = await h.call('DELETE', `/v0/reg/${d.id}`, { token: d.token });
      expect(del.status).toBe(204);
      expect(await h.store.device(d.id)).toBeUndefined();
      expect((await h.call('GET', `/v0/reg/${d.id}`, { token: d.token })).status).toBe(401);
    });

    it('POST posture stores it, and os.version, client.version and posture.* from it select profiles', async () => {
      const d = await h.register();
      const bad = await h.call('POST', `/v0/reg/${d.id}/posture`, { token: d.token, body: { os_version: '7.0', client_version: '1', firewall: 'yes', disk_encryption: true } });
      expect(bad.status).toBe(400);
      expect(bad.json.error.field).toBe('/firewall');
      const r = await h.call('POST', `/v0/reg/${d.id}/posture`, {
        token: d.token,
        body: { os_version: '7.0', client_version: '0.1.0', firewall: true, disk_encryption: false, checks: { edr: 'running' } },
      });
      expect(r.status).toBe(204);
      const shown = await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin });
      expect(shown.json.result.posture).toMatchObject({ os_version: '7.0', checks: { edr: 'running' } });
      const prof = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { name: 'Kernel 7', match: 'os.version == "7.0"', precedence: 5 } });
      const b = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      expect(statementOf(b.json).profile.id).toBe(prof.json.result.policy_id);
      const disk = await h.call('POST', `${ADMIN}/devices/policy`, {
        token: h.admin,
        body: { name: 'Unencrypted', match: 'posture.disk_encryption == "false" and posture.firewall == "true" and client.version == "0.1.0"', precedence: 3 },
      });
      expect(disk.status).toBe(200);
      const b2 = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      expect(statementOf(b2.json).profile.id).toBe(disk.json.result.policy_id);
      await h.call('POST', `/v0/reg/${d.id}/posture`, { token: d.token, body: { os_version: '7.0', client_version: '0.1.0', firewall: true, disk_encryption: true } });
      const b3 = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      expect(statementOf(b3.json).profile.id).toBe(prof.json.result.policy_id);
      for (const p of [prof, disk]) await h.call('DELETE', `${ADMIN}/devices/policy/${p.json.result.policy_id}`, { token: h.admin });
    });

    it('GET bundle: signed, the files of the selected profile, ETag and 304', async () => {
      const d = await h.register();
      const r = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      expect(r.status).toBe(200);
      const st = statementOf(r.json);
      expect(r.headers['etag']).toBe(`"${st.version}"`);
      expect(st).toMatchObject({ format: 1, device_id: d.id, os: 'linux' });
      // identity.email alice@example.com (the enrollment token's) selects the Engineering profile
      const eng = (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).json.result.find((p: { name: string }) => p.name === 'Engineering');
      expect(st.profile.id).toBe(eng.policy_id);
      const pub = createPublicKey(h.orch.signer.publicKey.pem);
      expect(verify(null, Buffer.from(r.json.statement, 'base64'), pub, Buffer.from(r.json.signature, 'base64'))).toBe(true);
      const manifest = Buffer.from(r.json.files['manifest.json'], 'base64');
      expect(createHash('sha256').update(manifest).digest('hex')).toBe(st.manifest_sha256);
      const m = JSON.parse(manifest.toString('utf8'));
      expect(
        Object.keys(r.json.files)
          .filter((p) => p !== 'manifest.json')
          .sort(),
      ).toEqual(m.files.map((x: { path: string }) => x.path).sort());
      const again = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token, headers: { 'if-none-match': r.headers['etag'] as string } });
      expect(again.status).toBe(304);
      expect((await h.call('GET', `/v0/reg/${d.id}/bundle?os=beos`, { token: d.token })).json.error.field).toBe('os');
      const win = await h.call('GET', `/v0/reg/${d.id}/bundle?os=windows`, { token: d.token });
      expect(win.status).toBe(200);
      expect(Object.keys(win.json.files).some((p) => p.startsWith('windows/'))).toBe(true);
      // applied version, as the If-None-Match said
      expect((await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin })).json.result.bundle.applied_version).toBe(st.version);
    });

    it('GET bundle with Accept-Encoding: gzip: the same answer compressed, also from a long-poll; without it, the uncompressed bytes as before', async () => {
      const d = await h.register();
      const url = `/v0/reg/${d.id}/bundle?os=linux`;
      const pub = createPublicKey(h.orch.signer.publicKey.pem);
      // The answer's layout: its three members in this order, no whitespace (what one JSON string made before the shared tail).
      const layout = (j: { statement: string; signature: string; files: unknown }): string => `{"statement":${JSON.stringify(j.statement)},"signature":${JSON.stringify(j.signature)},"files":${JSON.stringify(j.files)}}`;
      const filesPart = (t: string): string => t.slice(t.indexOf(',"files":'));
      const plain = await h.call('GET', url, { token: d.token });
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.text).toBe(layout(plain.json));
      expect(Number(plain.headers['content-length'])).toBe(plain.bytes.length);
      const gz = await h.call('GET', url, { token: d.token, headers: { 'accept-encoding': 'gzip, deflate' } });
      expect(gz.status).toBe(200);
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.headers['etag']).toBe(plain.headers['etag']);
      expect(Number(gz.headers['content-length'])).toBe(gz.bytes.length);
      expect(gz.bytes.length).toBeLessThan(plain.bytes.length);
      const text = gunzipSync(gz.bytes).toString('utf8');
      const j = JSON.parse(text);
      expect(text).toBe(layout(j));
      expect(filesPart(text)).toBe(filesPart(plain.text));
      expect(verify(null, Buffer.from(j.statement, 'base64'), pub, Buffer.from(j.signature, 'base64'))).toBe(true);
      expect(statementOf(j)).toMatchObject({ device_id: d.id, version: statementOf(plain.json).version });
      expect((await h.call('GET', url, { token: d.token, headers: { 'accept-encoding': 'gzip;q=0, br' } })).headers['content-encoding']).toBeUndefined();
      // Long-polls: the one that asked for gzip is woken with gzip, the other with the plain bytes.
      const etag = plain.headers['etag'] as string;
      const before = h.orch.device.waiting;
      const zipped = h.call('GET', `${url}&wait=30`, { token: d.token, headers: { 'if-none-match': etag, 'accept-encoding': 'gzip' } });
      const bare = h.call('GET', `${url}&wait=30`, { token: d.token, headers: { 'if-none-match': etag } });
      await until(() => h.orch.device.waiting >= before + 2);
      const eng = (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).json.result.find((p: { name: string }) => p.name === 'Engineering');
      await h.call('PUT', `${ADMIN}/devices/policy/${eng.policy_id}/exclude`, { token: h.admin, body: [{ address: '172.16.0.0/12' }] });
      const [wz, wb] = await Promise.all([zipped, bare]);
      expect([wz.status, wb.status]).toEqual([200, 200]);
      expect(wz.headers['content-encoding']).toBe('gzip');
      expect(wb.headers['content-encoding']).toBeUndefined();
      const woke = JSON.parse(gunzipSync(wz.bytes).toString('utf8'));
      expect(verify(null, Buffer.from(woke.statement, 'base64'), pub, Buffer.from(woke.signature, 'base64'))).toBe(true);
      expect(statementOf(woke).version).toBeGreaterThan(statementOf(plain.json).version);
      expect(wb.text).toBe(layout(wb.json));
      expect(filesPart(gunzipSync(wz.bytes).toString('utf8'))).toBe(filesPart(wb.text));
      expect(filesPart(wb.text)).not.toBe(filesPart(plain.text));
    });

    it('a bundle is compiled once per profile revision and OS', async () => {
      const d1 = await h.register();
      const d2 = await h.register();
      await h.call('GET', `/v0/reg/${d1.id}/bundle?os=android`, { token: d1.token });
      const n = h.orch.bundles.compilations;
      await h.call('GET', `/v0/reg/${d2.id}/bundle?os=android`, { token: d2.token });
      expect(h.orch.bundles.compilations).toBe(n);
    });

    it('long-poll: a profile change wakes the waiting device with the new version', async () => {
      const d = await h.register({ os_name: 'linux' });
      const first = await h.call('GET', `/v0/reg/${d.id}/bundle`, { token: d.token });
      const etag = first.headers['etag'] as string;
      const waiting = h.call('GET', `/v0/reg/${d.id}/bundle?wait=30`, { token: d.token, headers: { 'if-none-match': etag } });
      await until(() => h.orch.device.waiting > 0);
      const eng = (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).json.result.find((p: { name: string }) => p.name === 'Engineering');
      await h.call('PUT', `${ADMIN}/devices/policy/${eng.policy_id}/exclude`, { token: h.admin, body: [{ address: '192.168.0.0/16' }] });
      const woke = await waiting;
      expect(woke.status).toBe(200);
      expect(statementOf(woke.json).version).toBeGreaterThan(statementOf(first.json).version);
    });

    it('long-poll: one profile change wakes many waiting devices (batched versions), a device waiting for two OSes, and a deleted one', async () => {
      const ds = [];
      // Straight into the store: the API's registration rate limit would take seconds for 70.
      const pools = { v4: '100.96.0.0/24', v6: 'fd01:5ca1:ab1e::/120', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] };
      for (let i = 0; i < 70; i++) {
        const token = newToken('device');
        const row = await h.store.registerDevice(
          { installId: randomUUID(), publicKey: wgKey(), tokenHash: hashToken(token), model: 'm', osName: 'linux', osVersion: '6.1', serial: 's', enrolledWith: '' },
          hashToken(h.enroll),
          pools,
          Date.now(),
        );
        ds.push({ id: row.id, token });
      }
      const park = async (d: { id: string; token: string }, os: string) => {
        const first = await h.call('GET', `/v0/reg/${d.id}/bundle?os=${os}`, { token: d.token });
        expect(first.status, JSON.stringify(first.json)).toBe(200);
        return { first, waiting: h.call('GET', `/v0/reg/${d.id}/bundle?os=${os}&wait=30`, { token: d.token, headers: { 'if-none-match': first.headers['etag'] as string } }) };
      };
      const before = h.orch.device.waiting;
      const parked = [];
      for (const d of ds) parked.push(await park(d, 'linux'));
      const second = await park(ds[0]!, 'android');
      await until(() => h.orch.device.waiting >= before + 71);
      const gone = ds[1]!;
      await h.call('DELETE', `/v0/reg/${gone.id}`, { token: gone.token });
      const eng = (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).json.result.find((p: { name: string }) => p.name === 'Engineering');
      await h.call('PUT', `${ADMIN}/devices/policy/${eng.policy_id}/exclude`, { token: h.admin, body: [{ address: '10.9.0.0/16' }] });
      const versions = new Set<number>();
      for (const [i, p] of parked.entries()) {
        const r = await p.waiting;
        if (i === 1) {
          expect(r.status).toBe(404);
          continue;
        }
        expect(r.status).toBe(200);
        const st = statementOf(r.json);
        expect(st.device_id).toBe(ds[i]!.id);
        expect(st.version).toBeGreaterThan(statementOf(p.first.json).version);
        expect(r.headers['etag']).toBe(`"${st.version}"`);
        versions.add(st.version);
      }
      expect(versions.size).toBe(69);
      const other = await second.waiting;
      expect(other.status).toBe(200);
      expect(statementOf(other.json).os).toBe('android');
    });

    it('long-poll ends with 304 at its deadline; wait is bounded', async () => {
      const d = await h.register();
      const first = await h.call('GET', `/v0/reg/${d.id}/bundle`, { token: d.token });
      const r = await h.call('GET', `/v0/reg/${d.id}/bundle?wait=1`, { token: d.token, headers: { 'if-none-match': first.headers['etag'] as string } });
      expect(r.status).toBe(304);
      expect((await h.call('GET', `/v0/reg/${d.id}/bundle?wait=100000`, { token: d.token })).status).toBe(400);
    });

    it('GET /v0/gateway/peers: every device with its addresses; long-poll woken by a registration', async () => {
      expect((await h.call('GET', '/v0/gateway/peers', { token: h.admin })).status).toBe(401);
      const r = await h.call('GET', '/v0/gateway/peers', { token: h.gateway });
      expect(r.status).toBe(200);
      const devices = await h.store.devices();
      expect(r.json.peers).toHaveLength(devices.length);
      expect(r.json.peers[0]).toEqual({ device_id: devices[0]!.id, public_key: devices[0]!.publicKey, allowed_ips: [`${devices[0]!.addressV4}/32`, `${devices[0]!.addressV6}/128`] });
      const waiting = h.call('GET', '/v0/gateway/peers?wait=30', { token: h.gateway, headers: { 'if-none-match': r.headers['etag'] as string } });
      await until(() => h.orch.device.waiting > 0);
      const d = await h.register();
      const woke = await waiting;
      expect(woke.status).toBe(200);
      expect(woke.json.peers.map((p: { device_id: string }) => p.device_id)).toContain(d.id);
      expect(woke.json.version).toBeGreaterThan(r.json.version);
    });
  });

  describe('admin: devices, tokens, audit', () => {
    it('lists and shows devices with last seen, posture and bundle version; revokes', async () => {
      const d = await h.register();
      await h.call('GET', `/v0/reg/${d.id}/bundle`, { token: d.token });
      const list = await h.call('GET', `${ADMIN}/devices`, { token: h.admin });
      expect(list.json.result.map((x: { id: string }) => x.id)).toContain(d.id);
      const one = await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin });
      expect(one.json.result).toMatchObject({ id: d.id, os_name: 'linux', identity: { email: 'alice@example.com', groups: ['eng'] } });
      expect(one.json.result.last_seen).toMatch(/^\d{4}-/);
      expect(one.json.result.bundle.version).toBeGreaterThan(0);
      expect((await h.call('DELETE', `${ADMIN}/devices/${d.id}`, { token: h.admin })).status).toBe(200);
      expect((await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin })).status).toBe(404);
      expect((await h.call('GET', `/v0/reg/${d.id}/bundle`, { token: d.token })).status).toBe(401);
      const d2 = await h.register();
      expect((await h.call('POST', `${ADMIN}/devices/revoke`, { token: h.admin, body: [d2.id] })).status).toBe(200);
      expect(await h.store.device(d2.id)).toBeUndefined();
    });

    it('PATCH a device\'s identity: match sees it, a waiting device wakes with its new profile; bad bodies change nothing', async () => {
      const d = await h.register();
      const first = await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      const prof = await h.call('POST', `${ADMIN}/devices/policy`, { token: h.admin, body: { name: 'Carol', match: 'identity.email == "carol@example.com" or any(identity.groups.name[*] in {"ops"})', precedence: 7 } });
      expect(prof.status, JSON.stringify(prof.json)).toBe(200);
      expect(statementOf((await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).json).profile.id).not.toBe(prof.json.result.policy_id);
      const etag = (await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).headers['etag'] as string;
      const waiting = h.call('GET', `/v0/reg/${d.id}/bundle?os=linux&wait=30`, { token: d.token, headers: { 'if-none-match': etag } });
      await until(() => h.orch.device.waiting > 0);
      for (const [body, field] of [
        [{ identity: { email: 7 } }, '/identity/email'],
        [{ identity: { group: ['ops'] } }, '/identity/group'],
        [{ identity: { email: 'carol@example.com' }, os_name: 'mac' }, '/'],
        [[], '/'],
      ] as const) {
        const bad = await h.call('PATCH', `${ADMIN}/devices/${d.id}`, { token: h.admin, body });
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.json.error.field).toBe(field);
      }
      expect((await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin })).json.result.identity).toEqual({ email: 'alice@example.com', groups: ['eng'] });
      const r = await h.call('PATCH', `${ADMIN}/devices/${d.id}`, { token: h.admin, body: { identity: { email: 'carol@example.com' } } });
      expect(r.status).toBe(200);
      expect(r.json.result.identity).toEqual({ email: 'carol@example.com' });
      const woke = await waiting;
      expect(woke.status).toBe(200);
      expect(statementOf(woke.json)).toMatchObject({ profile: { id: prof.json.result.policy_id } });
      expect(statementOf(woke.json).version).toBeGreaterThan(statementOf(first.json).version);
      // By group as well; null takes the identity away, and the default profile is back.
      await h.call('PATCH', `${ADMIN}/devices/${d.id}`, { token: h.admin, body: { identity: { groups: ['ops'] } } });
      expect(statementOf((await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).json).profile.id).toBe(prof.json.result.policy_id);
      await h.call('PATCH', `${ADMIN}/devices/${d.id}`, { token: h.admin, body: { identity: null } });
      expect((await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin })).json.result.identity).toBeNull();
      expect(statementOf((await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).json).profile.id).not.toBe(prof.json.result.policy_id);
      expect((await h.call('PATCH', `${ADMIN}/devices/nope`, { token: h.admin, body: { identity: null } })).status).toBe(404);
      const audit = await h.call('GET', `${ADMIN}/warpc/audit?limit=1000`, { token: h.admin });
      expect(audit.json.result.filter((e: { action: string; subject: string }) => e.action === 'device.identity' && e.subject === d.id).map((e: { detail: unknown }) => e.detail)).toEqual([{ email: 'carol@example.com' }, { groups: ['ops'] }, null]);
      await h.call('DELETE', `${ADMIN}/devices/policy/${prof.json.result.policy_id}`, { token: h.admin });
    });

    it('creates, lists and revokes tokens; enrollment tokens count uses and carry identity', async () => {
      const bad = await h.call('POST', `${ADMIN}/warpc/tokens`, { token: h.admin, body: { kind: 'root' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error.field).toBe('/kind');
      const c = await h.call('POST', `${ADMIN}/warpc/tokens`, {
        token: h.admin,
        body: { kind: 'enroll', label: 'two laptops', max_uses: 1, expires_in: 3600, identity: { email: 'bob@example.com' } },
      });
      expect(c.status).toBe(201);
      expect(c.json.result.token).toMatch(/^wpe_/);
      const list = await h.call('GET', `${ADMIN}/warpc/tokens`, { token: h.admin });
      const row = list.json.result.find((t: { id: string }) => t.id === c.json.result.id);
      expect(row).toMatchObject({ kind: 'enroll', label: 'two laptops', max_uses: 1, uses: 0, identity: { email: 'bob@example.com' } });
      expect(JSON.stringify(list.json)).not.toContain(c.json.result.token);
      const revoke = await h.call('DELETE', `${ADMIN}/warpc/tokens/${c.json.result.id}`, { token: h.admin });
      expect(revoke.status).toBe(200);
      const r = await h.call('POST', '/v0/reg', {
        token: c.json.result.token,
        body: { key: wgKey(), key_type: 'curve25519', tunnel_type: 'wireguard', install_id: '12345678-aaaa', model: 'm', os_name: 'linux', os_version: '1', serial_number: '' },
      });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('token_unusable');
    });

    it('the audit log says who changed what', async () => {
      const a = await h.call('GET', `${ADMIN}/warpc/audit?limit=1000`, { token: h.admin });
      expect(a.status).toBe(200);
      const actions = new Set(a.json.result.map((e: { action: string }) => e.action));
      for (const x of ['profile.update', 'profile.create', 'profile.delete', 'device.register', 'device.rotate_key', 'token.create', 'token.revoke']) expect(actions).toContain(x);
      const entry = a.json.result.find((e: { action: string; subject: string }) => e.action === 'profile.create' && e.subject !== 'default');
      expect(entry.actor).toContain('test admin');
      expect((await h.call('GET', `${ADMIN}/warpc/audit?limit=0`, { token: h.admin })).status).toBe(400);
    });

    it('unknown routes are 404 with an ApiError', async () => {
      const r = await h.call('GET', '/v1/nothing');
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    });
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
