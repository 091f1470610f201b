/**
 * Bench: `warpc preview` at scale — page size, and how soon the page is interactive in
 * headless Chromium.
 *
 *   npm run build && node dist/bench/preview/run.js [--sizes 10000,100000] [--runs 3]
 *
 * For each size: a profile of that many excluded IPv4 /24s (as bench/compile), `warpc preview
 * --target linux` under GNU time (wall, RSS, page size), then the page opened from file:// in
 * /usr/bin/chromium (playwright-core): the time from navigation to the page's ready mark
 * (its script has parsed the plan and built the first table rows) plus one answer from the
 * "test a destination" box, beside the same for a minimal HTML page (the browser's floor),
 * median of --runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const SIZES = arg('--sizes', '10000,100000').split(',').map(Number);
const RUNS = Number(arg('--runs', '3'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function profile(n: number): string {
  const lines = ['version: 1', 'name: scale', 'split_tunnel:', '  mode: exclude', '  entries:'];
  for (let i = 0; i < n; i++) {
    const x = Math.imul(i, 2654435761) >>> 8;
    lines.push(`    - address: ${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`);
  }
  return `${lines.join('\n')}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'warpc-bench-preview-'));
const context = await chromium.launchPersistentContext(join(dir, 'chromium'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const floorFile = join(dir, 'floor.html');
  writeFileSync(floorFile, '<!doctype html><html><body><input id="probe"><script>document.body.setAttribute("data-ready","1")</script></body></html>');
  const open = async (file: string, probe: boolean): Promise<number> => {
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
    if (probe) {
      await page.fill('#probe', '8.8.8.8');
      await page.waitForFunction('document.getElementById("probe-json").textContent.length > 0');
    }
    const ms = Date.now() - t0;
    await page.close();
    return ms;
  };
  console.log(`node ${process.version}; median of ${RUNS} page loads; preview --target linux`);
  console.log('| entries | warpc preview | page size | interactive (ready + one answer) | minimal page (floor) |');
  console.log('|---|---|---|---|---|');
  for (const n of SIZES) {
    const yaml = join(dir, `p${n}.yaml`);
    const html = join(dir, `p${n}.html`);
    writeFileSync(yaml, profile(n));
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, CLI, 'preview', yaml, '--target', 'linux', '--out', html], { encoding: 'utf8' });
    const m = /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`preview failed: ${r.stderr.slice(-400)}`);
    const loads: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await open(floorFile, false));
      loads.push(await open(html, true));
    }
    console.log(`| ${n} | ${Number(m[1]).toFixed(2)} s / ${(Number(m[2]) / 1024).toFixed(0)} MB | ${(statSync(html).size / 1e6).toFixed(2)} MB | ${(median(loads) / 1000).toFixed(2)} s | ${(median(floors) / 1000).toFixed(2)} s |`);
  }
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}
