/**
 * `warpc up [<compiled linux dir>] [--state-dir DIR] [--root DIR] [--dns-manager M] [--doh-ca FILE]`.
 * With no folder, the state dir must be enrolled (`warpc enroll`): the agent
 * fetches, verifies and follows its orchestrator's bundle (src/agent/follow.ts).
 */
import type { Command } from 'commander';
import type { DnsManagerChoice } from '../contract/settings.js';
import type { RuntimePlatform } from '../runtime/platform.js';
import { CliExit, EXIT } from './exit.js';
import { dnsManagerOption, rootOption, stateDirOption } from './options.js';

export { dnsManagerOption, rootOption, stateDirOption };

/** Run a runtime action on this OS's platform (loaded now, not at start-up), turning its failures into exit codes. */
export async function runtimeAction(fn: (platform: RuntimePlatform) => Promise<void>): Promise<void> {
  const { AgentExit, currentPlatform } = await import('../runtime/platform.js');
  try {
    await fn(await currentPlatform());
  } catch (err) {
    if (err instanceof AgentExit) throw new CliExit(err.code === 0 ? EXIT.ok : EXIT.failure, err.message);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('up')
    .description('apply a compiled Linux folder and run the agent in the foreground until SIGINT/SIGTERM or warpc down; restores everything on exit. With no folder on an enrolled state dir (warpc enroll): run the orchestrator\'s signed bundle and follow its changes live')
    .argument('[dir]', 'the linux/ folder of a warpc compile output (its manifest.json is in the parent folder); omit it on an enrolled state dir')
    .addOption(stateDirOption())
    .addOption(rootOption(true))
    .addOption(dnsManagerOption())
    .option('--doh-ca <file>', 'extra CA certificates (PEM) to trust for the DoH server, besides NODE_EXTRA_CA_CERTS')
    .addHelpText('after', '\nExamples:\n  $ sudo warpc up build/linux\n  $ sudo warpc up build/linux --state-dir /run/warpc-test --root /tmp/fakeroot\n  $ sudo warpc up            # enrolled: fetch, verify, apply and follow the orchestrator\'s bundle')
    .action((dir: string | undefined, opts: { stateDir: string; root: string; dnsManager?: DnsManagerChoice; dohCa?: string }) =>
      runtimeAction(async (platform) => {
        if (dir === undefined) {
          const { agentAction, agentLog } = await import('./enroll.js');
          return agentAction(async () => {
            const { runOrchestrated } = await import('../agent/follow.js');
            await runOrchestrated(platform, { stateDir: opts.stateDir, root: opts.root, log: agentLog, ...(opts.dnsManager ? { dnsManager: opts.dnsManager } : {}), ...(opts.dohCa ? { dohCa: opts.dohCa } : {}), ...followTuning() });
          });
        }
        return platform.run({
          compiledDir: dir,
          stateDir: opts.stateDir,
          root: opts.root,
          mode: 'up',
          ...(opts.dnsManager ? { dnsManager: opts.dnsManager } : {}),
          ...(opts.dohCa ? { dohCa: opts.dohCa } : {}),
        });
      }),
    );
}

/** Test knobs (WARPC_FOLLOW_WAIT, _POSTURE_MS, _BACKOFF_MS): shorter long-polls and backoff in the end-to-end tests. */
export function followTuning(): { waitSeconds?: number; postureIntervalMs?: number; backoffMinMs?: number; backoffMaxMs?: number } {
  const n = (name: string): number | undefined => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const wait = n('WARPC_FOLLOW_WAIT');
  const posture = n('WARPC_FOLLOW_POSTURE_MS');
  const backoff = n('WARPC_FOLLOW_BACKOFF_MS');
  return { ...(wait ? { waitSeconds: wait } : {}), ...(posture ? { postureIntervalMs: posture } : {}), ...(backoff ? { backoffMinMs: backoff, backoffMaxMs: backoff * 8 } : {}) };
}
