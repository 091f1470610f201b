/**
 * The store's schema, as numbered migrations, one list for both dialects: the SQL below is the
 * common subset of SQLite and PostgreSQL (BIGINT is an integer in both, JSON is kept as TEXT,
 * booleans as 0/1, no dialect-only types), so both stores have the same tables by construction.
 *
 * A migration is appended, never edited once released: a database records every version it has
 * run in `schema_migrations`, and open() runs the missing ones in one transaction. A database that
 * records a version this code does not know was written by a newer warpc: it is refused
 * (SchemaTooNew), never "downgraded".
 */

export interface Migration {
  readonly version: number;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // The fleet sequence: one row; every write transaction locks it first (the store's
      // serialization point), and every announced change takes its next value.
      `CREATE TABLE fleet (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL)`,
      `INSERT INTO fleet (id, seq) VALUES (1, 0)`,
      `CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE TABLE tokens (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
        created_at BIGINT NOT NULL, expires_at BIGINT, max_uses BIGINT, uses BIGINT NOT NULL,
        revoked_at BIGINT, identity_json TEXT)`,
      `CREATE TABLE profiles (
        id TEXT PRIMARY KEY, body TEXT NOT NULL, match_expr TEXT, precedence BIGINT,
        enabled INTEGER NOT NULL, revision BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
      // NULLs are distinct in a unique index in both dialects: only custom profiles' precedences clash.
      `CREATE UNIQUE INDEX profiles_precedence ON profiles (precedence)`,
      `CREATE TABLE devices (
        id TEXT PRIMARY KEY, install_id TEXT NOT NULL UNIQUE, public_key TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE, model TEXT NOT NULL, os_name TEXT NOT NULL,
        os_version TEXT NOT NULL, serial TEXT NOT NULL,
        address_v4 TEXT NOT NULL UNIQUE, address_v6 TEXT NOT NULL UNIQUE,
        enrolled_with TEXT NOT NULL, identity_json TEXT, created_at BIGINT NOT NULL,
        last_seen BIGINT, posture TEXT, posture_at BIGINT, bundle_key TEXT,
        bundle_version BIGINT NOT NULL, applied_version BIGINT)`,
      // Address pools: per pool (canonical prefix text), the high-water offset `next_n` (every
      // offset below it was handed out once) and the offsets below it given back by deleted
      // devices. Allocation is one indexed MIN over pool_free or the high-water mark: O(log n).
      `CREATE TABLE pools (pool TEXT PRIMARY KEY, next_n BIGINT NOT NULL)`,
      `CREATE TABLE pool_free (pool TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (pool, n))`,
      // The audit log is also the change log: `change` is the announced kind (null: not announced),
      // so a process that lost its LISTEN connection catches up from here.
      `CREATE TABLE audit (
        seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, detail TEXT, change TEXT)`,
    ],
  },
  {
    version: 2,
    statements: [
      // The device's MASQUE key (base64 of its P-256 SubjectPublicKeyInfo DER), beside its
      // WireGuard key; NULL until the device registers one (PATCH /v0/reg/{id}, tunnel_type masque).
      `ALTER TABLE devices ADD COLUMN masque_key TEXT`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The database was written by a newer warpc than this one. */
export class SchemaTooNew extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly codeVersion: number,
    where: string,
  ) {
    super(
      `the orchestrator database ${where} has schema version ${databaseVersion}, newer than this warpc knows (schema version ${codeVersion}): ` +
        `run the warpc that last wrote it (or a newer one); this one will not open it`,
    );
    this.name = 'SchemaTooNew';
  }
}

/** What migrate() needs from a connection inside an open transaction. */
export interface MigrationSql {
  all(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** Runs the missing migrations (the caller holds a transaction); returns the schema version. */
export async function migrate(q: MigrationSql, where: string, now: number, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  const codeVersion = migrations[migrations.length - 1]!.version;
  await q.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
  const rows = await q.all(`SELECT MAX(version) AS v FROM schema_migrations`);
  const current = rows[0]?.['v'] == null ? 0 : Number(rows[0]['v']);
  if (current > codeVersion) throw new SchemaTooNew(current, codeVersion, where);
  for (const m of migrations) {
    if (m.version <= current) continue;
    for (const s of m.statements) await q.run(s);
    await q.run(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, [m.version, now]);
  }
  return codeVersion;
}
