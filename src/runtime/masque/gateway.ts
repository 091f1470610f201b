/**
 * `warpc gateway --masque-listen`: the reference MASQUE server run in the
 * foreground on a gateway. Its identity (P-256 key 0600 and self-signed
 * certificate) lives in its state directory and its pin is printed for the
 * profile's tunnel.server_pin; its clients come from a clients file or, with
 * setClients(), from the orchestrator's device list (src/gateway/masque-clients.ts);
 * it opens one TUN device, routes each known client's addresses into it, and forwards (the gateway's own forwarding,
 * firewall and NAT are the admin's). Closing the TUN on exit removes the link
 * and its routes; it changes nothing else on the host.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatPrefix, type Prefix } from '../../net/ip.js';
import { TunDevice } from '../tunnel/tun.js';
import { loadOrCreateIdentity } from './cert.js';
import { clientsFromFile, MasqueServer, parseClientsFile, type ClientEntry } from './server.js';

const run = promisify(execFile);

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  /** The clients file (read now and at every new session); absent: no client until setClients() (the orchestrator's list). */
  readonly clientsFile?: string;
  readonly stateDir: string;
  readonly tunName: string;
  readonly mtu: number;
  readonly log: (msg: string) => void;
}

export interface RunningGateway {
  readonly server: MasqueServer;
  readonly tun: TunDevice;
  readonly pin: string;
  readonly port: number;
  /** The known clients from now on (without a clients file): new ones' addresses are routed into the TUN, removed ones' routes deleted and their live sessions closed. */
  setClients(clients: readonly ClientEntry[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  // The clients file is read now (to fail early and route its addresses) and again at every session;
  // without one, the clients are what setClients() last gave (none at first).
  const file = o.clientsFile;
  const clients = file !== undefined ? parseClientsFile(readFileSync(file, 'utf8'), file) : [];
  let current: readonly ClientEntry[] = clients;
  const id = await loadOrCreateIdentity(o.stateDir, { usage: 'server', commonName: 'warpc gateway' });
  // Each client's addresses are routed into the TUN: those in the file now, and a client added
  // to the file later when its first session starts.
  const routed = new Set<string>();
  let tunName = o.tunName;
  const route = async (c: { readonly allowed: readonly Prefix[] }): Promise<void> => {
    for (const p of c.allowed) {
      const text = formatPrefix(p);
      if (routed.has(text)) continue;
      await run('ip', [p.family === 4 ? '-4' : '-6', 'route', 'replace', text, 'dev', tunName]);
      routed.add(text);
    }
  };
  const server = new MasqueServer({
    host: o.host,
    port: o.port,
    keyPem: id.keyPem,
    certPem: id.certPem,
    clients: file !== undefined ? clientsFromFile(file) : () => current,
    clientsSource: file ?? "the orchestrator's device list",
    log: o.log,
    onClient: route,
  });
  const tun = new TunDevice(o.tunName, (packets) => server.fromTun(packets));
  tunName = tun.name;
  try {
    server.attach(tun);
    await run('ip', ['link', 'set', 'dev', tun.name, 'mtu', String(o.mtu), 'up']);
    for (const c of clients) await route(c);
    const addr = await server.listen();
    await writeFile(join(o.stateDir, 'masque.pin'), `sha256/${id.pin}\n`);
    o.log(`MASQUE gateway listening on ${o.host}:${addr.port} (HTTP/2, TLS 1.3), TUN ${tun.name}, ${file !== undefined ? `${clients.length} known client(s)` : "clients from the orchestrator's device list"}; server key pin: sha256/${id.pin}`);
    return {
      server,
      tun,
      pin: id.pin,
      port: addr.port,
      setClients: async (next) => {
        current = next;
        const keep = new Set(next.flatMap((c) => c.allowed.map(formatPrefix)));
        for (const text of [...routed]) {
          if (keep.has(text)) continue;
          await run('ip', [text.includes(':') ? '-6' : '-4', 'route', 'del', text, 'dev', tunName]).catch(() => undefined);
          routed.delete(text);
        }
        for (const c of next) await route(c);
        server.refresh();
      },
      stop: async () => {
        await server.close();
        tun.close();
      },
    };
  } catch (err) {
    tun.close();
    throw err;
  }
}
