/**
 * The Linux runtime platform (src/runtime/platform.ts): wireguard-go or the
 * kernel's WireGuard for the link, `ip -batch` for routes and policy rules,
 * `nft -f` for the firewall, resolv.conf or systemd-resolved for DNS, the DNS
 * proxy in-process, and a journal that restores all of it.
 */
import { DEFAULT_ROOT, DEFAULT_STATE_DIR, type RuntimePlatform } from '../platform.js';
import { runConfirm, runDown, runForeground, runRecover } from './foreground.js';
import { collectStatus, formatStatus } from './status.js';

export const linuxPlatform: RuntimePlatform = {
  os: 'linux',
  target: 'linux',
  defaults: { stateDir: DEFAULT_STATE_DIR, root: DEFAULT_ROOT },
  run: (req) => runForeground(req),
  down: (stateDir, root, timeoutSeconds) => runDown(stateDir, root, timeoutSeconds),
  recover: (stateDir, root) => runRecover(stateDir, root),
  confirm: (stateDir) => runConfirm(stateDir),
  status: (stateDir) => collectStatus(stateDir),
  formatStatus,
};
