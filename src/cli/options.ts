/**
 * Option definitions the commands share. This module and the command files'
 * `register` functions load only commander: a command's implementation is
 * imported by its action, when it runs, so start-up and `--help` stay cheap.
 */
import { InvalidArgumentError, Option } from 'commander';
// The runtime's defaults come from the platform seam, which loads no platform until a command runs.
import { DEFAULT_ROOT, DEFAULT_STATE_DIR } from '../runtime/platform.js';

export type Format = 'text' | 'json';

export const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');


/** A `--timeout` argument: whole seconds, 1 to 86400. */
export function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('a whole number of seconds, 1 to 86400');
  return n;
}

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

/** The device a profile is chosen for (`warpc match`, `warpc explain DIR`). The OS names are src/match/eval.ts's OS_NAMES. */
export function deviceOptions(): Option[] {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  return [
    new Option('--email <email>', "the user's e-mail (identity.email)"),
    new Option('--group <name|id>', 'a group of the user, by name, id or e-mail (repeatable)').argParser(collect),
    new Option('--os <os>', 'the device OS (os.name)').choices(['linux', 'windows', 'mac', 'ios', 'android', 'chromeos']),
    new Option('--os-version <version>', 'the OS version (os.version)'),
    new Option('--network <name>', 'the managed network the device is on (network)'),
    new Option('--service-token <uuid>', 'an Access service token the device enrolled with (identity.service_token_uuid)'),
  ];
}

export interface DeviceFlags {
  email?: string;
  group?: string[];
  os?: 'linux' | 'windows' | 'mac' | 'ios' | 'android' | 'chromeos';
  osVersion?: string;
  network?: string;
  serviceToken?: string;
}
