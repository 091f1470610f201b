// Summarize V8 .cpuprofile files: self time by function (top N), as a share of the sampled time.
// Usage: node bench/tunnel/profile-summary.mjs DIR [N]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 15);
for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const self = new Map();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  p.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  let total = 0;
  for (const [id, t] of dt) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? cf.url.replace(/^.*\/(src|dist|node:)/, '$1') : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + t);
    total += t;
  }
  const idle = self.get('(idle)') ?? 0;
  console.log(`\n${f}: ${(total / 1e6).toFixed(1)} s sampled, ${(((total - idle) / total) * 100).toFixed(0)}% busy`);
  for (const [k, t] of [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((t / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
