/** `warpc try <dir> --timeout S`: apply, and revert unless `warpc confirm` comes within S seconds (like netplan try). */
import type { Command } from 'commander';
import type { DnsManagerChoice } from '../contract/settings.js';
import { dnsManagerOption, rootOption, runtimeAction, stateDirOption } from './up.js';
import { seconds } from './options.js';

export function register(program: Command): void {
  program
    .command('try')
    .description('apply a compiled Linux folder like up, but revert unless warpc confirm comes within --timeout seconds')
    .argument('<dir>', 'the linux/ folder of a warpc compile output')
    .option('--timeout <seconds>', 'seconds to wait for warpc confirm', seconds, 120)
    .addOption(stateDirOption())
    .addOption(rootOption(true))
    .addOption(dnsManagerOption())
    .option('--doh-ca <file>', 'extra CA certificates (PEM) for the DoH server')
    .addHelpText('after', '\nExamples:\n  $ sudo warpc try build/linux --timeout 60 &\n  $ sudo warpc confirm')
    .action((dir: string, opts: { timeout: number; stateDir: string; root: string; dnsManager?: DnsManagerChoice; dohCa?: string }) =>
      runtimeAction((platform) =>
        platform.run({
          compiledDir: dir,
          stateDir: opts.stateDir,
          root: opts.root,
          mode: 'try',
          tryTimeoutSeconds: opts.timeout,
          ...(opts.dnsManager ? { dnsManager: opts.dnsManager } : {}),
          ...(opts.dohCa ? { dohCa: opts.dohCa } : {}),
        }),
      ),
    );
}
