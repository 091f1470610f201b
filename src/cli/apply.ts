/** `warpc apply <dir> [--timeout S]`: hand a new compiled folder to the running agent; it applies only the difference. */
import { InvalidArgumentError, type Command } from 'commander';
import { runtimeAction, stateDirOption } from './up.js';

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('a whole number of seconds, 1 to 86400');
  return n;
}

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
