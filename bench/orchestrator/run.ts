/**
 * Bench: the orchestrator at fleet scale.
 *
 *   npm run build && node dist/bench/orchestrator/run.js [--devices 10000] [--concurrency 64]
 *       [--database postgres://… --processes 2] [--accept-encoding gzip] [--cli OTHER/dist/src/cli/main.js]
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
 * each with one pending request and nothing else, measured the same way; then the fan-out floor:
 * that server answers all of them at once with the bytes of one real bundle answer from this run
 * (same size, same content-encoding), timed by the same client code from the trigger to the last
 * 200. --accept-encoding: what the devices send in Accept-Encoding (none by default).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

const REPO = resolve(import.meta.dirname, '../../..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const DEVICES = Number(arg('--devices', '10000'));
const CONCURRENCY = Number(arg('--concurrency', '64'));
const DATABASE = arg('--database', '');
const PROCESSES = DATABASE === '' ? 1 : Number(arg('--processes', '2'));
const ACCEPT_ENCODING = arg('--accept-encoding', '');
/** The warpc CLI to bench: this build, or another build's dist/src/cli/main.js (an earlier commit, beside this one). */
const CLI = resolve(arg('--cli', join(REPO, 'dist/src/cli/main.js')));

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

/** User + system CPU seconds a process has used (/proc/PID/stat, clock ticks of 1/100 s). */
function cpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const clientCpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** When half, 90% and all of the devices had their answer, seconds after t0; and the CPU the servers and this client used meanwhile. */
function spread(times: number[], t0: number, cpu: { server: number; client: number }): string {
  const s = [...times].sort((a, b) => a - b).map((t) => (t - t0) / 1000);
  const at = (q: number): string => (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN).toFixed(2);
  return `half ${at(0.5)} s, 90% ${at(0.9)} s, all ${at(1)} s; CPU meanwhile: server ${cpu.server.toFixed(1)} s, client ${cpu.client.toFixed(1)} s`;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

interface Reply {
  status: number;
  etag: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body as text, decompressed when the answer was compressed. */
  body: string;
  /** The body's bytes as they came on the wire, and their content-encoding. */
  wire: Buffer;
  encoding: string | undefined;
}

function call(agent: Agent, port: number, ca: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((res, rej) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method,
        path,
        ca,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...headers },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const wire = Buffer.concat(chunks);
          const encoding = r.headers['content-encoding'];
          try {
            res({ status: r.statusCode ?? 0, etag: r.headers['etag'] as string | undefined, headers: r.headers, body: (encoding === 'gzip' ? gunzipSync(wire) : wire).toString(), wire, encoding });
          } catch (err) {
            rej(err as Error);
          }
        });
        r.on('error', rej);
      },
    );
    req.on('error', rej);
    if (payload) req.write(payload);
    req.end();
  });
}

/** What the simulated devices ask for: `--accept-encoding gzip` as the agent does, or nothing. */
const ACCEPT: Record<string, string> = ACCEPT_ENCODING ? { 'accept-encoding': ACCEPT_ENCODING } : {};

interface Fanout {
  /** Settles when every long-poll has its answer. */
  readonly done: Promise<void>;
  updated: number;
  tLast: number;
  /** When each updated device had its answer (performance.now()). */
  readonly times: number[];
  readonly failures: string[];
  /** One answer as it came (the floor replays it). */
  sample: Reply | null;
}

/**
 * Parks `n` long-polls, each on its own TLS connection (200 at a time, 150 ms apart so each batch's
 * handshakes finish: a handshake has 10 s); a device counts as updated when its answer is a 200
 * with a higher version than it had. The same code for the orchestrator and the floor.
 */
async function park(n: number, poll: (i: number) => Promise<Reply>, had: (i: number) => number): Promise<Fanout> {
  const f: { updated: number; tLast: number; times: number[]; failures: string[]; sample: Reply | null } = { updated: 0, tLast: 0, times: [], failures: [], sample: null };
  const polls: Promise<void>[] = [];
  for (let i = 0; i < n; i += 200) {
    for (let j = i; j < Math.min(n, i + 200); j++) {
      polls.push(
        poll(j).then(
          (r) => {
            if (r.status === 200 && versionOf(r.body) > had(j)) {
              f.updated++;
              f.tLast = performance.now();
              f.times.push(f.tLast);
              f.sample ??= r;
            } else f.failures.push(`${r.status}`);
          },
          (err: Error) => void f.failures.push(err.message),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return Object.assign(f, { done: Promise.all(polls).then(() => undefined) });
}

async function pool<T>(n: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await job(i);
      }
    }),
  );
  return out;
}

/**
 * The version in a bundle answer's signed statement. The answer starts with its statement, so only
 * that is parsed: the simulated devices share the cores with the server, and JSON-parsing 10,000
 * copies of the files would be the bench's cost, not the fleet's (a device parses on its own CPU).
 */
const versionOf = (body: string): number => {
  const statement = /^\{"statement":"([A-Za-z0-9+/=]*)"/.exec(body)?.[1] ?? (JSON.parse(body) as { statement: string }).statement;
  return JSON.parse(Buffer.from(statement, 'base64').toString()).version as number;
};

/**
 * The floors, from the bare TLS server (floor-server.ts): RSS growth per held request, parked like
 * the devices; then the fan-out floor: one trigger answers them all with `answer` (the same bytes
 * and encoding as the orchestrator's), timed from the trigger to the last device's 200.
 */
async function floor(n: number, answer: Reply): Promise<{ before: number; waiting: number; perKb: number; fanoutS: number; spread: string; updated: number; answered: number; failures: string[] }> {
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
    const f = await park(
      n,
      (j) => call(agent, port, ca, 'GET', `/v0/reg/d${j}/bundle?os=linux&wait=300`, 'wpd_x', undefined, { 'if-none-match': '"0"', ...ACCEPT }),
      () => 0,
    );
    await new Promise((r) => setTimeout(r, 5000));
    const waiting = rssKb(proc.pid!);
    const cpu0 = { server: cpuS(proc.pid!), client: clientCpuS() };
    const t0 = performance.now();
    const trig = await call(new Agent(), port, ca, 'POST', '/trigger', 'x', answer.wire, answer.encoding ? { 'x-content-encoding': answer.encoding } : {});
    if (trig.status !== 204) throw new Error(`floor trigger: ${trig.status}`);
    const answered = Number(trig.headers['x-answered']);
    await f.done;
    const cpu = { server: cpuS(proc.pid!) - cpu0.server, client: clientCpuS() - cpu0.client };
    return { before, waiting, perKb: (waiting - before) / n, fanoutS: (f.tLast - t0) / 1000, spread: spread(f.times, t0, cpu), updated: f.updated, answered, failures: f.failures };
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
      const r = await call(agents[s]!, servers[s]!.port, ca, 'POST', '/v0/reg', enroll, {
        key,
        key_type: 'curve25519',
        tunnel_type: 'wireguard',
        install_id: randomUUID(),
        model: 'bench',
        os_name: 'linux',
        os_version: '6.1',
        serial_number: String(i),
      });
      if (r.status !== 201) throw new Error(`registration ${i}: ${r.status} ${r.body}`);
      const j = JSON.parse(r.body) as { id: string; token: string };
      return { id: j.id, token: j.token, server: s, etag: '' };
    });
    const regS = (performance.now() - t0) / 1000;

    // 2. first bundle
    t0 = performance.now();
    await pool(DEVICES, CONCURRENCY, async (i) => {
      const d = devices[i]!;
      const r = await call(agents[d.server]!, servers[d.server]!.port, ca, 'GET', `/v0/reg/${d.id}/bundle?os=linux`, d.token, undefined, ACCEPT);
      if (r.status !== 200) throw new Error(`bundle ${i}: ${r.status} ${r.body}`);
      d.etag = r.etag!;
    });
    const firstS = (performance.now() - t0) / 1000;
    for (const a of agents) a.destroy();
    await new Promise((r) => setTimeout(r, 3000));
    const rssBefore = servers.map((s) => rssKb(s.proc.pid!));

    // 3. everyone long-polls, each on its own connection
    const pollAgents = servers.map(() => new Agent({ keepAlive: false, maxSockets: Infinity }));
    const f = await park(
      DEVICES,
      (i) => {
        const d = devices[i]!;
        return call(pollAgents[d.server]!, servers[d.server]!.port, ca, 'GET', `/v0/reg/${d.id}/bundle?os=linux&wait=300`, d.token, undefined, { 'if-none-match': d.etag, ...ACCEPT });
      },
      (i) => Number(devices[i]!.etag.replace(/"/g, '')),
    );
    await new Promise((r) => setTimeout(r, 5000));
    const rssWaiting = servers.map((s) => rssKb(s.proc.pid!));

    // 4. one profile change, through the first process
    const cpu0 = { server: servers.reduce((a, s) => a + cpuS(s.proc.pid!), 0), client: clientCpuS() };
    const tChange = performance.now();
    const put = await call(new Agent(), servers[0]!.port, ca, 'PUT', '/client/v4/accounts/bench/devices/policy/exclude', admin, [{ address: '10.0.0.0/8', description: 'bench change' }]);
    if (put.status !== 200) throw new Error(`profile change: ${put.status} ${put.body}`);
    await f.done;
    const cpu = { server: servers.reduce((a, s) => a + cpuS(s.proc.pid!), 0) - cpu0.server, client: clientCpuS() - cpu0.client };
    const allS = (f.tLast - tChange) / 1000;
    const perWaiterKb = rssWaiting.reduce((a, b, i) => a + b - rssBefore[i]!, 0) / DEVICES;
    const { updated, failures } = f;
    if (!f.sample) throw new Error(`no device got its new bundle: ${[...new Set(failures)].join(', ')}`);

    for (const s of servers) s.proc.kill('SIGTERM');
    for (const a of pollAgents) a.destroy();
    const bare = await floor(DEVICES, f.sample);

    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}, Node ${process.version}`,
    );
    console.log(`store: ${DATABASE ? `postgres, ${PROCESSES} processes` : 'sqlite, 1 process'}; devices ${DEVICES}; registration concurrency ${CONCURRENCY}`);
    console.log(`registrations: ${DEVICES} in ${regS.toFixed(1)} s = ${(DEVICES / regS).toFixed(0)}/s`);
    console.log(`first bundle fetch: ${(DEVICES / firstS).toFixed(0)}/s`);
    console.log(
      `profile change → every device has the new bundle: ${allS.toFixed(2)} s (${updated} of ${DEVICES} updated${failures.length ? `; ${failures.length} failed: ${[...new Set(failures)].join(', ')}` : ''}; ${spread(f.times, tChange, cpu)})`,
    );
    console.log(
      `server RSS before long-poll ${rssBefore.map((k) => (k / 1024).toFixed(0)).join('+')} MB, all waiting ${rssWaiting.map((k) => (k / 1024).toFixed(0)).join('+')} MB: ${perWaiterKb.toFixed(1)} KB per waiting device (TLS connection included)`,
    );
    console.log(
      `floor, a bare node:https server (same TLS settings) holding ${DEVICES} pending requests: RSS ${(bare.before / 1024).toFixed(0)} → ${(bare.waiting / 1024).toFixed(0)} MB: ${bare.perKb.toFixed(1)} KB per connection; the orchestrator adds ${(perWaiterKb - bare.perKb).toFixed(1)} KB`,
    );
    console.log(
      `fan-out floor, the same server answering all ${DEVICES} at once with one bundle answer's bytes (${f.sample.wire.length} B${f.sample.encoding ? ` ${f.sample.encoding}` : ''}, ${Buffer.byteLength(f.sample.body)} B decoded): ${bare.fanoutS.toFixed(2)} s (${bare.updated} of ${DEVICES}, ${bare.answered} held at the trigger${bare.failures.length ? `; ${bare.failures.length} failed: ${[...new Set(bare.failures)].join(', ')}` : ''}; ${bare.spread}); orchestrator/floor ${(allS / bare.fanoutS).toFixed(2)}`,
    );
  } finally {
    for (const s of servers) s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    for (const s of servers) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
