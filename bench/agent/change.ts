/**
 * Bench: an admin change → the new plan applied on both devices of the orchestrated demo.
 *
 *   npm run build && sudo node dist/bench/agent/change.js [--runs 10] [--prefix 203.0.113.0/24]
 *
 * Brings up contrib/demo/demo.sh's topology (the real orchestrator on SQLite, the gateway's peer
 * sync, two enrolled devices running `warpc up` with no folder, each in its own namespaces), then
 * --runs times, alternately adding PREFIX to and removing it from the default profile's exclude list
 * with one `PUT …/devices/policy/exclude` through the admin API, and times from the moment the
 * request is sent (a small HTTPS client inside the gateway namespace with a kept-alive connection,
 * so no process start is counted) until:
 *   - verified: each agent has logged "bundle N verified … and stored" (its long-poll answered, the
 *     bundle fetched, its signature and files checked, written and fsynced), seen by reading the
 *     agents' log files every millisecond;
 *   - applied: `ip -n DEVICE -4 route get <first address of PREFIX>` leaves through the device's eth0
 *     (added) or CloudflareWARP (removed), polled back to back in each device's namespace (one `ip`
 *     process per poll, a few ms each, 2 ms apart), and the agent has logged "now running bundle N".
 *   - answered (the orchestrator's own part): the gateway's veth towards each device has sent
 *     ANSWER_BYTES more than before the PUT (/proc/<orchestrator pid>/net/dev, read every
 *     millisecond): the long-poll's 200 with the bundle is on the wire;
 * "both" is the later of the two devices. Two untimed changes (an add and a remove) run first. All
 * clocks are CLOCK_MONOTONIC (process.hrtime), shared by the processes on the machine. demo.sh down
 * runs at the end whatever happened.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');
const SCRIPT = join(REPO, 'contrib/demo/demo.sh');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] as string) : def;
}
const RUNS = Number(arg('--runs', '10'));
const PREFIX = arg('--prefix', '203.0.113.0/24');
const PROBE = PREFIX.replace(/\/\d+$/, '');
/** A bundle answer is ~20 KB (eleven base64 files); nothing else the gateway sends a device in a second comes near. */
const ANSWER_BYTES = 8192;

/** The admin client, in the gateway namespace: one JSON request a line in, one timed answer a line out. */
const CLIENT = `
const https = require('https'), fs = require('fs'), rl = require('readline');
const [ca, tokenFile, base] = process.argv.slice(1);
const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(ca) });
const token = fs.readFileSync(tokenFile, 'utf8').trim();
rl.createInterface({ input: process.stdin }).on('line', (line) => {
  const { method, path, body } = JSON.parse(line);
  const t0 = process.hrtime.bigint();
  const req = https.request(base + path, { method, agent, headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' } }, (res) => {
    let b = '';
    res.on('data', (d) => (b += d));
    res.on('end', () => process.stdout.write(JSON.stringify({ t0: String(t0), t1: String(process.hrtime.bigint()), status: res.statusCode, body: JSON.parse(b) }) + '\\n'));
  });
  req.on('error', (e) => process.stdout.write(JSON.stringify({ error: e.message }) + '\\n'));
  req.end(body === undefined ? undefined : JSON.stringify(body));
});
`;

interface Answer {
  t0: bigint;
  t1: bigint;
  status: number;
  body: { result: unknown };
}

class AdminClient {
  private readonly child: ChildProcess;
  private readonly waiting: ((a: Answer) => void)[] = [];
  constructor(ns: string, ca: string, tokenFile: string, base: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, ca, tokenFile, base], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const j = JSON.parse(line) as { t0: string; t1: string; status: number; body: { result: unknown }; error?: string };
      if (j.error) throw new Error(`admin client: ${j.error}`);
      this.waiting.shift()?.({ ...j, t0: BigInt(j.t0), t1: BigInt(j.t1) });
    });
  }
  call(method: string, path: string, body?: unknown): Promise<Answer> {
    return new Promise((res) => {
      this.waiting.push(res);
      this.child.stdin!.write(`${JSON.stringify({ method, path, body })}\n`);
    });
  }
  close(): void {
    this.child.stdin!.end();
  }
}

/** When a line matching `re` is appended to `file` (read every millisecond from `from` on). */
async function lineAppears(file: string, from: number, re: RegExp, timeoutMs: number): Promise<bigint> {
  const fh = await open(file, 'r');
  try {
    let pos = from;
    let text = '';
    const until = Date.now() + timeoutMs;
    for (;;) {
      const buf = Buffer.alloc(65536);
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        const t = process.hrtime.bigint();
        pos += bytesRead;
        text += buf.subarray(0, bytesRead).toString('utf8');
        if (re.test(text)) return t;
        continue;
      }
      if (Date.now() > until) throw new Error(`${file}: no line matching ${re} within ${timeoutMs} ms:\n${text}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    await fh.close();
  }
}

/** Bytes sent so far by each interface of the network namespace `pid` runs in (/proc/PID/net/dev: a file read, no process). */
async function txBytes(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await readFile(`/proc/${pid}/net/dev`, 'utf8')).split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]!.trim().split(/\s+/)[8]));
  }
  return out;
}

/** When interface `ifname` of `pid`'s namespace has sent `bytes` more than `from` (read every millisecond). */
async function sent(pid: number, ifname: string, from: number, bytes: number, timeoutMs: number): Promise<bigint> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = (await txBytes(pid)).get(ifname) ?? 0;
    const t = process.hrtime.bigint();
    if (now - from >= bytes) return t;
    if (Date.now() > until) throw new Error(`${ifname}: not ${bytes} bytes sent within ${timeoutMs} ms (${now - from})`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** When `ip route get PROBE` in `ns` first names `dev`. */
async function routeIs(ns: string, dev: string, timeoutMs: number): Promise<bigint> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await execFileP('ip', ['-n', ns, '-4', 'route', 'get', PROBE]);
    const t = process.hrtime.bigint();
    if (stdout.includes(` dev ${dev} `)) return t;
    if (Date.now() > until) throw new Error(`${ns}: ${PROBE} not via ${dev} within ${timeoutMs} ms: ${stdout}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6;
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: number[]): number => {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (xs: number[]): string => `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

async function main(): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const prefix = `warpc-bench-ch-${id}`;
  const dir = join(tmpdir(), prefix);
  const env = { ...process.env, WARPC_DEMO_PREFIX: prefix, WARPC_DEMO_DIR: dir, WARPC_DEMO_GW_IF: `wgb${id}` };
  const demo = (...args: string[]): Promise<{ stdout: string }> => execFileP('bash', [SCRIPT, ...args], { env, timeout: 300_000 });
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${RUNS} changes of ${PREFIX}`);
  let client: AdminClient | null = null;
  try {
    const t = process.hrtime.bigint();
    await demo('up');
    console.log(`demo.sh up: ${(ms(t, process.hrtime.bigint()) / 1000).toFixed(1)} s`);
    client = new AdminClient(`${prefix}-gw`, join(dir, 'orch/ca.pem'), join(dir, 'tokens/admin'), 'https://198.51.100.1:8443/client/v4/accounts/demo');
    const base = ((await client.call('GET', '/devices/policy/exclude')).body.result as { address?: string }[]).filter((e) => e.address !== PREFIX);
    const devices = ['A', 'B'] as const;
    const orchPid = Number(await readFile(join(dir, 'orchestrator.pid'), 'utf8'));
    const rows: { op: string; put: number; answered: number; verified: number; running: number; route: number; perDevice: string }[] = [];
    for (let i = -2; i < RUNS; i++) {
      const add = i % 2 === 0;
      const body = add ? [...base, { address: PREFIX, description: 'bench' }] : base;
      const offsets = await Promise.all(devices.map(async (d) => (await readFile(join(dir, `agent-${d}.log`))).length));
      const verified = devices.map((d, k) => lineAppears(join(dir, `agent-${d}.log`), offsets[k]!, /bundle \d+ verified .* and stored/, 30_000));
      const running = devices.map((d, k) => lineAppears(join(dir, `agent-${d}.log`), offsets[k]!, /now running bundle \d+/, 30_000));
      const tx0 = await txBytes(orchPid);
      const answered = devices.map((d) => sent(orchPid, `d${d}`, tx0.get(`d${d}`) ?? 0, ANSWER_BYTES, 30_000));
      const answer = client.call('PUT', '/devices/policy/exclude', body);
      const route = devices.map((d) => routeIs(`${prefix}-dev${d}`, add ? 'eth0' : 'CloudflareWARP', 30_000));
      for (const p of [...answered, ...verified, ...running, ...route]) p.catch(() => undefined); // handled below, by Promise.all
      const a = await answer;
      if (a.status !== 200) throw new Error(`PUT exclude: HTTP ${a.status} ${JSON.stringify(a.body)}`);
      const [an, v, r, rt] = await Promise.all([Promise.all(answered), Promise.all(verified), Promise.all(running), Promise.all(route)]);
      const last = (xs: bigint[]): bigint => xs.reduce((x, y) => (y > x ? y : x));
      if (i >= 0) {
        rows.push({
          op: add ? 'add' : 'remove',
          put: ms(a.t0, a.t1),
          answered: ms(a.t0, last(an)),
          verified: ms(a.t0, last(v)),
          running: ms(a.t0, last(r)),
          route: ms(a.t0, last(rt)),
          perDevice: devices.map((d, k) => `${d} ${ms(a.t0, rt[k]!).toFixed(0)}`).join(', '),
        });
        const row = rows[rows.length - 1]!;
        console.log(`${String(i + 1).padStart(2)} ${row.op.padEnd(6)} PUT answered ${row.put.toFixed(1)} ms; both long-polls answered ${row.answered.toFixed(0)} ms; both verified ${row.verified.toFixed(0)} ms; both routes ${row.route.toFixed(0)} ms (${row.perDevice}); both "now running" ${row.running.toFixed(0)} ms`);
      }
      // Let both agents settle into their next long-poll before the next change.
      await new Promise((res) => setTimeout(res, 1000));
    }
    console.log(`\nmedian of ${rows.length} (min, max), from the PUT sent:`);
    console.log(`  PUT answered:                         ${fmt(rows.map((r) => r.put))}`);
    console.log(`  both long-polls answered (on the wire): ${fmt(rows.map((r) => r.answered))}`);
    console.log(`  both agents verified and stored it:   ${fmt(rows.map((r) => r.verified))}`);
    console.log(`  both devices route ${PROBE} the new way: ${fmt(rows.map((r) => r.route))}`);
    console.log(`  both agents logged "now running":     ${fmt(rows.map((r) => r.running))}`);
    console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    client?.close();
    await demo('down').catch((e: unknown) => console.error(`demo.sh down: ${(e as Error).message}`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
