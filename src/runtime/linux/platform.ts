/**
 * The Linux runtime platform (src/runtime/platform.ts): wireguard-go or the
 * kernel's WireGuard for the link, `ip -batch` for routes and policy rules,
 * `nft -f` for the firewall, resolv.conf or systemd-resolved for DNS, the DNS
 * proxy in-process, and a journal that restores all of it.
 */
import { AgentExit, DEFAULT_ROOT, DEFAULT_STATE_DIR, type RuntimePlatform } from '../platform.js';
import { collectStatus, formatStatus } from './status.js';

// The agent (and with it the DNS proxy and everything it applies) loads only for the commands that act:
// `warpc status` reads the journal and the UAPI socket, nothing more.
const agent = (): Promise<typeof import('./foreground.js')> => import('./foreground.js');

export const linuxPlatform: RuntimePlatform = {
  os: 'linux',
  target: 'linux',
  defaults: { stateDir: DEFAULT_STATE_DIR, root: DEFAULT_ROOT },
  run: async (req) => (await agent()).runForeground(req),
  down: async (stateDir, root, timeoutSeconds) => (await agent()).runDown(stateDir, root, timeoutSeconds),
  recover: async (stateDir, root) => (await agent()).runRecover(stateDir, root),
  confirm: async (stateDir) => (await agent()).runConfirm(stateDir),
  apply: async (stateDir, dir, timeoutSeconds) => (await agent()).runApply(stateDir, dir, timeoutSeconds),
  status: (stateDir) => collectStatus(stateDir),
  formatStatus,
  liveState: async (req) => {
    const { collectLiveState, LiveStateError } = await import('./live-state.js');
    try {
      return await collectLiveState(req);
    } catch (err) {
      if (err instanceof LiveStateError) throw new AgentExit(2, `warpc status --diff: ${err.message}`);
      throw err;
    }
  },
};
