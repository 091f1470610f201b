/**
 * The optional native UDP layer (src/runtime/dns/native, package @warpc/udp-batch):
 * recvmmsg/sendmmsg batches instead of Node's one-syscall-per-datagram dgram path.
 * It moves bytes only; every DNS decision stays in TypeScript. When the addon is not
 * built (another OS, a failed optional build) or WARPC_UDP_BATCH=0, the proxy uses
 * node:dgram (listeners.ts, UdpListener) and behaves the same, only slower.
 */
import { createRequire } from 'node:module';

export interface UdpBatchBinding {
  /** Bind and start polling; `onBatch` gets datagrams concatenated in `data`, bounds in `offsets`, raw sockaddrs (28 bytes each) in `addrs`. */
  open(address: string, port: number, v6: boolean, onBatch: (data: Buffer, offsets: Uint32Array, addrs: Buffer) => void): unknown;
  localPort(handle: unknown): number;
  /** Send packets[j] to the address at addrs[indexes[j] * 28]; returns how many went out. */
  send(handle: unknown, packets: readonly Buffer[], addrs: Buffer, indexes: Uint32Array): number;
  close(handle: unknown): void;
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
