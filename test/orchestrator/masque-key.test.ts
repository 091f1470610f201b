/**
 * A device's MASQUE key through the orchestrator (issue #15 point 4), against SQLite and
 * PostgreSQL: PATCH /v0/reg/{id} with `key_type: secp256r1, tunnel_type: masque` stores the
 * P-256 key beside the WireGuard key (compare-and-set: 409 key_changed on a race), refuses what
 * is not a P-256 SubjectPublicKeyInfo, is audited, wakes the gateway's long-poll, and the peer
 * list and the admin's device carry its pin; a registration names the gateway's MASQUE side.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeStores } from '../helpers/stores.js';
import { ADMIN, GATEWAY_KEY, startHarness, wgKey, type Harness } from './harness.js';

/** base64 SPKI DER of a fresh key of that kind. */
function spki(kind: 'p256' | 'p384' | 'ed25519' | 'rsa' | 'x25519'): string {
  const k =
    kind === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 1024 })
          : kind === 'ed25519'
            ? generateKeyPairSync('ed25519')
            : generateKeyPairSync('x25519');
  return k.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}
const pinOf = (b64: string): string => `sha256/${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64')}`;
const masque = (key: string, previous?: string): Record<string, unknown> => ({ key, key_type: 'secp256r1', tunnel_type: 'masque', ...(previous !== undefined ? { previous_key: previous } : {}) });

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SERVER_PIN = `sha256/${Buffer.alloc(32, 9).toString('base64')}`;

describeStores('MASQUE key registration', (f) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(await f.open(), {}, undefined, [
      { public_key: GATEWAY_KEY, endpoint: { v4: '192.0.2.1:51820' } },
      { tunnel_type: 'masque', public_key: SERVER_PIN, endpoint: { v4: '192.0.2.1:443' } },
    ]);
  });
  afterAll(async () => h?.close());

  it('stores the P-256 key beside the WireGuard key; the registration names both sides of the gateway; the admin sees the pin; audited', async () => {
    const d = await h.register();
    expect(d.reply.json.config.peers).toEqual([
      { public_key: GATEWAY_KEY, endpoint: { v4: '192.0.2.1:51820' } },
      { tunnel_type: 'masque', public_key: SERVER_PIN, endpoint: { v4: '192.0.2.1:443' } },
    ]);
    const before = await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin });
    expect(before.json.result.masque).toBeNull();
    const key = spki('p256');
    const r = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(key) });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe(d.id);
    expect(r.json.config.peers[1]).toMatchObject({ tunnel_type: 'masque', public_key: SERVER_PIN });
    expect(await h.store.device(d.id)).toMatchObject({ masqueKey: key, publicKey: d.key });
    const one = await h.call('GET', `${ADMIN}/devices/${d.id}`, { token: h.admin });
    expect(one.json.result.masque).toEqual({ key, pin: pinOf(key) });
    expect(one.json.result.public_key).toBe(d.key);
    const audit = (await h.store.audit()).filter((e) => e.action === 'device.masque_key' && e.subject === d.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe(`device:${d.id}`);
    // The WireGuard rotation still works, and leaves the MASQUE key.
    const wg = wgKey();
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key: wg, previous_key: d.key } })).status).toBe(200);
    expect(await h.store.device(d.id)).toMatchObject({ masqueKey: key, publicKey: wg });
  });

  it('refuses other key types, non-P-256 keys and malformed bodies with 400, changing nothing', async () => {
    const d = await h.register();
    const p256 = spki('p256');
    const der = Buffer.from(p256, 'base64');
    const cases: [Record<string, unknown>, string, RegExp?][] = [
      [{ ...masque(p256), key_type: 'curve25519' }, '/key_type'],
      [{ ...masque(p256), tunnel_type: 'wireguard' }, '/tunnel_type'],
      [{ key: p256, tunnel_type: 'masque' }, '/key_type'],
      [{ ...masque(p256), extra: 1 }, '/extra'],
      [masque(spki('p384')), '/key', /secp384r1 EC key, not P-256/],
      [masque(spki('ed25519')), '/key', /ed25519 key, not P-256/],
      [masque(spki('rsa')), '/key', /rsa key, not P-256/],
      [masque(spki('x25519')), '/key', /x25519 key, not P-256/],
      [masque(wgKey()), '/key', /not a DER SubjectPublicKeyInfo/],
      [masque(Buffer.concat([der, Buffer.from([0])]).toString('base64')), '/key'],
      [masque(der.subarray(0, der.length - 1).toString('base64')), '/key'],
      [masque(p256.replace(/=*$/, '')), '/key', /canonical base64/],
      [masque('not base64!'), '/key'],
    ];
    for (const [body, field, message] of cases) {
      const r = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.field, JSON.stringify(body)).toBe(field);
      if (message) expect(r.json.error.message).toMatch(message);
    }
    expect((await h.store.device(d.id))!.masqueKey).toBeNull();
    // Another device's token: 404, nothing stored.
    const other = await h.register();
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: other.token, body: masque(p256) })).status).toBe(404);
    expect((await h.store.device(d.id))!.masqueKey).toBeNull();
  });

  it('compare-and-set: racing registrations, one wins, the others get 409 key_changed; replacing needs previous_key; the same key again is 200 unchanged', async () => {
    const d = await h.register();
    const keys = Array.from({ length: 8 }, () => spki('p256'));
    const replies = await Promise.all(keys.map((k) => h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(k) })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    for (const r of replies.filter((x) => x.status === 409)) expect(r.json.error).toMatchObject({ code: 'key_changed', field: '/previous_key' });
    const winner = keys[statuses.indexOf(200)]!;
    expect((await h.store.device(d.id))!.masqueKey).toBe(winner);
    // The registered key again (a restarted agent): nothing changes, no new seq.
    const seq = await h.store.seq();
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(winner) })).status).toBe(200);
    expect(await h.store.seq()).toBe(seq);
    // A new key: only with the registered one as previous_key.
    const next = spki('p256');
    const stale = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(next, keys.find((k) => k !== winner)) });
    expect(stale.status).toBe(409);
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(next) })).status).toBe(409);
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(next, winner) })).status).toBe(200);
    expect((await h.store.device(d.id))!.masqueKey).toBe(next);
  });

  it("the gateway's peer list carries masque_pin for a device with a MASQUE key, and its long-poll wakes when one is registered", async () => {
    const d = await h.register();
    const r = await h.call('GET', '/v0/gateway/peers', { token: h.gateway });
    const mine = r.json.peers.find((p: { device_id: string }) => p.device_id === d.id);
    expect(mine).toEqual({ device_id: d.id, public_key: d.key, allowed_ips: expect.any(Array) });
    const waiting = h.call('GET', '/v0/gateway/peers?wait=30', { token: h.gateway, headers: { 'if-none-match': r.headers['etag'] as string } });
    await until(() => h.orch.device.waiting > 0);
    const key = spki('p256');
    expect((await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: masque(key) })).status).toBe(200);
    const woke = await waiting;
    expect(woke.status).toBe(200);
    expect(woke.json.version).toBeGreaterThan(r.json.version);
    const after = woke.json.peers.find((p: { device_id: string }) => p.device_id === d.id);
    expect(after).toEqual({ device_id: d.id, public_key: d.key, allowed_ips: mine.allowed_ips, masque_pin: pinOf(key) });
    // Devices without a MASQUE key carry none.
    for (const p of woke.json.peers) if (p.device_id !== d.id && !(await h.store.device(p.device_id))!.masqueKey) expect(p.masque_pin).toBeUndefined();
  });

  it("a profile with tunnel_protocol masque compiles to a MASQUE plan naming the orchestrator's MASQUE gateway (masque.json, no wireguard.conf)", async () => {
    const d = await h.register();
    const files = async (): Promise<Record<string, string>> => (await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).json.files;
    expect(Object.keys(await files())).toContain('linux/wireguard.conf');
    const p = await h.call('PATCH', `${ADMIN}/devices/policy`, { token: h.admin, body: { tunnel_protocol: 'masque' } });
    expect(p.status).toBe(200);
    const after = await files();
    expect(Object.keys(after)).not.toContain('linux/wireguard.conf');
    const m = JSON.parse(Buffer.from(after['linux/masque.json']!, 'base64').toString('utf8'));
    expect(m).toMatchObject({ endpoint: { host: '192.0.2.1', port: 443 }, server_pin: SERVER_PIN });
  });
});

describeStores('MASQUE profiles without a MASQUE gateway', (f) => {
  it('tunnel_protocol masque stays a WireGuard plan when the orchestrator was given no MASQUE gateway (as warpc import does)', async () => {
    const h = await startHarness(await f.open());
    try {
      const d = await h.register();
      expect((await h.call('PATCH', `${ADMIN}/devices/policy`, { token: h.admin, body: { tunnel_protocol: 'masque' } })).status).toBe(200);
      const files = (await h.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token })).json.files;
      expect(Object.keys(files)).toContain('linux/wireguard.conf');
      expect(Object.keys(files)).not.toContain('linux/masque.json');
    } finally {
      await h.close();
    }
  });
});
