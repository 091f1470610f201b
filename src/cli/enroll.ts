/** `warpc enroll <https://orchestrator> --token T [--state-dir DIR] [--pin SHA256] [--ca FILE]`: register this device with an orchestrator. */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { stateDirOption } from './options.js';

/** Run an agent action, turning its coded refusals into exit 1 with the message. */
export async function agentAction(fn: () => Promise<void>): Promise<void> {
  const { AgentError } = await import('../agent/errors.js');
  try {
    await fn();
  } catch (err) {
    if (err instanceof AgentError) throw new CliExit(EXIT.failure, `warpc: ${err.message}`);
    throw err;
  }
}

export const agentLog = (msg: string): void => {
  process.stderr.write(`warpc: ${msg}\n`);
};

export function register(program: Command): void {
  program
    .command('enroll')
    .description("register this device with a warpc orchestrator: makes the device's WireGuard key (0600; only its public half is sent), pins the orchestrator's certificate and bundle-signing key, and stores the registration in the state dir; then `warpc up` with no folder runs and follows it")
    .argument('<url>', 'the orchestrator, https://HOST[:PORT]')
    .requiredOption('--token <token>', 'an enrollment token (warpc orchestrator token create --enroll)')
    .addOption(stateDirOption())
    .option('--pin <sha256>', "the orchestrator certificate's key pin, exactly (sha256/BASE64 or hex, as warpc orchestrator serve prints it); without --pin or --ca the key presented now is trusted on first use")
    .option('--ca <file>', 'trust orchestrator certificates issued by this CA (PEM) and check the host name, instead of a pin')
    .addHelpText('after', '\nExamples:\n  $ sudo warpc enroll https://orch.example.com:8443 --token $TOKEN --pin sha256/AbC…=\n  $ sudo warpc up            # no folder: fetch, verify and follow the bundle')
    .action((url: string, opts: { token: string; stateDir: string; pin?: string; ca?: string }) =>
      agentAction(async () => {
        if (opts.pin !== undefined && opts.ca !== undefined) throw new CliExit(EXIT.usage, 'warpc enroll: give --pin or --ca, not both');
        const { enroll } = await import('../agent/enroll.js');
        await enroll({ url, token: opts.token, stateDir: opts.stateDir, log: agentLog, ...(opts.pin !== undefined ? { pin: opts.pin } : {}), ...(opts.ca !== undefined ? { ca: opts.ca } : {}) });
      }),
    );
}
