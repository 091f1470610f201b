/**
 * `warpc status [--format text|json]`: tunnel, handshake, counters, DNS manager and why, journal state;
 * on an enrolled state dir also the orchestrator, registration id, bundle version and last check.
 * `warpc status --diff [DIR/linux]`: the live state against a compiled plan (default: the journal's), as `+`/`-` lines.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { formatOption, rootOption, stateDirOption, type Format } from './options.js';
import { runtimeAction } from './up.js';

const DIFF_HELP = `
--diff compares the live state with a compiled plan (DIR, or the plan the journal records):
warpc's policy rules and routing table, its nft table (sets, elements, chains), resolv.conf or
the systemd-resolved link, and the running DNS proxy's configuration. Lines are grouped by area:
  + a line the device has and the plan does not (added by hand, or left over)
  - a line the plan wants and the device lacks (deleted by hand, or not applied)
Host entries the agent adds from DNS answers are listed apart, never as drift. When warpc is not
running (after down), everything the plan wants is reported missing (-) and exit code is 1.

Exit codes with --diff: 0 no drift, 1 drift, 2 nothing to compare (no plan, unreadable state, not root).
JSON: schema/status-diff.schema.json.

Examples:
  $ sudo warpc status
  $ sudo warpc status --diff
  $ sudo warpc status --diff build/linux --format json`;

export function register(program: Command): void {
  program
    .command('status')
    .description('show the running agent: interface, public key, latest handshake, transfer, DNS manager (and why), journal state; enrolled: orchestrator, registration, bundle version, last check, revocation; --diff: the live state against the plan')
    .argument('[dir]', 'with --diff: the linux/ folder of a compiled output to compare against (default: the plan the journal records)')
    .option('--diff', 'compare the live state with the plan: + only on the device, - only in the plan')
    .addOption(stateDirOption())
    .addOption(rootOption(false))
    .addOption(formatOption())
    .addHelpText('after', DIFF_HELP)
    .action(async (dir: string | undefined, opts: { diff?: boolean; stateDir: string; root?: string; format: Format }) => {
      if (dir !== undefined && !opts.diff) throw new CliExit(EXIT.usage, 'warpc status: a folder is only taken with --diff (warpc status --diff DIR/linux)');
      if (!opts.diff) {
        await runtimeAction(async (platform) => {
          const s = await platform.status(opts.stateDir);
          const { orchestrationStatus, formatOrchestration } = await import('../agent/report.js');
          const orchestration = await orchestrationStatus(opts.stateDir);
          if (opts.format === 'json') process.stdout.write(`${JSON.stringify(orchestration ? { ...s, orchestration } : s, null, 2)}\n`);
          else process.stdout.write(platform.formatStatus(s) + (orchestration ? formatOrchestration(orchestration) : ''));
        });
        return;
      }
      const { AgentExit, currentPlatform } = await import('../runtime/platform.js');
      const { compareLive } = await import('../status-diff/compare.js');
      const { statusDiffText } = await import('../status-diff/text.js');
      // 0 no drift, 1 drift, 2 nothing to compare: POSIX diff's codes.
      const fail = (message: string): never => {
        if (opts.format === 'json') {
          process.stdout.write(`${JSON.stringify({ ok: false, error: message }, null, 2)}\n`);
          throw new CliExit(2);
        }
        throw new CliExit(2, message);
      };
      let report;
      try {
        const platform = await currentPlatform();
        report = await platform.liveState({ stateDir: opts.stateDir, ...(dir !== undefined ? { compiledDir: dir } : {}), ...(opts.root !== undefined ? { root: opts.root } : {}) });
      } catch (err) {
        if (err instanceof AgentExit) return fail(err.message);
        throw err;
      }
      const d = compareLive(report);
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(d, null, 2)}\n` : statusDiffText(d));
      if (d.drift) throw new CliExit(1);
    });
}
