#!/usr/bin/env node
/**
 * warpc's command line. Each command lives in its own file and exports a
 * `register(program)` function; this file only lists them. A command file
 * loads only commander at registration; its action imports the rest when it
 * runs. `warpc --version` alone is answered before commander loads.
 */
import { realpathSync } from 'node:fs';
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { CliExit, EXIT } from './exit.js';

/**
 * Every command's module by the command's name, in the order `--help` lists them: a run
 * loads only the one it names (all of them for help or an unknown name).
 */
const COMMANDS: Readonly<Record<string, () => Promise<{ register(program: Command): void }>>> = {
  compile: () => import('./compile.js'),
  check: () => import('./check.js'),
  explain: () => import('./explain.js'),
  diff: () => import('./diff.js'),
  preview: () => import('./preview.js'),
  import: () => import('./import.js'),
  match: () => import('./match.js'),
  export: () => import('./export.js'),
  'dns-proxy': () => import('./dns-proxy.js'),
  up: () => import('./up.js'),
  down: () => import('./down.js'),
  status: () => import('./status.js'),
  try: () => import('./try.js'),
  confirm: () => import('./confirm.js'),
  apply: () => import('./apply.js'),
  recover: () => import('./recover.js'),
  gateway: () => import('./gateway.js'),
  orchestrator: () => import('./orchestrator.js'),
  enroll: () => import('./enroll.js'),
  unenroll: () => import('./unenroll.js'),
};

/** The program with every command, or with `only` (a command's name) alone. */
export async function buildProgram(only?: string): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('warpc')
    .description('Compile WARP profiles into per-OS network configuration, and apply it on Linux.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  $ warpc check profile.yaml
  $ warpc compile profile.yaml --target linux --out build
  $ warpc explain profile.yaml 10.1.2.3 intranet.corp.example.com
  $ warpc compile profile.yaml --format json     # diagnostics as JSON for pipelines

Exit codes: 0 success (warnings allowed), 1 profile errors or failure, 2 usage errors
(and 3 from diff --exit-code when the profiles differ).`,
  );
  const loaders = only !== undefined && Object.hasOwn(COMMANDS, only) ? [COMMANDS[only]!] : Object.values(COMMANDS);
  for (const { register } of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`); // what commander prints for .version(), without loading it
    return EXIT.ok;
  }
  // `warpc check ...` loads the check command alone; anything else (help, a typo) loads them all.
  const program = await buildProgram(argv[0]);
  const { CommanderError } = await import('commander');
  program.configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.code;
    }
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`warpc: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failure;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${realpathSync(process.argv[1])}`).href;
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2));
}
