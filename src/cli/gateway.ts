/**
 * `warpc gateway --masque-listen ADDR:PORT --masque-clients FILE`: run the
 * reference MASQUE server (CONNECT-IP over HTTP/2) in the foreground until
 * SIGINT or SIGTERM. `--orchestrator URL --token T --interface WG` (alone or
 * with MASQUE): keep that wireguard-go interface's peers in sync with the
 * orchestrator's device list (src/gateway/peer-sync.ts); with `--masque-listen`
 * and no `--masque-clients`, the MASQUE server's clients are the devices of that
 * list with a MASQUE key (src/gateway/masque-clients.ts). `--doh-listen ADDR:PORT
 * --doh-upstream ADDR[:PORT]` (alone or with either): run dnsdist as a supervised
 * DoH resolver in front of that resolver, with a block list (src/gateway/doh.ts).
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
  dohListen?: string;
  dohUpstream?: string;
  blockList?: string;
  dohCert?: string;
  dohKey?: string;
  dohPath: string;
  dohName: string[];
  stateDir: string;
  tun: string;
  mtu: string;
}

export function register(program: Command): void {
  program
    .command('gateway')
    .description("Run the reference gateway in the foreground: the MASQUE server (CONNECT-IP over HTTP/2 from registered client keys, to a TUN device), the WireGuard peer sync that keeps an interface's peers equal to an orchestrator's devices, and/or a DoH resolver (dnsdist, supervised) with a block list, in any combination")
    .option('--masque-listen <addr:port>', 'MASQUE: TCP address to listen on (e.g. 0.0.0.0:443)')
    .option('--masque-clients <file>', "MASQUE: known clients, one a line: sha256/PIN ADDRESSES [NAME] (read again at every new session); without it and with --orchestrator, the orchestrator's devices with a MASQUE key")
    .option('--orchestrator <url>', 'peer sync: the orchestrator, https://HOST[:PORT] (GET /v0/gateway/peers, long-poll)')
    .option('--token <token>', 'peer sync: a gateway token (warpc orchestrator token create --gateway)')
    .option('--interface <name>', 'peer sync: the wireguard-go interface whose peers follow the orchestrator (other peers are left alone); optional with --masque-listen')
    .option('--pin <sha256>', "peer sync: the orchestrator certificate's pin (sha256/BASE64, or its fingerprint as serve prints it)")
    .option('--ca <file>', "peer sync: trust orchestrator certificates issued by this CA (e.g. warpc-orchestrator/ca.pem)")
    .option('--doh-listen <addr:port>', 'DoH: where dnsdist serves DNS over HTTPS (e.g. 0.0.0.0:443 or [::]:443)')
    .option('--doh-upstream <addr[:port]>', 'DoH: the resolver dnsdist forwards to (port 53 when none is given)')
    .option('--block-list <file>', 'DoH: names answered NXDOMAIN with every name under them, one a line (# comments); a change is applied within seconds')
    .option('--doh-cert <file>', 'DoH: the server certificate (PEM; with --doh-key); without it a CA and a certificate are generated in the state dir')
    .option('--doh-key <file>', "DoH: the certificate's private key (PEM)")
    .option('--doh-path <path>', 'DoH: the URL path', '/dns-query')
    .option('--doh-name <name>', "DoH: a name (or address) for the generated certificate, the DoH URL's host; repeat for more", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--state-dir <dir>', "the gateway's key (masque.key, 0600), certificate and masque.pin; the peer sync's gateway-peers.json; doh/ (dnsdist.conf, the generated DoH CA and certificate)", '/var/lib/warpc-gateway')
    .option('--tun <name>', 'the TUN device to create', 'warpc-masque')
    .option('--mtu <n>', 'MTU of the TUN device', '1280')
    .addHelpText(
      'after',
      '\nExamples:\n  $ sudo warpc gateway --masque-listen 0.0.0.0:443 --masque-clients /etc/warpc/masque-clients\n  $ sudo warpc gateway --doh-listen 0.0.0.0:443 --doh-upstream 127.0.0.1:5301 --block-list /etc/warpc/blocked --doh-name doh.example.com',
    )
    .action(async (opts: Options) => {
      const sync = opts.orchestrator !== undefined;
      const masque = opts.masqueListen !== undefined;
      const doh = opts.dohListen !== undefined;
      const dohOnly = (['dohUpstream', 'blockList', 'dohCert', 'dohKey'] as const).filter((k) => opts[k] !== undefined);
      if (!doh && (dohOnly.length > 0 || opts.dohName.length > 0 || opts.dohPath !== '/dns-query')) throw new CliExit(EXIT.usage, 'warpc gateway: --doh-upstream, --block-list, --doh-cert, --doh-key, --doh-path and --doh-name belong to the DoH resolver: give --doh-listen too');
      if (!sync && !masque && !doh) throw new CliExit(EXIT.usage, 'warpc gateway: give --masque-listen and --masque-clients (MASQUE), or --orchestrator, --token and --interface (WireGuard peer sync), or --doh-listen and --doh-upstream (DoH resolver), or several of them');
      // MASQUE clients from the orchestrator: --masque-listen with --orchestrator and no --masque-clients.
      const masqueFromOrch = sync && masque && opts.masqueClients === undefined;
      if (sync && (opts.token === undefined || (opts.interface === undefined && !masqueFromOrch) || (opts.pin === undefined) === (opts.ca === undefined)))
        throw new CliExit(EXIT.usage, 'warpc gateway: --orchestrator needs --token, exactly one of --pin or --ca, and --interface (WireGuard peer sync) or --masque-listen (MASQUE clients from the orchestrator)');
      if (opts.masqueClients !== undefined && !masque) throw new CliExit(EXIT.usage, 'warpc gateway: --masque-clients needs --masque-listen');
      if (masque && opts.masqueClients === undefined && !sync) throw new CliExit(EXIT.usage, 'warpc gateway: --masque-listen needs --masque-clients FILE, or --orchestrator (its device list names the MASQUE clients)');
      if (doh && opts.dohUpstream === undefined) throw new CliExit(EXIT.usage, 'warpc gateway: --doh-listen needs --doh-upstream (the resolver dnsdist forwards to)');
      if ((opts.dohCert === undefined) !== (opts.dohKey === undefined)) throw new CliExit(EXIT.usage, 'warpc gateway: --doh-cert and --doh-key go together');
      if (opts.dohCert !== undefined && opts.dohName.length > 0) throw new CliExit(EXIT.usage, 'warpc gateway: --doh-name names the generated certificate: not with --doh-cert');
      let masqueListen: { host: string; port: number } | null = null;
      if (masque) {
        const m = /^\[?([0-9A-Fa-f:.]+)\]?:(\d{1,5})$/.exec(opts.masqueListen as string);
        const port = Number(m?.[2]);
        if (!m || port < 0 || port > 65535) throw new CliExit(EXIT.usage, `warpc gateway: --masque-listen ${JSON.stringify(opts.masqueListen)}: expected ADDR:PORT or [V6]:PORT`);
        masqueListen = { host: m[1] as string, port };
      }
      const mtu = Number(opts.mtu);
      if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) throw new CliExit(EXIT.usage, `warpc gateway: --mtu ${JSON.stringify(opts.mtu)}: expected 1280 to 65535`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(opts.tun)) throw new CliExit(EXIT.usage, `warpc gateway: --tun ${JSON.stringify(opts.tun)}: expected an interface name of at most 15 characters`);
      let dohArgs: DohArgs | null = null;
      if (doh) {
        const d = await import('../gateway/doh.js');
        const { AgentError } = await import('../agent/errors.js');
        try {
          const listen = d.parseListen(opts.dohListen as string);
          const unspecified = listen.host === '0.0.0.0' || listen.host === '::';
          dohArgs = { listen, upstream: d.parseUpstream(opts.dohUpstream as string), path: d.parseDohPath(opts.dohPath), names: [...new Set([...opts.dohName.map(d.parseCertName), ...(unspecified ? [] : [listen.host])])] };
        } catch (err) {
          if (err instanceof AgentError) throw new CliExit(EXIT.usage, `warpc gateway: ${err.message}`);
          throw err;
        }
      }

      const glog = (msg: string): void => {
        process.stderr.write(`warpc: gateway: ${msg}\n`);
      };
      // Signals are caught from here on, so one that comes while things start still stops them all.
      let requested: ((sig: string) => void) | null = null;
      const stopRequested = new Promise<string>((resolve) => (requested = resolve));
      const onSignal = (sig: string) => () => requested?.(sig);
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      const stops: (() => Promise<void>)[] = [];
      const done: Promise<unknown>[] = [];
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
      const stopAll = async (): Promise<void> => {
        await Promise.all(stops.map((f) => f().catch((err: Error) => glog(`stopping: ${err.message}`))));
        await Promise.all(done).catch(() => undefined);
      };
      try {
        if (dohArgs) {
          const args = dohArgs;
          const { agentAction } = await import('./enroll.js');
          await agentAction(async () => {
            const { generatedTls, givenTls, readBlockList, startDoh } = await import('../gateway/doh.js');
            const { join } = await import('node:path');
            if (opts.blockList !== undefined) await readBlockList(opts.blockList); // a bad list stops the gateway before anything starts
            const dir = join(opts.stateDir, 'doh');
            const tls = opts.dohCert !== undefined ? await givenTls(opts.dohCert, opts.dohKey as string) : await generatedTls(dir, args.names);
            if (tls.caFile !== null) {
              glog(`doh: ${tls.created ? 'generated' : 'using'} CA ${tls.caFile}, SHA-256 fingerprint ${tls.caFingerprint ?? ''}; devices trust it with warpc up --doh-ca ${tls.caFile}`);
              glog(`doh: server certificate for ${tls.names.join(', ')}${args.names.length === 0 ? ' (give --doh-name with the DoH URL\'s host)' : ''}`);
            }
            const server = await startDoh({ listen: args.listen, upstream: args.upstream, path: args.path, blockList: opts.blockList ?? null, tls, dir, log: glog });
            stops.push(() => server.stop());
          });
        }
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
        if (masqueListen) {
          const { startGateway } = await import('../runtime/masque/gateway.js');
          let gw;
          try {
            gw = await startGateway({ host: masqueListen.host, port: masqueListen.port, ...(opts.masqueClients !== undefined ? { clientsFile: opts.masqueClients } : {}), stateDir: opts.stateDir, tunName: opts.tun, mtu, log: glog });
          } catch (err) {
            throw new CliExit(EXIT.failure, `warpc gateway: ${(err as Error).message}`);
          }
          const running = gw;
          stops.push(() => running.stop());
          if (masqueFromOrch) {
            masqueGw = running;
            await toMasque();
          }
        }
      } catch (err) {
        await stopAll();
        process.removeListener('SIGINT', onInt);
        process.removeListener('SIGTERM', onTerm);
        throw err;
      }
      const sig = await stopRequested;
      glog(`${sig}: stopping`);
      await stopAll();
    });
}

interface DohArgs {
  readonly listen: import('../gateway/doh.js').HostPort;
  readonly upstream: import('../gateway/doh.js').HostPort;
  readonly path: string;
  readonly names: string[];
}
