/**
 * What a CLI run loads: a script preloaded with `node --require` that prints, at exit, every
 * CommonJS file and every Node.js built-in module the run loaded, and the reader of that line.
 * Used by the start-up tests (test/cli/startup.test.ts, test/cli/bundle.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface Loaded {
  /** CommonJS files, absolute paths. */
  readonly files: string[];
  /** Built-in modules loaded after start-up (no internal ones), without the `node:` prefix. */
  readonly builtins: string[];
}

/** Writes the probe into `dir` and returns its path, for `--require`. */
export function writeLoadProbe(dir: string): string {
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    `const Module = require('node:module');
const before = new Set(process.moduleLoadList);
process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify({
  files: Object.keys(Module._cache).filter((f) => f !== __filename),
  builtins: process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length)),
}) + '\\n'));`,
  );
  return probe;
}

/** The probe's line in a run's stderr. */
export function readLoaded(stderr: string): Loaded {
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
  expect(line, stderr).toBeDefined();
  return JSON.parse(line!.slice('LOADED '.length)) as Loaded;
}
