/**
 * Bench: the orchestrator at fleet scale.
 *
 *   npm run build && node dist/bench/orchestrator/run.js [--devices 10000] [--concurrency 64]
 *       [--database postgres://… --processes 2]
 *
 * Starts `warpc orchestrator serve` (the built CLI; SQLite in a temp folder, or --processes
 * processes on one PostgreSQL), then: --devices simulated devices register (POST /v0/reg over
 * --concurrency keep-alive connections: registrations per second); each fetches its bundle once;
 * every device then long-polls (`wait=300`, If-None-Match its version), spread over the
 * processes, each on its own TLS connection; when all are parked, one profile change (PUT of the
 * default profile's exclude list) goes to the first process, and the bench times until every
 * device has its new bundle (a 200 with a higher version). Memory per waiting device: the growth
 * of the server processes' RSS (/proc/PID/status) from before the long-polls to when all wait,
 * divided by the devices (TLS connection included). In the same run, the floor: a bare
 * node:https server with the same TLS settings (floor-server.ts) holding as many connections,
 * each with one pending request and nothing else, measured the same way.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const DEVICES = Number(arg('--devices', '10000'));
const CONCURRENCY = Number(arg('--concurrency', '64'));
const DATABASE = arg('--database', '');
const PROCESSES = DATABASE === '' ? 1 : Number(arg('--processes', '2'));

interface Server {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly admin: string | null;
}

async function startServer(data: string, database: string): Promise<Server> {
  const args = [CLI, 'orchestrator', 'serve', '--data', data, '--listen', '127.0.0.1:0', '--register-rate', '1000000', ...(database ? ['--database', database] : [])];
  const proc = spawn(process.execPath, [...(process.env['BENCH_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_PROF']] : []), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 600; i++) {
    const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(err);
    if (m) return { proc, port: Number(m[1]), admin: /^(wpa_\S+)$/m.exec(out)?.[1] ?? null };
    if (proc.exitCode !== null) throw new Error(`serve exited: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`serve did not start: ${err}`);
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

interface Reply {
  status: number;
  etag: string | undefined;
  body: string;
}

function call(agent: Agent, port: number, ca: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((res, rej) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, servername: 'localhost', method, path, ca, agent, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, etag: r.headers['etag'] as string | undefined, body: Buffer.concat(chunks).toString() }));
      r.on('error', rej);
    });
    req.on('error', rej);
    if (payload) req.write(payload);
    req.end();
  });
}

async function pool<T>(n: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await job(i);
    }
  }));
  return out;
}

const versionOf = (body: string): number => JSON.parse(Buffer.from((JSON.parse(body) as { statement: string }).statement, 'base64').toString()).version as number;

/** RSS growth per held request of the bare TLS server (floor-server.ts), parked like the devices. */
async function floor(n: number): Promise<{ before: number; waiting: number; perKb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'warpc-bench-floor-'));
  const proc = spawn(process.execPath, [join(import.meta.dirname, 'floor-server.js'), join(dir, 'ca.pem')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    let port = 0;
    for (let i = 0; i < 600 && port === 0; i++) {
      port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1] ?? 0);
      if (port === 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (port === 0) throw new Error(`floor server did not start: ${err}`);
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    await new Promise((r) => setTimeout(r, 3000));
    const before = rssKb(proc.pid!);
    for (let i = 0; i < n; i += 200) {
      for (let j = i; j < Math.min(n, i + 200); j++) void call(agent, port, ca, 'GET', `/v0/reg/d${j}/bundle?os=linux&wait=300`, 'wpd_x', undefined, { 'if-none-match': '"1"' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const waiting = rssKb(proc.pid!);
    return { before, waiting, perKb: (waiting - before) / n };
  } finally {
    agent.destroy();
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'warpc-bench-orch-'));
  const servers: Server[] = [];
  try {
    for (let i = 0; i < PROCESSES; i++) servers.push(await startServer(data, DATABASE));
    const ca = readFileSync(join(data, 'ca.pem'), 'utf8');
    const admin = servers.find((s) => s.admin)?.admin;
    if (!admin) throw new Error('no admin token printed (use a fresh database)');
    const tok = spawnSync(process.execPath, [CLI, 'orchestrator', 'token', 'create', '--enroll', '--data', data, ...(DATABASE ? ['--database', DATABASE] : [])], { encoding: 'utf8' });
    const enroll = tok.stdout.trim();
    const agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: CONCURRENCY }));
    const key = Buffer.alloc(32, 9).toString('base64');

    // 1. registrations
    let t0 = performance.now();
    const devices = await pool(DEVICES, CONCURRENCY, async (i) => {
      const s = i % servers.length;
      const r = await call(agents[s]!, servers[s]!.port, ca, 'POST', '/v0/reg', enroll, { key, key_type: 'curve25519', tunnel_type: 'wireguard', install_id: randomUUID(), model: 'bench', os_name: 'linux', os_version: '6.1', serial_number: String(i) });
      if (r.status !== 201) throw new Error(`registration ${i}: ${r.status} ${r.body}`);
      const j = JSON.parse(r.body) as { id: string; token: string };
      return { id: j.id, token: j.token, server: s, etag: '' };
    });
    const regS = (performance.now() - t0) / 1000;

    // 2. first bundle
    t0 = performance.now();
    await pool(DEVICES, CONCURRENCY, async (i) => {
      const d = devices[i]!;
      const r = await call(agents[d.server]!, servers[d.server]!.port, ca, 'GET', `/v0/reg/${d.id}/bundle?os=linux`, d.token);
      if (r.status !== 200) throw new Error(`bundle ${i}: ${r.status} ${r.body}`);
      d.etag = r.etag!;
    });
    const firstS = (performance.now() - t0) / 1000;
    for (const a of agents) a.destroy();
    await new Promise((r) => setTimeout(r, 3000));
    const rssBefore = servers.map((s) => rssKb(s.proc.pid!));

    // 3. everyone long-polls, each on its own connection
    const pollAgents = servers.map(() => new Agent({ keepAlive: false, maxSockets: Infinity }));
    let updated = 0;
    let tChange = 0;
    let tLast = 0;
    const failures: string[] = [];
    const polls: Promise<void>[] = [];
    for (let i = 0; i < DEVICES; i += 200) {
      const batch = devices.slice(i, i + 200).map(async (d) => {
        const r = await call(pollAgents[d.server]!, servers[d.server]!.port, ca, 'GET', `/v0/reg/${d.id}/bundle?os=linux&wait=300`, d.token, undefined, { 'if-none-match': d.etag });
        if (r.status === 200 && versionOf(r.body) > Number(d.etag.replace(/"/g, ''))) {
          updated++;
          tLast = performance.now();
        } else failures.push(`${r.status}`);
      });
      polls.push(batch.reduce((a, b) => a.then(() => b), Promise.resolve()));
      // let this batch's handshakes finish before the next (a handshake has 10 s)
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const rssWaiting = servers.map((s) => rssKb(s.proc.pid!));

    // 4. one profile change, through the first process
    tChange = performance.now();
    const put = await call(new Agent(), servers[0]!.port, ca, 'PUT', '/client/v4/accounts/bench/devices/policy/exclude', admin, [{ address: '10.0.0.0/8', description: 'bench change' }]);
    if (put.status !== 200) throw new Error(`profile change: ${put.status} ${put.body}`);
    await Promise.all(polls);
    const allS = (tLast - tChange) / 1000;
    const perWaiterKb = rssWaiting.reduce((a, b, i) => a + b - rssBefore[i]!, 0) / DEVICES;

    for (const s of servers) s.proc.kill('SIGTERM');
    for (const a of pollAgents) a.destroy();
    const bare = await floor(DEVICES);

    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
    console.log(`store: ${DATABASE ? `postgres, ${PROCESSES} processes` : 'sqlite, 1 process'}; devices ${DEVICES}; registration concurrency ${CONCURRENCY}`);
    console.log(`registrations: ${DEVICES} in ${regS.toFixed(1)} s = ${(DEVICES / regS).toFixed(0)}/s`);
    console.log(`first bundle fetch: ${(DEVICES / firstS).toFixed(0)}/s`);
    console.log(`profile change → every device has the new bundle: ${allS.toFixed(2)} s (${updated} of ${DEVICES} updated${failures.length ? `; ${failures.length} failed: ${[...new Set(failures)].join(', ')}` : ''})`);
    console.log(`server RSS before long-poll ${rssBefore.map((k) => (k / 1024).toFixed(0)).join('+')} MB, all waiting ${rssWaiting.map((k) => (k / 1024).toFixed(0)).join('+')} MB: ${perWaiterKb.toFixed(1)} KB per waiting device (TLS connection included)`);
    console.log(`floor, a bare node:https server (same TLS settings) holding ${DEVICES} pending requests: RSS ${(bare.before / 1024).toFixed(0)} → ${(bare.waiting / 1024).toFixed(0)} MB: ${bare.perKb.toFixed(1)} KB per connection; the orchestrator adds ${(perWaiterKb - bare.perKb).toFixed(1)} KB`);
  } finally {
    for (const s of servers) s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    for (const s of servers) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
