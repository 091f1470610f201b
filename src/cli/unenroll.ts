/** `warpc unenroll [--state-dir DIR]`: delete the registration on the orchestrator, then the local one. */
import type { Command } from 'commander';
import { agentAction, agentLog } from './enroll.js';
import { CliExit, EXIT } from './exit.js';
import { stateDirOption } from './options.js';
import { runtimeAction } from './up.js';

export function register(program: Command): void {
  program
    .command('unenroll')
    .description("delete this device's registration on its orchestrator (DELETE /v0/reg/ID), then remove the registration, bundles and device key from the state dir; says so when the orchestrator cannot be reached (the local state goes anyway)")
    .addOption(stateDirOption())
    .action((opts: { stateDir: string }) =>
      runtimeAction(async (platform) => {
        const s = await platform.status(opts.stateDir);
        if (s.agent_running) throw new CliExit(EXIT.failure, `warpc unenroll: the agent is running (pid ${s.pid ?? '?'}); stop it with warpc down --state-dir ${opts.stateDir} first`);
        await agentAction(async () => {
          const { unenroll } = await import('../agent/enroll.js');
          await unenroll(opts.stateDir, agentLog);
        });
      }),
    );
}
