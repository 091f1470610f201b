/**
 * Both orchestrator stores for tests: `describeStores(name, (f) => …)` runs a block once per store
 * (SQLite in a temp folder; PostgreSQL on a server this file's tests start, see postgres.ts), so a
 * test file covers both with one body. Each open() is a new, empty database; reopen() is a second
 * Store on the same database (a restart, or a second orchestrator process); cleanup (run by
 * describeStores in afterAll) closes every store, stops the server and removes the temp folders.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { openPostgresStore } from '../../src/orchestrator/store/postgres.js';
import { openSqliteStore, SQLITE_FILE } from '../../src/orchestrator/store/sqlite.js';
import type { Store } from '../../src/orchestrator/store/types.js';
import { postgresMissing, startPostgres, type PostgresServer } from './postgres.js';

export interface StoreFactory {
  readonly name: 'sqlite' | 'postgres';
  /** Why this store cannot run here, or null. */
  readonly unavailable: string | null;
  /** A Store on a new, empty database. */
  open(): Promise<Store>;
  /** Another Store on `store`'s database (which may be closed): a restart, or a second process. */
  reopen(store: Store): Promise<Store>;
  /** Raw SQL on `store`'s database, for tests that tamper with it. */
  exec(store: Store, sql: string): Promise<void>;
  /** Closes every store opened here, stops the server, removes temp folders. */
  cleanup(): Promise<void>;
}

function sqliteFactory(): StoreFactory {
  const dirs: string[] = [];
  const where = new Map<Store, string>();
  const track = (s: Store, dir: string): Store => (where.set(s, dir), s);
  return {
    name: 'sqlite',
    unavailable: null,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'warpc-store-'));
      dirs.push(dir);
      return track(await openSqliteStore(dir), dir);
    },
    async reopen(store) {
      const dir = where.get(store)!;
      return track(await openSqliteStore(dir), dir);
    },
    exec(store, sql) {
      const db = new Database(join(where.get(store)!, SQLITE_FILE));
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
    async cleanup() {
      for (const s of where.keys()) await s.close().catch(() => undefined);
      where.clear();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

function postgresFactory(): StoreFactory {
  const missing = postgresMissing();
  let server: Promise<PostgresServer> | undefined;
  const where = new Map<Store, string>();
  let databases = 0;
  const getServer = (): Promise<PostgresServer> => (server ??= startPostgres());
  const track = (s: Store, url: string): Store => (where.set(s, url), s);
  return {
    name: 'postgres',
    unavailable: missing,
    async open() {
      const pg = await getServer();
      const url = await pg.createDatabase(`store_${++databases}`);
      return track(await openPostgresStore(url), url);
    },
    async reopen(store) {
      const url = where.get(store)!;
      return track(await openPostgresStore(url), url);
    },
    async exec(store, sql) {
      await (await getServer()).exec(where.get(store)!, sql);
    },
    async cleanup() {
      for (const s of where.keys()) await s.close().catch(() => undefined);
      where.clear();
      if (server !== undefined) await (await server).stop();
      server = undefined;
    },
  };
}

export function storeFactories(): StoreFactory[] {
  return [sqliteFactory(), postgresFactory()];
}

/**
 * `describe` once per store. A store that cannot run here is skipped with its reason, or fails
 * under WARPC_E2E=required (as privileged tests do: nothing is silently passed in CI).
 */
export function describeStores(name: string, body: (f: StoreFactory) => void): void {
  for (const f of storeFactories()) {
    const title = `${name} [${f.name}]`;
    if (f.unavailable === null) {
      describe(title, () => {
        afterAll(() => f.cleanup());
        body(f);
      });
    } else if (process.env['WARPC_E2E'] === 'required') {
      describe(title, () => {
        throw new Error(`the ${f.name} store cannot be tested here (${f.unavailable}) and WARPC_E2E=required`);
      });
    } else {
      describe.skip(`${title} [skipped: ${f.unavailable}]`, () => body(f));
    }
  }
}
