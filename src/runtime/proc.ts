/** Process identity checks by PID, for stopping exactly the processes warpc started. */
import { readFile } from 'node:fs/promises';

/**
 * A process's state letter (field 3: R, S, Z for a zombie, X dead…) and start time (field 22,
 * clock ticks since boot) from /proc/PID/stat, or null when it is gone. Fields are counted after
 * the command name in parentheses, which may hold spaces and parentheses of its own.
 */
export async function readStat(pid: number): Promise<{ state: string; start: string | null } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', start: rest[19] ?? null };
  } catch {
    return null;
  }
}

/** A zombie or a dead process: it holds nothing and will never run again. */
export const isDeadState = (state: string): boolean => state === 'Z' || state === 'X';

/** The kernel's start time of a process (clock ticks since boot), or null when it is gone. */
export async function processStartTime(pid: number): Promise<string | null> {
  return (await readStat(pid))?.start ?? null;
}

export async function processCmdline(pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/**
 * Is the recorded process alive: the same PID with the same start time, and not a
 * zombie? A zombie (killed, but its parent never reaped it, as happens under a PID 1
 * that does not reap orphans) still has /proc/PID/stat and its start time, yet it
 * holds nothing and will never run again: it counts as dead. An unknown start time
 * (null) never matches, so a reused PID is not mistaken for the recorded process.
 */
export async function processAlive(pid: number, startTime: string | null): Promise<boolean> {
  if (startTime === null || !Number.isInteger(pid) || pid <= 0) return false;
  const stat = await readStat(pid);
  if (stat === null) return false;
  return !isDeadState(stat.state) && stat.start === startTime;
}

/** Is this PID still the same process we recorded (same start time)? */
export async function isSameProcess(pid: number, startTime: string | null): Promise<boolean> {
  const now = await processStartTime(pid);
  return now !== null && (startTime === null || now === startTime);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Send a signal to a recorded process and wait until it is gone; SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, startTime: string | null, graceMs = 3000): Promise<boolean> {
  if (!(await isSameProcess(pid, startTime))) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isSameProcess(pid, startTime)) || (await isZombie(pid))) return true;
    await sleep(25);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 100 && (await isSameProcess(pid, startTime)) && !(await isZombie(pid)); i++) await sleep(20);
  return true;
}

async function isZombie(pid: number): Promise<boolean> {
  const stat = await readStat(pid);
  return stat === null || stat.state === 'Z';
}
