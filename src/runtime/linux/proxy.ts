/**
 * The local DNS proxy, run inside the agent through the DNS module's
 * in-process API (src/runtime/dns/index.ts).
 *
 * Extra CAs: Node adds NODE_EXTRA_CA_CERTS to its default store, which the DoH
 * client uses when it is given no `ca`; when `--doh-ca` is given the client
 * trusts the system roots plus that `ca`, so the NODE_EXTRA_CA_CERTS bundle is
 * passed along with it to keep both.
 */
import { readFile } from 'node:fs/promises';
import { createLogger, parseDnsProxyConfig, startDnsProxy } from '../dns/index.js';
import type { HostAnswer } from './hosts.js';

export interface ProxyHandle {
  stop(): Promise<void>;
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

/** The `ca` to hand the DoH client, or undefined to use Node's default store (which has NODE_EXTRA_CA_CERTS). */
export async function dohCa(dohCaFile: string | undefined): Promise<string | undefined> {
  if (!dohCaFile) return undefined;
  const parts = [await readFile(dohCaFile, 'utf8')];
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  if (extra) parts.unshift(await readFile(extra, 'utf8'));
  return parts.join('\n');
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
  return { stop: () => proxy.close() };
}
