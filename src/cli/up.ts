/** `warpc up <compiled linux dir> [--state-dir DIR] [--root DIR] [--dns-manager M] [--doh-ca FILE]` */
import { Option, type Command } from 'commander';
import type { DnsManagerChoice } from '../contract/settings.js';
import { AgentExit, currentPlatform, DEFAULT_ROOT, DEFAULT_STATE_DIR, type RuntimePlatform } from '../runtime/platform.js';
import { CliExit, EXIT } from './exit.js';

export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'where the journal, the device key and backups live').default(DEFAULT_STATE_DIR);
}

export function rootOption(withDefault: boolean): Option {
  const o = new Option('--root <dir>', 'treat this folder as / for files such as /etc/resolv.conf (tests, containers)');
  return withDefault ? o.default(DEFAULT_ROOT) : o;
}

export function dnsManagerOption(): Option {
  return new Option('--dns-manager <manager>', 'who gets pointed at the DNS proxy (default: settings.json, normally auto)').choices(['auto', 'resolv.conf', 'systemd-resolved']);
}

/** Run a runtime action on this OS's platform (loaded now, not at start-up), turning its failures into exit codes. */
export async function runtimeAction(fn: (platform: RuntimePlatform) => Promise<void>): Promise<void> {
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
    .description('apply a compiled Linux folder and run the agent in the foreground until SIGINT/SIGTERM or warpc down; restores everything on exit')
    .argument('<dir>', 'the linux/ folder of a warpc compile output (its manifest.json is in the parent folder)')
    .addOption(stateDirOption())
    .addOption(rootOption(true))
    .addOption(dnsManagerOption())
    .option('--doh-ca <file>', 'extra CA certificates (PEM) to trust for the DoH server, besides NODE_EXTRA_CA_CERTS')
    .addHelpText('after', '\nExamples:\n  $ sudo warpc up build/linux\n  $ sudo warpc up build/linux --state-dir /run/warpc-test --root /tmp/fakeroot')
    .action((dir: string, opts: { stateDir: string; root: string; dnsManager?: DnsManagerChoice; dohCa?: string }) =>
      runtimeAction((platform) =>
        platform.run({
          compiledDir: dir,
          stateDir: opts.stateDir,
          root: opts.root,
          mode: 'up',
          ...(opts.dnsManager ? { dnsManager: opts.dnsManager } : {}),
          ...(opts.dohCa ? { dohCa: opts.dohCa } : {}),
        }),
      ),
    );
}
