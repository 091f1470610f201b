/**
 * The local DNS proxy, run inside the agent through the DNS module's
 * in-process API (src/runtime/dns/index.ts); extra CAs as src/runtime/dns/ca.ts says.
 */
import { createLogger, dohCa, parseDnsProxyConfig, startDnsProxy } from '../dns/index.js';
import type { HostAnswer } from './hosts.js';

export interface ProxyHandle {
  stop(): Promise<void>;
  /** Swap dns-proxy.json in place (no socket closed); returns how many cached answers were dropped. */
  reconfigure(configText: string): number;
  /** The dns-proxy.json the proxy runs now (the start text, or the last reconfigure's). */
  configText(): string;
}

export interface ProxyStartOptions {
  readonly configText: string;
  /** The resolvers the device had: used by fallback rules without servers. */
  readonly systemResolvers: readonly string[];
  /** Extra CA (PEM file) for the DoH server, besides NODE_EXTRA_CA_CERTS. */
  readonly dohCaFile?: string;
  readonly onHostAnswer: ((a: HostAnswer) => Promise<void>) | null;
  readonly log: (msg: string) => void;
}

export async function startProxy(opts: ProxyStartOptions): Promise<ProxyHandle> {
  const config = parseDnsProxyConfig(opts.configText);
  const ca = await dohCa(opts.dohCaFile);
  const onHost = opts.onHostAnswer;
  const level = (process.env['WARPC_DNS_LOG_LEVEL'] ?? 'warn') as 'debug' | 'info' | 'warn' | 'error';
  const proxy = await startDnsProxy({
    config,
    dohCa: ca,
    systemResolvers: opts.systemResolvers,
    logger: createLogger({ level, write: (line) => opts.log(`dns: ${line.replace(/\n$/, '')}`) }),
    onHostRule: onHost ? (e) => onHost({ name: e.name, addresses: e.addresses, ttl: e.ttl, action: e.action }) : undefined,
  });
  let current = opts.configText;
  return {
    stop: () => proxy.close(),
    reconfigure: (text) => {
      const dropped = proxy.reconfigure(parseDnsProxyConfig(text)).dropped;
      current = text;
      return dropped;
    },
    configText: () => current,
  };
}
