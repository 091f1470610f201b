/**
 * `warpc gateway --masque-listen ADDR:PORT --masque-clients FILE`: run the
 * reference MASQUE server (CONNECT-IP over HTTP/2) in the foreground until
 * SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';

interface Options {
  masqueListen: string;
  masqueClients: string;
  stateDir: string;
  tun: string;
  mtu: string;
}

export function register(program: Command): void {
  program
    .command('gateway')
    .description('Run the reference MASQUE gateway in the foreground: accepts CONNECT-IP over HTTP/2 from registered client keys and forwards to a TUN device')
    .requiredOption('--masque-listen <addr:port>', 'TCP address to listen on (e.g. 0.0.0.0:443)')
    .requiredOption('--masque-clients <file>', 'known clients, one a line: sha256/PIN ADDRESSES [NAME] (read again at every new session)')
    .option('--state-dir <dir>', "the gateway's key (masque.key, 0600), certificate and masque.pin", '/var/lib/warpc-gateway')
    .option('--tun <name>', 'the TUN device to create', 'warpc-masque')
    .option('--mtu <n>', 'MTU of the TUN device', '1280')
    .addHelpText('after', '\nExample:\n  $ sudo warpc gateway --masque-listen 0.0.0.0:443 --masque-clients /etc/warpc/masque-clients')
    .action(async (opts: Options) => {
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
        gw = await startGateway({ host: m[1] as string, port, clientsFile: opts.masqueClients, stateDir: opts.stateDir, tunName: opts.tun, mtu, log });
      } catch (err) {
        throw new CliExit(EXIT.failure, `warpc gateway: ${(err as Error).message}`);
      }
      const running = gw;
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log(`${sig}: stopping`);
          void running.stop().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
