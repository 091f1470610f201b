/**
 * The agent in the foreground (`warpc up`, `warpc try`), as systemd runs it:
 * apply, then wait for SIGINT/SIGTERM (or `warpc down`, which sends SIGTERM),
 * and restore the snapshot on the way out. `try` also reverts unless
 * `warpc confirm` (SIGUSR1) comes before the deadline.
 */
import { resolve } from 'node:path';
import { RealExecutor } from '../exec.js';
import { sleep } from '../proc.js';
import { agentAlive, recoverFromJournal, revert, up, UpError, type Log } from './agent.js';
import { applyPlan, loadForApply, type ApplyError, type LiveAgent } from './apply.js';
import { controlRequest, startControlServer, type ControlRequest } from './control.js';
import { isOpen, readJournal, writeJournal } from './journal.js';
import { AgentExit, DEFAULT_ROOT, type AgentRequest } from '../platform.js';

export { AgentExit };

export const stderrLog: Log = (msg) => process.stderr.write(`warpc: ${msg}\n`);

export async function runForeground(o: AgentRequest, log: Log = stderrLog): Promise<void> {
  const exec = new RealExecutor({ root: o.root, stateDir: o.stateDir });
  let stopSignal: NodeJS.Signals | null = null;
  let confirmed = false;
  let wake: (() => void) | null = null;
  const onStop = (sig: NodeJS.Signals): void => {
    if (stopSignal === null) log(`${sig} received: stopping`);
    stopSignal = sig;
    wake?.();
  };
  const onConfirm = (): void => {
    confirmed = true;
    wake?.();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onStop);
  process.on('SIGUSR1', onConfirm);
  const onAbort = (): void => onStop('SIGTERM');
  if (o.stop?.aborted) onAbort();
  o.stop?.addEventListener('abort', onAbort);
  try {
    let agent: LiveAgent | Awaited<ReturnType<typeof up>>;
    try {
      agent = await up({
        exec,
        compiledDir: o.compiledDir,
        mode: o.mode,
        log,
        aborted: () => stopSignal !== null,
        ...(o.dnsManager ? { dnsManager: o.dnsManager } : {}),
        ...(o.dohCa ? { dohCa: o.dohCa } : {}),
        ...(o.tryTimeoutSeconds !== undefined ? { tryTimeoutSeconds: o.tryTimeoutSeconds } : {}),
        ...(o.override ? { override: o.override } : {}),
      });
    } catch (err) {
      if (err instanceof UpError) throw new AgentExit(1, `warpc up: ${err.message}`);
      throw err;
    }
    log(`up: ${agent.compiled.settings.service_mode} mode from ${agent.compiled.dir}; state in ${o.stateDir}${o.mode === 'try' ? `; reverting at ${agent.journal.try_deadline} unless confirmed (warpc confirm --state-dir ${o.stateDir})` : ''}`);
    const live: LiveAgent = { ...agent, previousCompiled: null };
    const deadline = agent.journal.try_deadline ? Date.parse(agent.journal.try_deadline) : null;
    let expired = false;
    // One change at a time: apply requests, confirm, and an --timeout rollback.
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const r = chain.then(fn);
      chain = r.catch(() => undefined);
      return r;
    };
    const rollbackUnconfirmed = (): Promise<void> =>
      serial(async () => {
        const dl = live.journal.apply_deadline;
        if (!dl || Date.parse(dl) > Date.now() || !live.previousCompiled) return;
        log(`apply of plan ${live.journal.manifest_sha256.slice(0, 12)} not confirmed by ${dl}: rolling back to plan ${live.previousCompiled.manifestSha256.slice(0, 12)}`);
        try {
          const r = await applyPlan(exec, live, live.previousCompiled, log);
          live.journal.apply_deadline = null;
          await writeJournal(exec, live.journal);
          for (const line of r.summary) log(`rollback: ${line}`);
        } catch (err) {
          log(`rollback of the unconfirmed apply failed: ${(err as Error).message}`);
          live.journal.apply_deadline = null;
          await writeJournal(exec, live.journal);
        }
      });
    const handle = (req: ControlRequest, clientLog: (line: string) => void): Promise<{ ok: boolean; message: string; summary?: string[] }> =>
      serial(async () => {
        const both = (m: string): void => {
          log(m);
          clientLog(m);
        };
        if (req.op === 'state') {
          return { ok: true, message: `running plan ${live.journal.manifest_sha256.slice(0, 12)}`, proxy_config: live.proxy ? live.proxy.configText() : null };
        }
        if (req.op === 'confirm') {
          if (live.journal.apply_deadline) {
            live.journal.apply_deadline = null;
            await writeJournal(exec, live.journal);
            log('apply confirmed: keeping the new plan');
            return { ok: true, message: `confirmed: plan ${live.journal.manifest_sha256.slice(0, 12)} stays` };
          }
          return { ok: true, message: 'nothing to confirm (no apply is waiting for confirmation)' };
        }
        if (stopSignal !== null) return { ok: false, message: 'the agent is stopping; nothing was changed' };
        const next = await loadForApply(req.dir, o.override).catch((err: unknown) => err as ApplyError);
        if (next instanceof Error) return { ok: false, message: next.message };
        both(`applying plan ${next.manifestSha256.slice(0, 12)} from ${next.dir} over plan ${live.journal.manifest_sha256.slice(0, 12)}`);
        try {
          const r = await applyPlan(exec, live, next, both, req.timeout !== undefined ? { timeoutSeconds: req.timeout } : {});
          wake?.();
          const tail = live.journal.apply_deadline ? `; rolls back at ${live.journal.apply_deadline} unless warpc confirm --state-dir ${o.stateDir}` : '';
          return { ok: true, message: r.changed ? `applied plan ${next.manifestSha256.slice(0, 12)}${tail}` : r.summary.join('; '), summary: r.summary };
        } catch (err) {
          return { ok: false, message: (err as Error).message };
        }
      });
    const control = await startControlServer(o.stateDir, handle);
    // The orchestrated agent applies in this process, through the same serial path as warpc apply.
    o.onReady?.(async (dir) => {
      const r = await handle({ op: 'apply', dir: resolve(dir) }, () => undefined);
      if (!r.ok) throw new Error(r.message);
      return r.summary ?? [r.message];
    });
    // Keep the event loop alive (a tunnel-only agent has no sockets of its own).
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      while (stopSignal === null) {
        const applyDl = live.journal.apply_deadline ? Date.parse(live.journal.apply_deadline) : null;
        if (applyDl !== null && applyDl <= Date.now()) {
          await rollbackUnconfirmed();
          continue;
        }
        const tryDl = deadline !== null && !confirmed ? deadline : null;
        if (tryDl !== null && tryDl <= Date.now()) {
          expired = true;
          break;
        }
        const next = Math.min(tryDl ?? Infinity, applyDl ?? Infinity);
        await new Promise<void>((r) => {
          wake = r;
          if (next !== Infinity) setTimeout(r, Math.min(next - Date.now(), 1000));
        });
        if (confirmed && agent.journal.mode === 'try') {
          agent.journal.mode = 'up';
          agent.journal.try_deadline = null;
          await writeJournal(exec, agent.journal);
          log('confirmed: keeping the configuration');
        }
      }
    } finally {
      clearInterval(keepAlive);
      await control.close();
      await chain;
    }
    agent = live;
    if (expired) log(`not confirmed within ${o.tryTimeoutSeconds ?? 120} s: reverting`);
    const rep = await revert(exec, agent.journal, agent.proxy, agent.hosts, log);
    if (rep.errors.length > 0) throw new AgentExit(1, `warpc: restore incomplete: ${rep.errors.join('; ')}`);
    if (expired) throw new AgentExit(1, 'warpc try: not confirmed in time; the previous configuration is back');
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onStop);
    process.off('SIGUSR1', onConfirm);
    o.stop?.removeEventListener('abort', onAbort);
  }
}

/** An executor for commands that act on a journal: the journal's root unless one is given. */
export async function journalExecutor(stateDir: string, root: string | undefined): Promise<RealExecutor> {
  const j = await readJournal(stateDir);
  return new RealExecutor({ root: root ?? j?.root ?? DEFAULT_ROOT, stateDir });
}

/** `warpc down`: ask the running agent to stop (SIGTERM) and wait; restore ourselves if it is gone. */
export async function runDown(stateDir: string, root: string | undefined, timeoutS: number, log: Log = stderrLog): Promise<void> {
  const exec = await journalExecutor(stateDir, root);
  const j = await readJournal(stateDir);
  if (!isOpen(j)) {
    log(j ? 'not running (journal closed)' : `not running (no journal in ${stateDir})`);
    return;
  }
  if (await agentAlive(j)) {
    log(`stopping the agent (pid ${j.pid})`);
    process.kill(j.pid, 'SIGTERM');
    const until = Date.now() + timeoutS * 1000;
    while (Date.now() < until && (await agentAlive(j))) await sleep(50);
    if (await agentAlive(j)) throw new AgentExit(1, `warpc down: pid ${j.pid} still running after ${timeoutS} s`);
  }
  const after = await readJournal(stateDir);
  if (after !== null && after.state !== 'closed') {
    log('the agent did not close its journal: restoring from it');
    const r = await recoverFromJournal(exec, log);
    if (!r.restored) throw new AgentExit(1, 'warpc down: restore incomplete (see above); run warpc recover after fixing it');
    return;
  }
  if (after?.restore && after.restore.errors.length > 0) throw new AgentExit(1, `warpc down: restore had errors: ${after.restore.errors.join('; ')}`);
  log('down: device restored');
}

export async function runRecover(stateDir: string, root: string | undefined, log: Log = stderrLog): Promise<void> {
  const exec = await journalExecutor(stateDir, root);
  try {
    const r = await recoverFromJournal(exec, log);
    if (r.report && !r.restored) throw new AgentExit(1, 'warpc recover: restore incomplete (see above)');
  } catch (err) {
    if (err instanceof AgentExit) throw err;
    throw new AgentExit(1, `warpc recover: ${(err as Error).message}`);
  }
}

/** `warpc apply`: hand a compiled folder to the running agent over its control socket. */
export async function runApply(stateDir: string, dir: string, timeoutSeconds: number | undefined, log: Log = stderrLog): Promise<void> {
  const j = await readJournal(stateDir);
  if (!isOpen(j) || !(await agentAlive(j))) throw new AgentExit(1, `warpc apply: no running agent in ${stateDir} (start one with warpc up)`);
  let r;
  try {
    r = await controlRequest(stateDir, { op: 'apply', dir: resolve(dir), ...(timeoutSeconds !== undefined ? { timeout: timeoutSeconds } : {}) }, (line) => log(line));
  } catch (err) {
    throw new AgentExit(1, `warpc apply: ${(err as Error).message}`);
  }
  if (!r.ok) throw new AgentExit(1, `warpc apply: ${r.message}`);
  for (const line of r.summary ?? []) log(line);
  log(r.message);
}

export async function runConfirm(stateDir: string, log: Log = stderrLog): Promise<void> {
  const j = await readJournal(stateDir);
  if (isOpen(j) && j.apply_deadline && (await agentAlive(j))) {
    let r;
    try {
      r = await controlRequest(stateDir, { op: 'confirm' }, (line) => log(line));
    } catch (err) {
      throw new AgentExit(1, `warpc confirm: ${(err as Error).message}`);
    }
    if (!r.ok) throw new AgentExit(1, `warpc confirm: ${r.message}`);
    log(r.message);
    return;
  }
  if (!isOpen(j) || !(await agentAlive(j))) throw new AgentExit(1, 'warpc confirm: no running warpc try in this state dir');
  if (j.mode !== 'try') {
    log('nothing to confirm: no warpc try or apply --timeout is waiting, and the running plan stays');
    return;
  }
  process.kill(j.pid, 'SIGUSR1');
  for (let i = 0; i < 200; i++) {
    const now = await readJournal(stateDir);
    if (now?.mode === 'up' && now.try_deadline === null) {
      log('confirmed: the configuration stays');
      return;
    }
    if (!isOpen(now)) throw new AgentExit(1, 'warpc confirm: too late, the configuration was reverted');
    await sleep(50);
  }
  throw new AgentExit(1, 'warpc confirm: the agent did not acknowledge');
}
