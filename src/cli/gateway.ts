/**
 * `warpc gateway --masque-listen ADDR:PORT --masque-clients FILE`: run the
 * reference MASQUE server (CONNECT-IP over HTTP/2) in the foreground until
 * SIGINT or SIGTERM. `--orchestrator URL --token T --interface WG` (alone or
 * with MASQUE): keep that wireguard-go interface's peers in sync with the
 * orchestrator's device list (src/gateway/peer-sync.ts). `--masque-listen` with
 * `--orchestrator` and no `--masque-clients`: the MASQUE server's clients are
 * the devices of that list with a MASQUE key (src/gateway/masque-clients.ts).
 */
import type { Command } from 'commander';
import type { GatewayPeers } from '../contract/orchestrator.js';
import type { ClientEntry } from '../runtime/masque/server.js';
import { CliExit, EXIT } from './exit.js';

interface Options {
  masqueListen?: string;
  masqueClients?: string;
  orchestrator?: string;
  token?: string;
  interface?: string;
  pin?: string;
  ca?: string;
  stateDir: string;
  tun: string;
  mtu: string;
}

export function register(program: Command): void {
  program
    .command('gateway')
    .description("Run the reference gateway in the foreground: the MASQUE server (CONNECT-IP over HTTP/2 from registered client keys, to a TUN device), and/or the WireGuard peer sync that keeps an interface's peers equal to an orchestrator's devices")
    .option('--masque-listen <addr:port>', 'MASQUE: TCP address to listen on (e.g. 0.0.0.0:443)')
    .option('--masque-clients <file>', "MASQUE: known clients, one a line: sha256/PIN ADDRESSES [NAME] (read again at every new session); without it and with --orchestrator, the orchestrator's devices with a MASQUE key")
    .option('--orchestrator <url>', 'peer sync: the orchestrator, https://HOST[:PORT] (GET /v0/gateway/peers, long-poll)')
    .option('--token <token>', 'peer sync: a gateway token (warpc orchestrator token create --gateway)')
    .option('--interface <name>', 'peer sync: the wireguard-go interface whose peers follow the orchestrator (other peers are left alone); optional with --masque-listen')
    .option('--pin <sha256>', "peer sync: the orchestrator certificate's pin (sha256/BASE64, or its fingerprint as serve prints it)")
    .option('--ca <file>', "peer sync: trust orchestrator certificates issued by this CA (e.g. warpc-orchestrator/ca.pem)")
    .option('--state-dir <dir>', "the gateway's key (masque.key, 0600), certificate and masque.pin; the peer sync's gateway-peers.json", '/var/lib/warpc-gateway')
    .option('--tun <name>', 'the TUN device to create', 'warpc-masque')
    .option('--mtu <n>', 'MTU of the TUN device', '1280')
    .addHelpText('after', '\nExample:\n  $ sudo warpc gateway --masque-listen 0.0.0.0:443 --masque-clients /etc/warpc/masque-clients')
    .action(async (opts: Options) => {
      const sync = opts.orchestrator !== undefined;
      if (!sync && opts.masqueListen === undefined) throw new CliExit(EXIT.usage, 'warpc gateway: give --masque-listen and --masque-clients (MASQUE), or --orchestrator, --token and --interface (WireGuard peer sync), or both');
      // MASQUE clients from the orchestrator: --masque-listen with --orchestrator and no --masque-clients.
      const masqueFromOrch = sync && opts.masqueListen !== undefined && opts.masqueClients === undefined;
      if (sync && (opts.token === undefined || (opts.interface === undefined && !masqueFromOrch) || (opts.pin === undefined) === (opts.ca === undefined)))
        throw new CliExit(EXIT.usage, 'warpc gateway: --orchestrator needs --token, exactly one of --pin or --ca, and --interface (WireGuard peer sync) or --masque-listen (MASQUE clients from the orchestrator)');
      if (opts.masqueClients !== undefined && opts.masqueListen === undefined) throw new CliExit(EXIT.usage, 'warpc gateway: --masque-clients needs --masque-listen');
      if (opts.masqueListen !== undefined && opts.masqueClients === undefined && !sync) throw new CliExit(EXIT.usage, 'warpc gateway: --masque-listen needs --masque-clients FILE, or --orchestrator (its device list names the MASQUE clients)');
      // The orchestrator's last list, handed to the MASQUE server once it runs and at every change.
      let masqueList: GatewayPeers | null = null;
      let masqueGw: { setClients(c: readonly ClientEntry[]): Promise<void> } | null = null;
      const toMasque = async (): Promise<void> => {
        if (!masqueGw || !masqueList) return;
        const { masqueClientsOf } = await import('../gateway/masque-clients.js');
        const clients = masqueClientsOf(masqueList.peers, glog);
        await masqueGw.setClients(clients);
        glog(`MASQUE clients at version ${masqueList.version}: ${clients.length} device(s) with a MASQUE key`);
      };
      const stops: (() => Promise<void>)[] = [];
      const done: Promise<unknown>[] = [];
      const glog = (msg: string): void => {
        process.stderr.write(`warpc: gateway: ${msg}\n`);
      };
      if (sync) {
        const { agentAction } = await import('./enroll.js');
        await agentAction(async () => {
          const { parseOrchestratorUrl, parsePinArg } = await import('../agent/http.js');
          const { readFile } = await import('node:fs/promises');
          const url = parseOrchestratorUrl(opts.orchestrator as string);
          const trust = { pin: opts.pin !== undefined ? parsePinArg(opts.pin) : null, ca: opts.ca !== undefined ? await readFile(opts.ca, 'utf8') : null };
          const { runPeerSync } = await import('../gateway/peer-sync.js');
          const ctl = new AbortController();
          const { followTuning } = await import('./up.js');
          const { waitSeconds, backoffMinMs, backoffMaxMs } = followTuning();
          const onPeers = masqueFromOrch
            ? async (list: GatewayPeers): Promise<void> => {
                masqueList = list;
                await toMasque();
              }
            : undefined;
          done.push(runPeerSync({ orchestrator: url, token: opts.token as string, trust, ...(opts.interface !== undefined ? { ifname: opts.interface } : {}), ...(onPeers ? { onPeers } : {}), stateDir: opts.stateDir, log: glog, signal: ctl.signal, ...(waitSeconds ? { waitSeconds } : {}), ...(backoffMinMs ? { backoffMinMs } : {}), ...(backoffMaxMs ? { backoffMaxMs } : {}) }));
          stops.push(async () => ctl.abort());
        });
      }
      if (opts.masqueListen === undefined) {
        await new Promise<void>((resolve) => {
          const stop = (sig: string): void => {
            glog(`${sig}: stopping`);
            void Promise.all(stops.map((f) => f())).then(() => Promise.all(done)).then(() => resolve(), () => resolve());
          };
          process.once('SIGINT', () => stop('SIGINT'));
          process.once('SIGTERM', () => stop('SIGTERM'));
        });
        return;
      }
      const m = /^\[?([0-9A-Fa-f:.]+)\]?:(\d{1,5})$/.exec(opts.masqueListen);
      const port = Number(m?.[2]);
      if (!m || port < 0 || port > 65535) throw new CliExit(EXIT.usage, `warpc gateway: --masque-listen ${JSON.stringify(opts.masqueListen)}: expected ADDR:PORT or [V6]:PORT`);
      const mtu = Number(opts.mtu);
      if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) throw new CliExit(EXIT.usage, `warpc gateway: --mtu ${JSON.stringify(opts.mtu)}: expected 1280 to 65535`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(opts.tun)) throw new CliExit(EXIT.usage, `warpc gateway: --tun ${JSON.stringify(opts.tun)}: expected an interface name of at most 15 characters`);
      const { startGateway } = await import('../runtime/masque/gateway.js');
      const log = (msg: string): void => {
        process.stderr.write(`warpc: gateway: ${msg}\n`);
      };
      let gw;
      try {
        gw = await startGateway({ host: m[1] as string, port, ...(opts.masqueClients !== undefined ? { clientsFile: opts.masqueClients } : {}), stateDir: opts.stateDir, tunName: opts.tun, mtu, log });
        if (masqueFromOrch) {
          masqueGw = gw;
          await toMasque();
        }
      } catch (err) {
        throw new CliExit(EXIT.failure, `warpc gateway: ${(err as Error).message}`);
      }
      const running = gw;
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log(`${sig}: stopping`);
          void Promise.all([running.stop(), ...stops.map((f) => f())]).then(() => Promise.all(done)).then(() => resolve(), () => resolve());
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
