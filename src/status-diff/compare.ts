/**
 * `warpc status --diff`: what differs between the live state and a compiled plan,
 * from the canonical lines a runtime platform reads (src/contract/live-state.ts).
 *
 * Decides only what counts as drift: a line the device has and the plan does not
 * is `+`, a line the plan wants and the device lacks is `-` (netplan's `status
 * --diff` convention: the live state against the configuration); groups whose
 * order matters (chain rules, resolv.conf, the proxy's rule lists) are compared
 * as sequences with src/diff's line diff, the others as sets (sorted, then the
 * same diff). Runtime host entries are listed, never drift. It reads nothing and
 * runs nothing itself: the platform did that.
 *
 * The result is the JSON of schema/status-diff.schema.json; text.ts renders it.
 */
import type { LiveStateReport, RuntimeEntry } from '../contract/live-state.js';
import { diffLines } from '../diff/lines.js';

export interface GroupDiff {
  readonly area: string;
  readonly name: string;
  readonly ordered: boolean;
  /** In the live state, not in the plan (`+`). */
  readonly extra: string[];
  /** In the plan, not in the live state (`-`). */
  readonly missing: string[];
  /** Lines present on both sides. */
  readonly matching: number;
  /** The changed lines as the text form prints them: a sequence's edit script in order; a set's missing lines in the plan's order, then its extra lines in the device's. */
  readonly lines: { op: '+' | '-'; line: string }[];
}

export interface StatusDiff {
  readonly ok: true;
  readonly drift: boolean;
  readonly plan: { compiled_dir: string; source: 'argument' | 'journal'; manifest_sha256: string; running: boolean };
  readonly journal_state: string;
  readonly agent_running: boolean;
  readonly dns_manager: string | null;
  readonly counts: { extra: number; missing: number; matching: number };
  readonly groups: GroupDiff[];
  readonly runtime_entries: RuntimeEntry[];
  readonly notes: string[];
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareLive(r: LiveStateReport): StatusDiff {
  const groups: GroupDiff[] = r.groups.map((g) => {
    const [want, have] = g.ordered ? [g.expected, g.live] : [[...g.expected].sort(byCodeUnits), [...g.live].sort(byCodeUnits)];
    let lines: { op: '+' | '-'; line: string }[] = [];
    let matching = 0;
    for (const op of diffLines(want, have)) {
      if (op.op === ' ') matching++;
      else lines.push({ op: op.op, line: op.line });
    }
    if (!g.ordered) {
      // A set has no order: show what is missing in the plan's order, then what is extra in the device's.
      const at = (list: readonly string[]): Map<string, number> => new Map(list.map((l, i) => [l, i] as const).reverse());
      const [inPlan, onDevice] = [at(g.expected), at(g.live)];
      const by = (m: Map<string, number>) => (x: { line: string }, y: { line: string }): number => m.get(x.line)! - m.get(y.line)!;
      lines = [...lines.filter((l) => l.op === '-').sort(by(inPlan)), ...lines.filter((l) => l.op === '+').sort(by(onDevice))];
    }
    return {
      area: g.area,
      name: g.name,
      ordered: g.ordered,
      extra: lines.filter((l) => l.op === '+').map((l) => l.line),
      missing: lines.filter((l) => l.op === '-').map((l) => l.line),
      matching,
      lines,
    };
  });
  const sum = (f: (g: GroupDiff) => number): number => groups.reduce((n, g) => n + f(g), 0);
  const counts = { extra: sum((g) => g.extra.length), missing: sum((g) => g.missing.length), matching: sum((g) => g.matching) };
  return {
    ok: true,
    drift: counts.extra + counts.missing > 0,
    plan: { compiled_dir: r.compiled_dir, source: r.plan_source, manifest_sha256: r.manifest_sha256, running: r.plan_is_running },
    journal_state: r.journal_state,
    agent_running: r.agent_running,
    dns_manager: r.dns_manager,
    counts,
    groups,
    runtime_entries: [...r.runtime],
    notes: [...r.notes],
  };
}
