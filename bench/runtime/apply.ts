/**
 * Bench: `warpc apply` of 1, 100 and 10,000 changed prefixes on a 10k-entry plan, beside
 * `warpc down` + `warpc up` for the same change, in a throwaway network namespace.
 *
 *   sudo node --import ./test/runtime/helpers/ts-loader.mjs bench/runtime/apply.ts [--entries 10000] [--runs 3] [--no-down-up]
 *
 * For each change: the agent's own apply time (verify → commit, from its answer), the
 * `warpc apply` command's wall time (CLI start-up included), and down+up (command → restored,
 * then spawn → committed). Between runs the agent is moved back to the base plan by apply.
 * The agent's per-step times (its answer's "per step" list) are printed for the median run;
 * --no-down-up skips the down+up column (for profiling apply alone).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const LOADER = join(REPO, 'test/runtime/helpers/ts-loader.mjs');
const CLI = join(REPO, 'src/cli/main.ts');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ENTRIES = arg('--entries', 10_000);
const RUNS = arg('--runs', 3);
const CHANGES = [1, 100, 10_000].filter((c) => c <= ENTRIES);
const DOWN_UP = !process.argv.includes('--no-down-up');

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const ns = `warpc-bench-ap-${id}`;
  const ifname = `wqa${id}`;
  const tmp = await mkdtemp(join(tmpdir(), 'warpc-bench-ap-'));
  const node = [process.execPath, '--import', LOADER, CLI];
  // Non-adjacent /25s (no merging): ENTRIES throw routes and ENTRIES nft intervals. A change of K
  // prefixes moves the first K entries to other /25s (K routes added, K removed).
  const profile = (changed: number): string => {
    const entries = Array.from({ length: ENTRIES }, (_, i) => `    - { address: ${i < changed ? 21 : 20}.${i >> 8}.${i & 255}.0/25 }`).join('\n');
    return `version: 1\nname: bench\nsplit_tunnel:\n  mode: exclude\n  entries:\n${entries}\ntunnel: { protocol: wireguard, endpoint: "198.51.100.1:2408", peer_public_key: "Vzz2CgKQ5Y+T1ImANGm0W7EkWQ62PjmE2RfqfJ+gVVo=" }\ntargets:\n  linux: { interface: ${ifname} }\n`;
  };
  const plans = new Map<number, string>();
  for (const k of [0, ...CHANGES]) {
    await writeFile(join(tmp, `p${k}.yaml`), profile(k));
    await execFileP(process.execPath, [...node.slice(1), 'compile', join(tmp, `p${k}.yaml`), '--target', 'linux', '--out', join(tmp, `out${k}`)], { maxBuffer: 1 << 26 });
    plans.set(k, join(tmp, `out${k}/linux`));
  }
  await execFileP('ip', ['netns', 'add', ns]);
  const inNs = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> => execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { maxBuffer: 1 << 26 });
  const root = join(tmp, 'root');
  const state = join(tmp, 'state');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53\n');
  let agent: ChildProcess | null = null;
  const startUp = async (dir: string): Promise<number> => {
    const t = process.hrtime.bigint();
    const a = spawn('ip', ['netns', 'exec', ns, ...node, 'up', dir, '--state-dir', state, '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent = a;
    let log = '';
    await new Promise<void>((res, rej) => {
      a.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('warpc: up: ')) res();
      });
      a.on('exit', () => rej(new Error(`up exited:\n${log}`)));
    });
    return ms(t);
  };
  const down = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    const a = agent!;
    const exited = new Promise((r) => a.on('exit', r));
    await inNs(process.execPath, [...node.slice(1), 'down', '--state-dir', state]);
    await exited;
    agent = null;
    return ms(t);
  };
  const apply = async (dir: string): Promise<{ wall: number; agent: number; steps: string }> => {
    const t = process.hrtime.bigint();
    const r = await inNs(process.execPath, [...node.slice(1), 'apply', dir, '--state-dir', state]);
    const wall = ms(t);
    const m = /applied in (\d+) ms(?: \(per step, ms: ([^)]*)\))?/.exec(r.stderr);
    if (!m) throw new Error(`no timing in apply output:\n${r.stderr}`);
    return { wall, agent: Number(m[1]), steps: m[2] ?? '' };
  };
  const rows: string[] = [];
  const stepRows: string[] = [];
  try {
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    await startUp(plans.get(0)!);
    const status = await inNs(process.execPath, [...node.slice(1), 'status', '--state-dir', state]);
    const t = process.hrtime.bigint();
    await inNs(process.execPath, [...node.slice(1), 'status', '--state-dir', state]);
    const cli = ms(t);
    void status;
    for (const k of CHANGES) {
      const inAgent: number[] = [];
      const wall: number[] = [];
      const steps: { agent: number; steps: string }[] = [];
      for (let run = 0; run < RUNS; run++) {
        const r = await apply(plans.get(k)!);
        inAgent.push(r.agent);
        wall.push(r.wall);
        steps.push(r);
        await apply(plans.get(0)!);
      }
      const mid = median(inAgent);
      stepRows.push(`${k} changed (median run, ${mid} ms): ${steps.find((x) => x.agent === mid)?.steps ?? ''}`);
      if (!DOWN_UP) {
        rows.push(`| ${k} | ${mid.toFixed(0)} ms | ${median(wall).toFixed(0)} ms | not run | |`);
        continue;
      }
      // down + up for the same change (then back, so the next row starts from the base plan).
      const d = await down();
      const u = await startUp(plans.get(k)!);
      await down();
      await startUp(plans.get(0)!);
      rows.push(`| ${k} | ${mid.toFixed(0)} ms | ${median(wall).toFixed(0)} ms | ${(d + u).toFixed(0)} ms (down ${d.toFixed(0)} + up ${u.toFixed(0)}) | ${((d + u) / mid).toFixed(0)}x |`);
    }
    rows.push(`CLI start-up alone (warpc status): ${cli.toFixed(0)} ms`);
    // The floor of an apply that changes routes and nft at all: one empty \`nft -f\` and one empty
    // \`ip -batch\` spawned from Node in the namespace (median of 9), beside the agent's own times.
    const floor = `const { execFileSync } = require('node:child_process'); const t = (c, a) => { const x = []; for (let i = 0; i < 9; i++) { const s = process.hrtime.bigint(); execFileSync(c, a, { input: '' }); x.push(Number(process.hrtime.bigint() - s) / 1e6); } return x.sort((p, q) => p - q)[4].toFixed(1); }; console.log('nft -f - (empty): ' + t('nft', ['-f', '-']) + ' ms, ip -batch - (empty): ' + t('ip', ['-batch', '-']) + ' ms');`;
    rows.push(`floor (spawns from Node in the namespace, median of 9): ${(await inNs(process.execPath, ['-e', floor])).stdout.trim()}`);
    await down();
  } finally {
    if (agent) (agent as ChildProcess).kill('SIGTERM');
    await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(`/var/run/wireguard/${ifname}.sock`, { force: true });
    await rm(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`entries: ${ENTRIES}, runs: ${RUNS} (median)\n| changed prefixes | apply, in the agent | warpc apply command | down + up | down+up / apply |\n|---|---|---|---|---|\n${rows.join('\n')}\nagent's time per step (each includes its journal write):\n${stepRows.join('\n')}\n`);
}

await main();
