/**
 * The local DNS proxy: programmatic API (used by `warpc dns-proxy` and by the
 * Linux runtime, in-process).
 *
 * ```ts
 * import { loadDnsProxyConfig, startDnsProxy } from '../dns/index.js';
 *
 * const config = await loadDnsProxyConfig('out/linux/dns-proxy.json');
 * const proxy = await startDnsProxy({
 *   config,                                  // the parsed dns-proxy.json
 *   listen: [{ address: '127.0.2.2', port: 53 }],   // optional; default config.listen
 *   dohCa: pemText,                          // optional extra CA for the DoH server
 *   systemResolvers: ['192.168.1.1'],        // the resolvers the device had before
 *                                            // ("ADDR", "ADDR:PORT", "[V6]:PORT" or {address, port})
 *   logger,                                  // optional, see log.ts (createLogger)
 *   onHostRule: async (e) => { ... },        // {name, addresses, ttl, action: 'tunnel'|'direct'}
 *   tuning: { queryTimeoutMs: 5000 },        // optional, see ProxyTuning
 * });
 * proxy.addresses;   // [{ address, port, transport: 'udp'|'tcp' }] actually bound
 * proxy.stats();     // counters: queries, cacheHits, doh, fallback, servfail, ...
 * await proxy.close();  // stops listeners, answers waiting queries SERVFAIL, closes DoH
 * ```
 *
 * Behaviour:
 * - UDP and TCP on every listen address. startDnsProxy rejects (and leaves
 *   nothing bound) when any address cannot be bound.
 * - A name under a fallback suffix (longest suffix on whole labels) goes to
 *   that rule's servers over plain DNS, all at once, first answer wins;
 *   `use_system_resolvers` rules go to `systemResolvers`. Such a name never
 *   goes to DoH: when its servers fail (or none are known) the answer is SERVFAIL.
 * - Every other name goes to `config.doh` over DoH (RFC 8484), connecting to
 *   the bootstrap addresses, never resolving the DoH host name.
 * - `config.local_answers` names are answered by the proxy itself.
 * - `onHostRule` is called for answers whose name matches a host rule, before
 *   the answer is sent; when it returns a promise the answer waits for it (at
 *   most `tuning.hostRuleWaitMs`), so routes can be in place before the
 *   client connects. Answers served from the cache do not call it again: a
 *   listener should keep what it installs for at least `ttl` seconds.
 * - Sockets carry no firewall mark: the runtime must route `doh.addresses`
 *   and fallback servers according to `doh.via` / `servers[].path`.
 */
import net from 'node:net';
import type { DnsProxyConfig } from './config.js';
import { DohClient } from './doh.js';
import { BatchUdpListener, DEFAULT_TCP_LIMITS, TcpListener, UdpListener, type ListenAddress, type TcpLimits } from './listeners.js';
import { AnswerTable, udpBatch } from './udp-batch.js';
import { silentLogger, type Logger } from './log.js';
import type { PlainServer } from './plain.js';
import { DEFAULT_TUNING, ProxyCore, type HostRuleListener, type ProxyStats, type ProxyTuning, type Upstream } from './proxy.js';
import { normalizeName } from '../../net/names.js';
import { Router } from './router.js';

export { loadDnsProxyConfig, parseDnsProxyConfig, type DnsProxyConfig } from './config.js';
export { ContractError } from '../../contract/json-file.js';
export { dohCa } from './ca.js';
export { createLogger, silentLogger, type Logger, type LogFormat, type LogLevel } from './log.js';
export type { HostRuleEvent, HostRuleListener, ProxyStats, ProxyTuning } from './proxy.js';
export type { ListenAddress } from './listeners.js';
export type { PlainServer } from './plain.js';

export interface DnsProxyTuning extends ProxyTuning {
  /** DoH request timeout (ms). */
  readonly dohTimeoutMs: number;
  readonly dohPingIntervalMs: number;
  readonly dohIdleTimeoutMs: number;
  /** Port of fallback servers listed in the config (they are addresses only). */
  readonly fallbackPort: number;
  readonly tcp: TcpLimits;
}

export interface DnsProxyOptions {
  readonly config: DnsProxyConfig;
  /** Overrides config.listen. */
  readonly listen?: readonly ListenAddress[] | undefined;
  /** Extra CA (PEM) trusted for the DoH server. */
  readonly dohCa?: string | Buffer | undefined;
  /** The device's previous resolvers, for `use_system_resolvers` rules. */
  readonly systemResolvers?: readonly (string | PlainServer)[] | undefined;
  readonly logger?: Logger | undefined;
  readonly onHostRule?: HostRuleListener | undefined;
  readonly tuning?: Partial<DnsProxyTuning> | undefined;
  /** Replace the DoH client (tests with scripted upstreams). */
  readonly dohUpstream?: Upstream | undefined;
}

export interface BoundAddress {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

export interface ReconfigureResult {
  /** Cached answers dropped because their name now routes differently (or its host rule changed). */
  readonly dropped: number;
  readonly dohReplaced: boolean;
}

export interface DnsProxyHandle {
  readonly addresses: readonly BoundAddress[];
  /**
   * Apply a new config in place: same listeners (a different `listen` is refused),
   * new routing; cached answers of names whose route, fallback servers or paths,
   * local answer or host rule changed are dropped, the rest kept; the DoH client
   * is replaced only when the DoH URL or addresses change.
   */
  reconfigure(config: DnsProxyConfig, systemResolvers?: readonly (string | PlainServer)[]): ReconfigureResult;
  stats(): ProxyStats & { dohClient: DohClient['stats'] | null };
  close(): Promise<void>;
}

/** Parse "ADDR", "ADDR:PORT" or "[V6]:PORT" (port defaults to `defaultPort`). */
export function parseHostPort(text: string, defaultPort: number): ListenAddress | null {
  let address = text;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    address = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (text.includes('.') && text.includes(':')) {
    const i = text.lastIndexOf(':');
    address = text.slice(0, i);
    port = /^\d+$/.test(text.slice(i + 1)) ? Number(text.slice(i + 1)) : -1;
  }
  if (net.isIP(address) === 0 || !Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { address, port };
}

function parseResolvers(list: readonly (string | PlainServer)[] | undefined): PlainServer[] {
  const system: PlainServer[] = [];
  for (const s of list ?? []) {
    const parsed = typeof s === 'string' ? parseHostPort(s, 53) : s;
    if (parsed === null) throw new Error(`invalid system resolver ${JSON.stringify(s)}`);
    system.push(parsed);
  }
  return system;
}

/** What decides where a name goes and what its answer triggers, as comparable text. */
/**
 * The route of a name under one configuration, as a string two configurations can be
 * compared by: names whose route differs lose their cached answers on reconfigure. Built
 * once per configuration (rules looked up by normalized name, the DoH part rendered once)
 * and memoized per name, since a reconfigure asks for every cached name (many keys share
 * one: A, AAAA, with and without DO).
 */
function routeOf(cfg: DnsProxyConfig, router: Router): (name: string) => string {
  const doh = `doh ${cfg.doh.url} ${cfg.doh.addresses.join(',')} ${JSON.stringify(cfg.doh.paths ?? cfg.doh.via)}`;
  const locals = new Map<string, string>();
  for (const a of cfg.local_answers) {
    const n = normalizeName(a.name);
    if (!locals.has(n)) locals.set(n, JSON.stringify(a));
  }
  const fallbacks = new Map<string, string>();
  for (const f of cfg.fallback) {
    const n = normalizeName(f.suffix);
    if (!fallbacks.has(n)) fallbacks.set(n, JSON.stringify(f));
  }
  const memo = new Map<string, string>();
  return (name) => {
    let out = memo.get(name);
    if (out !== undefined) return out;
    const r = router.route(name);
    const host = router.hostAction(name) ?? '';
    if (r.kind === 'doh') out = `${doh} ${host}`;
    else if (r.kind === 'local') out = `local ${locals.get(r.name) ?? JSON.stringify(r.name)} ${host}`;
    else out = `fallback ${r.suffix} ${fallbacks.get(r.suffix) ?? 'null'} ${r.servers.map((s) => `${s.address}:${s.port}`).join(',')} ${host}`;
    memo.set(name, out);
    return out;
  };
}

export async function startDnsProxy(opts: DnsProxyOptions): Promise<DnsProxyHandle> {
  const t = { ...DEFAULT_TUNING, dohTimeoutMs: 4000, dohPingIntervalMs: 15_000, dohIdleTimeoutMs: 300_000, fallbackPort: 53, tcp: DEFAULT_TCP_LIMITS, ...opts.tuning };
  const logger = opts.logger ?? silentLogger;
  let system = parseResolvers(opts.systemResolvers);
  let config = opts.config;
  let router = new Router(config, system, t.fallbackPort);
  let dohClient: DohClient | null = null;
  let upstream = opts.dohUpstream;
  const newDoh = (cfg: DnsProxyConfig): DohClient =>
    new DohClient({
      url: cfg.doh.url,
      addresses: cfg.doh.addresses,
      ca: opts.dohCa,
      timeoutMs: t.dohTimeoutMs,
      pingIntervalMs: t.dohPingIntervalMs,
      idleTimeoutMs: t.dohIdleTimeoutMs,
      onEvent: (event, detail) => logger.debug(`doh ${event}`, detail),
    });
  if (upstream === undefined) {
    dohClient = newDoh(opts.config);
    upstream = dohClient;
  }
  const core = new ProxyCore(router, upstream, t, logger, opts.onHostRule);
  const listen = opts.listen ?? opts.config.listen;
  const udp: (UdpListener | BatchUdpListener)[] = [];
  const native = udpBatch();
  // Cache hits over UDP are answered by the native layer from a mirror of the cache.
  const table = native ? new AnswerTable(native) : null;
  if (table) core.attachFastPath(table);
  const tcp: TcpListener[] = [];
  const shutdown = async (): Promise<void> => {
    // Waiting queries get SERVFAIL while the sockets can still carry it.
    core.close();
    dohClient?.close();
    await new Promise<void>((r) => setImmediate(r));
    await Promise.all([...udp.map((l) => l.close()), ...tcp.map((l) => l.close())]);
  };
  try {
    for (const at of listen) {
      // With port 0, TCP takes the port UDP got; if that number is taken for TCP, try another pair.
      for (let attempt = 1; ; attempt++) {
        const u = native ? BatchUdpListener.bind(native, core, at, logger, table) : await UdpListener.bind(core, at, logger);
        try {
          tcp.push(await TcpListener.bind(core, { address: at.address, port: u.port }, t.tcp, logger));
          udp.push(u);
          break;
        } catch (err) {
          await u.close();
          if (at.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
        }
      }
    }
  } catch (err) {
    await shutdown();
    throw err;
  }
  const sweep = setInterval(() => core.sweep(), 30_000);
  sweep.unref();
  const addresses: BoundAddress[] = [
    ...udp.map((l) => ({ address: l.address, port: l.port, transport: 'udp' as const })),
    ...tcp.map((l) => ({ address: l.address, port: l.port, transport: 'tcp' as const })),
  ];
  logger.debug(native ? 'udp: native recvmmsg/sendmmsg batches, cache hits answered natively' : 'udp: node:dgram');
  logger.info('dns proxy listening', { addresses: addresses.map((a) => `${a.transport}:${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`).join(',') });
  let closing: Promise<void> | null = null;
  const reconfigure = (next: DnsProxyConfig, resolvers?: readonly (string | PlainServer)[]): ReconfigureResult => {
    if (opts.listen === undefined && JSON.stringify(next.listen) !== JSON.stringify(config.listen)) {
      throw new Error(`the DNS proxy's listen addresses cannot change in place (${config.listen.map((l) => `${l.address}:${l.port}`).join(', ')} -> ${next.listen.map((l) => `${l.address}:${l.port}`).join(', ')})`);
    }
    const nextSystem = resolvers === undefined ? system : parseResolvers(resolvers);
    const nextRouter = new Router(next, nextSystem, t.fallbackPort);
    const dohChanged = next.doh.url !== config.doh.url || next.doh.addresses.join(',') !== config.doh.addresses.join(',');
    let replacement: DohClient | null = null;
    const old = dohClient;
    if (dohChanged && dohClient !== null) replacement = newDoh(next);
    const [oldCfg, oldRouter] = [config, router];
    const [before, after] = [routeOf(oldCfg, oldRouter), routeOf(next, nextRouter)];
    const dropped = core.reconfigure(nextRouter, replacement, (name) => before(name) !== after(name));
    if (replacement !== null) {
      dohClient = replacement;
      // Queries in flight on the old client finish (or time out) there; then it closes.
      setTimeout(() => old?.close(), t.dohTimeoutMs + 1000).unref();
    }
    config = next;
    router = nextRouter;
    system = nextSystem;
    logger.info('dns proxy reconfigured', { dropped, doh: replacement !== null ? 'replaced' : 'kept' });
    return { dropped, dohReplaced: replacement !== null };
  };
  return {
    addresses,
    reconfigure,
    stats: () => ({ ...core.stats(), dohClient: dohClient ? { ...dohClient.stats } : null }),
    close: () => {
      if (closing === null) {
        clearInterval(sweep);
        closing = shutdown().then(() => logger.info('dns proxy stopped'));
      }
      return closing;
    },
  };
}
