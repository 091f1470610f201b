/**
 * The SQLite store: one file, `orchestrator.db` in the data folder, WAL, better-sqlite3's
 * synchronous API behind the Store's promises. One process owns it (several orchestrator
 * processes need PostgreSQL): operations run one at a time through a queue, so a transaction's
 * statements never interleave with another operation's, and subscribe() listeners are called in
 * this process after each commit, in seq order.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrations.js';
import { SqlStore, type Driver, type Row, type Sql, type WriteTx } from './sql-store.js';
import type { Change, Store } from './types.js';

export const SQLITE_FILE = 'orchestrator.db';

class SqliteDriver implements Driver {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly sql: Sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      all: (text, params = []) => {
        const st = this.prepare(text);
        if (st.reader) return Promise.resolve(st.all(...(params as unknown[])) as Row[]);
        st.run(...(params as unknown[]));
        return Promise.resolve([]);
      },
      run: (text, params = []) => Promise.resolve(this.prepare(text).run(...(params as unknown[])).changes),
    };
  }

  private prepare(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (st === undefined) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** One operation at a time: statements of one transaction never interleave with another's. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  read<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.exclusive(() => fn(this.sql));
  }

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const changes: Change[] = [];
      const tx: WriteTx = { ...this.sql, announce: (c) => (changes.push(c), Promise.resolve()) };
      this.db.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        await tx.run(`UPDATE fleet SET seq = seq WHERE id = 1`);
        result = await fn(tx);
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
      for (const c of changes) this.emit(c);
      return result;
    });
  }

  private emit(c: Change): void {
    for (const l of [...this.listeners]) {
      try {
        l(c);
      } catch {
        // A listener's failure is its own; the write has committed and other listeners still hear it.
      }
    }
  }

  isUniqueViolation(e: unknown): boolean {
    const code = (e as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  }

  subscribe(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): Promise<void> {
    return this.exclusive(() => {
      this.listeners.clear();
      if (this.db.open) this.db.close();
      return Promise.resolve();
    });
  }
}

/** Opens (creating the folder and file when missing) `dataDir/orchestrator.db` and runs its migrations. */
export async function openSqliteStore(dataDir: string): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a crash of the process; a power cut may lose the last ones.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const q: Sql = {
      all: (text, params = []) => {
        const st = db.prepare(text);
        return Promise.resolve(st.reader ? (st.all(...(params as unknown[])) as Row[]) : (st.run(...(params as unknown[])), []));
      },
      run: (text, params = []) => Promise.resolve(db.prepare(text).run(...(params as unknown[])).changes),
    };
    db.exec('BEGIN IMMEDIATE');
    let version: number;
    try {
      version = await migrate(q, file, Date.now());
      db.exec('COMMIT');
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
    return new SqlStore(new SqliteDriver(db), version);
  } catch (e) {
    db.close();
    throw e;
  }
}
