/**
 * `warpc dns-proxy <compiled linux dir>`: run the local DNS proxy in the
 * foreground from `<dir>/dns-proxy.json`, until SIGINT or SIGTERM.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { ListenAddress, LogFormat, LogLevel } from '../runtime/dns/index.js';
import { CliExit, EXIT } from './exit.js';

interface Options {
  listen?: string[];
  dohCa?: string;
  systemResolvers?: string[];
  logFormat: LogFormat;
  logLevel: LogLevel;
  queryTimeout?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const collectList = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), ...value.split(',').filter((s) => s !== '')];

export function register(program: Command): void {
  program
    .command('dns-proxy')
    .description('Run the local DNS proxy in the foreground from a compiled Linux target (stops on SIGINT/SIGTERM).')
    .argument('<dir>', 'compiled Linux target folder holding dns-proxy.json')
    .option('--listen <addr:port>', 'listen on this address, UDP and TCP (repeatable; default: the addresses in dns-proxy.json, port 53)', collect)
    .option('--doh-ca <file>', 'also trust this CA certificate (PEM) for the DoH server, besides NODE_EXTRA_CA_CERTS')
    .option('--system-resolvers <addr[,addr…]>', 'resolvers for fallback suffixes without servers (ADDR, ADDR:PORT or [V6]:PORT; repeatable)', collectList)
    .option('--query-timeout <ms>', 'answer SERVFAIL when an upstream has not answered within this time')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addHelpText(
      'after',
      `
Examples:
  $ warpc dns-proxy out/linux
  $ warpc dns-proxy out/linux --listen 127.0.2.2:5353 --listen [::1]:5353 --log-format json
  $ warpc dns-proxy out/linux --doh-ca gateway-ca.pem --system-resolvers 192.168.1.1`,
    )
    .action(async (dir: string, opts: Options) => {
      const { ContractError, createLogger, dohCa: readDohCa, loadDnsProxyConfig, parseHostPort, startDnsProxy } = await import('../runtime/dns/index.js');
      const listen: ListenAddress[] = [];
      for (const text of opts.listen ?? []) {
        const a = parseHostPort(text, 53);
        if (a === null) throw new CliExit(EXIT.usage, `warpc dns-proxy: --listen ${JSON.stringify(text)}: expected ADDR:PORT or [V6]:PORT`);
        listen.push(a);
      }
      for (const text of opts.systemResolvers ?? []) {
        if (parseHostPort(text, 53) === null) throw new CliExit(EXIT.usage, `warpc dns-proxy: --system-resolvers ${JSON.stringify(text)}: expected ADDR, ADDR:PORT or [V6]:PORT`);
      }
      let queryTimeoutMs: number | undefined;
      if (opts.queryTimeout !== undefined) {
        queryTimeoutMs = Number(opts.queryTimeout);
        if (!Number.isInteger(queryTimeoutMs) || queryTimeoutMs < 1 || queryTimeoutMs > 60_000) {
          throw new CliExit(EXIT.usage, `warpc dns-proxy: --query-timeout ${JSON.stringify(opts.queryTimeout)}: expected milliseconds from 1 to 60000`);
        }
      }
      let config;
      try {
        config = await loadDnsProxyConfig(join(dir, 'dns-proxy.json'));
      } catch (err) {
        if (err instanceof ContractError) throw new CliExit(EXIT.failure, `warpc dns-proxy: ${err.message}`);
        throw err;
      }
      // As in warpc up: --doh-ca adds to NODE_EXTRA_CA_CERTS rather than replacing it (a given `ca` replaces Node's default store).
      let dohCa: string | undefined;
      if (opts.dohCa !== undefined) {
        try {
          dohCa = await readDohCa(opts.dohCa);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          const which = e.path !== undefined && e.path !== opts.dohCa ? `NODE_EXTRA_CA_CERTS ${e.path}` : `--doh-ca ${opts.dohCa}`;
          throw new CliExit(EXIT.failure, `warpc dns-proxy: ${which}: ${e.code ?? String(err)}`);
        }
      }
      const logger = createLogger({ format: opts.logFormat, level: opts.logLevel });
      let proxy;
      try {
        proxy = await startDnsProxy({
          config,
          listen: listen.length > 0 ? listen : undefined,
          dohCa,
          systemResolvers: opts.systemResolvers,
          logger,
          tuning: queryTimeoutMs === undefined ? undefined : { queryTimeoutMs, dohTimeoutMs: queryTimeoutMs },
        });
      } catch (err) {
        throw new CliExit(EXIT.failure, `warpc dns-proxy: cannot start: ${err instanceof Error ? err.message : String(err)}`);
      }
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const onSignal = (sig: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(sig);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      logger.info('stopping', { signal, ...summary(proxy.stats()) });
      await proxy.close();
    });
}

function summary(s: { queries: number; cacheHits: number; doh: number; fallback: number; servfail: number }): Record<string, number> {
  return { queries: s.queries, cache_hits: s.cacheHits, doh: s.doh, fallback: s.fallback, servfail: s.servfail };
}
