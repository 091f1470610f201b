/**
 * The optional native UDP layer (src/runtime/dns/native, package @warpc/udp-batch):
 * recvmmsg/sendmmsg batches instead of Node's one-syscall-per-datagram dgram path,
 * and an answer table that serves cache hits without entering JavaScript.
 *
 * Every DNS decision stays in TypeScript: the answer table is a mirror of the
 * answer cache (cache.ts), written only by it, and it answers only a query that
 * wire.ts would parse as well-formed, whose cache key is present and unexpired,
 * and whose answer fits the client's UDP limit, with the bytes renderEntry would
 * produce (a test checks this on generated queries). Everything else reaches the
 * TypeScript core as before. When the addon is not built (another OS, a failed
 * optional build) or WARPC_UDP_BATCH=0, the proxy uses node:dgram (listeners.ts,
 * UdpListener) and behaves the same, only slower.
 */
import { createRequire } from 'node:module';
import type { CacheMirror } from './cache.js';

export interface UdpBatchBinding {
  /**
   * Bind and start polling; `onBatch` gets datagrams concatenated in `data`, bounds in `offsets`,
   * raw sockaddrs (28 bytes each) in `addrs`. With a `table`, datagrams it answers never reach `onBatch`.
   */
  open(address: string, port: number, v6: boolean, onBatch: (data: Buffer, offsets: Uint32Array, addrs: Buffer) => void, table?: unknown): unknown;
  localPort(handle: unknown): number;
  /** Send packets[j] to the address at addrs[indexes[j] * 28]; returns how many went out. */
  send(handle: unknown, packets: readonly Buffer[], addrs: Buffer, indexes: Uint32Array): number;
  close(handle: unknown): void;
  tableCreate(): unknown;
  /** Store `data` (ID 0) under `key` for `lifeMs`, as if stored `ageMs` ago; ttls are (offset, original TTL) pairs. False when refused. */
  tablePut(table: unknown, key: string, data: Buffer, ttls: Uint32Array, lifeMs: number, ageMs: number): boolean;
  tableDelete(table: unknown, key: string): void;
  tableClear(table: unknown): void;
  /** What the receive path would send for `query`, or null when it would hand the query to JavaScript. */
  tableServe(table: unknown, query: Buffer): Buffer | null;
  tableStats(table: unknown): { served: number; entries: number; bytes: number };
}

/** The answer table behind a DnsCache: the cache writes, the UDP sockets read. */
export class AnswerTable implements CacheMirror {
  readonly handle: unknown;

  constructor(private readonly native: UdpBatchBinding) {
    this.handle = native.tableCreate();
  }

  set(key: string, data: Buffer, ttls: readonly number[], lifeMs: number, ageMs: number): void {
    this.native.tablePut(this.handle, key, data, Uint32Array.from(ttls), lifeMs, ageMs);
  }

  delete(key: string): void {
    this.native.tableDelete(this.handle, key);
  }

  clear(): void {
    this.native.tableClear(this.handle);
  }

  /** Queries answered by the table so far. */
  served(): number {
    return this.native.tableStats(this.handle).served;
  }
}

/** Bytes per address slot (a sockaddr_in6 holds either family). */
export const ADDR_LEN = 28;

let binding: UdpBatchBinding | null | undefined;

/** The native binding, or null when it is unavailable or switched off. */
export function udpBatch(): UdpBatchBinding | null {
  if (binding === undefined) {
    binding = null;
    if (process.platform === 'linux' && process.env['WARPC_UDP_BATCH'] !== '0') {
      try {
        binding = createRequire(import.meta.url)('@warpc/udp-batch/build/Release/udp_batch.node') as UdpBatchBinding;
      } catch {
        binding = null;
      }
    }
  }
  return binding;
}
