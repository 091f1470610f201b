/** `warpc status [--format text|json]`: tunnel, handshake, counters, DNS manager and why, journal state. */
import type { Command } from 'commander';
import { formatOption, stateDirOption, type Format } from './options.js';
import { runtimeAction } from './up.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('show the running agent: interface, public key, latest handshake, transfer, DNS manager (and why), journal state')
    .addOption(stateDirOption())
    .addOption(formatOption())
    .action((opts: { stateDir: string; format: Format }) =>
      runtimeAction(async (platform) => {
        const s = await platform.status(opts.stateDir);
        process.stdout.write(opts.format === 'json' ? `${JSON.stringify(s, null, 2)}\n` : platform.formatStatus(s));
      }),
    );
}
