/**
 * Bench: `warpc diff` of two 100k-entry profiles that differ in 1% of their entries.
 *
 *   npm run build && node dist/bench/diff/run.js [--size 100000] [--families 4,6] [--runs 3]
 *
 * Profile A lists `size` distinct excluded prefixes (IPv4 /24s spread over the space, IPv6 /64s under
 * 2001:db8::/32, as bench/compile does); B replaces every 100th entry with a prefix A does not list.
 * Each row runs, interleaved and under GNU time, the peer `warpc check A` + `warpc check B` (reading,
 * validating and planning both sides: the floor any plan-level diff pays), then `warpc diff A B
 * --target none` (plan-level), then `warpc diff A B` (plus the linux artifacts, the default), and
 * prints the median wall time, peak RSS and the diff's ratio to the two checks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const SIZE = Number(arg('--size', '100000'));
const FAMILIES = arg('--families', '4,6').split(',').map(Number) as (4 | 6)[];
const RUNS = Number(arg('--runs', '3'));

function prefix(i: number, family: 4 | 6): string {
  if (family === 4) {
    const x = Math.imul(i, 2654435761) >>> 8;
    return `${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`;
  }
  const x = Math.imul(i, 2654435761) >>> 0;
  return `2001:db8:${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}::/64`;
}

/** Entries 0..n-1; with `changed`, every 100th is replaced by entry n + k (never listed in the original). */
function profile(n: number, family: 4 | 6, changed: boolean): string {
  const lines = ['version: 1', 'name: scale', 'split_tunnel:', '  mode: exclude', '  entries:'];
  let k = 0;
  for (let i = 0; i < n; i++) lines.push(`    - address: ${prefix(changed && i % 100 === 50 ? n + k++ : i, family)}`);
  return `${lines.join('\n')}\n`;
}

function timed(args: readonly string[]): { wall: number; rss: number; code: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no figures from ${args.join(' ')}: ${r.stderr.slice(-300)}`);
  return { wall: Number(m[1]), rss: Number(m[2]) / 1024, code: r.status ?? -1 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'warpc-bench-diff-'));
try {
  console.log(`node ${process.version}; ${SIZE} entries per profile, 1% (${SIZE / 100}) replaced; median of ${RUNS} interleaved runs`);
  console.log('| family | check A + check B (peer) | diff --target none | ratio | diff (linux artifacts) | ratio | moves |');
  console.log('|---|---|---|---|---|---|---|');
  for (const family of FAMILIES) {
    const a = join(dir, `a${family}.yaml`);
    const b = join(dir, `b${family}.yaml`);
    writeFileSync(a, profile(SIZE, family, false));
    writeFileSync(b, profile(SIZE, family, true));
    const checks: number[] = [];
    const plans: number[] = [];
    const fulls: number[] = [];
    let rssPlan = 0;
    let rssFull = 0;
    for (let r = 0; r < RUNS; r++) {
      checks.push(timed(['check', a, '--target', 'linux']).wall + timed(['check', b, '--target', 'linux']).wall);
      const p = timed(['diff', a, b, '--target', 'none']);
      if (p.code !== 0) throw new Error(`diff exited ${p.code}`);
      plans.push(p.wall);
      rssPlan = Math.max(rssPlan, p.rss);
      const f = timed(['diff', a, b]);
      fulls.push(f.wall);
      rssFull = Math.max(rssFull, f.rss);
    }
    const json = spawnSync(process.execPath, [CLI, 'diff', a, b, '--target', 'none', '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const moves = (JSON.parse(json.stdout) as { diff: { routing: { moves: unknown[] } } }).diff.routing.moves.length;
    const c = median(checks);
    console.log(
      `| IPv${family} | ${c.toFixed(2)} s | ${median(plans).toFixed(2)} s / ${rssPlan.toFixed(0)} MB | ${(median(plans) / c).toFixed(2)}x | ${median(fulls).toFixed(2)} s / ${rssFull.toFixed(0)} MB | ${(median(fulls) / c).toFixed(2)}x | ${moves} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
