/** `warpc apply <dir> [--timeout S]`: hand a new compiled folder to the running agent; it applies only the difference. */
import type { Command } from 'commander';
import { runtimeAction, stateDirOption } from './up.js';
import { seconds } from './options.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('apply a new compiled Linux folder to the running agent, changing only the difference (a failed step rolls back to the running plan)')
    .argument('<dir>', 'the linux/ folder of a warpc compile output')
    .option('--timeout <seconds>', 'roll back to the previous plan unless warpc confirm comes within this many seconds', seconds)
    .addOption(stateDirOption())
    .addHelpText('after', '\nExamples:\n  $ sudo warpc apply build/linux\n  $ sudo warpc apply build/linux --timeout 60 && sudo warpc confirm')
    .action((dir: string, opts: { timeout?: number; stateDir: string }) => runtimeAction((platform) => platform.apply(opts.stateDir, dir, opts.timeout)));
}
