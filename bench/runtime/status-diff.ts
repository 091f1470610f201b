/**
 * Bench: `warpc status --diff` on a running N-entry plan (N throw routes and N nft intervals), beside
 * the reads it makes, run bare in the same namespace (`ip -j rule` ×2, `ip -j route show table`
 * ×2, `nft list table`): what the comparison, the plan's verification and the CLI add to the
 * tools' own cost. Then one route deleted and one element added by hand: the run
 * must report exactly those two lines (exit 1), and is timed too.
 *
 *   npm run build && sudo node --import ./test/runtime/helpers/ts-loader.mjs bench/runtime/status-diff.ts [--entries 100000] [--runs 3]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
// The built CLI (npm run build): start-up without the TypeScript loader, as installed.
const CLI = join(REPO, 'dist/src/cli/main.js');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ENTRIES = arg('--entries', 100_000);
const RUNS = arg('--runs', 3);

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const ns = `warpc-bench-sd-${id}`;
  const ifname = `wqs${id}`;
  const tmp = await mkdtemp(join(tmpdir(), 'warpc-bench-sd-'));
  const node = [process.execPath, CLI];
  // Non-adjacent /25s: ENTRIES throw routes and ENTRIES nft intervals.
  const entries = Array.from({ length: ENTRIES }, (_, i) => `    - { address: ${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/25 }`).join('\n');
  await writeFile(join(tmp, 'p.yaml'), `version: 1\nname: bench\nsplit_tunnel:\n  mode: exclude\n  entries:\n${entries}\ntunnel: { protocol: wireguard, endpoint: "198.51.100.1:2408", peer_public_key: "Vzz2CgKQ5Y+T1ImANGm0W7EkWQ62PjmE2RfqfJ+gVVo=" }\ntargets:\n  linux: { interface: ${ifname} }\n`);
  await execFileP(process.execPath, [...node.slice(1), 'compile', join(tmp, 'p.yaml'), '--target', 'linux', '--out', join(tmp, 'out')], { maxBuffer: 1 << 26 });
  const plan = join(tmp, 'out/linux');
  const settings = JSON.parse(await readFile(join(plan, 'settings.json'), 'utf8')) as { routing: { table: number }; nft_table: string };
  const table = String(settings.routing.table);
  await execFileP('ip', ['netns', 'add', ns]);
  const inNs = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> => execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { maxBuffer: 1 << 28 });
  const root = join(tmp, 'root');
  const state = join(tmp, 'state');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53\n');
  let agent: ChildProcess | null = null;
  const statusDiff = async (): Promise<{ wall: number; code: number; out: string }> => {
    const t = process.hrtime.bigint();
    try {
      const r = await inNs(process.execPath, [...node.slice(1), 'status', '--diff', '--state-dir', state]);
      return { wall: ms(t), code: 0, out: r.stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { wall: ms(t), code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  const reads = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    for (const fam of ['-4', '-6']) await inNs('ip', ['-j', fam, 'rule', 'show']);
    for (const fam of ['-4', '-6']) await inNs('ip', ['-j', fam, 'route', 'show', 'table', table]);
    await inNs('nft', ['list', 'table', 'inet', settings.nft_table]);
    return ms(t);
  };
  const out: string[] = [];
  try {
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    const a = spawn('ip', ['netns', 'exec', ns, ...node, 'up', plan, '--state-dir', state, '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent = a;
    let log = '';
    await new Promise<void>((res, rej) => {
      a.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('warpc: up: ')) res();
      });
      a.on('exit', () => rej(new Error(`up exited:\n${log}`)));
    });
    const t = process.hrtime.bigint();
    await inNs(process.execPath, [...node.slice(1), 'status', '--state-dir', state]);
    const plain = ms(t);
    const clean: number[] = [];
    const bare: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const r = await statusDiff();
      if (r.code !== 0) throw new Error(`status --diff reported drift on the plan as applied (exit ${r.code}):\n${r.out.slice(0, 4000)}`);
      clean.push(r.wall);
      bare.push(await reads());
    }
    await inNs('ip', ['-4', 'route', 'del', 'throw', '20.0.0.0/25', 'table', table]);
    await inNs('nft', ['add', 'element', 'inet', settings.nft_table, 'direct4', '{ 203.0.113.77 }']);
    const drifted: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const r = await statusDiff();
      const lines = r.out.split('\n').filter((l) => /^[+-] /.test(l));
      if (r.code !== 1 || lines.join('|') !== '+ element 203.0.113.77/32|- throw 20.0.0.0/25') throw new Error(`expected exactly the two hand-made lines (exit 1), got exit ${r.code}:\n${r.out.slice(0, 4000)}`);
      drifted.push(r.wall);
    }
    out.push(
      `| ${ENTRIES} | ${median(clean).toFixed(0)} ms | ${median(drifted).toFixed(0)} ms | ${median(bare).toFixed(0)} ms | ${plain.toFixed(0)} ms | ${(median(clean) / median(bare)).toFixed(1)}x |`,
    );
    process.stdout.write(`runs: ${RUNS} (median)\n| entries | status --diff, no drift | status --diff, 2 lines of drift | the same reads, bare | warpc status (CLI start-up) | status --diff / bare reads |\n|---|---|---|---|---|---|\n${out.join('\n')}\n`);
    const exited = new Promise((r) => a.on('exit', r));
    // Restoring 100,000 routes and intervals takes a while on a loaded machine.
    await inNs(process.execPath, [...node.slice(1), 'down', '--state-dir', state, '--wait', '600']);
    await exited;
    agent = null;
  } finally {
    if (agent) (agent as ChildProcess).kill('SIGTERM');
    await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(`/var/run/wireguard/${ifname}.sock`, { force: true });
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
