/**
 * `warpc apply`, inside the running agent: turn the plan it runs into a new
 * compiled plan by changing only the difference, step by step under the
 * journal, and roll every done step back, in reverse, when one fails.
 *
 * Order: verify → compatible? → journal (transition) → tunnel → routes →
 * firewall → dns → proxy → health → commit. Routes and rules go in one
 * `ip -batch` per family (replace/add before delete, never a flush); nft in one
 * `nft -f` transaction; the DNS proxy is reconfigured in-process. A crash at
 * any moment leaves a journal whose restore data cover both plans, so
 * `recover` puts the device back whole. WARPC_FAULT_AFTER=apply-<step> kills
 * the agent right after that step (crash tests); WARPC_APPLY_FAIL_AFTER=<step>
 * makes the step fail (rollback tests).
 */
import type { Executor } from '../exec.js';
import { parseWgConf } from '../tunnel/wgconf.js';
import { healthCheck, runResolved, type Log, type RunningAgent } from './agent.js';
import { loadCompiled, withDeviceOverride, type CompiledLinux } from './compiled.js';
import type { DeviceOverride } from '../../contract/device-override.js';
import { writeJournal, type Journal, type PlanRef } from './journal.js';
import { tunnelControl, type TunnelSpec } from './link.js';
import { rulesOfBatch, type RuleSpec } from './netstate.js';
import { batchDiff, hostElements, nftSetsUpdateText, nftSwapText, parseBatch, parseRuleset, type ParsedBatch, type ParsedRuleset } from './plan-diff.js';
import { sha256, writeResolv } from './resolv.js';

export const APPLY_STEPS = ['journal', 'tunnel', 'routes', 'firewall', 'dns', 'proxy', 'health', 'commit'] as const;
export type ApplyStep = (typeof APPLY_STEPS)[number];

/** The agent's running state; apply replaces `compiled` on success. */
export interface LiveAgent extends Omit<RunningAgent, 'compiled'> {
  compiled: CompiledLinux;
  /** The plan before the last apply (kept verified in memory for an --timeout rollback). */
  previousCompiled: CompiledLinux | null;
}

export interface ApplyResult {
  readonly changed: boolean;
  readonly summary: string[];
}

export class ApplyError extends Error {
  constructor(
    message: string,
    /** True when the device is back on the previous plan (or was never changed). */
    readonly rolledBack: boolean,
  ) {
    super(message);
  }
}

function faultHook(step: string): void {
  if (process.env['WARPC_FAULT_AFTER'] === `apply-${step}`) process.kill(process.pid, 'SIGKILL');
  // Tests of the rollback: fail (throw) right after a step, as a failing command would.
  if (process.env['WARPC_APPLY_FAIL_AFTER'] === step) throw new Error(`injected failure after step ${step} (WARPC_APPLY_FAIL_AFTER)`);
}

const text = (c: CompiledLinux, name: string): string => (c.files.get(name) ?? Buffer.alloc(0)).toString('utf8');
const bytesEqual = (a: CompiledLinux, b: CompiledLinux, name: string): boolean => {
  const x = a.files.get(name);
  const y = b.files.get(name);
  return x === undefined || y === undefined ? x === y : x.equals(y);
};

/** What cannot change in place: the answer names it, and nothing is changed. */
export function incompatibilities(from: CompiledLinux, to: CompiledLinux): string[] {
  const a = from.settings;
  const b = to.settings;
  const out: string[] = [];
  const same = (what: string, x: unknown, y: unknown): void => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${what} (${JSON.stringify(x)} -> ${JSON.stringify(y)})`);
  };
  same('features', a.features, b.features);
  same('interface name', a.interface.name, b.interface.name);
  same('routing table', a.routing.table, b.routing.table);
  same('fwmark', a.routing.fwmark, b.routing.fwmark);
  same('nft table', a.nft_table, b.nft_table);
  same('DNS listen addresses', a.dns?.listen ?? null, b.dns?.listen ?? null);
  same('resolved.sh present', from.files.has('resolved.sh'), to.files.has('resolved.sh'));
  same('tunnel protocol', from.masque ? 'masque' : 'wireguard', to.masque ? 'masque' : 'wireguard');
  // A MASQUE session's endpoint, server pin and SNI are fixed for its lifetime (no in-place update yet).
  if (from.masque && to.masque) same('MASQUE settings (masque.json)', from.masque, to.masque);
  return out;
}

/**
 * Parses of a plan's big artifacts, kept with the plan: the agent holds the plan
 * it runs, so the next apply reads only the new plan's files (10,000 routes take
 * hundreds of milliseconds to parse on a busy machine).
 */
interface PlanParse {
  batch: Map<string, ParsedBatch>;
  rules?: RuleSpec[];
  ruleset?: ParsedRuleset | null;
}
const parses = new WeakMap<CompiledLinux, PlanParse>();
function parseOf(c: CompiledLinux): PlanParse {
  let p = parses.get(c);
  if (!p) parses.set(c, (p = { batch: new Map() }));
  return p;
}
function batchOf(c: CompiledLinux, file: string): ParsedBatch {
  const p = parseOf(c);
  let b = p.batch.get(file);
  if (!b) p.batch.set(file, (b = parseBatch(text(c, file))));
  return b;
}
function rulesetOf(c: CompiledLinux): ParsedRuleset | null {
  const p = parseOf(c);
  if (p.ruleset === undefined) p.ruleset = parseRuleset(text(c, 'ruleset.nft'));
  return p.ruleset;
}

function tunnelSpec(c: CompiledLinux): TunnelSpec {
  const s = c.settings;
  return { ifname: s.interface.name, ipv4: s.interface.ipv4, ipv6: s.interface.ipv6, mtu: s.interface.mtu, conf: c.masque ? null : parseWgConf(text(c, 'wireguard.conf')), privateKey: '' };
}

function ruleSpecsOf(c: CompiledLinux): RuleSpec[] {
  const p = parseOf(c);
  // Rules from the parsed command lines (comments and routes skipped once, by parseBatch).
  p.rules ??= [...rulesOfBatch(batchOf(c, 'routes4.batch').lines.filter((l) => l.startsWith('rule ')).join('\n'), '-4'), ...rulesOfBatch(batchOf(c, 'routes6.batch').lines.filter((l) => l.startsWith('rule ')).join('\n'), '-6')];
  return p.rules;
}

function unionSpecs(a: readonly RuleSpec[], b: readonly RuleSpec[]): RuleSpec[] {
  const seen = new Set<string>();
  const out: RuleSpec[] = [];
  for (const r of [...a, ...b]) {
    const k = `${r.fam} ${r.args.join(' ')}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(r);
    }
  }
  return out;
}

/** Load and verify a folder against its manifest (nothing changes when it fails). */
export async function loadForApply(dir: string, override?: DeviceOverride): Promise<CompiledLinux> {
  try {
    return withDeviceOverride(await loadCompiled(dir), override);
  } catch (err) {
    throw new ApplyError(`${(err as Error).message}\nnothing was changed`, true);
  }
}

/**
 * Move the running agent from its plan to `next`. Resolves with what changed;
 * rejects with ApplyError after rolling back (or before changing anything).
 */
export async function applyPlan(exec: Executor, agent: LiveAgent, next: CompiledLinux, log: Log, opts: { timeoutSeconds?: number } = {}): Promise<ApplyResult> {
  const t0 = performance.now();
  const j: Journal = agent.journal;
  const from = agent.compiled;
  if (next.manifestSha256 === from.manifestSha256) {
    // Nothing changes, a pending --timeout deadline included (warpc confirm keeps a plan).
    return { changed: false, summary: [`already running plan ${next.manifestSha256.slice(0, 12)}: nothing to change`] };
  }
  const bad = incompatibilities(from, next);
  if (bad.length > 0) throw new ApplyError(`the new plan changes what cannot change in place: ${bad.join('; ')}; use warpc down and warpc up\nnothing was changed`, true);
  const s = next.settings;
  const fromRef: PlanRef = { manifest_sha256: j.manifest_sha256, compiled_dir: j.compiled_dir, applied_at: j.applied_at ?? j.started_at };
  const undo: { step: string; fn: () => Promise<void> }[] = [];
  const summary: string[] = [];
  const oldSpecs = j.rule_specs;
  const oldResolvedScript = j.dns?.resolved_script ?? null;

  j.transition = {
    from: fromRef,
    to: { manifest_sha256: next.manifestSha256, compiled_dir: next.dir },
    started_at: new Date().toISOString(),
    state: 'applying',
    steps_done: [],
    resolv_sha256: s.features.dns && j.dns?.manager === 'resolv.conf' && !bytesEqual(from, next, 'resolv.conf') ? sha256(next.files.get('resolv.conf') as Buffer) : null,
  };
  // Restore data cover both plans from here on.
  j.rule_specs = unionSpecs(oldSpecs, ruleSpecsOf(next));
  // Per-step time (the step's work + its journal write), reported with the result.
  const timings: string[] = [];
  let tStep = performance.now();
  const done = async (step: ApplyStep): Promise<void> => {
    j.transition!.steps_done.push(step);
    await writeJournal(exec, j);
    faultHook(step);
    const now = performance.now();
    timings.push(`${step} ${(now - tStep).toFixed(1)}`);
    tStep = now;
  };
  const run = async (step: ApplyStep, fn: () => Promise<(() => Promise<void>) | null>): Promise<void> => {
    const u = await fn();
    if (u) undo.push({ step, fn: u });
    await done(step);
  };

  try {
    await done('journal');

    await run('tunnel', async () => {
      if (!s.features.tunnel || (bytesEqual(from, next, 'wireguard.conf') && JSON.stringify(from.settings.interface) === JSON.stringify(s.interface))) return null;
      const ctl = tunnelControl(exec, { backend: j.tunnel?.backend ?? 'wireguard-go', socket: j.tunnel?.socket ?? null });
      const [a, b] = [tunnelSpec(from), tunnelSpec(next)];
      const what = await ctl.update(a, b);
      if (what.length > 0) summary.push(`tunnel: ${what.join(', ')} changed in place`);
      return async () => void (await ctl.update(b, a));
    });

    await run('routes', async () => {
      if (!s.features.routes) return null;
      const undos: (() => Promise<void>)[] = [];
      for (const [fam, file] of [['-4', 'routes4.batch'], ['-6', 'routes6.batch']] as const) {
        const [a, b] = [batchOf(from, file), batchOf(next, file)];
        const d = batchDiff(a, b);
        if (d.apply === '') continue;
        const back = batchDiff(b, a);
        // Undo first in line: a batch that failed half-way is undone line by line (-force: idempotent).
        undos.unshift(async () => void (await exec.run('ip', ['-force', fam, '-batch', '-'], { input: back.apply })));
        try {
          await exec.run('ip', [fam, '-batch', '-'], { input: d.apply });
        } catch (err) {
          await Promise.all(undos.map((u) => u().catch(() => undefined)));
          throw err;
        }
        summary.push(`routes ${fam}: ${d.added} added, ${d.replaced} replaced, ${d.removed} removed`);
      }
      return undos.length === 0 ? null : async () => {
        for (const u of undos) await u();
      };
    });

    await run('firewall', async () => {
      if (!s.features.firewall || bytesEqual(from, next, 'ruleset.nft')) return null;
      const table = s.nft_table;
      const [a, b] = [rulesetOf(from), rulesetOf(next)];
      const forward = a && b ? nftSetsUpdateText(a, b, table) : null;
      const backward = a && b ? nftSetsUpdateText(b, a, table) : null;
      if (forward !== null && backward !== null) {
        // Only set elements differ: refill the changed sets in one transaction; the table,
        // its chains and the runtime host_* sets are not touched (nothing to read back).
        if (forward !== '') await exec.run('nft', ['-f', '-'], { input: forward });
        summary.push(`nft table inet ${table}: ${forward.split('\n').filter((l) => l.startsWith('flush set')).length} set(s) refilled in one transaction`);
        return async () => {
          if (backward !== '') await exec.run('nft', ['-f', '-'], { input: backward });
        };
      }
      // Anything else changed: replace the table whole, carrying the runtime host elements over.
      const hostSets = (r: string): string[] => [...r.matchAll(/^\s*set (host_\S+) \{/gm)].map((m) => m[1]!);
      const swap = async (ruleset: string, live: string): Promise<void> => {
        const lists = await Promise.all(hostSets(live).map((name) => exec.run('nft', ['-j', 'list', 'set', 'inet', table, name], { allowFail: true })));
        const elems = lists.flatMap((l) => (l.code === 0 ? hostElements(l.stdout) : []));
        await exec.run('nft', ['-f', '-'], { input: nftSwapText(ruleset, table, elems) });
      };
      await swap(text(next, 'ruleset.nft'), text(from, 'ruleset.nft'));
      summary.push(`nft table inet ${table} replaced in one transaction (runtime host entries kept)`);
      return () => swap(text(from, 'ruleset.nft'), text(next, 'ruleset.nft'));
    });

    await run('dns', async () => {
      if (!s.features.dns || !j.dns) return null;
      const dns = j.dns;
      if (dns.manager === 'resolv.conf' && j.snapshot.resolv && !bytesEqual(from, next, 'resolv.conf')) {
        const snap = j.snapshot.resolv;
        await writeResolv(exec, snap, next.files.get('resolv.conf') as Buffer);
        summary.push('resolv.conf rewritten in place');
        return () => writeResolv(exec, snap, from.files.get('resolv.conf') as Buffer);
      }
      if (dns.manager === 'systemd-resolved' && !bytesEqual(from, next, 'resolved.sh')) {
        dns.resolved_script = text(next, 'resolved.sh');
        await writeJournal(exec, j);
        await runResolved(exec, j, 'up');
        summary.push('systemd-resolved link settings updated');
        return async () => {
          dns.resolved_script = oldResolvedScript;
          await runResolved(exec, j, 'up');
        };
      }
      return null;
    });

    await run('proxy', async () => {
      if (!agent.proxy || bytesEqual(from, next, 'dns-proxy.json')) return null;
      const proxy = agent.proxy;
      const dropped = proxy.reconfigure(text(next, 'dns-proxy.json'));
      summary.push(`DNS proxy reconfigured in place (${dropped} cached answers dropped)`);
      return async () => void proxy.reconfigure(text(from, 'dns-proxy.json'));
    });

    await healthCheck(exec, next, { ...j, rule_specs: ruleSpecsOf(next) });
    await done('health');
  } catch (err) {
    const why = (err as Error).message;
    log(`apply failed: ${why}; rolling back to plan ${fromRef.manifest_sha256.slice(0, 12)}`);
    j.transition!.state = 'rolling-back';
    await writeJournal(exec, j);
    const errors: string[] = [];
    for (const u of undo.reverse()) {
      try {
        await u.fn();
      } catch (e) {
        errors.push(`${u.step}: ${(e as Error).message}`);
      }
    }
    if (errors.length > 0) {
      // The journal keeps the transition: recover (after down) restores the snapshot whole.
      throw new ApplyError(`apply failed: ${why}\nrollback had errors: ${errors.join('; ')}; the agent keeps running; run warpc down (the journal restores the device whole)`, false);
    }
    j.rule_specs = oldSpecs;
    if (j.dns) j.dns.resolved_script = oldResolvedScript;
    j.transition = null;
    await writeJournal(exec, j);
    throw new ApplyError(`apply failed: ${why}\nrolled back: the device runs plan ${fromRef.manifest_sha256.slice(0, 12)} again, exactly as before`, true);
  }

  // commit
  const now = new Date().toISOString();
  j.previous = fromRef;
  j.manifest_sha256 = next.manifestSha256;
  j.compiled_dir = next.dir;
  j.applied_at = now;
  j.rule_specs = ruleSpecsOf(next);
  if (j.dns && j.transition?.resolv_sha256) j.dns.resolv_written_sha256 = j.transition.resolv_sha256;
  j.apply_deadline = opts.timeoutSeconds !== undefined ? new Date(Date.now() + opts.timeoutSeconds * 1000).toISOString() : null;
  await done('commit');
  j.transition = null;
  await writeJournal(exec, j);
  agent.previousCompiled = from;
  agent.compiled = next;
  if (summary.length === 0) summary.push('no artifact the agent applies changed (only the manifest)');
  summary.push(`applied in ${(performance.now() - t0).toFixed(0)} ms (per step, ms: ${timings.join(', ')})`);
  return { changed: true, summary };
}
