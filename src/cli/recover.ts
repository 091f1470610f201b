/** `warpc recover`: after a crash (journal not closed), return the device to the snapshot. */
import type { Command } from 'commander';
import { rootOption, runtimeAction, stateDirOption } from './up.js';

export function register(program: Command): void {
  program
    .command('recover')
    .description('restore the device from an open journal (after a crash or kill -9); the unit file runs it as ExecStopPost')
    .addOption(stateDirOption())
    .addOption(rootOption(false))
    .action((opts: { stateDir: string; root?: string }) => runtimeAction(async () => (await import('../runtime/linux/foreground.js')).runRecover(opts.stateDir, opts.root)));
}
