/** Process checks for tests that start and stop daemons by PID. */

/** Does a process with this PID exist (signal 0: nothing is sent)? A zombie still counts. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
