/**
 * The MASQUE tunnel inside the agent process: the TUN device (opened here, so
 * it disappears with the process), the device identity in the state directory
 * (masque.key 0600, masque.crt re-issued before it ends), and the HTTP/2
 * client between them. Packets read from the TUN while the session is down are
 * dropped, never sent elsewhere; the link, its addresses and the routes stay.
 * It writes <state-dir>/masque-status.json for `warpc status` (another process).
 * Addresses, MTU and routes are the caller's (link.ts runs `ip`).
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MasqueSettings } from '../../contract/masque.js';
import { TunDevice } from '../tunnel/tun.js';
import { loadOrCreateIdentity } from './cert.js';
import { MasqueClient } from './client.js';
import { MASQUE_STATUS_FILE, type MasqueStatusFile } from './status-file.js';

export interface MasqueTunnelSpec {
  readonly ifname: string;
  readonly settings: MasqueSettings;
  readonly stateDir: string;
  readonly log: (msg: string) => void;
}

const running = new Map<string, MasqueTunnel>();

export class MasqueTunnel {
  private timer: NodeJS.Timeout | null = null;
  private writing = false;

  private constructor(
    readonly tun: TunDevice,
    readonly client: MasqueClient,
    private readonly spec: MasqueTunnelSpec,
    private readonly devicePin: string,
  ) {}

  /** Open the TUN and start the session (not waiting for it: up does not wait for a WireGuard handshake either). */
  static async start(spec: MasqueTunnelSpec): Promise<MasqueTunnel> {
    const id = await loadOrCreateIdentity(spec.stateDir, { usage: 'client' });
    if (id.created === 'key') spec.log(`created the MASQUE device key ${join(spec.stateDir, 'masque.key')} (0600, P-256): register sha256/${id.pin} with the gateway`);
    const s = spec.settings;
    let client: MasqueClient | null = null;
    const tun = new TunDevice(spec.ifname, (packets) => client?.send(packets));
    let t: MasqueTunnel | null = null;
    client = new MasqueClient({
      host: s.endpoint.host,
      port: s.endpoint.port,
      sni: s.sni,
      pin: s.server_pin.replace(/^sha256\//, ''),
      authority: s.authority,
      keepaliveMs: s.keepalive_seconds * 1000,
      // Read at every connect: a certificate near its end is re-issued for the same key.
      identity: () => loadOrCreateIdentity(spec.stateDir, { usage: 'client' }),
      tun,
      log: spec.log,
      onState: () => void t?.writeStatus(),
    });
    t = new MasqueTunnel(tun, client, spec, id.pin);
    running.set(spec.ifname, t);
    client.start().catch(() => {
      /* logged by the client; it keeps retrying */
    });
    t.timer = setInterval(() => void t?.writeStatus(), 1000);
    t.timer.unref();
    await t.writeStatus();
    return t;
  }

  status(): MasqueStatusFile {
    const s = this.spec.settings;
    return {
      protocol: 'masque',
      transport: 'h2',
      endpoint: `${s.endpoint.host.includes(':') ? `[${s.endpoint.host}]` : s.endpoint.host}:${s.endpoint.port}`,
      device_pin: `sha256/${this.devicePin}`,
      server_pin: s.server_pin,
      ...this.client.stats,
      tun_rx_packets: this.tun.counters.rxPackets,
      tun_tx_packets: this.tun.counters.txPackets,
      updated_at: new Date().toISOString(),
    };
  }

  private async writeStatus(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      const file = join(this.spec.stateDir, MASQUE_STATUS_FILE);
      await writeFile(`${file}.tmp`, `${JSON.stringify(this.status(), null, 2)}\n`);
      await rename(`${file}.tmp`, file);
    } catch {
      /* the state dir went away: status only */
    } finally {
      this.writing = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.client.stop();
    this.tun.close();
    running.delete(this.spec.ifname);
    void this.writeStatus();
  }
}

/** The MASQUE tunnel this process runs on `ifname`, if any. */
export function runningMasque(ifname: string): MasqueTunnel | null {
  return running.get(ifname) ?? null;
}
