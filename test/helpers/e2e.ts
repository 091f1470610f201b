/**
 * Gatekeeping for privileged end-to-end tests.
 *
 * A privileged test needs root and some Debian tools. When they are missing the
 * test is reported as skipped with the reason; with WARPC_E2E=required (CI) a
 * missing prerequisite is a failure instead, so nothing is silently passed.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

export function missingPrerequisites(tools: readonly string[]): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root');
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    } catch {
      missing.push(tool);
    }
  }
  return missing;
}

/** `describe` for privileged tests: skipped with a reason, or failing under WARPC_E2E=required. */
export function describeE2E(name: string, tools: readonly string[], body: () => void): void {
  const missing = missingPrerequisites(tools);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `needs ${missing.join(', ')}`;
  if (process.env['WARPC_E2E'] === 'required') {
    describe(name, () => {
      throw new Error(`privileged test cannot run (${reason}) and WARPC_E2E=required`);
    });
    return;
  }
  describe.skip(`${name} [skipped: ${reason}]`, body);
}
