/**
 * Bench: the compiler at scale, and the CLI's start-up.
 *
 *   npm run build && node dist/bench/compile/run.js [--sizes 10000,100000,1000000] [--families 4,6]
 *       [--commands floor,check,linux,all] [--baseline OTHER/dist/src/cli/main.js] [--timeout 300] [--runs 5] [--repeat 1]
 *
 * For each size and family it writes a profile of that many excluded prefixes (IPv4: distinct /24s
 * spread over the whole space; IPv6: distinct /64s under 2001:db8::/32), then runs the built CLI
 * (`warpc check`, `warpc compile --target linux`, `warpc compile --target all`) under GNU time and
 * prints wall time, CPU time (user + system), peak RSS and what it wrote. With --baseline, the same commands run with another
 * build of warpc (a checkout of an older commit, built) in the same run, row by row, so the two
 * columns share the machine's mood. With --repeat N, each row is run N times (warpc and the baseline
 * alternating) and each column shows its run of median wall time: one run moves by ±10% on a
 * shared machine. A run past --timeout seconds is stopped and reported as such.
 *
 * "warpc" is the bin the package installs (package.json's `bin`: dist/bin/warpc.js, the CLI
 * bundled by `npm run build`); --baseline names any other entry point (another build's
 * dist/src/cli/main.js or dist/bin/warpc.js).
 *
 * Start-up: the median of --runs interleaved runs of `node -e 0` (the floor), `warpc --version`,
 * `warpc status`, `warpc check` on a 20-entry block-style profile and on
 * fixtures/corporate-exclude (flow style: the full YAML parser), and each one's ratio to the floor.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../../..');
/** The bin the package installs (package.json's `bin`: the esbuild bundle, dist/bin/warpc.js), not tsc's modules. */
const CLI = join(REPO, (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: { warpc: string } }).bin.warpc);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const SIZES = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
const FAMILIES = arg('--families', '4,6').split(',').map(Number) as (4 | 6)[];
const COMMANDS = arg('--commands', 'check,linux,all').split(',');
const BASELINE = process.argv.includes('--baseline') ? resolve(arg('--baseline', '')) : null;
const TIMEOUT_S = Number(arg('--timeout', '300'));
const RUNS = Number(arg('--runs', '5'));
const REPEAT = Number(arg('--repeat', '1'));

/** A profile of `n` excluded prefixes of one family; deterministic, every prefix distinct. */
export function scaleProfile(n: number, family: 4 | 6): string {
  const lines = ['version: 1', 'name: scale', 'split_tunnel:', '  mode: exclude', '  entries:'];
  for (let i = 0; i < n; i++) {
    // An odd multiplier is a bijection modulo 2^24 (2^32): distinct i give distinct prefixes.
    if (family === 4) {
      const x = Math.imul(i, 2654435761) >>> 8; // 24 bits
      lines.push(`    - address: ${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`);
    } else {
      const x = Math.imul(i, 2654435761) >>> 0; // 32 bits
      lines.push(`    - address: 2001:db8:${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}::/64`);
    }
  }
  return `${lines.join('\n')}\n`;
}

interface Run {
  readonly status: string;
  readonly wallS: number;
  /** User + system CPU seconds: on a shared machine, less sensitive to other jobs than wall time. */
  readonly cpuS: number;
  readonly rssMB: number;
}

/**
 * The floor (`--commands floor`): a bare Node.js process that reads the profile, splits it
 * into lines and turns every `address:` into two numbers (IPv4) or four (IPv6), with no
 * validation, plan or output. No compiler in Node.js reads the profile for less, so it
 * shows how much of a target the machine leaves at that size.
 */
const FLOOR = `
const text = require('node:fs').readFileSync(process.argv[1], 'utf8');
let n = 0, sum = 0;
for (const line of text.split('\\n')) {
  const i = line.indexOf('address: ');
  if (i < 0) continue;
  const cidr = line.slice(i + 9);
  const [addr, len] = cidr.split('/');
  const parts = addr.includes(':') ? addr.split(':').map((g) => parseInt(g || '0', 16)) : addr.split('.').map(Number);
  for (const p of parts) sum += p;
  sum += Number(len);
  n++;
}
if (n === 0 || Number.isNaN(sum)) process.exit(1);
`;

function timed(cli: string, args: readonly string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', process.execPath, ...(cli === 'floor' ? ['-e', FLOOR, args[1]!] : [cli, ...args])], {
    encoding: 'utf8',
    timeout: TIMEOUT_S * 1000,
    maxBuffer: 1 << 30,
  });
  if (r.error || r.signal) return { status: r.signal === 'SIGTERM' ? `stopped after ${TIMEOUT_S} s` : `failed (${r.error?.message ?? r.signal})`, wallS: NaN, cpuS: NaN, rssMB: NaN };
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(last);
  if (!m) return { status: 'no figures', wallS: NaN, cpuS: NaN, rssMB: NaN };
  const code = r.status ?? -1;
  let status = code === 0 ? 'ok' : code === 1 ? 'errors (exit 1)' : `exit ${code}`;
  if (/internal error/.test(r.stderr)) status = `internal error: ${(/internal error: (.*)/.exec(r.stderr)?.[1] ?? '').slice(0, 60)}`;
  return { status, wallS: Number(m[1]), cpuS: Number(m[3]) + Number(m[4]), rssMB: Number(m[2]) / 1024 };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(full) : statSync(full).size;
  }
  return total;
}

function cell(r: Run): string {
  return r.status === 'ok' || r.status === 'errors (exit 1)' ? `${r.wallS.toFixed(2)} s (cpu ${r.cpuS.toFixed(2)} s) / ${r.rssMB.toFixed(0)} MB${r.status === 'ok' ? '' : ' (exit 1)'}` : r.status;
}

/** The run of median wall time (a failed run counts as the slowest). */
function medianRun(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => (Number.isNaN(a.wallS) ? Infinity : a.wallS) - (Number.isNaN(b.wallS) ? Infinity : b.wallS));
  return sorted[Math.floor(sorted.length / 2)]!;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}

/**
 * Wall milliseconds from spawning `node args` to its exit, and its CPU milliseconds (user +
 * system, from GNU time): on a loaded machine the CPU time moves much less than the wall time.
 */
function spawnMs(args: readonly string[]): { wall: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(r.stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

/**
 * Start-up medians of --runs rounds. Each round runs `node -e 0`, then every command with
 * warpc and with the baseline, back to back, so a loaded machine slows every column alike.
 */
function startupTable(commands: readonly { readonly label: string; readonly args: readonly string[] }[]): void {
  const floor: { wall: number; cpu: number }[] = [];
  const ours = commands.map((): { wall: number; cpu: number }[] => []);
  const theirs = commands.map((): { wall: number; cpu: number }[] => []);
  for (let i = 0; i < RUNS; i++) {
    floor.push(spawnMs(['-e', '0']));
    commands.forEach(({ args }, c) => {
      ours[c]!.push(spawnMs([CLI, ...args]));
      if (BASELINE) theirs[c]!.push(spawnMs([BASELINE, ...args]));
    });
  }
  const wall = (xs: { wall: number }[]): number => median(xs.map((x) => x.wall));
  const cpu = (xs: { cpu: number }[]): number => median(xs.map((x) => x.cpu));
  const f = wall(floor);
  const fc = cpu(floor);
  const cell = (xs: { wall: number; cpu: number }[]): string => `${wall(xs).toFixed(0)} (${(wall(xs) / f).toFixed(2)}×), cpu ${cpu(xs).toFixed(0)} (${(cpu(xs) / fc).toFixed(2)}×)`;
  console.log(
    `\nStart-up, median of ${RUNS} interleaved rounds (wall ms and × node -e 0, then CPU ms and ×):\n\n| command | warpc |${BASELINE ? ' baseline |' : ''}\n|---|---:|${BASELINE ? '---:|' : ''}`,
  );
  console.log(`| node -e 0 | ${f.toFixed(0)}, cpu ${fc.toFixed(0)} |${BASELINE ? ' |' : ''}`);
  commands.forEach(({ label }, c) => console.log(`| ${label} | ${cell(ours[c]!)} |${BASELINE ? ` ${cell(theirs[c]!)} |` : ''}`));
}

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'warpc-bench-compile-'));
  try {
    console.log(
      `load average at the start: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `warpc compile bench: node ${process.version}, warpc ${CLI}, sizes ${SIZES.join('/')}, timeout ${TIMEOUT_S} s${BASELINE ? `, baseline ${BASELINE}` : ''}${REPEAT > 1 ? `, each row the median of ${REPEAT} runs` : ''}`,
    );
    const head = BASELINE
      ? '| entries | family | command | warpc: wall (cpu) / peak RSS | baseline: wall (cpu) / peak RSS | written |'
      : '| entries | family | command | wall (cpu) / peak RSS | written |';
    console.log(`\n${head}\n${head.replace(/[^|]+/g, '---')}`);
    for (const n of SIZES) {
      for (const family of FAMILIES) {
        const profile = join(tmp, `scale-${family}-${n}.yaml`);
        writeFileSync(profile, scaleProfile(n, family));
        for (const command of COMMANDS) {
          const out = join(tmp, 'out');
          const args = command === 'check' ? ['check', profile, '--format', 'json'] : ['compile', profile, '--target', command, '--out', out, '--format', 'json'];
          // --repeat rounds, warpc and the baseline alternating; the last of warpc's outputs is measured.
          const ourRuns: Run[] = [];
          const theirRuns: Run[] = [];
          for (let r = 0; r < REPEAT; r++) {
            if (r > 0) rmSync(out, { recursive: true, force: true });
            if (BASELINE && command !== 'floor') {
              theirRuns.push(timed(BASELINE, args));
              rmSync(out, { recursive: true, force: true });
            }
            ourRuns.push(timed(command === 'floor' ? 'floor' : CLI, args));
          }
          const ours = medianRun(ourRuns);
          let written = '—';
          if (command !== 'check' && command !== 'floor') {
            try {
              written = `${(dirBytes(out) / 1e6).toFixed(1)} MB`;
            } catch {
              written = 'nothing';
            }
            rmSync(out, { recursive: true, force: true });
          }
          let row = `| ${n.toLocaleString('en')} | IPv${family} | ${command === 'check' ? 'check' : command === 'floor' ? 'floor: node reads and splits the profile' : `compile --target ${command}`} | ${cell(ours)} |`;
          if (BASELINE && command !== 'floor') row += ` ${cell(medianRun(theirRuns))} |`;
          else if (BASELINE) row += ' — |';
          console.log(`${row} ${written} |`);
        }
        rmSync(profile, { force: true });
      }
    }

    console.log(
      `\nload average at the end of the table: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    const flow = join(REPO, 'fixtures/corporate-exclude/profile.yaml');
    const block = join(tmp, 'block-20.yaml');
    writeFileSync(block, scaleProfile(20, 4));
    const state = join(tmp, 'state');
    startupTable([
      { label: 'warpc --version', args: ['--version'] },
      { label: 'warpc status', args: ['status', '--state-dir', state] },
      { label: 'warpc check (20 entries, block style)', args: ['check', block] },
      { label: 'warpc check (corporate-exclude, flow style)', args: ['check', flow] },
    ]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
