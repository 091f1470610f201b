/**
 * <state-dir>/masque-status.json: what the agent's MASQUE tunnel reports for
 * `warpc status` (another process). A leaf module, so status loads no client code.
 */
import type { MasqueStats } from './client.js';

export const MASQUE_STATUS_FILE = 'masque-status.json';

export interface MasqueStatusFile extends MasqueStats {
  protocol: 'masque';
  transport: 'h2';
  endpoint: string;
  device_pin: string;
  server_pin: string;
  tun_rx_packets: number;
  tun_tx_packets: number;
  updated_at: string;
}
