/**
 * Bench: what one cached DNS answer costs in memory, and whether the cache stops growing at its
 * bound. Fills the proxy's cache (src/runtime/dns/cache.ts, with the native answer table attached
 * when it is built) the way the query path does, each insertion among short-lived buffers (a
 * query's parse and render), with unique names of 90-byte answers, at the proxy's own limits.
 *
 *   node --expose-gc --import ./test/runtime/helpers/ts-loader.mjs bench/runtime/cache-memory.ts [--rounds 4]
 *
 * Prints per round: entries, cost (what maxBytes bounds), RSS, heap and array buffers; then the
 * memory per entry at the bound and the RSS growth from the first full round to the last.
 */
import { DnsCache, ENTRY_OVERHEAD_BYTES } from '../../src/runtime/dns/cache.js';
import { DEFAULT_TUNING } from '../../src/runtime/dns/proxy.js';
import { AnswerTable, udpBatch } from '../../src/runtime/dns/udp-batch.js';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i >= 0 ? Number(process.argv[i + 1]) : 4;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const cache = new DnsCache({ maxEntries: DEFAULT_TUNING.cacheMaxEntries, maxBytes: DEFAULT_TUNING.cacheMaxBytes, entryOverheadBytes: ENTRY_OVERHEAD_BYTES });
const native = udpBatch();
if (native) cache.attachMirror(new AnswerTable(native), Date.now());
const mb = (n: number): string => (n / 1048576).toFixed(1);
const mem = (): NodeJS.MemoryUsage => {
  gc();
  gc();
  return process.memoryUsage();
};
const m0 = mem();
// Enough insertions per round to fill the cache from empty (the entry bound or the byte bound).
const perRound = Math.min(DEFAULT_TUNING.cacheMaxEntries, Math.ceil(DEFAULT_TUNING.cacheMaxBytes / (90 + 24 + ENTRY_OVERHEAD_BYTES))) * 2;
const transient: Buffer[] = [];
let n = 0;
const now = Date.now();
const rows: { rss: number; entries: number }[] = [];
process.stdout.write(`native answer table: ${native ? 'attached' : 'not built'}; limits: ${DEFAULT_TUNING.cacheMaxEntries} entries, ${mb(DEFAULT_TUNING.cacheMaxBytes)} MiB (overhead ${ENTRY_OVERHEAD_BYTES} B/entry)\n`);
process.stdout.write('| round | insertions | entries | cost (MiB) | RSS (MiB) | heap used (MiB) | array buffers (MiB) |\n|---|---|---|---|---|---|---|\n');
for (let r = 1; r <= ROUNDS; r++) {
  for (let k = 0; k < perRound; k++, n++) {
    // What a query leaves behind meanwhile: a few pooled buffers that die soon after.
    for (let t = 0; t < 6; t++) transient.push(Buffer.allocUnsafe(200 + ((t * 37) % 300)));
    if (transient.length > 600) transient.splice(0, 300);
    const data = Buffer.alloc(90, n & 255);
    data.writeUInt32BE(300, 40);
    cache.set(`\x01u${n}\x05bench\x04test\x00\x00\x01\x00\x01\x00`, data, [40], 300, now);
  }
  const m = mem();
  rows.push({ rss: m.rss, entries: cache.size });
  process.stdout.write(`| ${r} | ${n} | ${cache.size} | ${mb(cache.costBytes)} | ${mb(m.rss)} | ${mb(m.heapUsed)} | ${mb(m.arrayBuffers)} |\n`);
}
const first = rows[0]!;
const last = rows[rows.length - 1]!;
process.stdout.write(`RSS per entry at the bound: ${((first.rss - m0.rss) / first.entries).toFixed(0)} B (start ${mb(m0.rss)} MiB); growth from round 1 to round ${ROUNDS}: ${(((last.rss - first.rss) * 100) / first.rss).toFixed(1)}%\n`);
