/** `warpc status [--format text|json]`: tunnel, handshake, counters, DNS manager and why, journal state; on an enrolled state dir also the orchestrator, registration id, bundle version and last check. */
import type { Command } from 'commander';
import { formatOption, stateDirOption, type Format } from './options.js';
import { runtimeAction } from './up.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('show the running agent: interface, public key, latest handshake, transfer, DNS manager (and why), journal state; enrolled: orchestrator, registration, bundle version, last check, revocation')
    .addOption(stateDirOption())
    .addOption(formatOption())
    .action((opts: { stateDir: string; format: Format }) =>
      runtimeAction(async (platform) => {
        const s = await platform.status(opts.stateDir);
        const { orchestrationStatus, formatOrchestration } = await import('../agent/report.js');
        const orchestration = await orchestrationStatus(opts.stateDir);
        if (opts.format === 'json') process.stdout.write(`${JSON.stringify(orchestration ? { ...s, orchestration } : s, null, 2)}\n`);
        else process.stdout.write(platform.formatStatus(s) + (orchestration ? formatOrchestration(orchestration) : ''));
      }),
    );
}
