/**
 * Agent liveness from the journal: the PID plus its start time, and a zombie is
 * dead. The zombie comes from a reaping-free parent (a shell that `exec`s into a
 * long sleep and never waits for its background child), as under a container's
 * PID 1 that does not reap orphans.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { agentAlive, type Journal } from '../../src/runtime/linux/journal.js';
import { processAlive, processStartTime } from '../../src/runtime/proc.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
});

/** Start a parent that never reaps; resolve with the PID of its (soon zombie) child. */
async function zombie(): Promise<number> {
  // The child outlives the shell's own life: once the shell has exec'd into sleep nothing reaps it.
  // (With `sleep 0` the shell itself sometimes reaped the child before its exec: no zombie, no /proc entry.)
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(parent);
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  for (let i = 0; i < 300; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not become a zombie`);
}

const journalOf = (pid: number, start: string | null): Journal => ({ pid, pid_start: start }) as unknown as Journal;

describe('agent liveness (pid + start time, zombies are dead)', () => {
  it('a zombie agent (its parent does not reap) is not running', async () => {
    const pid = await zombie();
    const start = await processStartTime(pid);
    expect(start).not.toBeNull();
    expect(await agentAlive(journalOf(pid, start))).toBe(false);
    expect(await processAlive(pid, start)).toBe(false);
  });

  it('a live process with the recorded start time is running; another start time (a reused PID) is not', async () => {
    const c = spawn('sleep', ['30'], { stdio: 'ignore' });
    started.push(c);
    const pid = c.pid!;
    const start = await processStartTime(pid);
    expect(await agentAlive(journalOf(pid, start))).toBe(true);
    expect(await agentAlive(journalOf(pid, String(Number(start) + 1)))).toBe(false);
    expect(await agentAlive(journalOf(pid, null))).toBe(false);
  });

  it('a PID that does not exist is not running', async () => {
    expect(await agentAlive(journalOf(2 ** 22 + 12345, '1'))).toBe(false);
  });
});
