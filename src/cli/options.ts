/**
 * Option definitions the commands share. This module and the command files'
 * `register` functions load only commander: a command's implementation is
 * imported by its action, when it runs, so start-up and `--help` stay cheap.
 */
import { Option } from 'commander';
// The runtime's defaults come from the platform seam, which loads no platform until a command runs.
import { DEFAULT_ROOT, DEFAULT_STATE_DIR } from '../runtime/platform.js';

export type Format = 'text' | 'json';

export const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');


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
