/**
 * The SQLite store: one file, `orchestrator.db` in the data folder, WAL, better-sqlite3's
 * synchronous API behind the Store's promises. One process owns it (several orchestrator
 * processes need PostgreSQL): operations run one at a time through a queue, so a transaction's
 * statements never interleave with another operation's, and subscribe() listeners are called in
 * this process after each commit, in seq order.
 */
import Database from 'better-sqlite3';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrations.js';
import { SqlStore, type Driver, type Row, type Sql, type WriteTx } from './sql-store.js';
import type { Change, Store } from './types.js';

export const SQLITE_FILE = 'orchestrator.db';

/**
 * One queue per database file in this process, shared by every Store open on it: a transaction
 * awaits between its statements, and a second connection's BEGIN IMMEDIATE meanwhile would block
 * the whole process in SQLite's busy handler while the first could never finish.
 */
const queues = new Map<string, { tail: Promise<unknown>; users: number }>();

class SqliteDriver implements Driver {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly queue: { tail: Promise<unknown>; users: number };
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly pending: { fn: (tx: WriteTx) => Promise<unknown>; seq: boolean; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private flushQueued = false;
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly sql: Sql;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    let q = queues.get(file);
    if (q === undefined) {
      q = { tail: Promise.resolve(), users: 0 };
      queues.set(file, q);
    }
    q.users++;
    this.queue = q;
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
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.tail.then(() => {
      if (this.closed) throw new Error('the orchestrator store is closed');
      return fn();
    });
    this.queue.tail = result.catch(() => undefined);
    return result;
  }

  read<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.exclusive(() => fn(this.sql));
  }

  /**
   * Group commit: writes that arrive while one is waiting share one transaction (one WAL commit,
   * which is most of a write's cost), each inside its own SAVEPOINT, so each still succeeds or
   * fails whole and alone. Callers hear their result, and listeners the changes, after COMMIT.
   */
  write<T>(fn: (tx: WriteTx) => Promise<T>, opts?: { seq?: boolean }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn: fn as (tx: WriteTx) => Promise<unknown>, seq: opts?.seq === true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushQueued) this.queueFlush();
    });
  }

  private queueFlush(): void {
    this.flushQueued = true;
    this.exclusive(() => this.flush()).catch((e: unknown) => {
      // Closed meanwhile: nothing will run them.
      this.flushQueued = false;
      for (const w of this.pending.splice(0)) w.reject(e);
    });
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const batch = this.pending.splice(0, 512);
    if (this.pending.length > 0) this.queueFlush();
    const outcomes: { ok: boolean; value: unknown; changes: Change[] }[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const w of batch) {
        const changes: Change[] = [];
        const tx: WriteTx = { ...this.sql, announce: (c) => void changes.push(c) };
        this.db.exec('SAVEPOINT w');
        try {
          if (w.seq) tx.presetSeq = Number((await tx.all(`UPDATE fleet SET seq = seq + 1 WHERE id = 1 RETURNING seq`))[0]!['seq']);
          outcomes.push({ ok: true, value: await w.fn(tx), changes });
          this.db.exec('RELEASE w');
        } catch (e) {
          this.db.exec('ROLLBACK TO w');
          this.db.exec('RELEASE w');
          outcomes.push({ ok: false, value: e, changes: [] });
        }
      }
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of batch) w.reject(e);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) {
        for (const c of o.changes) this.emit(c);
        w.resolve(o.value);
      } else w.reject(o.value);
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
    this.closing ??= this.exclusive(() => {
      this.closed = true;
      this.listeners.clear();
      if (this.db.open) this.db.close();
      if (--this.queue.users === 0 && queues.get(this.file) === this.queue) queues.delete(this.file);
      return Promise.resolve();
    });
    return this.closing;
  }
}

/** Opens (creating the folder and file when missing) `dataDir/orchestrator.db` and runs its migrations. */
export async function openSqliteStore(dataDir: string): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE);
  const db = new Database(file);
  let driver: SqliteDriver;
  try {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a crash of the process; a power cut may lose the last ones.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    driver = new SqliteDriver(db, realpathSync(file));
  } catch (e) {
    db.close();
    throw e;
  }
  try {
    const version = await driver.exclusive(async () => {
      const q: Sql = {
        all: (text, params = []) => {
          const st = db.prepare(text);
          return Promise.resolve(st.reader ? (st.all(...(params as unknown[])) as Row[]) : (st.run(...(params as unknown[])), []));
        },
        run: (text, params = []) => Promise.resolve(db.prepare(text).run(...(params as unknown[])).changes),
      };
      db.exec('BEGIN IMMEDIATE');
      try {
        const v = await migrate(q, file, Date.now());
        db.exec('COMMIT');
        return v;
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    });
    return new SqlStore(driver, version);
  } catch (e) {
    await driver.close();
    throw e;
  }
}
