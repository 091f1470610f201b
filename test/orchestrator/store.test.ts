/**
 * The Store's conformance suite, run against SQLite and PostgreSQL alike (describeStores): every
 * method, migrations, address allocation, and the races the server relies on the store to settle.
 * On PostgreSQL the races run through two Store instances on one database (two processes' view).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, type MigrationSql } from '../../src/orchestrator/store/migrations.js';
import { LISTEN_APPLICATION } from '../../src/orchestrator/store/postgres.js';
import { StoreConflict, type AddressPools, type Change, type NewDevice, type Store } from '../../src/orchestrator/store/types.js';
import { describeStores } from '../helpers/stores.js';

/** A /29 and a /125: offsets 1–6 are hosts, offset 1 is reserved: five devices fit. */
const SMALL: AddressPools = { v4: '100.96.0.0/29', v6: 'fd01:5ca1:ab1e::/125', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] };
const BIG: AddressPools = { v4: '100.96.0.0/12', v6: 'fd01:5ca1:ab1e::/64', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] };

let n = 0;
function dev(over: Partial<NewDevice> = {}): NewDevice {
  n++;
  return { installId: `install-${n}`, publicKey: `key-${n}`, tokenHash: `devtok-${n}`, model: 'pc', osName: 'linux', osVersion: '6.1', serial: `sn-${n}`, enrolledWith: '', ...over };
}

async function enrollToken(s: Store, hash = `enroll-${++n}`, extra: { maxUses?: number | null; expiresAt?: number | null; identity?: { email: string } } = {}): Promise<string> {
  await s.createToken({ kind: 'enroll', hash, label: 'laptops', expiresAt: extra.expiresAt ?? null, maxUses: extra.maxUses ?? null, identity: extra.identity ?? null }, 'admin-1');
  return hash;
}

async function conflict(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StoreConflict) return e.reason;
    throw e;
  }
  return 'ok';
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const count = (xs: readonly string[], x: string): number => xs.filter((y) => y === x).length;

describeStores('orchestrator store', (f) => {
  describe('migrations', () => {
    it('a fresh database is at the code schema version with an empty fleet', async () => {
      const s = await f.open();
      expect(s.kind).toBe(f.name);
      expect(s.schemaVersion).toBe(SCHEMA_VERSION);
      expect(await s.seq()).toBe(0);
      expect(await s.profiles()).toEqual([]);
      expect(await s.devices()).toEqual([]);
      const rows = await f.query(s, 'SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r['version']))).toEqual(MIGRATIONS.map((m) => m.version));
      expect(rows.at(-1)?.['version']).toBe(SCHEMA_VERSION);
    });

    it('re-opening keeps the data and runs no migration twice', async () => {
      const s = await f.open();
      await enrollToken(s, 'keep-me');
      await s.close();
      const again = await f.reopen(s);
      expect((await again.tokenByHash('keep-me'))?.label).toBe('laptops');
      expect(await again.seq()).toBe(1);
      expect((await f.query(again, 'SELECT version FROM schema_migrations')).length).toBe(MIGRATIONS.length);
    });

    it('migration 2 adds the MASQUE key column to a version-1 database and keeps its devices', async () => {
      const s = await f.open();
      const d = await s.registerDevice(dev(), await enrollToken(s), BIG, 1);
      await s.close();
      // Back to what warpc with schema version 1 left: no masque_key column, version 2 not run.
      await f.query(s, 'ALTER TABLE devices DROP COLUMN masque_key');
      await f.query(s, 'DELETE FROM schema_migrations WHERE version = 2');
      const again = await f.reopen(s);
      expect(again.schemaVersion).toBe(SCHEMA_VERSION);
      expect(await again.device(d.id)).toMatchObject({ id: d.id, publicKey: d.publicKey, masqueKey: null });
      expect((await again.setMasqueKey(d.id, null, 'mq-1')).masqueKey).toBe('mq-1');
    });

    it('refuses a database newer than the code, naming both versions', async () => {
      const s = await f.open();
      await s.close();
      await f.query(s, `INSERT INTO schema_migrations (version, applied_at) VALUES (${SCHEMA_VERSION + 7}, 0)`);
      const err = await f.reopen(s).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SchemaTooNew);
      expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION + 7}`);
      expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION})`);
    });
  });

  it('a closed store refuses reads and writes (they fail, never hang)', async () => {
    const s = await f.open();
    const pending = s.createToken({ kind: 'admin', hash: 'late', label: 'x', expiresAt: null, maxUses: null }, 'a');
    await s.close();
    await pending.catch(() => undefined); // queued before close: either outcome, but settled
    await expect(s.createToken({ kind: 'admin', hash: 'later', label: 'x', expiresAt: null, maxUses: null }, 'a')).rejects.toThrow();
    await expect(s.seq()).rejects.toThrow();
  });

  it('secret(): the first caller creates it, every later one (another instance too) reads the same', async () => {
    const s = await f.open();
    let made = 0;
    const mk = (): string => `value-${++made}`;
    expect(await s.secret('signing-key', mk)).toBe('value-1');
    expect(await s.secret('signing-key', mk)).toBe('value-1');
    const other = await f.reopen(s);
    expect(await other.secret('signing-key', mk)).toBe('value-1');
    // Two instances racing for a new one agree on one value.
    const [a, b] = await Promise.all([s.secret('ca', () => 'from-a'), other.secret('ca', () => 'from-b')]);
    expect(a).toBe(b);
    expect(made).toBe(1);
  });

  describe('tokens', () => {
    it('creates, finds by hash, lists and revokes, auditing each with its actor', async () => {
      const s = await f.open();
      const t = await s.createToken({ kind: 'admin', hash: 'h-admin', label: 'first admin', expiresAt: 5000, maxUses: null }, 'system');
      expect(t).toMatchObject({ kind: 'admin', hash: 'h-admin', label: 'first admin', expiresAt: 5000, maxUses: null, uses: 0, revokedAt: null, identity: null });
      const e = await s.createToken({ kind: 'enroll', hash: 'h-e', label: 'e', expiresAt: null, maxUses: 3, identity: { email: 'a@example.com', groups: ['eng'] } }, t.id);
      expect(e.identity).toEqual({ email: 'a@example.com', groups: ['eng'] });
      expect(await s.tokenByHash('h-e')).toEqual(e);
      expect(await s.tokenByHash('nope')).toBeUndefined();
      expect((await s.listTokens()).map((x) => x.id).sort()).toEqual([t.id, e.id].sort());
      await s.revokeToken(e.id, t.id);
      expect((await s.tokenByHash('h-e'))?.revokedAt).toBeTypeOf('number');
      expect(await conflict(s.revokeToken('no-such-token', t.id))).toBe('not_found');
      const log = await s.audit();
      expect(log.map((x) => [x.action, x.actor, x.subject])).toEqual([
        ['token.create', 'system', t.id],
        ['token.create', t.id, e.id],
        ['token.revoke', t.id, e.id],
      ]);
      expect(JSON.stringify(log)).not.toContain('h-e'); // hashes stay out of the audit log
      expect((await s.audit({ afterSeq: log[0]!.seq, limit: 1 })).map((x) => x.seq)).toEqual([log[1]!.seq]);
    });
  });

  describe('profiles', () => {
    it('creates and replaces, each revision a new fleet seq, default first then by precedence', async () => {
      const s = await f.open();
      const d = await s.putProfile({ id: 'default', body: { mode: 'exclude' }, match: null, precedence: null, enabled: true }, 'a');
      const b = await s.putProfile({ body: { x: 2 }, match: 'os.name == "linux"', precedence: 20, enabled: true }, 'a');
      const c = await s.putProfile({ body: { x: 1 }, match: 'identity.email == "x"', precedence: 10, enabled: false }, 'a');
      expect(b.id).toMatch(/^[0-9a-f-]{36}$/);
      expect([d.revision, b.revision, c.revision]).toEqual([1, 2, 3]);
      expect((await s.profiles()).map((p) => p.id)).toEqual(['default', c.id, b.id]);
      expect(await s.profile(c.id)).toEqual(c);
      expect(c).toMatchObject({ body: { x: 1 }, match: 'identity.email == "x"', precedence: 10, enabled: false });
      const b2 = await s.putProfile({ id: b.id, body: { x: 3 }, match: b.match, precedence: 20, enabled: true }, 'a');
      expect(b2.revision).toBeGreaterThan(c.revision);
      expect((await s.audit()).map((x) => x.action)).toEqual(['profile.create', 'profile.create', 'profile.create', 'profile.update']);
    });

    it('refuses a taken precedence and a stale ifRevision, changing nothing', async () => {
      const s = await f.open();
      const a = await s.putProfile({ body: {}, match: 'true', precedence: 10, enabled: true }, 'x');
      const seq = await s.seq();
      expect(await conflict(s.putProfile({ body: {}, match: 'true', precedence: 10, enabled: true }, 'x'))).toBe('precedence_taken');
      // Its own precedence is not a clash.
      const a2 = await s.putProfile({ id: a.id, body: { v: 2 }, match: 'true', precedence: 10, enabled: true }, 'x', { ifRevision: a.revision });
      expect(await conflict(s.putProfile({ id: a.id, body: { v: 3 }, match: 'true', precedence: 10, enabled: true }, 'x', { ifRevision: a.revision }))).toBe('revision_changed');
      expect(await conflict(s.putProfile({ id: 'missing', body: {}, match: null, precedence: null, enabled: true }, 'x', { ifRevision: 1 }))).toBe('revision_changed');
      expect((await s.profile(a.id))?.body).toEqual({ v: 2 });
      expect(await s.seq()).toBe(seq + 1);
      expect(a2.revision).toBe(seq + 1);
    });

    it('concurrent read-modify-writes with ifRevision: exactly one wins', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const p = await s.putProfile({ id: 'default', body: { list: [] }, match: null, precedence: null, enabled: true }, 'x');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          conflict((i % 2 ? other : s).putProfile({ id: 'default', body: { list: [i] }, match: null, precedence: null, enabled: true }, 'x', { ifRevision: p.revision })),
        ),
      );
      expect(count(results, 'ok')).toBe(1);
      expect(count(results, 'revision_changed')).toBe(7);
    });

    it('deletes, and says not_found for a missing one', async () => {
      const s = await f.open();
      const a = await s.putProfile({ body: {}, match: 'true', precedence: 5, enabled: true }, 'x');
      await s.deleteProfile(a.id, 'x');
      expect(await s.profile(a.id)).toBeUndefined();
      expect(await conflict(s.deleteProfile(a.id, 'x'))).toBe('not_found');
      // Its precedence is free again.
      await s.putProfile({ body: {}, match: 'true', precedence: 5, enabled: true }, 'x');
    });
  });

  describe('registration', () => {
    it('registers a device: token use counted, identity inherited, lowest addresses, audit with the token as actor', async () => {
      const s = await f.open();
      const hash = await enrollToken(s, undefined, { identity: { email: 'dev@example.com' } });
      const tok = (await s.tokenByHash(hash))!;
      const nd = dev();
      const d = await s.registerDevice(nd, hash, SMALL, 1234);
      expect(d).toMatchObject({
        installId: nd.installId,
        publicKey: nd.publicKey,
        tokenHash: nd.tokenHash,
        model: 'pc',
        osName: 'linux',
        osVersion: '6.1',
        serial: nd.serial,
        addressV4: '100.96.0.2',
        addressV6: 'fd01:5ca1:ab1e::2',
        enrolledWith: tok.id,
        identity: { email: 'dev@example.com' },
        createdAt: 1234,
        lastSeen: null,
        posture: null,
        bundleKey: null,
        bundleVersion: 0,
        appliedVersion: null,
      });
      expect((await s.tokenByHash(hash))?.uses).toBe(1);
      expect(await s.device(d.id)).toEqual(d);
      expect(await s.deviceByTokenHash(nd.tokenHash)).toEqual(d);
      expect(await s.deviceByTokenHash('other')).toBeUndefined();
      expect(await s.devices()).toEqual([d]);
      const last = (await s.audit()).at(-1)!;
      expect(last).toMatchObject({ action: 'device.register', subject: d.id, actor: `${tok.id} (laptops)` });
    });

    it('refuses unknown, revoked, expired, used-up and non-enroll tokens', async () => {
      const s = await f.open();
      expect(await conflict(s.registerDevice(dev(), 'unknown', SMALL, 1000))).toBe('token_unusable');
      const expired = await enrollToken(s, undefined, { expiresAt: 1000 });
      expect(await conflict(s.registerDevice(dev(), expired, SMALL, 1000))).toBe('token_unusable');
      expect(await conflict(s.registerDevice(dev(), expired, SMALL, 999))).toBe('ok');
      const once = await enrollToken(s, undefined, { maxUses: 1 });
      expect(await conflict(s.registerDevice(dev(), once, SMALL, 1000))).toBe('ok');
      expect(await conflict(s.registerDevice(dev(), once, SMALL, 1000))).toBe('token_unusable');
      const revoked = await enrollToken(s);
      await s.revokeToken((await s.tokenByHash(revoked))!.id, 'a');
      expect(await conflict(s.registerDevice(dev(), revoked, SMALL, 1000))).toBe('token_unusable');
      await s.createToken({ kind: 'admin', hash: 'adm', label: 'a', expiresAt: null, maxUses: null }, 'system');
      expect(await conflict(s.registerDevice(dev(), 'adm', SMALL, 1000))).toBe('token_unusable');
    });

    it('a refused registration changes nothing: no token use, no address, no seq', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const first = await s.registerDevice(dev({ installId: 'same' }), hash, SMALL, 1);
      const seq = await s.seq();
      expect(await conflict(s.registerDevice(dev({ installId: 'same' }), hash, SMALL, 1))).toBe('install_id_taken');
      expect((await s.tokenByHash(hash))?.uses).toBe(1);
      expect(await s.seq()).toBe(seq);
      const next = await s.registerDevice(dev(), hash, SMALL, 1);
      expect(next.addressV4).toBe('100.96.0.3');
      expect(first.addressV4).toBe('100.96.0.2');
    });

    it('hands out the lowest free address, never network, broadcast or reserved, then pool_exhausted', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const ds = [];
      for (let i = 0; i < 5; i++) ds.push(await s.registerDevice(dev(), hash, SMALL, 1));
      expect(ds.map((d) => d.addressV4)).toEqual(['100.96.0.2', '100.96.0.3', '100.96.0.4', '100.96.0.5', '100.96.0.6']);
      const v6 = ds.map((d) => d.addressV6);
      expect(v6).toEqual(['fd01:5ca1:ab1e::2', 'fd01:5ca1:ab1e::3', 'fd01:5ca1:ab1e::4', 'fd01:5ca1:ab1e::5', 'fd01:5ca1:ab1e::6']);
      const uses = (await s.tokenByHash(hash))!.uses;
      expect(await conflict(s.registerDevice(dev(), hash, SMALL, 1))).toBe('pool_exhausted');
      expect((await s.tokenByHash(hash))!.uses).toBe(uses);
    });

    it('a v6 pool running out refuses the registration whole (its v4 address is not used up)', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const tight: AddressPools = { v4: '100.96.0.0/24', v6: 'fd00::/126', reserved: [] }; // v6: offsets 1, 2
      await s.registerDevice(dev(), hash, tight, 1);
      await s.registerDevice(dev(), hash, tight, 1);
      expect(await conflict(s.registerDevice(dev(), hash, tight, 1))).toBe('pool_exhausted');
      const roomy: AddressPools = { ...tight, v6: 'fd00::/64' };
      expect((await s.registerDevice(dev(), hash, roomy, 1)).addressV4).toBe('100.96.0.3');
    });

    it('deleteDevice frees its addresses (the next registration gets the lowest), audits, and says not_found after', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const ds = [];
      for (let i = 0; i < 5; i++) ds.push(await s.registerDevice(dev(), hash, SMALL, 1));
      await s.deleteDevice(ds[3]!.id, 'admin-9');
      await s.deleteDevice(ds[1]!.id, `device:${ds[1]!.id}`);
      expect(await s.device(ds[1]!.id)).toBeUndefined();
      expect(await conflict(s.deleteDevice(ds[1]!.id, 'x'))).toBe('not_found');
      const a = await s.registerDevice(dev(), hash, SMALL, 1);
      const b = await s.registerDevice(dev(), hash, SMALL, 1);
      expect([a.addressV4, b.addressV4]).toEqual([ds[1]!.addressV4, ds[3]!.addressV4]);
      expect([a.addressV6, b.addressV6]).toEqual([ds[1]!.addressV6, ds[3]!.addressV6]);
      expect(await conflict(s.registerDevice(dev(), hash, SMALL, 1))).toBe('pool_exhausted');
      const del = (await s.audit()).filter((e) => e.action === 'device.delete');
      expect(del.map((e) => [e.actor, e.subject])).toEqual([
        ['admin-9', ds[3]!.id],
        [`device:${ds[1]!.id}`, ds[1]!.id],
      ]);
    });

    it('never hands out an address a living device holds, when the configured pool changes', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const olds = [];
      for (let i = 0; i < 3; i++) olds.push(await s.registerDevice(dev(), hash, SMALL, 1)); // .2 .3 .4
      await s.deleteDevice(olds[0]!.id, 'a'); // .2 free
      const wider: AddressPools = { v4: '100.96.0.0/28', v6: 'fd01:5ca1:ab1e::/124', reserved: SMALL.reserved };
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await s.registerDevice(dev(), hash, wider, 1)).addressV4);
      expect(got).toEqual(['100.96.0.2', '100.96.0.5', '100.96.0.6']);
      // Back to the small pool: .2 was taken meanwhile through the wider one.
      const back = await s.registerDevice(dev(), hash, { ...SMALL }, 1).catch((e: unknown) => e);
      expect(back).toBeInstanceOf(StoreConflict);
      expect((back as StoreConflict).reason).toBe('pool_exhausted');
      const all = (await s.devices()).map((d) => d.addressV4);
      expect(new Set(all).size).toBe(all.length);
    });

    it('concurrent registrations with one install id: exactly one succeeds, one token use', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const hash = await enrollToken(s);
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => conflict((i % 2 ? other : s).registerDevice(dev({ installId: 'racy' }), hash, BIG, 1))));
      expect(count(results, 'ok')).toBe(1);
      expect(count(results, 'install_id_taken')).toBe(15);
      expect((await s.tokenByHash(hash))?.uses).toBe(1);
      expect((await s.devices()).length).toBe(1);
    });

    it('concurrent registrations never share an address and take the lowest ones', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      // Two tokens: nothing but the store's own locking orders these.
      const hashes = [await enrollToken(s), await enrollToken(s)];
      const ds = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : s).registerDevice(dev(), hashes[(i >> 1) % 2]!, BIG, 1)));
      const v4 = ds.map((d) => d.addressV4).sort((a, b) => Number(a.split('.')[3]) + 256 * Number(a.split('.')[2]) - (Number(b.split('.')[3]) + 256 * Number(b.split('.')[2])));
      expect(v4).toEqual(Array.from({ length: 40 }, (_, i) => `100.96.0.${i + 2}`));
      expect(new Set(ds.map((d) => d.addressV6)).size).toBe(40);
      expect((await s.tokenByHash(hashes[0]!))!.uses + (await s.tokenByHash(hashes[1]!))!.uses).toBe(40);
    });

    it('concurrent registrations past the pool: exactly the free addresses are given, the rest pool_exhausted', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const hashes = [await enrollToken(s), await enrollToken(s)];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => conflict((i % 2 ? other : s).registerDevice(dev(), hashes[(i >> 1) % 2]!, SMALL, 1))));
      expect(count(results, 'ok')).toBe(5);
      expect(count(results, 'pool_exhausted')).toBe(7);
      expect((await s.tokenByHash(hashes[0]!))!.uses + (await s.tokenByHash(hashes[1]!))!.uses).toBe(5);
    });

    it('token use counting under concurrency: a 3-use token enrolls exactly 3 devices', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const hash = await enrollToken(s, undefined, { maxUses: 3 });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => conflict((i % 2 ? other : s).registerDevice(dev(), hash, BIG, 1))));
      expect(count(results, 'ok')).toBe(3);
      expect(count(results, 'token_unusable')).toBe(9);
      expect((await s.tokenByHash(hash))?.uses).toBe(3);
    });
  });

  describe('devices', () => {
    it('rotateKey is a compare-and-set: racing rotations, one wins', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const d = await s.registerDevice(dev(), await enrollToken(s), BIG, 1);
      expect(await conflict(s.rotateKey('nope', d.publicKey, 'k'))).toBe('not_found');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => conflict((i % 2 ? other : s).rotateKey(d.id, d.publicKey, `new-${i}`))));
      expect(count(results, 'ok')).toBe(1);
      expect(count(results, 'key_changed')).toBe(9);
      const winner = results.indexOf('ok');
      expect((await s.device(d.id))?.publicKey).toBe(`new-${winner}`);
      const r = await s.rotateKey(d.id, `new-${winner}`, 'newest');
      expect(r.publicKey).toBe('newest');
      expect((await s.audit()).filter((e) => e.action === 'device.rotate_key').map((e) => e.actor)).toEqual([`device:${d.id}`, `device:${d.id}`]);
    });

    it('setMasqueKey is a compare-and-set beside the WireGuard key: racing registrations, one wins; the same key again changes nothing', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const d = await s.registerDevice(dev(), await enrollToken(s), BIG, 1);
      expect(d.masqueKey).toBeNull();
      expect(await conflict(s.setMasqueKey('nope', null, 'k'))).toBe('not_found');
      // Only what the race announces: PostgreSQL delivers the registration's own change over LISTEN, possibly after subscribe().
      const before = await s.seq();
      const heard: Change[] = [];
      s.subscribe((c) => void (c.seq > before && heard.push(c)));
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => conflict((i % 2 ? other : s).setMasqueKey(d.id, null, `mq-${i}`))));
      expect(count(results, 'ok')).toBe(1);
      expect(count(results, 'key_changed')).toBe(9);
      const winner = `mq-${results.indexOf('ok')}`;
      expect(await s.device(d.id)).toMatchObject({ masqueKey: winner, publicKey: d.publicKey });
      await until(() => heard.length >= 1);
      expect(heard).toEqual([expect.objectContaining({ kind: 'device', id: d.id })]);
      // The stored key again: no seq, whatever previous_key says.
      const seq = await s.seq();
      expect((await s.setMasqueKey(d.id, 'something-else', winner)).masqueKey).toBe(winner);
      expect(await s.seq()).toBe(seq);
      // A new key without naming the stored one: refused; naming it: stored.
      expect(await conflict(s.setMasqueKey(d.id, null, 'mq-new'))).toBe('key_changed');
      expect((await s.setMasqueKey(d.id, winner, 'mq-new')).masqueKey).toBe('mq-new');
      // The WireGuard rotation leaves the MASQUE key alone.
      expect((await s.rotateKey(d.id, d.publicKey, 'wg-2')).masqueKey).toBe('mq-new');
      const log = (await s.audit()).filter((e) => e.action === 'device.masque_key');
      expect(log.map((e) => [e.actor, e.detail])).toEqual([
        [`device:${d.id}`, { masqueKey: winner, previousKey: null }],
        [`device:${d.id}`, { masqueKey: 'mq-new', previousKey: winner }],
      ]);
    });

    it('touch() records last seen and the applied version, without a seq', async () => {
      const s = await f.open();
      const d = await s.registerDevice(dev(), await enrollToken(s), BIG, 1);
      const seq = await s.seq();
      await s.touch(d.id, 5000);
      expect(await s.device(d.id)).toMatchObject({ lastSeen: 5000, appliedVersion: null });
      await s.touch(d.id, 6000, 42);
      await s.touch(d.id, 7000);
      expect(await s.device(d.id)).toMatchObject({ lastSeen: 7000, appliedVersion: 42 });
      expect(await s.seq()).toBe(seq);
      expect(await conflict(s.touch('nope', 1))).toBe('not_found');
    });

    it('setPosture: a change is a new seq, an audit entry and a posture change; the same posture only moves postureAt', async () => {
      const s = await f.open();
      const d = await s.registerDevice(dev(), await enrollToken(s), BIG, 1);
      const heard: Change[] = [];
      s.subscribe((c) => heard.push(c));
      const seq0 = await s.seq();
      const p = { os: { version: '6.2' }, firewall: true };
      expect(await s.setPosture(d.id, p, 100)).toMatchObject({ posture: p, postureAt: 100 });
      expect(await s.seq()).toBe(seq0 + 1);
      expect(await s.setPosture(d.id, p, 200)).toMatchObject({ posture: p, postureAt: 200 });
      expect(await s.seq()).toBe(seq0 + 1);
      await s.setPosture(d.id, { ...p, firewall: false }, 300);
      expect(await s.seq()).toBe(seq0 + 2);
      // (PostgreSQL may still deliver the registration, committed before subscribing: changes arrive asynchronously.)
      const posture = (): Change[] => heard.filter((c) => c.kind === 'posture');
      await until(() => posture().length === 2);
      expect(posture()).toEqual([
        { seq: seq0 + 1, kind: 'posture', id: d.id },
        { seq: seq0 + 2, kind: 'posture', id: d.id },
      ]);
      expect(await conflict(s.setPosture('nope', p, 1))).toBe('not_found');
    });

    it('bundleVersion: stable for one key, a new and higher one for a new key, strictly increasing per device', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const hash = await enrollToken(s);
      const a = await s.registerDevice(dev(), hash, BIG, 1);
      const b = await s.registerDevice(dev(), hash, BIG, 1);
      const v1 = await s.bundleVersion(a.id, 'default@1/linux');
      expect(v1).toBeGreaterThan(0);
      expect(await s.bundleVersion(a.id, 'default@1/linux')).toBe(v1);
      const w1 = await s.bundleVersion(b.id, 'default@1/linux');
      expect(w1).toBeGreaterThan(v1);
      const v2 = await s.bundleVersion(a.id, 'p@7/linux');
      expect(v2).toBeGreaterThan(w1);
      // Back to an earlier key is still a new, higher version (the device must re-fetch).
      const v3 = await s.bundleVersion(a.id, 'default@1/linux');
      expect(v3).toBeGreaterThan(v2);
      expect(await s.device(a.id)).toMatchObject({ bundleKey: 'default@1/linux', bundleVersion: v3 });
      // Racing requests for one new key agree on one version.
      const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : s).bundleVersion(a.id, 'q@9/linux')));
      expect(new Set(racing).size).toBe(1);
      expect(racing[0]).toBeGreaterThan(v3);
      expect(await conflict(s.bundleVersion('nope', 'k'))).toBe('not_found');
    });

    it('bundleVersions: one transaction for many devices, the same rule as bundleVersion', async () => {
      const s = await f.open();
      const hash = await enrollToken(s);
      const ds = [];
      for (let i = 0; i < 5; i++) ds.push(await s.registerDevice(dev(), hash, BIG, 1));
      const [a, b, c, d, e] = ds.map((x) => x.id) as [string, string, string, string, string];
      expect(await s.bundleVersions([])).toEqual([]);
      const va = await s.bundleVersion(a, 'default@1/linux');
      const before = await s.seq();
      const got = await s.bundleVersions([
        { id: a, key: 'default@1/linux' },
        { id: b, key: 'default@1/linux' },
        { id: 'nope', key: 'k' },
        { id: c, key: 'p@2/macos' },
      ]);
      // Unchanged key: its version; new keys: fresh seqs, in the order asked; unknown device: null.
      expect(got).toEqual([va, before + 1, null, before + 2]);
      expect(await s.seq()).toBe(before + 2);
      expect(await s.device(b)).toMatchObject({ bundleKey: 'default@1/linux', bundleVersion: before + 1 });
      expect(await s.device(c)).toMatchObject({ bundleKey: 'p@2/macos', bundleVersion: before + 2 });
      // Nothing changed: no write, no seq.
      expect(
        await s.bundleVersions([
          { id: b, key: 'default@1/linux' },
          { id: c, key: 'p@2/macos' },
        ]),
      ).toEqual([before + 1, before + 2]);
      expect(await s.seq()).toBe(before + 2);
      // A single bundleVersion agrees with what the batch stored, and a later batch is higher.
      expect(await s.bundleVersion(c, 'p@2/macos')).toBe(before + 2);
      const again = await s.bundleVersions([
        { id: a, key: 'p@3/linux' },
        { id: d, key: 'x' },
        { id: e, key: 'x' },
      ]);
      expect(Math.min(...(again as number[]))).toBeGreaterThan(before + 2);
      expect(new Set(again).size).toBe(3);
    });

    it('bundleVersions races single bundleVersion calls (two connections): one version per (device, key), strictly increasing', async () => {
      const s = await f.open();
      const other = await f.reopen(s);
      const hash = await enrollToken(s);
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await s.registerDevice(dev(), hash, BIG, 1)).id);
      const old = new Map<string, number>();
      for (const id of ids) old.set(id, await s.bundleVersion(id, 'k@1/linux'));
      const batch = (st: typeof s) => st.bundleVersions(ids.map((id) => ({ id, key: 'k@2/linux' })));
      const [b1, singles, b2] = await Promise.all([batch(s), Promise.all(ids.map((id, i) => (i % 2 ? other : s).bundleVersion(id, 'k@2/linux'))), batch(other)]);
      for (let i = 0; i < ids.length; i++) {
        const stored = (await s.device(ids[i]!))!;
        expect(stored.bundleKey).toBe('k@2/linux');
        expect(b1[i]).toBe(stored.bundleVersion);
        expect(b2[i]).toBe(stored.bundleVersion);
        expect(singles[i]).toBe(stored.bundleVersion);
        expect(stored.bundleVersion).toBeGreaterThan(old.get(ids[i]!)!);
      }
      // Every device got its own seq: no two share one.
      expect(new Set(b1).size).toBe(ids.length);
    });
  });

  it('seq strictly increases over every kind of write, and the audit log has one entry per announced change', async () => {
    const s = await f.open();
    const seqs: number[] = [await s.seq()];
    const hash = await enrollToken(s);
    seqs.push(await s.seq());
    const p = await s.putProfile({ id: 'default', body: {}, match: null, precedence: null, enabled: true }, 'a');
    seqs.push(await s.seq());
    const d = await s.registerDevice(dev(), hash, BIG, 1);
    seqs.push(await s.seq());
    await s.rotateKey(d.id, d.publicKey, 'k2');
    seqs.push(await s.seq());
    await s.setPosture(d.id, { a: 1 }, 1);
    seqs.push(await s.seq());
    await s.bundleVersion(d.id, `${p.id}@${p.revision}/linux`);
    seqs.push(await s.seq());
    await s.deleteDevice(d.id, 'a');
    seqs.push(await s.seq());
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    const log = await s.audit();
    expect(log.map((e) => e.action)).toEqual(['token.create', 'profile.create', 'device.register', 'device.rotate_key', 'device.posture', 'device.delete']);
    for (let i = 1; i < log.length; i++) expect(log[i]!.seq).toBeGreaterThan(log[i - 1]!.seq);
  });

  describe('subscribe', () => {
    it('hears every committed change in seq order, after commit, and nothing after unsubscribing', async () => {
      const s = await f.open();
      const heard: Change[] = [];
      const visible: boolean[] = [];
      const off = s.subscribe((c) => {
        heard.push(c);
        if (c.kind === 'device') void s.device(c.id).then((d) => visible.push(d !== undefined));
      });
      const hash = await enrollToken(s);
      const p = await s.putProfile({ body: {}, match: 'true', precedence: 1, enabled: true }, 'a');
      const d = await s.registerDevice(dev(), hash, BIG, 1);
      await conflict(s.registerDevice(dev({ installId: d.installId }), hash, BIG, 1)); // refused: no change
      await until(() => heard.length === 3 && visible.length === 1);
      expect(heard.map((c) => c.kind)).toEqual(['token', 'profile', 'device']);
      expect(heard.map((c) => c.id)).toEqual([(await s.tokenByHash(hash))!.id, p.id, d.id]);
      expect(heard.map((c) => c.seq)).toEqual([1, 2, 3]);
      expect(visible).toEqual([true]);
      off();
      await s.deleteProfile(p.id, 'a');
      await new Promise((r) => setTimeout(r, 200));
      expect(heard.length).toBe(3);
    });

    it('a write has been heard by this process when it returns (a read after it sees it), and only once', async () => {
      const s = await f.open();
      const heard: Change[] = [];
      s.subscribe((c) => heard.push(c));
      const p = await s.putProfile({ body: {}, match: 'true', precedence: 1, enabled: true }, 'a');
      expect(heard.map((c) => [c.kind, c.id])).toEqual([['profile', p.id]]);
      await new Promise((r) => setTimeout(r, 200));
      expect(heard.length).toBe(1);
    });

    if (f.name === 'postgres') {
      it('hears changes made through another process, and catches up after its LISTEN connection drops', async () => {
        const a = await f.open();
        const b = await f.reopen(a);
        const heardA: Change[] = [];
        const heardB: Change[] = [];
        a.subscribe((c) => heardA.push(c));
        b.subscribe((c) => heardB.push(c));
        const p = await b.putProfile({ body: {}, match: 'true', precedence: 1, enabled: true }, 'b');
        await a.putProfile({ id: p.id, body: { v: 2 }, match: 'true', precedence: 1, enabled: true }, 'a');
        await until(() => heardA.length === 2 && heardB.length === 2);
        expect(heardA).toEqual(heardB);
        expect(heardA.map((c) => c.seq)).toEqual([1, 2]);
        // Cut both LISTEN connections; changes made meanwhile still arrive, once, in order.
        const killed = await f.query(a, `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = '${LISTEN_APPLICATION}' AND datname = current_database()`);
        expect(killed.length).toBe(2);
        await b.putProfile({ id: p.id, body: { v: 3 }, match: 'true', precedence: 1, enabled: true }, 'b');
        await b.deleteProfile(p.id, 'b');
        await until(() => heardA.length === 4 && heardB.length === 4, 15_000);
        expect(heardA.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
        expect(heardB).toEqual(heardA);
        const back = await f.query(a, `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '${LISTEN_APPLICATION}' AND datname = current_database()`);
        expect(Number(back[0]!['n'])).toBe(2);
      });
    }
  });
});

describe('migrate()', () => {
  it('runs only the missing migrations, in order, in the caller transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warpc-migrate-'));
    const db = new Database(join(dir, 'm.db'));
    try {
      const q: MigrationSql = {
        all: (sql, p = []) => Promise.resolve(db.prepare(sql).all(...(p as unknown[])) as Record<string, unknown>[]),
        run: (sql, p = []) => Promise.resolve(db.prepare(sql).run(...(p as unknown[])).changes),
      };
      const v1 = [{ version: 1, statements: ['CREATE TABLE a (x INTEGER)'] }];
      const v2 = [...v1, { version: 2, statements: ['INSERT INTO a VALUES (1)'] }, { version: 3, statements: ['INSERT INTO a VALUES (2)'] }];
      expect(await migrate(q, 'm.db', 0, v1)).toBe(1);
      expect(await migrate(q, 'm.db', 0, v2)).toBe(3);
      expect(await migrate(q, 'm.db', 0, v2)).toBe(3);
      expect(db.prepare('SELECT x FROM a ORDER BY x').all()).toEqual([{ x: 1 }, { x: 2 }]);
      await expect(migrate(q, 'm.db', 0, v1)).rejects.toThrow(/m\.db has schema version 3, newer than this warpc knows \(schema version 1\)/);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
