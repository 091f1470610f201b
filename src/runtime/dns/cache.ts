/**
 * The answer cache.
 *
 * Keys come from wire.cacheKey (lowercased name, type, class, EDNS state with
 * the DO and CD bits). An entry keeps the upstream response bytes and the
 * offsets of its TTL fields; a hit copies the bytes once, then patches the
 * ID, the question (so the client sees its own 0x20 case), the RD bit and the
 * TTLs, decremented by the whole seconds the entry has spent here.
 *
 * Bounded by entries and by bytes, the bytes counting what an entry costs in
 * memory (its answer, its key and `entryOverheadBytes` for the objects around
 * them, measured), not only the answer; when full, the oldest insertion goes first
 * (expired entries are also swept periodically by the proxy). The insertion
 * order is kept in our own queue: evicting through `map.keys().next()` is
 * quadratic in V8 (the iterator walks every deleted slot at the front).
 *
 * A mirror (the native UDP layer's answer table, udp-batch.ts) may follow
 * every change: it then holds exactly the entries this cache holds.
 */
import { HEADER_LEN } from './wire.js';

export interface CacheEntry {
  readonly key: string;
  /** The response (ID 0), in its own compact buffer. */
  readonly data: Buffer;
  /** Pairs: TTL field offset, original TTL (a plain small-integer array: cheap for the GC). */
  readonly ttls: readonly number[];
  readonly storedAt: number;
  readonly expiresAt: number;
}

/** Follows the cache's changes (set replaces any entry under the same key). */
export interface CacheMirror {
  /** `data` lives `lifeMs` from its storing, `ageMs` ago. */
  set(key: string, data: Buffer, ttls: readonly number[], lifeMs: number, ageMs: number): void;
  delete(key: string): void;
  clear(): void;
}

export interface CacheLimits {
  readonly maxEntries: number;
  /** Bound on the entries' cost: answer bytes + key length + entryOverheadBytes each. */
  readonly maxBytes: number;
  /** Memory an entry costs beyond its answer and key (0: count the answers' bytes only). */
  readonly entryOverheadBytes?: number;
}

/**
 * What one cached answer costs beyond its answer bytes and key, measured on Node 20 with the
 * native answer table attached (bench/runtime/cache-memory.ts): the entry object, its key
 * string, TTL pairs, Buffer object and backing store, the Map and queue slots, and the
 * mirror's copy in the answer table. About 1.2 KB per answer of 90 bytes in all.
 */
export const ENTRY_OVERHEAD_BYTES = 1024;

export class DnsCache {
  private readonly map = new Map<string, CacheEntry>();
  /** Entries in insertion order, from `head`; entries no longer in the map are skipped. */
  private order: CacheEntry[] = [];
  private head = 0;
  private bytes = 0;
  /** Σ (answer bytes + key length + overhead) of the entries: what maxBytes bounds. */
  private cost = 0;
  private mirror: CacheMirror | null = null;

  constructor(private readonly limits: CacheLimits) {}

  /** Let `mirror` follow this cache from now on (it starts with the current entries). */
  attachMirror(mirror: CacheMirror, now: number): void {
    this.mirror = mirror;
    mirror.clear();
    for (const e of this.map.values()) if (now < e.expiresAt) mirror.set(e.key, e.data, e.ttls, e.expiresAt - e.storedAt, now - e.storedAt);
  }

  get size(): number {
    return this.map.size;
  }

  /** The answers' bytes (what the native mirror holds of them). */
  get byteSize(): number {
    return this.bytes;
  }

  /** The entries' estimated memory (answers, keys and per-entry overhead): what maxBytes bounds. */
  get costBytes(): number {
    return this.cost;
  }

  private costOf(key: string, data: Buffer): number {
    return data.length + key.length + (this.limits.entryOverheadBytes ?? 0);
  }

  /** The live entry for `key`, or undefined (an expired entry is removed). */
  get(key: string, now: number): CacheEntry | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt) {
      this.delete(key, e);
      return undefined;
    }
    return e;
  }

  /**
   * Store `data` (an upstream response) for `ttl` seconds. `ttlOffsets` lists
   * the TTL fields to decrement on hits.
   */
  set(key: string, data: Buffer, ttlOffsets: readonly number[], ttl: number, now: number): void {
    const cost = this.costOf(key, data);
    if (ttl <= 0 || cost > this.limits.maxBytes) return;
    const old = this.map.get(key);
    if (old !== undefined) this.delete(key, old);
    const ttls: number[] = [];
    for (const off of ttlOffsets) {
      const t = data.readUInt32BE(off);
      ttls.push(off, t > 0x7fffffff ? 0 : t);
    }
    // A copy, so the entry never pins a larger buffer it was sliced from (a socket read, say),
    // in its own memory: Buffer.allocUnsafe would carve it from the shared 8 KiB pool that also
    // holds every short-lived buffer of the query path, and each long-lived entry then kept a
    // whole pool slab of garbage alive (measured: about 3.8 KB per cached answer of 90 bytes).
    const own = Buffer.allocUnsafeSlow(data.length);
    data.copy(own);
    data = own;
    const entry: CacheEntry = { key, data, ttls, storedAt: now, expiresAt: now + ttl * 1000 };
    while ((this.map.size >= this.limits.maxEntries || this.cost + cost > this.limits.maxBytes) && this.head < this.order.length) {
      const oldest = this.order[this.head++]!;
      if (this.map.get(oldest.key) === oldest) this.delete(oldest.key, oldest);
    }
    this.map.set(key, entry);
    this.order.push(entry);
    this.bytes += data.length;
    this.cost += cost;
    this.mirror?.set(key, data, ttls, ttl * 1000, 0);
    // Keep the queue in proportion to the live entries.
    if (this.head > 1024 && this.head * 2 > this.order.length) this.compact();
    else if (this.order.length - this.head > 2 * this.limits.maxEntries + 1024) this.compact();
  }

  private compact(): void {
    const live: CacheEntry[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const e = this.order[i]!;
      if (this.map.get(e.key) === e) live.push(e);
    }
    this.order = live;
    this.head = 0;
  }

  /** Remove expired entries; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (now >= e.expiresAt) {
        this.delete(k, e);
        n++;
      }
    }
    this.compact();
    return n;
  }

  /** Remove every entry whose key `drop` selects (a live reconfiguration); returns how many. */
  dropWhere(drop: (key: string) => boolean): number {
    let n = 0;
    for (const [k, e] of this.map) {
      if (drop(k)) {
        this.delete(k, e);
        n++;
      }
    }
    if (n > 0) this.compact();
    return n;
  }

  clear(): void {
    this.mirror?.clear();
    this.map.clear();
    this.order = [];
    this.head = 0;
    this.bytes = 0;
    this.cost = 0;
  }

  private delete(key: string, e: CacheEntry): void {
    this.mirror?.delete(key);
    this.map.delete(key);
    this.bytes -= e.data.length;
    this.cost -= this.costOf(key, e.data);
  }
}

/**
 * The response for a query `msg` (whose question ends at `questionEnd`) from
 * a cache entry: one copy, then ID, question, RD bit and TTLs patched.
 */
export function renderEntry(e: CacheEntry, msg: Uint8Array, questionEnd: number, now: number): Buffer {
  const data = e.data;
  const out = Buffer.allocUnsafe(data.length);
  data.copy(out, 0, 0, data.length);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = (out[2]! & 0xfe) | (msg[2]! & 0x01);
  // The client's own spelling of the question (a short loop; no subarray allocation).
  for (let i = HEADER_LEN; i < questionEnd; i++) out[i] = msg[i]!;
  const elapsed = ((now - e.storedAt) / 1000) | 0;
  if (elapsed > 0) {
    const ttls = e.ttls;
    for (let i = 0; i < ttls.length; i += 2) {
      const t = ttls[i + 1]! - elapsed;
      const off = ttls[i]!;
      const v = t > 0 ? t : 0;
      out[off] = v >>> 24;
      out[off + 1] = (v >>> 16) & 0xff;
      out[off + 2] = (v >>> 8) & 0xff;
      out[off + 3] = v & 0xff;
    }
  }
  return out;
}
