/**
 * The local DNS proxy, run inside the agent through the DNS module's
 * in-process API (src/runtime/dns/index.ts, `startDnsProxy`).
 */
import { readFile } from 'node:fs/promises';
import type { HostAnswer } from './hosts.js';

export interface ProxyHandle {
  stop(): Promise<void>;
}

export interface ProxyStartOptions {
  readonly configText: string;
  /** The resolvers the device had: used by fallback rules without servers. */
  readonly systemResolvers: readonly string[];
  readonly fwmark: number;
  /** Extra CA (PEM file) for the DoH server, besides NODE_EXTRA_CA_CERTS. */
  readonly dohCaFile?: string;
  readonly onHostAnswer: ((a: HostAnswer) => Promise<void>) | null;
  readonly log: (msg: string) => void;
}

/** PEM bundles the DoH client should trust beyond the system store. */
export async function extraCas(dohCaFile: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const f of [process.env['NODE_EXTRA_CA_CERTS'], dohCaFile]) {
    if (f) out.push(await readFile(f, 'utf8'));
  }
  return out;
}

export async function startProxy(opts: ProxyStartOptions): Promise<ProxyHandle> {
  const spec = '../dns/index.js';
  const mod = (await import(spec)) as { startDnsProxy: (o: Record<string, unknown>) => Promise<ProxyHandle> };
  return mod.startDnsProxy({
    configText: opts.configText,
    systemResolvers: opts.systemResolvers,
    extraCa: await extraCas(opts.dohCaFile),
    onHostRule: opts.onHostAnswer ? (e: { name: string; addresses: string[]; ttl: number; action: 'tunnel' | 'bypass' }) => (opts.onHostAnswer as (a: HostAnswer) => Promise<void>)({ ...e }) : undefined,
    log: opts.log,
  });
}
