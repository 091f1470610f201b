/** `warpc try <dir> --timeout S`: apply, and revert unless `warpc confirm` comes within S seconds (like netplan try). */
import { InvalidArgumentError, type Command } from 'commander';
import type { DnsManagerChoice } from '../runtime/linux/dns-manager.js';
import { dnsManagerOption, rootOption, runtimeAction, stateDirOption } from './up.js';

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('a whole number of seconds, 1 to 86400');
  return n;
}

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
      runtimeAction(async () =>
        (await import('../runtime/linux/foreground.js')).runForeground({
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
