/**
 * The Store's logic, once, over a small SQL driver that SQLite (sqlite.ts) and PostgreSQL
 * (postgres.ts) each provide: the SQL here is the subset both dialects run unchanged (`?`
 * placeholders, which the PostgreSQL driver numbers).
 *
 * Concurrency: every write runs in Driver.write(), a transaction whose first statement locks the
 * single `fleet` row. Writers are therefore serialized (SQLite: BEGIN IMMEDIATE and one
 * connection; PostgreSQL: the row lock, held to commit, and READ COMMITTED, where each statement
 * after the lock sees everything committed before it), so each write's checks and its changes are
 * one atomic step, seq values are handed out in commit order, and a change is announced in seq
 * order. Reads need no lock; touch() is one UPDATE of its own columns.
 */
import { randomUUID } from 'node:crypto';
import { formatAddress, formatPrefix, parseAddress, parsePrefix, prefixLast, type Family, type Prefix } from '../../net/ip.js';
import type { AddressPools, AuditEntry, Change, DeviceRow, Identity, NewDevice, ProfileRow, Store, TokenKind, TokenRow } from './types.js';
import { StoreConflict } from './types.js';

export type Row = Record<string, unknown>;

export interface Sql {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface WriteTx extends Sql {
  /** Published after commit (SQLite: in this process; PostgreSQL: NOTIFY, to every process). */
  announce(c: Change): void;
  /** With write(fn, { seq: true }): the fleet seq the transaction's first statement took, until nextSeq() claims it. */
  presetSeq?: number | undefined;
}

export interface Driver {
  readonly kind: 'sqlite' | 'postgres';
  read<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  /**
   * A transaction whose first statement locked the fleet row (with `seq`: by taking the next seq,
   * saving a round trip for writes that always take one); rolled back when fn throws.
   */
  write<T>(fn: (tx: WriteTx) => Promise<T>, opts?: { seq?: boolean }): Promise<T>;
  isUniqueViolation(e: unknown): boolean;
  subscribe(listener: (c: Change) => void): () => void;
  close(): Promise<void>;
}

/** Rows per statement in batched reads and writes (3 parameters a row: far below both dialects' limits). */
const BATCH_ROWS = 500;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
const json = (v: unknown): string | null => (v == null ? null : JSON.stringify(v));
const parseJson = (v: unknown): unknown => (v == null ? null : JSON.parse(String(v)));

function tokenRow(r: Row): TokenRow {
  return {
    id: String(r['id']),
    kind: String(r['kind']) as TokenKind,
    hash: String(r['hash']),
    label: String(r['label']),
    createdAt: num(r['created_at']),
    expiresAt: numOrNull(r['expires_at']),
    maxUses: numOrNull(r['max_uses']),
    uses: num(r['uses']),
    revokedAt: numOrNull(r['revoked_at']),
    identity: parseJson(r['identity_json']) as Identity | null,
  };
}

function profileRow(r: Row): ProfileRow {
  return {
    id: String(r['id']),
    body: parseJson(r['body']),
    match: r['match_expr'] == null ? null : String(r['match_expr']),
    precedence: numOrNull(r['precedence']),
    enabled: num(r['enabled']) !== 0,
    revision: num(r['revision']),
    updatedAt: num(r['updated_at']),
  };
}

function deviceRow(r: Row): DeviceRow {
  return {
    id: String(r['id']),
    installId: String(r['install_id']),
    publicKey: String(r['public_key']),
    masqueKey: r['masque_key'] == null ? null : String(r['masque_key']),
    tokenHash: String(r['token_hash']),
    model: String(r['model']),
    osName: String(r['os_name']),
    osVersion: String(r['os_version']),
    serial: String(r['serial']),
    addressV4: String(r['address_v4']),
    addressV6: String(r['address_v6']),
    enrolledWith: String(r['enrolled_with']),
    identity: parseJson(r['identity_json']) as Identity | null,
    createdAt: num(r['created_at']),
    lastSeen: numOrNull(r['last_seen']),
    posture: parseJson(r['posture']),
    postureAt: numOrNull(r['posture_at']),
    bundleKey: r['bundle_key'] == null ? null : String(r['bundle_key']),
    bundleVersion: num(r['bundle_version']),
    appliedVersion: numOrNull(r['applied_version']),
  };
}

/** A configured pool, parsed: offsets 1 … size-2 are handed out (0 is the network address, size-1 the broadcast/last). */
interface Pool {
  readonly text: string;
  readonly prefix: Prefix;
  /** Offsets are numbers: a pool larger than 2^53 is used only up to there. */
  readonly size: number;
  readonly reserved: ReadonlySet<number>;
}

function parsePool(text: string, family: Family, reserved: readonly string[]): Pool {
  const r = parsePrefix(text);
  if (!r.ok || r.prefix.family !== family) throw new Error(`address pool ${JSON.stringify(text)} is not an IPv${family} prefix`);
  const p = r.prefix;
  const span = prefixLast(p) - p.network + 1n;
  const size = span > 2n ** 53n ? 2 ** 53 : Number(span);
  const res = new Set<number>();
  for (const a of reserved) {
    const addr = parseAddress(a);
    if (addr === null) throw new Error(`reserved address ${JSON.stringify(a)} is not an IP address`);
    if (addr.family === family && addr.value >= p.network && addr.value <= prefixLast(p)) res.add(Number(addr.value - p.network));
  }
  return { text: formatPrefix(p), prefix: p, size, reserved: res };
}

const DEVICE_COLUMNS = `id, install_id, public_key, token_hash, model, os_name, os_version, serial, address_v4, address_v6,
  enrolled_with, identity_json, created_at, last_seen, posture, posture_at, bundle_key, bundle_version, applied_version`;

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  private readonly poolCache = new Map<string, { v4: Pool; v6: Pool }>();

  constructor(
    private readonly db: Driver,
    readonly schemaVersion: number,
  ) {
    this.kind = db.kind;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** A write that always takes a seq (its refusals roll back, seq included). */
  private seqWrite<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.db.write(fn, { seq: true });
  }

  /** Every row a read returns, mapped. */
  private async readAll<T>(sql: string, args: unknown[], map: (r: Row) => T): Promise<T[]> {
    return (await this.db.read((q) => q.all(sql, args))).map((r) => map(r));
  }

  /** The first row a read returns, mapped; undefined when there is none. */
  private async readOne<T>(sql: string, args: unknown[], map: (r: Row) => T): Promise<T | undefined> {
    const rows = await this.db.read((q) => q.all(sql, args));
    return rows.length > 0 ? map(rows[0]!) : undefined;
  }

  /** Takes the next fleet seq (the fleet row is already locked by write()). */
  private async nextSeq(tx: WriteTx): Promise<number> {
    if (tx.presetSeq !== undefined) {
      const seq = tx.presetSeq;
      tx.presetSeq = undefined;
      return seq;
    }
    const rows = await tx.all(`UPDATE fleet SET seq = seq + 1 WHERE id = 1 RETURNING seq`);
    return num(rows[0]!['seq']);
  }

  private async record(tx: WriteTx, seq: number, e: { actor: string; action: string; subject: string; detail: unknown; change: Change['kind'] | null }): Promise<void> {
    await tx.run(`INSERT INTO audit (seq, at, actor, action, subject, detail, change) VALUES (?, ?, ?, ?, ?, ?, ?)`, [seq, Date.now(), e.actor, e.action, e.subject, json(e.detail), e.change]);
    if (e.change !== null) tx.announce({ seq, kind: e.change, id: e.subject });
  }

  async secret(name: string, create: () => string): Promise<string> {
    const found = await this.db.read((q) => q.all(`SELECT value FROM secrets WHERE name = ?`, [name]));
    if (found.length > 0) return String(found[0]!['value']);
    const value = create();
    return this.db.write(async (tx) => {
      const again = await tx.all(`SELECT value FROM secrets WHERE name = ?`, [name]);
      if (again.length > 0) return String(again[0]!['value']);
      await tx.run(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)`, [name, value, Date.now()]);
      const seq = await this.nextSeq(tx);
      await this.record(tx, seq, { actor: 'system', action: 'secret.create', subject: name, detail: null, change: null });
      return value;
    });
  }

  // ---- tokens

  createToken(t: { kind: TokenKind; hash: string; label: string; expiresAt: number | null; maxUses: number | null; identity?: Identity | null }, actor: string): Promise<TokenRow> {
    return this.seqWrite(async (tx) => {
      const seq = await this.nextSeq(tx);
      const id = randomUUID();
      const identity = t.identity ?? null;
      const rows = await tx.all(
        `INSERT INTO tokens (id, kind, hash, label, created_at, expires_at, max_uses, uses, revoked_at, identity_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, ?) RETURNING *`,
        [id, t.kind, t.hash, t.label, Date.now(), t.expiresAt, t.maxUses, json(identity)],
      );
      await this.record(tx, seq, {
        actor,
        action: 'token.create',
        subject: id,
        detail: { kind: t.kind, label: t.label, expiresAt: t.expiresAt, maxUses: t.maxUses, identity },
        change: 'token',
      });
      return tokenRow(rows[0]!);
    });
  }

  tokenByHash(hash: string): Promise<TokenRow | undefined> {
    return this.readOne(`SELECT * FROM tokens WHERE hash = ?`, [hash], tokenRow);
  }

  listTokens(): Promise<TokenRow[]> {
    return this.readAll(`SELECT * FROM tokens ORDER BY created_at, id`, [], tokenRow);
  }

  revokeToken(id: string, actor: string): Promise<void> {
    return this.db.write(async (tx) => {
      const rows = await tx.all(`SELECT revoked_at FROM tokens WHERE id = ?`, [id]);
      if (rows.length === 0) throw new StoreConflict('not_found', `no token ${id}`);
      if (rows[0]!['revoked_at'] != null) return;
      const seq = await this.nextSeq(tx);
      await tx.run(`UPDATE tokens SET revoked_at = ? WHERE id = ?`, [Date.now(), id]);
      await this.record(tx, seq, { actor, action: 'token.revoke', subject: id, detail: null, change: 'token' });
    });
  }

  // ---- profiles

  profiles(): Promise<ProfileRow[]> {
    return this.readAll(`SELECT * FROM profiles ORDER BY CASE WHEN id = 'default' THEN 0 ELSE 1 END, precedence, id`, [], profileRow);
  }

  profile(id: string): Promise<ProfileRow | undefined> {
    return this.readOne(`SELECT * FROM profiles WHERE id = ?`, [id], profileRow);
  }

  putProfile(p: { id?: string; body: unknown; match: string | null; precedence: number | null; enabled: boolean }, actor: string, opts?: { ifRevision?: number }): Promise<ProfileRow> {
    return this.seqWrite(async (tx) => {
      const id = p.id ?? randomUUID();
      const existing = p.id === undefined ? [] : await tx.all(`SELECT revision FROM profiles WHERE id = ?`, [id]);
      if (opts?.ifRevision !== undefined) {
        const stored = existing.length > 0 ? num(existing[0]!['revision']) : null;
        if (stored !== opts.ifRevision) throw new StoreConflict('revision_changed', `profile ${id} is at revision ${stored ?? 'none'}, not ${opts.ifRevision}`);
      }
      if (p.precedence !== null) {
        const clash = await tx.all(`SELECT id FROM profiles WHERE precedence = ? AND id <> ?`, [p.precedence, id]);
        if (clash.length > 0) throw new StoreConflict('precedence_taken', `precedence ${p.precedence} is taken by profile ${String(clash[0]!['id'])}`);
      }
      const seq = await this.nextSeq(tx);
      const rows = await tx.all(
        `INSERT INTO profiles (id, body, match_expr, precedence, enabled, revision, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, match_expr = excluded.match_expr, precedence = excluded.precedence,
           enabled = excluded.enabled, revision = excluded.revision, updated_at = excluded.updated_at
         RETURNING *`,
        [id, JSON.stringify(p.body ?? null), p.match, p.precedence, p.enabled ? 1 : 0, seq, Date.now()],
      );
      await this.record(tx, seq, {
        actor,
        action: existing.length > 0 ? 'profile.update' : 'profile.create',
        subject: id,
        detail: { match: p.match, precedence: p.precedence, enabled: p.enabled },
        change: 'profile',
      });
      return profileRow(rows[0]!);
    });
  }

  deleteProfile(id: string, actor: string): Promise<void> {
    return this.seqWrite(async (tx) => {
      const n = await tx.run(`DELETE FROM profiles WHERE id = ?`, [id]);
      if (n === 0) throw new StoreConflict('not_found', `no profile ${id}`);
      const seq = await this.nextSeq(tx);
      await this.record(tx, seq, { actor, action: 'profile.delete', subject: id, detail: null, change: 'profile' });
    });
  }

  // ---- devices

  private pools(pools: AddressPools): { v4: Pool; v6: Pool } {
    const key = `${pools.v4} ${pools.v6} ${pools.reserved.join(',')}`;
    let p = this.poolCache.get(key);
    if (p === undefined) {
      p = { v4: parsePool(pools.v4, 4, pools.reserved), v6: parsePool(pools.v6, 6, pools.reserved) };
      this.poolCache.set(key, p);
    }
    return p;
  }

  /** The lowest free address of `pool`: a freed offset below the high-water mark, else the mark itself. */
  private async allocate(tx: Sql, pool: Pool, column: 'address_v4' | 'address_v6'): Promise<string> {
    // The pool's high-water mark and its lowest freed offset, in one round trip (the row is made on first use).
    const stateSql = `SELECT next_n, (SELECT MIN(n) FROM pool_free WHERE pool_free.pool = pools.pool) AS free FROM pools WHERE pool = ?`;
    let state = (await tx.all(stateSql, [pool.text]))[0];
    if (state === undefined) {
      await tx.run(`INSERT INTO pools (pool, next_n) VALUES (?, 1) ON CONFLICT (pool) DO NOTHING`, [pool.text]);
      state = (await tx.all(stateSql, [pool.text]))[0]!;
    }
    let next = num(state['next_n']);
    let free = numOrNull(state['free']);
    for (;;) {
      let n: number;
      if (free !== null) {
        n = free;
        await tx.run(`DELETE FROM pool_free WHERE pool = ? AND n = ?`, [pool.text, n]);
        free = numOrNull((await tx.all(`SELECT MIN(n) AS free FROM pool_free WHERE pool = ?`, [pool.text]))[0]!['free']);
        if (n >= next) continue; // stale (this code never leaves one): the mark covers it
      } else {
        // Thrown inside the transaction: the registration rolls back whole (the token's use too).
        if (next > pool.size - 2) throw new StoreConflict('pool_exhausted', `address pool ${pool.text} has no free address left`);
        n = next++;
      }
      if (pool.reserved.has(n)) continue;
      const address = formatAddress(pool.prefix.family, pool.prefix.network + BigInt(n));
      // Storing the mark is also the check that no device holds the address (one registered while
      // another, overlapping pool was configured may): no row changed means held, take the next.
      const stored = await tx.run(`UPDATE pools SET next_n = ? WHERE pool = ? AND NOT EXISTS (SELECT 1 FROM devices WHERE ${column} = ?)`, [next, pool.text, address]);
      if (stored === 0) continue;
      return address;
    }
  }

  registerDevice(d: NewDevice, enrollTokenHash: string, pools: AddressPools, now: number): Promise<DeviceRow> {
    const pool = this.pools(pools);
    return this.seqWrite(async (tx) => {
      // The token's check and count, and the install id's, in one statement; which one refused is
      // asked only when one did (an unusable token is reported first: no probing install ids without one).
      const tok = await tx.all(
        `UPDATE tokens SET uses = uses + 1
         WHERE hash = ? AND kind = 'enroll' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)
           AND NOT EXISTS (SELECT 1 FROM devices WHERE install_id = ?)
         RETURNING id, label, identity_json`,
        [enrollTokenHash, now, d.installId],
      );
      if (tok.length === 0) {
        const usable = await tx.all(
          `SELECT 1 AS x FROM tokens WHERE hash = ? AND kind = 'enroll' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)`,
          [enrollTokenHash, now],
        );
        if (usable.length === 0) throw new StoreConflict('token_unusable', 'the enrollment token is unknown, revoked, expired or used up');
        throw new StoreConflict('install_id_taken', `install id ${d.installId} is registered already`);
      }
      const v4 = await this.allocate(tx, pool.v4, 'address_v4');
      const v6 = await this.allocate(tx, pool.v6, 'address_v6');
      const seq = await this.nextSeq(tx);
      const id = randomUUID();
      const tokenId = String(tok[0]!['id']);
      let rows: Row[];
      try {
        rows = await tx.all(`INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, 0, NULL) RETURNING *`, [
          id,
          d.installId,
          d.publicKey,
          d.tokenHash,
          d.model,
          d.osName,
          d.osVersion,
          d.serial,
          v4,
          v6,
          tokenId,
          tok[0]!['identity_json'] ?? null,
          now,
        ]);
      } catch (e) {
        if (this.db.isUniqueViolation(e)) throw new StoreConflict('install_id_taken', `install id ${d.installId} is registered already`);
        throw e;
      }
      await this.record(tx, seq, {
        actor: `${tokenId} (${String(tok[0]!['label'])})`,
        action: 'device.register',
        subject: id,
        detail: { installId: d.installId, model: d.model, osName: d.osName, osVersion: d.osVersion, addressV4: v4, addressV6: v6 },
        change: 'device',
      });
      return deviceRow(rows[0]!);
    });
  }

  device(id: string): Promise<DeviceRow | undefined> {
    return this.readOne(`SELECT * FROM devices WHERE id = ?`, [id], deviceRow);
  }

  deviceByTokenHash(hash: string): Promise<DeviceRow | undefined> {
    return this.readOne(`SELECT * FROM devices WHERE token_hash = ?`, [hash], deviceRow);
  }

  devices(): Promise<DeviceRow[]> {
    return this.readAll(`SELECT * FROM devices ORDER BY created_at, id`, [], deviceRow);
  }

  rotateKey(id: string, previousKey: string, key: string): Promise<DeviceRow> {
    return this.seqWrite(async (tx) => {
      const cur = await tx.all(`SELECT public_key FROM devices WHERE id = ?`, [id]);
      if (cur.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      if (String(cur[0]!['public_key']) !== previousKey) throw new StoreConflict('key_changed', `device ${id}'s key is no longer the one the request names`);
      const seq = await this.nextSeq(tx);
      const rows = await tx.all(`UPDATE devices SET public_key = ? WHERE id = ? RETURNING *`, [key, id]);
      await this.record(tx, seq, { actor: `device:${id}`, action: 'device.rotate_key', subject: id, detail: { publicKey: key }, change: 'device' });
      return deviceRow(rows[0]!);
    });
  }

  setMasqueKey(id: string, previousKey: string | null, key: string): Promise<DeviceRow> {
    return this.db.write(async (tx) => {
      const cur = await tx.all(`SELECT * FROM devices WHERE id = ?`, [id]);
      if (cur.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      const stored = cur[0]!['masque_key'] == null ? null : String(cur[0]!['masque_key']);
      if (stored === key) return deviceRow(cur[0]!);
      if (stored !== previousKey) throw new StoreConflict('key_changed', `device ${id}'s MASQUE key is no longer the one the request names`);
      const seq = await this.nextSeq(tx);
      const rows = await tx.all(`UPDATE devices SET masque_key = ? WHERE id = ? RETURNING *`, [key, id]);
      await this.record(tx, seq, { actor: `device:${id}`, action: 'device.masque_key', subject: id, detail: { masqueKey: key, previousKey: stored }, change: 'device' });
      return deviceRow(rows[0]!);
    });
  }

  deleteDevice(id: string, actor: string): Promise<void> {
    return this.seqWrite(async (tx) => {
      const rows = await tx.all(`DELETE FROM devices WHERE id = ? RETURNING address_v4, address_v6, install_id`, [id]);
      if (rows.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      const r = rows[0]!;
      // Give its addresses back to every pool that had handed them out (usually one per family).
      const addrs = [parseAddress(String(r['address_v4'])), parseAddress(String(r['address_v6']))];
      for (const pr of await tx.all(`SELECT pool, next_n FROM pools`)) {
        const p = parsePrefix(String(pr['pool']));
        if (!p.ok) continue;
        for (const a of addrs) {
          if (a === null || a.family !== p.prefix.family || a.value < p.prefix.network || a.value > prefixLast(p.prefix)) continue;
          const n = a.value - p.prefix.network;
          if (n < BigInt(num(pr['next_n']))) await tx.run(`INSERT INTO pool_free (pool, n) VALUES (?, ?) ON CONFLICT (pool, n) DO NOTHING`, [String(pr['pool']), Number(n)]);
        }
      }
      const seq = await this.nextSeq(tx);
      await this.record(tx, seq, {
        actor,
        action: 'device.delete',
        subject: id,
        detail: { installId: String(r['install_id']), addressV4: String(r['address_v4']), addressV6: String(r['address_v6']) },
        change: 'device',
      });
    });
  }

  async touch(id: string, now: number, appliedVersion?: number): Promise<void> {
    const n = await this.db.read((q) => q.run(`UPDATE devices SET last_seen = ?, applied_version = COALESCE(?, applied_version) WHERE id = ?`, [now, appliedVersion ?? null, id]));
    if (n === 0) throw new StoreConflict('not_found', `no device ${id}`);
  }

  /** An unchanged posture only moves postureAt: no seq, no audit entry, no change (devices report it periodically). */
  setPosture(id: string, posture: unknown, now: number): Promise<DeviceRow> {
    return this.db.write(async (tx) => {
      const cur = await tx.all(`SELECT posture FROM devices WHERE id = ?`, [id]);
      if (cur.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      const text = json(posture);
      if (cur[0]!['posture'] === text) {
        const rows = await tx.all(`UPDATE devices SET posture_at = ? WHERE id = ? RETURNING *`, [now, id]);
        return deviceRow(rows[0]!);
      }
      const seq = await this.nextSeq(tx);
      const rows = await tx.all(`UPDATE devices SET posture = ?, posture_at = ? WHERE id = ? RETURNING *`, [text, now, id]);
      await this.record(tx, seq, { actor: `device:${id}`, action: 'device.posture', subject: id, detail: posture ?? null, change: 'posture' });
      return deviceRow(rows[0]!);
    });
  }

  setIdentity(id: string, identity: Identity | null, actor: string): Promise<DeviceRow> {
    return this.db.write(async (tx) => {
      const cur = await tx.all(`SELECT identity_json FROM devices WHERE id = ?`, [id]);
      if (cur.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      const text = json(identity);
      const changed = (cur[0]!['identity_json'] ?? null) !== text;
      const rows = await tx.all(`UPDATE devices SET identity_json = ? WHERE id = ? RETURNING *`, [text, id]);
      if (changed) await this.record(tx, await this.nextSeq(tx), { actor, action: 'device.identity', subject: id, detail: identity, change: 'posture' });
      return deviceRow(rows[0]!);
    });
  }

  async bundleVersion(id: string, key: string): Promise<number> {
    const cur = await this.db.read((q) => q.all(`SELECT bundle_key, bundle_version FROM devices WHERE id = ?`, [id]));
    if (cur.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
    if (cur[0]!['bundle_key'] === key) return num(cur[0]!['bundle_version']);
    return this.db.write(async (tx) => {
      const again = await tx.all(`SELECT bundle_key, bundle_version FROM devices WHERE id = ?`, [id]);
      if (again.length === 0) throw new StoreConflict('not_found', `no device ${id}`);
      if (again[0]!['bundle_key'] === key) return num(again[0]!['bundle_version']);
      const seq = await this.nextSeq(tx);
      await tx.run(`UPDATE devices SET bundle_key = ?, bundle_version = ? WHERE id = ?`, [key, seq, id]);
      return seq;
    });
  }

  async bundleVersions(pairs: readonly { readonly id: string; readonly key: string }[]): Promise<(number | null)[]> {
    if (pairs.length === 0) return [];
    const current = (q: Sql): Promise<Map<string, { key: unknown; version: number }>> => this.bundleState(q, pairs);
    const first = await this.db.read(current);
    const settled = (cur: Map<string, { key: unknown; version: number }>): boolean =>
      pairs.every((p) => {
        const c = cur.get(p.id);
        return c === undefined || c.key === p.key;
      });
    const answer = (cur: Map<string, { key: unknown; version: number }>): (number | null)[] => pairs.map((p) => cur.get(p.id)?.version ?? null);
    if (settled(first)) return answer(first);
    return this.db.write(async (tx) => {
      // Again under the fleet lock: a single bundleVersion (or another batch) may have come first.
      const cur = await current(tx);
      const changed: { id: string; key: string }[] = [];
      const seen = new Set<string>();
      for (const p of pairs) {
        const c = cur.get(p.id);
        if (c === undefined || c.key === p.key || seen.has(p.id)) continue;
        seen.add(p.id);
        changed.push(p);
      }
      if (changed.length === 0) return answer(cur);
      // One range of fleet seqs for the whole batch, in the order asked.
      const rows = await tx.all(`UPDATE fleet SET seq = seq + CAST(? AS BIGINT) WHERE id = 1 RETURNING seq`, [changed.length]);
      const first = num(rows[0]!['seq']) - changed.length + 1;
      if (this.db.kind === 'sqlite') {
        // In process, one prepared statement a row is cheaper than a correlated multi-row UPDATE.
        for (const [i, p] of changed.entries()) {
          await tx.run(`UPDATE devices SET bundle_key = ?, bundle_version = ? WHERE id = ?`, [p.key, first + i, p.id]);
          cur.set(p.id, { key: p.key, version: first + i });
        }
        return answer(cur);
      }
      // PostgreSQL: 500 rows a statement (one round trip each, not one a row).
      for (let i = 0; i < changed.length; i += BATCH_ROWS) {
        const part = changed.slice(i, i + BATCH_ROWS);
        const params: unknown[] = [];
        part.forEach((p, j) => {
          params.push(p.id, p.key, first + i + j);
          cur.set(p.id, { key: p.key, version: first + i + j });
        });
        await tx.run(
          `WITH v (id, k, ver) AS (VALUES ${part.map(() => '(?, ?, CAST(? AS BIGINT))').join(', ')})
           UPDATE devices SET bundle_key = (SELECT k FROM v WHERE v.id = devices.id), bundle_version = (SELECT ver FROM v WHERE v.id = devices.id)
           WHERE id IN (SELECT id FROM v)`,
          params,
        );
      }
      return answer(cur);
    });
  }

  /** The stored bundle key and version of each listed device that exists. */
  private async bundleState(q: Sql, pairs: readonly { readonly id: string }[]): Promise<Map<string, { key: unknown; version: number }>> {
    const ids = [...new Set(pairs.map((p) => p.id))];
    const out = new Map<string, { key: unknown; version: number }>();
    for (let i = 0; i < ids.length; i += BATCH_ROWS) {
      const part = ids.slice(i, i + BATCH_ROWS);
      const rows = await q.all(`SELECT id, bundle_key, bundle_version FROM devices WHERE id IN (${part.map(() => '?').join(', ')})`, part);
      for (const r of rows) out.set(String(r['id']), { key: r['bundle_key'], version: num(r['bundle_version']) });
    }
    return out;
  }

  async audit(opts?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const rows = await this.db.read((q) => q.all(`SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, [opts?.afterSeq ?? 0, Math.max(0, Math.min(opts?.limit ?? 1000, 100_000))]));
    return rows.map((r) => ({
      seq: num(r['seq']),
      at: num(r['at']),
      actor: String(r['actor']),
      action: String(r['action']),
      subject: String(r['subject']),
      detail: parseJson(r['detail']),
    }));
  }

  async seq(): Promise<number> {
    const rows = await this.db.read((q) => q.all(`SELECT seq FROM fleet WHERE id = 1`));
    return num(rows[0]!['seq']);
  }

  subscribe(listener: (c: Change) => void): () => void {
    return this.db.subscribe(listener);
  }
}
