/**
 * The proxy's core: one query in, one response out, whatever the transport.
 *
 * Hot path (cache hit): parse header/question/OPT into a reused object, build
 * the key from the raw question bytes, look it up, copy the stored bytes and
 * patch ID, question and TTLs. No promise or closure is created.
 *
 * Miss: identical queries in flight are coalesced (one upstream query, many
 * waiters); the router picks a local answer, the fallback servers (plain DNS)
 * or DoH; the flight has a deadline after which every waiter gets SERVFAIL.
 * The number of waiting queries is bounded; beyond the bound a query gets
 * REFUSED at once, so a flood cannot exhaust memory.
 */
import { DnsCache, ENTRY_OVERHEAD_BYTES, renderEntry, type CacheMirror } from './cache.js';
import type { HostAction } from './config.js';
import type { Logger } from './log.js';
import { queryPlain, type PlainServer } from './plain.js';
import type { Route, Router } from './router.js';
import {
  addressResponse,
  cacheKey,
  errorResponse,
  formErrResponse,
  HEADER_LEN,
  inspectResponse,
  isTruncated,
  newQueryInfo,
  Parse,
  parseQuery,
  questionName,
  readName,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  udpLimit,
  type QueryInfo,
  type ResponseInfo,
} from './wire.js';

/** Where a response goes: a UDP socket (port, address of the client) or a TCP connection. */
export interface ReplySink {
  reply(resp: Buffer, port: number, address: string): void;
}

export interface HostRuleEvent {
  /** The name that matched the rule (the question, or the owner of the records). */
  readonly name: string;
  readonly addresses: readonly string[];
  /** The smallest TTL of those records, in seconds. */
  readonly ttl: number;
  readonly action: HostAction;
}

export type HostRuleListener = (event: HostRuleEvent) => void | Promise<void>;

/** A mirror of the cache that answers hits before they reach the core (the native answer table). */
export interface FastPath extends CacheMirror {
  /** Queries it has answered. */
  served(): number;
}

export interface Upstream {
  query(msg: Uint8Array): Promise<Buffer>;
}

export interface ProxyTuning {
  /** Every query is answered (SERVFAIL at worst) within this time. */
  readonly queryTimeoutMs: number;
  /** Waiting queries beyond this get REFUSED. */
  readonly maxInflight: number;
  readonly cacheMaxEntries: number;
  /** Bound on the cache's memory: answers, keys and a measured per-entry overhead (cache.ts). */
  readonly cacheMaxBytes: number;
  /** Positive TTLs are capped here. */
  readonly maxTtl: number;
  /** Negative answers (RFC 2308) are cached at most this long. */
  readonly maxNegativeTtl: number;
  /** Fallback answers change when devices come and go: cached at most this long. */
  readonly fallbackMaxTtl: number;
  /** How long an answer may wait for an asynchronous host-rule listener. */
  readonly hostRuleWaitMs: number;
}

export const DEFAULT_TUNING: ProxyTuning = {
  queryTimeoutMs: 5000,
  maxInflight: 2048,
  cacheMaxEntries: 100_000,
  cacheMaxBytes: 64 * 1024 * 1024,
  maxTtl: 86_400,
  maxNegativeTtl: 3600,
  fallbackMaxTtl: 5,
  hostRuleWaitMs: 1000,
};

export interface ProxyStats {
  queries: number;
  cacheHits: number;
  /** Of `cacheHits`, those the native answer table served without entering JavaScript. */
  nativeCacheHits: number;
  cacheMisses: number;
  coalesced: number;
  local: number;
  doh: number;
  fallback: number;
  servfail: number;
  refused: number;
  formerr: number;
  notimp: number;
  dropped: number;
  truncated: number;
  upstreamErrors: number;
  hostRuleEvents: number;
  inflight: number;
  cacheEntries: number;
}

interface Waiter {
  readonly sink: ReplySink;
  readonly port: number;
  readonly address: string;
  readonly msg: Buffer;
  readonly q: QueryInfo;
  /** Largest response this client accepts (UDP), or 65535 (TCP). */
  readonly limit: number;
}

interface Flight {
  readonly key: string;
  readonly waiters: Waiter[];
  readonly route: Route;
  timer: NodeJS.Timeout | null;
  done: boolean;
}

export class ProxyCore {
  private readonly q: QueryInfo = newQueryInfo();
  private readonly scratch = Buffer.allocUnsafe(512);
  readonly cache: DnsCache;
  private readonly flights = new Map<string, Flight>();
  private waiting = 0;
  private closed = false;
  private fastPath: FastPath | null = null;
  private readonly counters = {
    queries: 0,
    cacheHits: 0,
    cacheMisses: 0,
    coalesced: 0,
    local: 0,
    doh: 0,
    fallback: 0,
    servfail: 0,
    refused: 0,
    formerr: 0,
    notimp: 0,
    dropped: 0,
    truncated: 0,
    upstreamErrors: 0,
    hostRuleEvents: 0,
  };

  constructor(
    private router: Router,
    private doh: Upstream,
    private readonly tuning: ProxyTuning,
    private readonly logger: Logger,
    private readonly onHostRule: HostRuleListener | undefined,
  ) {
    this.cache = new DnsCache({ maxEntries: tuning.cacheMaxEntries, maxBytes: tuning.cacheMaxBytes, entryOverheadBytes: ENTRY_OVERHEAD_BYTES });
  }

  /** Let `fastPath` mirror the cache and answer hits; its answers count as queries and cache hits. */
  attachFastPath(fastPath: FastPath): void {
    this.fastPath = fastPath;
    this.cache.attachMirror(fastPath, Date.now());
  }

  stats(): ProxyStats {
    const served = this.fastPath?.served() ?? 0;
    return {
      ...this.counters,
      queries: this.counters.queries + served,
      cacheHits: this.counters.cacheHits + served,
      nativeCacheHits: served,
      inflight: this.waiting,
      cacheEntries: this.cache.size,
    };
  }

  /**
   * Handle one message from a client: false when it is dropped without an
   * answer, true when `sink.reply` has been or will be called exactly once.
   */
  handle(msg: Buffer, udp: boolean, sink: ReplySink, port: number, address: string): boolean {
    this.counters.queries++;
    const q = this.q;
    const r = parseQuery(msg, q);
    if (r !== Parse.Ok) {
      if (r === Parse.Drop) {
        this.counters.dropped++;
        return false;
      }
      if (r === Parse.FormErr) {
        this.counters.formerr++;
        sink.reply(formErrResponse(msg), port, address);
      } else {
        this.counters.notimp++;
        sink.reply(errorResponse(msg, q, RCODE_NOTIMP), port, address);
      }
      return true;
    }
    const key = cacheKey(msg, q, this.scratch);
    const now = Date.now();
    const entry = this.cache.get(key, now);
    if (entry !== undefined) {
      this.counters.cacheHits++;
      const out = renderEntry(entry, msg, q.questionEnd, now);
      if (udp && out.length > udpLimit(q)) {
        this.counters.truncated++;
        sink.reply(errorResponse(msg, q, out[3]! & 0xf, true), port, address);
      } else sink.reply(out, port, address);
      return true;
    }
    this.miss(msg, udp, sink, port, address, key);
    return true;
  }

  private miss(msg: Buffer, udp: boolean, sink: ReplySink, port: number, address: string, key: string): void {
    const q = this.q;
    this.counters.cacheMisses++;
    if (this.closed || this.waiting >= this.tuning.maxInflight) {
      this.counters.refused++;
      sink.reply(errorResponse(msg, q, RCODE_REFUSED), port, address);
      return;
    }
    const waiter: Waiter = { sink, port, address, msg, q: { ...q }, limit: udp ? udpLimit(q) : 65_535 };
    const existing = this.flights.get(key);
    if (existing !== undefined) {
      this.counters.coalesced++;
      this.waiting++;
      existing.waiters.push(waiter);
      return;
    }
    const route = this.router.route(questionName(msg, q));
    if (route.kind === 'local') {
      this.counters.local++;
      this.waiting++;
      const addrs = q.qtype === TYPE_A ? route.v4 : q.qtype === TYPE_AAAA ? route.v6 : [];
      this.send(waiter, addressResponse(msg, q, addrs, route.ttl));
      return;
    }
    const flight: Flight = { key, waiters: [waiter], route, timer: null, done: false };
    this.flights.set(key, flight);
    this.waiting++;
    flight.timer = setTimeout(() => this.fail(flight, `no answer within ${this.tuning.queryTimeoutMs} ms`), this.tuning.queryTimeoutMs);
    let p: Promise<Buffer>;
    if (route.kind === 'doh') {
      this.counters.doh++;
      p = this.doh.query(msg);
    } else {
      this.counters.fallback++;
      // A fallback name never goes to DoH: no servers means SERVFAIL.
      p =
        route.servers.length === 0
          ? Promise.reject(new Error(`fallback suffix ${route.suffix} has no servers (no system resolvers known)`))
          : queryPlain(msg, q.questionEnd, route.servers, this.tuning.queryTimeoutMs);
    }
    p.then(
      (resp) => this.complete(flight, resp),
      (err: unknown) => this.fail(flight, err instanceof Error ? err.message : String(err)),
    );
  }

  private finish(flight: Flight): boolean {
    if (flight.done) return false;
    flight.done = true;
    if (flight.timer !== null) clearTimeout(flight.timer);
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    return true;
  }

  private fail(flight: Flight, why: string): void {
    if (!this.finish(flight)) return;
    this.counters.upstreamErrors++;
    this.logger.debug('upstream failed', { route: flight.route.kind, error: why });
    for (const w of flight.waiters) {
      this.counters.servfail++;
      this.send(w, errorResponse(w.msg, w.q, RCODE_SERVFAIL));
    }
  }

  private complete(flight: Flight, resp: Buffer): void {
    if (flight.done) return;
    const first = flight.waiters[0]!;
    const info = inspectResponse(resp, first.msg.subarray(HEADER_LEN, first.q.questionEnd), this.onHostRule !== undefined && this.router.hasHostRules);
    if (info === null) {
      this.fail(flight, 'malformed upstream response');
      return;
    }
    if (!this.finish(flight)) return;
    this.store(flight, resp, info);
    const events = info.addresses !== null && info.addresses.length > 0 ? this.hostEvents(first, info) : [];
    if (events.length === 0) {
      this.deliver(flight, resp);
      return;
    }
    // Let the runtime install routes before the client sees the addresses (bounded wait).
    const pending: Promise<void>[] = [];
    for (const e of events) {
      this.counters.hostRuleEvents++;
      try {
        const r = this.onHostRule!(e);
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') pending.push(r);
      } catch (err) {
        this.logger.warn('host rule listener failed', { name: e.name, error: String(err) });
      }
    }
    if (pending.length === 0) {
      this.deliver(flight, resp);
      return;
    }
    let delivered = false;
    const go = (): void => {
      if (delivered) return;
      delivered = true;
      clearTimeout(t);
      this.deliver(flight, resp);
    };
    const t = setTimeout(go, this.tuning.hostRuleWaitMs);
    Promise.allSettled(pending).then((results) => {
      for (const r of results) if (r.status === 'rejected') this.logger.warn('host rule listener failed', { error: String(r.reason) });
      go();
    });
  }

  private store(flight: Flight, resp: Buffer, info: ResponseInfo): void {
    if (isTruncated(resp)) return;
    let ttl: number;
    if (info.rcode === RCODE_NOERROR && info.ancount > 0) ttl = Math.min(info.minTtl, this.tuning.maxTtl);
    else if (info.rcode === RCODE_NXDOMAIN || (info.rcode === RCODE_NOERROR && info.ancount === 0)) ttl = Math.min(info.negativeTtl, this.tuning.maxNegativeTtl);
    else return;
    if (flight.route.kind === 'fallback') ttl = Math.min(ttl, this.tuning.fallbackMaxTtl);
    if (ttl <= 0) return;
    resp[0] = 0;
    resp[1] = 0;
    this.cache.set(flight.key, resp, info.ttlOffsets, ttl, Date.now());
  }

  private hostEvents(first: Waiter, info: ResponseInfo): HostRuleEvent[] {
    const qname = questionName(first.msg, first.q);
    const qAction = this.router.hostAction(qname);
    const groups = new Map<string, { name: string; action: HostAction; addresses: string[]; ttl: number }>();
    for (const rec of info.addresses!) {
      const name = qAction !== undefined ? qname : rec.owner;
      const action = qAction ?? this.router.hostAction(rec.owner);
      if (action === undefined) continue;
      const k = `${action} ${name}`;
      const g = groups.get(k);
      if (g === undefined) groups.set(k, { name, action, addresses: [rec.address], ttl: rec.ttl });
      else {
        if (!g.addresses.includes(rec.address)) g.addresses.push(rec.address);
        g.ttl = Math.min(g.ttl, rec.ttl);
      }
    }
    return [...groups.values()];
  }

  /** Send one upstream (or cached) response to every waiter of a flight. */
  private deliver(flight: Flight, resp: Buffer): void {
    for (const w of flight.waiters) {
      const out = Buffer.allocUnsafe(resp.length);
      resp.copy(out);
      out[0] = w.msg[0]!;
      out[1] = w.msg[1]!;
      out[2] = (out[2]! & 0xfe) | (w.msg[2]! & 0x01);
      out.set(w.msg.subarray(HEADER_LEN, w.q.questionEnd), HEADER_LEN);
      this.send(w, out);
    }
  }

  private send(w: Waiter, out: Buffer): void {
    this.waiting--;
    if (out.length > w.limit) {
      this.counters.truncated++;
      out = errorResponse(w.msg, w.q, out[3]! & 0xf, true);
    }
    try {
      w.sink.reply(out, w.port, w.address);
    } catch (err) {
      this.logger.debug('reply failed', { error: String(err) });
    }
  }

  /**
   * Swap the routing (and the DoH upstream) in place: no socket is closed. Queries
   * already in flight finish on the route they took; cached answers whose name
   * `affected` selects are dropped, the rest kept. Returns how many were dropped.
   */
  reconfigure(router: Router, doh: Upstream | null, affected: (name: string) => boolean): number {
    this.router = router;
    if (doh !== null) this.doh = doh;
    // A cache key starts with the question name in wire form (wire.cacheKey): read it as the router reads names.
    return this.cache.dropWhere((key) => affected(readName(Buffer.from(key, 'latin1'), 0) ?? ''));
  }

  /** Drop expired cache entries (called on a timer). */
  sweep(): void {
    this.cache.sweep(Date.now());
  }

  /** Answer every waiting query with SERVFAIL and refuse new ones. */
  close(): void {
    this.closed = true;
    for (const f of [...this.flights.values()]) this.fail(f, 'proxy closing');
  }
}

export type { PlainServer };

