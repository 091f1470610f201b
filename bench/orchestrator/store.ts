/**
 * Bench: the orchestrator's store alone, registering a fleet.
 *
 *   npm run build && node dist/bench/orchestrator/store.js [--devices 10000] [--concurrency 32] [--stores sqlite,postgres]
 *
 * For each store: a fresh database, one enrollment token, then --devices registerDevice() calls,
 * --concurrency at a time (PostgreSQL also with two Store instances on one database splitting the
 * calls: two orchestrator processes' view). Printed: registrations per second overall, for the
 * first and the last 10% (a per-registration cost growing with the fleet shows as a falling last
 * column), then 10% of the devices deleted at random and as many registered again (the freed,
 * lowest addresses are reused). The floor, from the same run on the same engine and concurrency:
 * one transaction inserting one row per registration, which is the least any store could do.
 * PostgreSQL is started by test/helpers/postgres.ts (a throwaway cluster, fsync off).
 *
 * registerFleet() is exported for the whole-server bench to reuse.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../../src/orchestrator/store/postgres.js';
import { openSqliteStore } from '../../src/orchestrator/store/sqlite.js';
import type { AddressPools, DeviceRow, Store } from '../../src/orchestrator/store/types.js';
import { startPostgres } from '../../test/helpers/postgres.js';

export const BENCH_POOLS: AddressPools = { v4: '100.96.0.0/12', v6: 'fd01:5ca1:ab1e::/64', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] };

/** Runs `count` tasks, `concurrency` at a time; returns each task's finishing time (ms since start). */
async function pooled(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const t0 = performance.now();
  const done: number[] = new Array<number>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      await task(i);
      done[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return done;
}

export interface FleetResult {
  readonly seconds: number;
  readonly perSecond: number;
  /** Registrations per second over the first and the last 10% of the calls. */
  readonly firstTenth: number;
  readonly lastTenth: number;
  readonly devices: DeviceRow[];
}

/** Registers `count` devices (install ids `${prefix}-i`), spreading the calls over `stores`. */
export async function registerFleet(stores: readonly Store[], count: number, concurrency: number, prefix = 'bench'): Promise<FleetResult> {
  const hash = `bench-enroll-${prefix}-${Math.random()}`;
  await stores[0]!.createToken({ kind: 'enroll', hash, label: 'bench', expiresAt: null, maxUses: null }, 'bench');
  const devices: DeviceRow[] = new Array<DeviceRow>(count);
  const t0 = performance.now();
  const done = await pooled(count, concurrency, async (i) => {
    devices[i] = await stores[i % stores.length]!.registerDevice(
      { installId: `${prefix}-${i}`, publicKey: `pk-${prefix}-${i}`, tokenHash: `th-${prefix}-${i}`, model: 'bench', osName: 'linux', osVersion: '6.1', serial: `s${i}`, enrolledWith: '' },
      hash,
      BENCH_POOLS,
      Date.now(),
    );
  });
  const seconds = (performance.now() - t0) / 1000;
  const sorted = [...done].sort((a, b) => a - b);
  const tenth = Math.max(1, Math.floor(count / 10));
  const firstTenth = tenth / (sorted[tenth - 1]! / 1000);
  const lastTenth = tenth / ((sorted[count - 1]! - sorted[count - 1 - tenth]!) / 1000);
  return { seconds, perSecond: count / seconds, firstTenth, lastTenth, devices };
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

interface Row {
  readonly store: string;
  readonly perSecond: number;
  readonly firstTenth: number;
  readonly lastTenth: number;
  readonly refill: number;
  readonly floor: number;
}

async function benchStores(name: string, stores: Store[], devices: number, concurrency: number, floor: number): Promise<Row> {
  const r = await registerFleet(stores, devices, concurrency);
  const addrs = new Set(r.devices.map((d) => d.addressV4));
  if (addrs.size !== devices) throw new Error(`${name}: addresses were shared`);
  // Delete a random 10% and register as many again: they must get exactly the freed addresses.
  const gone = r.devices.filter((_, i) => (Math.imul(i + 1, 2654435761) >>> 0) % 10 === 0);
  for (const d of gone) await stores[0]!.deleteDevice(d.id, 'bench');
  const again = await registerFleet(stores, gone.length, concurrency, 'refill');
  const freed = new Set(gone.map((d) => d.addressV4));
  if (!again.devices.every((d) => freed.has(d.addressV4))) throw new Error(`${name}: a refill did not reuse the lowest free addresses`);
  return { store: name, perSecond: r.perSecond, firstTenth: r.firstTenth, lastTenth: r.lastTenth, refill: again.perSecond, floor };
}

async function sqliteFloor(dir: string, devices: number, concurrency: number): Promise<number> {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE d (id TEXT PRIMARY KEY, install_id TEXT UNIQUE, v4 TEXT UNIQUE)');
  const ins = db.prepare('INSERT INTO d VALUES (?, ?, ?)');
  const t0 = performance.now();
  await pooled(devices, concurrency, (i) => {
    db.exec('BEGIN IMMEDIATE');
    ins.run(`id${i}`, `i${i}`, `a${i}`);
    db.exec('COMMIT');
    return Promise.resolve();
  });
  const s = (performance.now() - t0) / 1000;
  db.close();
  return devices / s;
}

async function postgresFloor(url: string, devices: number, concurrency: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  await pool.query('CREATE TABLE d (id TEXT PRIMARY KEY, install_id TEXT UNIQUE, v4 TEXT UNIQUE)');
  const t0 = performance.now();
  await pooled(devices, concurrency, async (i) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO d VALUES ($1, $2, $3)', [`id${i}`, `i${i}`, `a${i}`]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  });
  const s = (performance.now() - t0) / 1000;
  await pool.end();
  return devices / s;
}

async function main(): Promise<void> {
  const devices = Number(arg('--devices', '10000'));
  const concurrency = Number(arg('--concurrency', '32'));
  const which = arg('--stores', 'sqlite,postgres').split(',');
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'warpc-bench-store-'));
  try {
    if (which.includes('sqlite')) {
      const floor = await sqliteFloor(dir, devices, concurrency);
      const s = await openSqliteStore(join(dir, 'sqlite'));
      try {
        rows.push(await benchStores('SQLite', [s], devices, concurrency, floor));
      } finally {
        await s.close();
      }
    }
    if (which.includes('postgres')) {
      const server = await startPostgres();
      try {
        const floor = await postgresFloor(await server.createDatabase('floor'), devices, concurrency);
        const one = await openPostgresStore(await server.createDatabase('one'));
        try {
          rows.push(await benchStores('PostgreSQL, 1 instance', [one], devices, concurrency, floor));
        } finally {
          await one.close();
        }
        const url = await server.createDatabase('two');
        const a = await openPostgresStore(url);
        const b = await openPostgresStore(url);
        try {
          rows.push(await benchStores('PostgreSQL, 2 instances', [a, b], devices, concurrency, floor));
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x: number): string => x.toFixed(0);
  console.log(`store registration, ${devices} devices, concurrency ${concurrency}, load ${loadavg()[0]!.toFixed(1)}`);
  console.log('| store | registrations/s | first 10% | last 10% | re-register after deleting 10% | floor (1 insert/txn) | store/floor |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.store} | ${f(r.perSecond)} | ${f(r.firstTenth)} | ${f(r.lastTenth)} | ${f(r.refill)} | ${f(r.floor)} | ${(r.perSecond / r.floor).toFixed(2)} |`);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
