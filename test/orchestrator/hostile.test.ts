/**
 * A hostile client against the orchestrator, on SQLite and PostgreSQL: malformed and huge JSON,
 * unknown fields, wrong / expired / used-up tokens, another device's id, racing key rotations,
 * an exhausted address pool, concurrent registrations with one install id, slow and idle
 * connections, and the registration rate limit. Every refusal is a 4xx (or 503) ApiError naming
 * the field where there is one, and changes nothing.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/orchestrator/admin.js';
import { describeStores } from '../helpers/stores.js';
import { ADMIN, startHarness, wgKey, type Harness } from './harness.js';

const regBody = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ key: wgKey(), key_type: 'curve25519', tunnel_type: 'wireguard', install_id: randomUUID(), model: 'm', os_name: 'linux', os_version: '1', serial_number: 's', ...extra });

/** Resolves with how long the server took to close a connection that `start` opened. */
function closedAfter(start: (done: () => void) => void): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => start(() => resolve(Date.now() - t0)));
}

describeStores('orchestrator against a hostile client', (f) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(await f.open(), { headersMs: 800, requestMs: 1500, handshakeMs: 800, idleMs: 500, deviceBody: 4096, adminBody: 64 * 1024, registerBurst: 1000, registerPerSecond: 1000 });
  });
  afterAll(async () => h?.close());

  it('malformed JSON, a huge body, unknown and missing fields: 4xx naming the field; nothing changes', async () => {
    const seq = await h.store.seq();
    const bad = await h.call('POST', '/v0/reg', { token: h.enroll, raw: '{"key": ' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_json');
    const notUtf8 = await h.call('POST', '/v0/reg', { token: h.enroll, raw: Buffer.from([0x7b, 0xff, 0x7d]) });
    expect(notUtf8.json.error.code).toBe('invalid_json');
    const huge = await h.call('POST', '/v0/reg', { token: h.enroll, raw: `{"model":"${'x'.repeat(100_000)}"}` });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('body_too_large');
    const hugeAdmin = await h.call('PUT', `${ADMIN}/devices/policy/exclude`, { token: h.admin, body: Array.from({ length: 5000 }, (_, i) => ({ address: `10.${i >> 8}.${i & 255}.0/24` })) });
    expect(hugeAdmin.status).toBe(413);
    const deep = await h.call('POST', '/v0/reg', { token: h.enroll, raw: '['.repeat(2000) + ']'.repeat(2000) });
    expect(deep.status).toBe(400);
    const extra = await h.call('POST', '/v0/reg', { token: h.enroll, body: regBody({ admin: true }) });
    expect(extra.status).toBe(400);
    expect(extra.json.error).toMatchObject({ code: 'invalid_field', field: '/admin' });
    const body = regBody();
    delete body['install_id'];
    const missing = await h.call('POST', '/v0/reg', { token: h.enroll, body });
    expect(missing.json.error.field).toBe('/install_id');
    const badKey = await h.call('POST', '/v0/reg', { token: h.enroll, body: regBody({ key: 'not a key' }) });
    expect(badKey.json.error.field).toBe('/key');
    const ctl = await h.call('POST', '/v0/reg', { token: h.enroll, body: regBody({ model: 'a\nb' }) });
    expect(ctl.json.error.field).toBe('/model');
    const notObj = await h.call('PATCH', `${ADMIN}/devices/policy`, { token: h.admin, body: [1, 2] });
    expect(notObj.status).toBe(400);
    expect(await h.store.seq()).toBe(seq);
    expect(await h.store.devices()).toHaveLength(0);
  });

  it('wrong, mistyped, expired, revoked and used-up tokens are refused', async () => {
    const wrong = await h.call('POST', '/v0/reg', { token: `wpe_${'A'.repeat(43)}`, body: regBody() });
    expect(wrong.status).toBe(401);
    expect((await h.call('POST', '/v0/reg', { token: h.admin, body: regBody() })).status).toBe(401);
    expect((await h.call('POST', '/v0/reg', { body: regBody() })).status).toBe(401);
    expect((await h.call('POST', '/v0/reg', { token: h.enroll, body: regBody(), headers: { authorization: `Basic ${h.enroll}` } })).status).toBe(401);
    const expired = await createToken(h.store, { kind: 'enroll', label: 'expired', expiresAt: Date.now() - 1, maxUses: null }, 'test');
    expect((await h.call('POST', '/v0/reg', { token: expired.token, body: regBody() })).json.error.code).toBe('token_unusable');
    const once = await createToken(h.store, { kind: 'enroll', label: 'once', expiresAt: null, maxUses: 1 }, 'test');
    expect((await h.call('POST', '/v0/reg', { token: once.token, body: regBody() })).status).toBe(201);
    const reused = await h.call('POST', '/v0/reg', { token: once.token, body: regBody() });
    expect(reused.status).toBe(401);
    expect(reused.json.error.code).toBe('token_unusable');
    const expiredAdmin = await createToken(h.store, { kind: 'admin', label: 'old', expiresAt: Date.now() - 1, maxUses: null }, 'test');
    expect((await h.call('GET', `${ADMIN}/devices`, { token: expiredAdmin.token })).status).toBe(401);
    const gw = await createToken(h.store, { kind: 'gateway', label: 'gw2', expiresAt: null, maxUses: null }, 'test');
    await h.store.revokeToken(gw.row.id, 'test');
    expect((await h.call('GET', '/v0/gateway/peers', { token: gw.token })).status).toBe(401);
  });

  it("another device's id is the same 404 as an id that does not exist", async () => {
    const a = await h.register();
    const b = await h.register();
    for (const path of [`/v0/reg/${b.id}`, `/v0/reg/${b.id}/bundle`, `/v0/reg/${b.id}/posture`]) {
      const other = await h.call(path.endsWith('posture') ? 'POST' : 'GET', path, { token: a.token, body: path.endsWith('posture') ? { os_version: '1', client_version: '1', firewall: true, disk_encryption: true } : undefined });
      const none = await h.call(path.endsWith('posture') ? 'POST' : 'GET', path.replace(b.id, randomUUID()), { token: a.token, body: path.endsWith('posture') ? { os_version: '1', client_version: '1', firewall: true, disk_encryption: true } : undefined });
      expect(other.status).toBe(404);
      expect(none.status).toBe(404);
      expect(other.json.error.code).toBe(none.json.error.code);
    }
    expect((await h.call('DELETE', `/v0/reg/${b.id}`, { token: a.token })).status).toBe(404);
    expect((await h.call('PATCH', `/v0/reg/${b.id}`, { token: a.token, body: { key: wgKey(), previous_key: b.key } })).status).toBe(404);
    expect(await h.store.device(b.id)).toMatchObject({ publicKey: b.key });
    expect((await h.store.device(b.id))!.posture).toBeNull();
  });

  it('of two racing key rotations from one key, exactly one wins', async () => {
    const d = await h.register();
    const keys = [wgKey(), wgKey(), wgKey(), wgKey()];
    const replies = await Promise.all(keys.map((key) => h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key, previous_key: d.key } })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(3);
    const winner = keys[replies.findIndex((r) => r.status === 200)];
    expect((await h.store.device(d.id))!.publicKey).toBe(winner);
  });

  it('a MASQUE key that is not a P-256 SubjectPublicKeyInfo, a huge one, or a WireGuard key posing as one: 400 on /key, nothing stored, no seq', async () => {
    const d = await h.register();
    const seq = await h.store.seq();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    for (const key of [ec384, wgKey(), 'A'.repeat(400), Buffer.alloc(91, 0x30).toString('base64')]) {
      const r = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key, key_type: 'secp256r1', tunnel_type: 'masque' } });
      expect(r.status, key).toBe(400);
      expect(r.json.error.field).toBe('/key');
    }
    const mixed = await h.call('PATCH', `/v0/reg/${d.id}`, { token: d.token, body: { key: wgKey(), previous_key: d.key, tunnel_type: 'masque' } });
    expect(mixed.status).toBe(400);
    expect((await h.store.device(d.id))!.masqueKey).toBeNull();
    expect(await h.store.seq()).toBe(seq);
  });

  it('concurrent registrations with one install id: one device', async () => {
    const install = randomUUID();
    const replies = await Promise.all(Array.from({ length: 6 }, () => h.call('POST', '/v0/reg', { token: h.enroll, body: regBody({ install_id: install }) })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).every((r) => r.json.error.code === 'install_id_taken')).toBe(true);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(5);
    expect((await h.store.devices()).filter((x) => x.installId === install)).toHaveLength(1);
  });

  it('a TCP connection that never starts TLS, one that sends half its headers, one that sends nothing and an idle keep-alive are closed', async () => {
    const noTls = await closedAfter((done) => {
      const s = tcpConnect(h.orch.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', done);
    });
    expect(noTls).toBeLessThan(5000);
    const slow = await closedAfter((done) => {
      const s = tlsConnect({ host: '127.0.0.1', port: h.orch.port, servername: 'localhost', ca: h.ca }, () => {
        s.write('GET /v0/gateway/peers HTTP/1.1\r\nHost: localhost\r\n');
        const drip = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 200);
        s.on('close', () => clearInterval(drip));
      });
      s.on('error', () => undefined);
      s.on('close', done);
    });
    expect(slow).toBeLessThan(5000);
    const idle = await closedAfter((done) => {
      const s = tlsConnect({ host: '127.0.0.1', port: h.orch.port, servername: 'localhost', ca: h.ca });
      s.resume();
      s.on('error', () => undefined);
      s.on('close', done);
    });
    expect(idle).toBeLessThan(5000);
    // after a request, an idle keep-alive connection is closed too
    const kept = await closedAfter((done) => {
      const s = tlsConnect({ host: '127.0.0.1', port: h.orch.port, servername: 'localhost', ca: h.ca }, () => s.write('GET /v1/none HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', done);
    });
    expect(kept).toBeLessThan(5000);
  });
});

describeStores('orchestrator limits', (f) => {
  it('registrations are rate-limited per source address', async () => {
    const h = await startHarness(await f.open(), { registerBurst: 3, registerPerSecond: 0.001 });
    try {
      const replies = [];
      for (let i = 0; i < 5; i++) replies.push(await h.call('POST', '/v0/reg', { token: h.enroll, body: regBody() }));
      expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 429, 429]);
      expect(replies[3]!.json.error.code).toBe('rate_limited');
      // other routes are not limited
      expect((await h.call('GET', '/v0/gateway/peers', { token: h.gateway })).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('a registration that would exhaust the address pool is refused and changes nothing', async () => {
    // /30 and /126: network, broadcast (v4) and the reserved gateway address leave one of each.
    const h = await startHarness(await f.open(), {}, { v4: '100.96.0.0/30', v6: 'fd01::/126', reserved: ['100.96.0.1', 'fd01::1'] });
    try {
      const once = await createToken(h.store, { kind: 'enroll', label: 'pool', expiresAt: null, maxUses: 5 }, 'test');
      const ok = await h.call('POST', '/v0/reg', { token: once.token, body: regBody() });
      expect(ok.status).toBe(201);
      const seq = await h.store.seq();
      const full = await h.call('POST', '/v0/reg', { token: once.token, body: regBody() });
      expect(full.status).toBe(503);
      expect(full.json.error.code).toBe('pool_exhausted');
      expect(await h.store.seq()).toBe(seq);
      expect(await h.store.devices()).toHaveLength(1);
      expect((await h.store.listTokens()).find((t) => t.id === once.row.id)!.uses).toBe(1);
      // deleting the device frees its address
      await h.call('DELETE', `/v0/reg/${ok.json.id}`, { token: ok.json.token });
      expect((await h.call('POST', '/v0/reg', { token: once.token, body: regBody() })).status).toBe(201);
    } finally {
      await h.close();
    }
  });
});

describe('tokens', () => {
  it('have the kind prefix, 256 bits and are stored hashed', async () => {
    const { newToken, hashToken, tokenShape, sameHash } = await import('../../src/orchestrator/tokens.js');
    const t = newToken('enroll');
    expect(t).toMatch(/^wpe_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t.slice(4), 'base64url')).toHaveLength(32);
    expect(tokenShape(t, 'enroll')).toBe(true);
    expect(tokenShape(t, 'admin')).toBe(false);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(sameHash(hashToken(t), hashToken(t))).toBe(true);
    expect(sameHash(hashToken(t), hashToken(newToken('enroll')))).toBe(false);
    expect(sameHash('', '')).toBe(false);
  });
});
