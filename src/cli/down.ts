/** `warpc down`: stop the running agent, which restores the device; restore from the journal if it is gone. */
import type { Command } from 'commander';
import { rootOption, runtimeAction, stateDirOption } from './up.js';

export function register(program: Command): void {
  program
    .command('down')
    .description('stop warpc up (SIGTERM) and wait until the device is restored; restores from the journal if the agent is gone')
    .addOption(stateDirOption())
    .addOption(rootOption(false))
    .option('--wait <seconds>', 'how long to wait for the agent', (v) => Number(v), 30)
    .action((opts: { stateDir: string; root?: string; wait: number }) => runtimeAction(async () => (await import('../runtime/linux/foreground.js')).runDown(opts.stateDir, opts.root, opts.wait)));
}
