/** `warpc status --diff`'s text form, rendered from the JSON result: `+`/`-` lines grouped by area. */
import type { StatusDiff } from './compare.js';

const AREA_TITLE: Record<string, string> = { rules: 'policy rules', routes: 'routes', nft: 'nft', dns: 'DNS', proxy: 'DNS proxy' };

/** Lines shown of a group that is missing as a whole. */
const WHOLE_SHOWN = 5;

export function statusDiffText(d: StatusDiff): string {
  const out: string[] = [];
  out.push(`plan ${d.plan.manifest_sha256.slice(0, 12)} (${d.plan.compiled_dir}, ${d.plan.source === 'journal' ? 'the plan the journal records' : 'given'}${d.agent_running ? (d.plan.running ? '; the agent runs it' : '; the agent runs another plan') : ''})`);
  for (const n of d.notes) out.push(`note: ${n}`);
  for (const g of d.groups) {
    if (g.lines.length === 0) continue;
    out.push('', `${AREA_TITLE[g.area] ?? g.area}: ${g.name}`);
    // A group the device lacks entirely (after down: a whole set of 100,000 elements) is summarized.
    const whole = g.matching === 0 && g.extra.length === 0 && g.missing.length > WHOLE_SHOWN + 1;
    for (const l of whole ? g.lines.slice(0, WHOLE_SHOWN) : g.lines) out.push(`${l.op} ${l.line}`);
    if (whole) out.push(`- … ${g.missing.length - WHOLE_SHOWN} more lines: the device has none of ${g.name} (--format json lists them)`);
  }
  if (d.runtime_entries.length > 0) {
    out.push('', `runtime host entries (added by the agent from DNS answers; not drift): ${d.runtime_entries.length}`);
    for (const e of d.runtime_entries.slice(0, 20)) out.push(`  ${e.kind} ${e.value}${e.expires_seconds !== null ? ` (expires in ${e.expires_seconds} s)` : ''}`);
    if (d.runtime_entries.length > 20) out.push(`  … ${d.runtime_entries.length - 20} more (--format json lists them all)`);
  }
  out.push('', d.drift ? `drift: ${d.counts.extra} line(s) only on the device (+), ${d.counts.missing} only in the plan (-); ${d.counts.matching} match` : `no drift: ${d.counts.matching} lines match the plan`);
  return `${out.join('\n')}\n`;
}
