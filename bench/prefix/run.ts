/**
 * Prefix-set benchmark: warpc's PrefixSet against cidr-tools (v11), side by side in one run.
 *
 *   npm run bench:prefix            (builds, then runs dist/bench/prefix/run.js)
 *   BENCH_REPS=7 npm run bench:prefix
 *
 * Input: 100k random IPv4 and 100k random IPv6 prefixes (fixed seed), a second random set
 * of 10k prefixes (subtracted from the first; also the set complemented), and 200 addresses
 * to look up (half inside an input prefix). Every operation takes
 * CIDR text in and gives CIDR text (or booleans) out, for both libraries, so parsing and
 * formatting are part of every figure. Both answers must be identical, or the run fails.
 *
 * Time: median of BENCH_REPS repetitions in this process (libraries alternate).
 * Memory: each (library, operation, family) once more in a fresh child process, reporting
 * the peak RSS growth during the operation and the heap retained by its result.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { containsCidr, excludeCidr, mergeCidr } from 'cidr-tools';
import { MAX, formatAddress, hostMaskOf, parseAddress, type Family } from '../../src/net/ip.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { mulberry32 } from '../lib/prng.js';

const N_PREFIXES = 100_000;
const N_EXCLUDE = 10_000;
/** cidr-tools re-reads the whole list on every containsCidr call, so lookups are few. */
const N_LOOKUPS = 200;
const SEED = 0x5eed;

// ---------------------------------------------------------------------------
// Data

function randomAddress(family: Family, rng: () => number): bigint {
  let v = 0n;
  for (let i = 0; i < (family === 4 ? 1 : 4); i++) v = (v << 32n) | BigInt(Math.floor(rng() * 2 ** 32));
  return v;
}

/** Lengths: IPv4 /12–/32, IPv6 /24–/128, uniform; networks uniform over the family. */
function randomCidrs(family: Family, n: number, seed: number): string[] {
  const rng = mulberry32(seed);
  const [min, max] = family === 4 ? [12, 32] : [24, 128];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const length = min + Math.floor(rng() * (max - min + 1));
    const network = randomAddress(family, rng) & ~hostMaskOf(family, length) & MAX[family];
    out.push(`${formatAddress(family, network)}/${length}`);
  }
  return out;
}

interface Data {
  family: Family;
  base: string[];
  exclude: string[];
  addresses: string[];
  merged: string[];
}

function makeData(family: Family): Data {
  const base = randomCidrs(family, N_PREFIXES, SEED + family);
  const exclude = randomCidrs(family, N_EXCLUDE, SEED + 100 + family);
  const rng = mulberry32(SEED + 200 + family);
  // Half the lookups inside a random input prefix, half anywhere.
  const addresses = Array.from({ length: N_LOOKUPS }, (_, i) => {
    if (i % 2 === 1) return formatAddress(family, randomAddress(family, rng));
    const [net, len] = base[Math.floor(rng() * base.length)]!.split('/') as [string, string];
    const host = randomAddress(family, rng) & hostMaskOf(family, Number(len));
    return formatAddress(family, parseAddress(net)!.value | host);
  });
  const merged = PrefixSet.fromCidrs(family, base).toCidrs();
  return { family, base, exclude, addresses, merged };
}

// ---------------------------------------------------------------------------
// Operations: the same question asked of both libraries.

type Result = readonly (string | boolean)[];
type Lib = 'warpc' | 'cidr-tools';
const LIBS: readonly Lib[] = ['warpc', 'cidr-tools'];

interface Op {
  name: string;
  describe: string;
  run: Record<Lib, (d: Data) => Result>;
}

const ALL: Record<Family, string> = { 4: '0.0.0.0/0', 6: '::/0' };

const OPS: Op[] = [
  {
    name: 'merge',
    describe: 'union of 100k prefixes -> minimal CIDR list',
    run: {
      warpc: (d) => PrefixSet.fromCidrs(d.family, d.base).toCidrs(),
      'cidr-tools': (d) => mergeCidr(d.base),
    },
  },
  {
    name: 'subtract',
    describe: '100k prefixes minus 10k prefixes',
    run: {
      warpc: (d) => PrefixSet.fromCidrs(d.family, d.base).subtract(PrefixSet.fromCidrs(d.family, d.exclude)).toCidrs(),
      'cidr-tools': (d) => excludeCidr(d.base, d.exclude),
    },
  },
  {
    name: 'complement',
    // Of the 10k set: the complement of 100k IPv6 prefixes is ~6M CIDRs and 1-2 GB.
    describe: 'all addresses minus the 10k prefixes',
    run: {
      warpc: (d) => PrefixSet.fromCidrs(d.family, d.exclude).complement().toCidrs(),
      'cidr-tools': (d) => excludeCidr([ALL[d.family]], d.exclude),
    },
  },
  {
    name: 'contains',
    describe: `${N_LOOKUPS} address lookups in the merged list (warpc builds its set from the text once, inside the timing)`,
    run: {
      warpc: (d) => {
        const set = PrefixSet.fromCidrs(d.family, d.merged);
        return d.addresses.map((a) => set.contains(parseAddress(a)!));
      },
      // cidr-tools has no prebuilt set: every call takes the list again.
      'cidr-tools': (d) => d.addresses.map((a) => containsCidr(d.merged, a)),
    },
  },
];

// ---------------------------------------------------------------------------
// Child: one operation once, for memory.

const gc = (globalThis as { gc?: () => void }).gc;

function child(lib: Lib, opName: string, dataFile: string): void {
  // Data come from a file: generating them here would set a peak RSS the operation might not reach.
  const d = JSON.parse(readFileSync(dataFile, 'utf8')) as Data;
  const op = OPS.find((o) => o.name === opName)!;
  gc?.();
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const peak0 = process.resourceUsage().maxRSS * 1024;
  const result = op.run[lib](d);
  const peak1 = process.resourceUsage().maxRSS * 1024;
  gc?.();
  gc?.();
  const retained = process.memoryUsage().heapUsed - heap0;
  // Peak growth above the larger of the current RSS and any earlier peak.
  const peakGrowth = Math.max(0, peak1 - Math.max(rss0, peak0));
  process.stdout.write(JSON.stringify({ peakGrowth, retained, n: result.length }));
}

// ---------------------------------------------------------------------------
// Main

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sameResult(a: Result, b: Result): string | null {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at ${i}: ${String(a[i])} vs ${String(b[i])}`;
  return null;
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const ms = (t: number): string => (t >= 100 ? t.toFixed(0) : t >= 10 ? t.toFixed(1) : t.toFixed(2));

function main(): void {
  const reps = Number(process.env['BENCH_REPS'] ?? 5);
  const self = fileURLToPath(import.meta.url);
  if (gc === undefined) console.warn('note: run with --expose-gc for steadier figures');
  console.log(`# Prefix sets: warpc PrefixSet vs cidr-tools ${cidrToolsVersion()}`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, median of ${reps} repetitions; seed ${SEED}`);
  console.log(`inputs: ${N_PREFIXES} random prefixes per family (IPv4 /12-/32, IPv6 /24-/128), ${N_EXCLUDE} to subtract, ${N_LOOKUPS} lookups\n`);

  const rows: string[][] = [];
  let failed = false;
  const tmp = mkdtempSync(join(tmpdir(), 'warpc-bench-prefix-'));
  for (const family of [4, 6] as const) {
    const d = makeData(family);
    const dataFile = join(tmp, `data-v${family}.json`);
    writeFileSync(dataFile, JSON.stringify(d));
    for (const op of OPS) {
      const times: Record<Lib, number[]> = { warpc: [], 'cidr-tools': [] };
      const results: Partial<Record<Lib, Result>> = {};
      for (let r = 0; r < reps; r++) {
        const order = r % 2 === 0 ? LIBS : [...LIBS].reverse();
        for (const lib of order) {
          gc?.();
          const t0 = performance.now();
          const res = op.run[lib](d);
          times[lib].push(performance.now() - t0);
          results[lib] ??= res;
        }
      }
      const diff = sameResult(results.warpc!, results['cidr-tools']!);
      if (diff !== null) failed = true;
      const mem = Object.fromEntries(
        LIBS.map((lib) => {
          const out = execFileSync(process.execPath, ['--expose-gc', self, '--child', lib, op.name, dataFile], { encoding: 'utf8', maxBuffer: 1 << 20 });
          return [lib, JSON.parse(out) as { peakGrowth: number; retained: number; n: number }];
        }),
      ) as Record<Lib, { peakGrowth: number; retained: number; n: number }>;
      const tw = median(times.warpc);
      const tc = median(times['cidr-tools']);
      const outLen = results.warpc!.length;
      const outDesc = op.name === 'contains' ? `${results.warpc!.filter((x) => x === true).length}/${outLen} hits` : `${outLen} CIDRs`;
      rows.push([
        `IPv${family}`,
        op.name,
        outDesc,
        diff === null ? 'yes' : `NO: ${diff}`,
        ms(tw),
        ms(tc),
        `${(tc / tw).toFixed(2)}x`,
        `${mb(mem.warpc.peakGrowth)} / ${mb(mem.warpc.retained)}`,
        `${mb(mem['cidr-tools'].peakGrowth)} / ${mb(mem['cidr-tools'].retained)}`,
      ]);
      console.error(`done: IPv${family} ${op.name}: warpc ${ms(tw)} ms, cidr-tools ${ms(tc)} ms`);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  const header = ['family', 'operation', 'output', 'same output', 'warpc ms', 'cidr-tools ms', 'speed-up (cidr-tools/warpc)', 'warpc MB peak RSS / retained', 'cidr-tools MB peak RSS / retained'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((h, i) => (i < 4 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('\noperations:');
  for (const op of OPS) console.log(`- ${op.name}: ${op.describe}`);
  if (failed) {
    console.error('\nFAIL: the libraries disagree; the figures above compare different answers.');
    process.exitCode = 1;
  }
}

function cidrToolsVersion(): string {
  try {
    // The package exports only its entry point; its package.json sits one folder up.
    const pkg = new URL('../package.json', import.meta.resolve('cidr-tools'));
    return `v${(JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version}`;
  } catch {
    return '(version unknown)';
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') child(argv[1] as Lib, argv[2]!, argv[3]!);
else main();
