/** `warpc confirm`: keep what a running `warpc try` applied. */
import type { Command } from 'commander';
import { runtimeAction, stateDirOption } from './up.js';

export function register(program: Command): void {
  program
    .command('confirm')
    .description('keep the configuration a running warpc try applied (otherwise it reverts at its deadline)')
    .addOption(stateDirOption())
    .action((opts: { stateDir: string }) => runtimeAction(async () => (await import('../runtime/linux/foreground.js')).runConfirm(opts.stateDir)));
}
