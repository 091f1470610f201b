/**
 * A real PostgreSQL for tests: Debian's `postgres` (under /usr/lib/postgresql/<major>/bin, or on
 * PATH), its own cluster made by `initdb` in a temp folder, run as an unprivileged user (`nobody`
 * when the tests run as root, else the current user), listening on 127.0.0.1 at a free port and
 * on a Unix socket inside that folder only. Durability is off (fsync, synchronous_commit,
 * full_page_writes): the cluster lives for one test file. stop() ends it by its PID and removes
 * the folder. Nothing here touches a cluster the package's postinst may have made, or its service.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The folder holding both `initdb` and `postgres`: the newest Debian major first, then PATH. */
export function postgresBinDir(): string | null {
  const candidates: string[] = [];
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) candidates.push(join(base, m, 'bin'));
  }
  for (const d of (process.env['PATH'] ?? '').split(':')) if (d !== '') candidates.push(d);
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'))) ?? null;
}

/** Why PostgreSQL tests cannot run here, or null. */
export function postgresMissing(): string | null {
  if (postgresBinDir() === null) return 'PostgreSQL (Debian package postgresql: initdb and postgres) is not installed';
  if (isRoot() && nobody() === null) return 'running as root, and there is no unprivileged user "nobody" to run postgres as';
  return null;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function nobody(): { uid: number; gid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === 'nobody' && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PostgresServer {
  readonly port: number;
  readonly pid: number;
  /** postgres://… for database `name` (which must exist). */
  url(name: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL (several statements allowed) on the database at `url`. */
  exec(url: string, sql: string): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'warpc';

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error(postgresMissing() ?? 'PostgreSQL is missing');
  const owner = isRoot() ? nobody() : null;
  if (isRoot() && owner === null) throw new Error('no user "nobody" to run postgres as');
  const dir = mkdtempSync(join(tmpdir(), 'warpc-pg-'));
  let child: ChildProcess | null = null;
  const kill = (): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // The worker dying (a crash, a timeout) must not leave a server behind.
  process.once('exit', kill);
  try {
    if (owner !== null) chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
    const data = join(dir, 'data');
    const as = { ...(owner ?? {}), cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' } };
    await run(join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'], as);
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const p = spawn(
        join(bin, 'postgres'),
        [
          '-D',
          data,
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=300',
          '-c',
          'shared_buffers=32MB',
          '-c',
          'logging_collector=off',
        ],
        { ...as, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child = p;
      let stderr = '';
      p.stderr?.on('data', (b: Buffer) => {
        if (stderr.length < 20_000) stderr += b.toString();
      });
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      const ready = await waitReady(port, exited);
      if (ready) return server(port, p, exited, dir, kill);
      if (attempt >= 3 || !/could not bind|address already in use/i.test(stderr)) throw new Error(`postgres did not start:\n${stderr}`);
    }
  } catch (e) {
    kill();
    process.removeListener('exit', kill);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Polls until the server accepts a connection (true), or it exits or 30 s pass (false / throw). */
async function waitReady(port: number, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) return false;
    const c = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('postgres did not accept connections within 30 s');
}

function server(port: number, p: ChildProcess, exited: Promise<void>, dir: string, kill: () => void): PostgresServer {
  const url = (name: string): string => `postgres://${USER}@127.0.0.1:${port}/${name}`;
  const exec = async (u: string, sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: u });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    pid: p.pid!,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await exec(url('postgres'), `CREATE DATABASE ${name}`);
      return url(name);
    },
    exec,
    async stop() {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGINT'); // fast shutdown: ends sessions, no checkpoint wait worth keeping
        const timer = setTimeout(kill, 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
