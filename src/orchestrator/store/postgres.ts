/**
 * The PostgreSQL store: the same SqlStore on a `pg` Pool, for several orchestrator processes on
 * one database. Writes are transactions that first lock the single `fleet` row (see sql-store.ts),
 * so they serialize and commit in seq order. A write announces its changes with NOTIFY inside the
 * transaction (delivered only if it commits, in commit order); every Store keeps one dedicated
 * LISTEN connection and calls its subscribe() listeners from it, so a change made through any
 * process reaches every process, this one included, in seq order. When that connection drops it
 * reconnects (backing off) and replays what it missed from the audit log, which is also the
 * change log, before delivering anything newer.
 */
import pg from 'pg';
import { migrate } from './migrations.js';
import { SqlStore, type Driver, type Row, type Sql, type WriteTx } from './sql-store.js';
import type { Change, Store } from './types.js';

const CHANNEL = 'warpc_changes';
/** The LISTEN connection's application_name (visible in pg_stat_activity). */
export const LISTEN_APPLICATION = 'warpc-orchestrator-listen';
/** pg_advisory_xact_lock key for migrations: two processes starting at once migrate one at a time. */
const MIGRATION_LOCK = 0x77617270; // 'warp'

/**
 * `?` placeholders (the SQL in sql-store.ts has no `?` in literals) to `$1, $2, …`, and a name:
 * every statement is a fixed text, so each connection parses and plans it once (prepared).
 */
const numbered = new Map<string, { name: string; text: string }>();
function toPg(text: string): { name: string; text: string } {
  let out = numbered.get(text);
  if (out === undefined) {
    let i = 0;
    out = { name: `warpc_${numbered.size}`, text: text.replace(/\?/g, () => `$${++i}`) };
    numbered.set(text, out);
  }
  return out;
}

function sqlOn(c: pg.Pool | pg.PoolClient | pg.Client): Sql {
  return {
    all: async (text, params = []) => (await c.query({ ...toPg(text), values: params as unknown[] })).rows as Row[],
    run: async (text, params = []) => (await c.query({ ...toPg(text), values: params as unknown[] })).rowCount ?? 0,
  };
}

export interface PostgresOptions {
  /** Pool size; default 10. */
  readonly max?: number;
  /** Called when the LISTEN connection drops or fails to reconnect (the store keeps retrying). */
  readonly onListenError?: (e: Error) => void;
}

class PostgresDriver implements Driver {
  readonly kind = 'postgres' as const;
  private readonly listeners = new Set<(c: Change) => void>();
  private listenClient: pg.Client | null = null;
  private closed = false;
  /** The highest seq delivered to listeners; anything at or below it is old news. */
  private delivered = 0;
  /** While catching up after a reconnect, notifications wait here. */
  private buffered: Change[] | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoff = 100;
  /** Writes from this process, one at a time (see write()). */
  private writeTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly opts: PostgresOptions,
  ) {}

  read<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return fn(sqlOn(this.pool));
  }

  /**
   * Writes serialize on the fleet row anyway; queueing them in the process first means at most one
   * transaction per process waits on that lock, instead of a pool's worth of backends woken at
   * every commit to find it taken again.
   */
  write<T>(fn: (tx: WriteTx) => Promise<T>, opts?: { seq?: boolean }): Promise<T> {
    const result = this.writeTail.then(() => this.transaction(fn, opts?.seq === true));
    this.writeTail = result.catch(() => undefined);
    return result;
  }

  /**
   * BEGIN rides with the first statement and the NOTIFYs with COMMIT (simple-query batches; the
   * only text spliced in is escapeLiteral()'s): the fleet row is held for fewer round trips.
   */
  private async transaction<T>(fn: (tx: WriteTx) => Promise<T>, takeSeq: boolean): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      const first = takeSeq ? `UPDATE fleet SET seq = seq + 1 WHERE id = 1 RETURNING seq` : `UPDATE fleet SET seq = seq WHERE id = 1`;
      const notes: string[] = [];
      const announced: Change[] = [];
      try {
        const begun = (await client.query(`BEGIN; ${first}`)) as unknown as pg.QueryResult[];
        const tx: WriteTx = {
          ...sqlOn(client),
          announce: (c) => {
            announced.push(c);
            notes.push(`SELECT pg_notify('${CHANNEL}', ${client.escapeLiteral(JSON.stringify(c))})`);
          },
        };
        if (takeSeq) tx.presetSeq = Number((begun[1]!.rows[0] as Row)['seq']);
        const result = await fn(tx);
        await client.query([...notes, 'COMMIT'].join('; '));
        // This process hears its own commit now, not when the NOTIFY comes back over LISTEN (a read
        // after this write must see it); deliver() drops the NOTIFY then, as a change it has seen.
        for (const c of announced) this.deliver(c);
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw e;
      }
    } finally {
      client.release(broken);
    }
  }

  isUniqueViolation(e: unknown): boolean {
    return (e as { code?: unknown } | null)?.code === '23505';
  }

  subscribe(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private deliver(c: Change): void {
    if (c.seq <= this.delivered) return;
    this.delivered = c.seq;
    for (const l of [...this.listeners]) {
      try {
        l(c);
      } catch {
        // A listener's failure is its own; the others still hear the change.
      }
    }
  }

  /** Connects the LISTEN client; with `catchUp`, replays changes after `delivered` from the audit log first. */
  async listen(catchUp: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: LISTEN_APPLICATION });
    client.on('error', (e) => this.dropped(client, e));
    client.on('end', () => this.dropped(client, new Error('the LISTEN connection ended')));
    client.on('notification', (n) => {
      if (client !== this.listenClient || n.channel !== CHANNEL || n.payload === undefined) return;
      let c: Change;
      try {
        c = JSON.parse(n.payload) as Change;
      } catch {
        return;
      }
      if (this.buffered !== null) this.buffered.push(c);
      else this.deliver(c);
    });
    this.buffered = [];
    try {
      await client.connect();
      this.listenClient = client;
      await client.query(`LISTEN ${CHANNEL}`);
      if (catchUp) {
        const rows = await client.query(`SELECT seq, change, subject FROM audit WHERE seq > $1 AND change IS NOT NULL ORDER BY seq`, [this.delivered]);
        for (const r of rows.rows as Row[]) this.deliver({ seq: Number(r['seq']), kind: String(r['change']) as Change['kind'], id: String(r['subject']) });
      } else {
        const rows = await client.query(`SELECT seq FROM fleet WHERE id = 1`);
        this.delivered = Number((rows.rows[0] as Row)['seq']);
      }
      const waiting = this.buffered;
      this.buffered = null;
      for (const c of waiting) this.deliver(c);
      this.backoff = 100;
    } catch (e) {
      this.buffered = null;
      if (this.listenClient === client) this.listenClient = null;
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  private dropped(client: pg.Client, e: Error): void {
    if (this.closed || client !== this.listenClient) return;
    this.listenClient = null;
    this.opts.onListenError?.(e);
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== null) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.listen(true).catch((e: unknown) => {
        this.opts.onListenError?.(e instanceof Error ? e : new Error(String(e)));
        this.backoff = Math.min(this.backoff * 2, 5000);
        this.scheduleReconnect();
      });
    }, this.backoff);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const c = this.listenClient;
    this.listenClient = null;
    if (c !== null) await c.end().catch(() => undefined);
    await this.pool.end();
  }
}

/** Opens the store on `url` (postgres://…), runs its migrations, and starts listening for changes. */
export async function openPostgresStore(url: string, opts: PostgresOptions = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client's error (the server restarting) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    let version: number;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock($1)`, [MIGRATION_LOCK]);
      version = await migrate(sqlOn(client), redact(url), Date.now());
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    const driver = new PostgresDriver(url, pool, opts);
    await driver.listen(false);
    return new SqlStore(driver, version);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'at the configured URL';
  }
}
