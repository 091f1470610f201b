/**
 * Crash after crash (namespaces): 50 cycles of `warpc up`, then SIGKILL of the
 * whole tree (the agent and its wireguard-go) at a random moment — in the
 * middle of `up`, while running, or in the middle of `apply` — then `warpc
 * recover` or straight to the next `up`. The agent's parent never reaps it (a
 * shell that `exec`s into sleep), so it stays a zombie as under a container's
 * PID 1. After every recover the device is byte-exact as before (rules,
 * routes of every table, nft ruleset, addresses, links, resolv.conf); every
 * `up` that was not killed comes up. Seeded: WARPC_CRASH_SEED reproduces a run,
 * WARPC_CRASH_CYCLES changes the count (default 50).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { buildTopology, CLI, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, LOADER, profileYaml, warpc, type Topology } from './helpers/topology.js';
import { mulberry32 } from '../../bench/lib/prng.js';

const CYCLES = Number(process.env['WARPC_CRASH_CYCLES'] ?? 50);
const SEED = Number(process.env['WARPC_CRASH_SEED'] ?? Date.now() % 1_000_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeE2E('warpc crash cycles (namespaces, SIGKILL of the whole tree, zombies)', E2E_TOOLS, () => {
  let t: Topology;
  let planA: string;
  let planB: string;
  beforeAll(async () => {
    t = await buildTopology();
    const base = profileYaml(t);
    planA = await compileProfile(t, base, 'crash-a');
    planB = await compileProfile(t, base.replace('    - { host: "*.cdn.example.com"', '    - { address: 198.19.0.0/24, description: moved direct }\n    - { host: "*.cdn.example.com"'), 'crash-b');
  });
  afterAll(async () => {
    await destroyTopology(t);
  });

  /** wireguard-go processes for the device's interface (any state but zombie). */
  async function wgPids(): Promise<number[]> {
    const out: number[] = [];
    for (const d of await readdir('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const argv = (await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (!argv[0]?.endsWith('wireguard-go') || !argv.includes(t.devIf)) continue;
      const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => 'x) Z');
      if (!stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) out.push(Number(d));
    }
    return out;
  }

  /** Start `warpc up` under a parent that never reaps it; returns the agent's PID and a reader of its log. */
  function spawnAgent(stateDir: string, root: string, logFile: string): { agentPid: Promise<number>; parentPid: number } {
    const cmd = `"$0" --import "$1" "$2" up "$3" --state-dir "$4" --root "$5" --doh-ca "$6" >>"$7" 2>&1 & echo $!; exec sleep 600`;
    const child = t.dev.spawn('sh', ['-c', cmd, process.execPath, LOADER, CLI, planA, stateDir, root, t.caPem, logFile]);
    const agentPid = new Promise<number>((res) => child.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
    return { agentPid, parentPid: child.pid! };
  }

  const journalState = async (stateDir: string): Promise<{ state: string; pid: number; transition?: unknown } | null> => JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8').catch(() => 'null'));

  async function waitCommitted(stateDir: string, agentPid: number, ms = 90_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const j = await journalState(stateDir).catch(() => null);
      if (j?.pid === agentPid && j.state === 'committed') return true;
      await sleep(50);
    }
    return false;
  }

  it(`${CYCLES} cycles: up -> SIGKILL of the tree at a random moment -> recover or the next up; byte-exact or fully up every time`, { timeout: CYCLES * 120_000 }, async () => {
    const random = mulberry32(SEED);
    const started = Date.now();
    const { root, stateDir } = await freshRoot(t, 'crash');
    const logFile = join(t.tmp, 'crash-agents.log');
    const before = await deviceState(t, root);
    const kinds: Record<string, number> = {};
    let pendingJournal = false;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const where = `cycle ${cycle} (seed ${SEED})`;
      const { agentPid: agentPidP, parentPid } = spawnAgent(stateDir, root, logFile);
      const agentPid = await agentPidP;
      const r = random();
      const kind = r < 0.4 ? 'mid-up' : r < 0.6 ? 'running' : 'mid-apply';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      if (kind === 'mid-up') {
        await sleep(Math.floor(random() * 4000));
      } else {
        expect(await waitCommitted(stateDir, agentPid), `${where}: up did not come up\n${await readFile(logFile, 'utf8')}`).toBe(true);
        if (kind === 'mid-apply') {
          const apply = warpc(t.dev, ['apply', planB, '--state-dir', stateDir]);
          await Promise.race([apply, sleep(Math.floor(random() * 3000))]);
        }
      }
      // SIGKILL the whole tree at once: the agent and its wireguard-go.
      for (const pid of [agentPid, ...(await wgPids())]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      for (let i = 0; i < 100 && (await wgPids()).length > 0; i++) await sleep(20);
      const j = await journalState(stateDir);
      pendingJournal = j !== null && j.state !== 'closed';
      if (random() < 0.5 || cycle === CYCLES - 1) {
        // The agent is a zombie now (its parent, sleep, never reaps): recover must see it as dead.
        const rec = await warpc(t.dev, ['recover', '--state-dir', stateDir]);
        expect(rec.code, `${where} ${kind}: ${rec.stderr}`).toBe(0);
        if (pendingJournal && j?.transition) expect(rec.stderr).toMatch(/crashed while applying plan [0-9a-f]{12}/);
        expect(await deviceState(t, root), `${where} ${kind}: not restored byte-exact\n${rec.stderr}`).toEqual(before);
        pendingJournal = false;
      }
      try {
        process.kill(parentPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // The next up after all that comes up, and down restores the device.
    const { agentPid: lastP, parentPid } = spawnAgent(stateDir, root, logFile);
    const last = await lastP;
    expect(await waitCommitted(stateDir, last), await readFile(logFile, 'utf8')).toBe(true);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
    process.kill(parentPid, 'SIGKILL');
    const log = await readFile(logFile, 'utf8');
    // No up failed on its own (every failure would print "warpc up: <why>").
    expect(log).not.toMatch(/^warpc up: /m);
    expect(log).not.toMatch(/already running|still running/);
    console.log(`crash cycles: ${CYCLES} in ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${SEED}, ${JSON.stringify(kinds)}, pending journal at the end: ${pendingJournal}`);
  });

  it('a crash in the middle of apply: recover says which plans were involved and restores the device whole', async () => {
    const { root, stateDir } = await freshRoot(t, 'crash-apply');
    const before = await deviceState(t, root);
    const logFile = join(t.tmp, 'crash-apply.log');
    const cmd = `WARPC_FAULT_AFTER=apply-routes "$0" --import "$1" "$2" up "$3" --state-dir "$4" --root "$5" --doh-ca "$6" >>"$7" 2>&1 & echo $!; exec sleep 600`;
    const child = t.dev.spawn('sh', ['-c', cmd, process.execPath, LOADER, CLI, planA, stateDir, root, t.caPem, logFile]);
    const pid = await new Promise<number>((res) => child.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
    expect(await waitCommitted(stateDir, pid)).toBe(true);
    const a = await warpc(t.dev, ['apply', planB, '--state-dir', stateDir]);
    expect(a.code).toBe(1);
    const j = (await journalState(stateDir)) as { transition: { steps_done: string[] } };
    expect(j.transition.steps_done).toEqual(['journal', 'tunnel', 'routes']);
    for (const p of await wgPids()) process.kill(p, 'SIGKILL');
    const rec = await warpc(t.dev, ['recover', '--state-dir', stateDir]);
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toMatch(/was running plan [0-9a-f]{12} .* and crashed while applying plan [0-9a-f]{12} .*steps done: journal, tunnel, routes/);
    expect(await deviceState(t, root)).toEqual(before);
    child.kill('SIGKILL');
  }, 180_000);
});
