/**
 * A TUN device opened by warpc itself, through the native addon in
 * src/runtime/tunnel/native (package @warpc/tun): raw IP packets in batches,
 * non-blocking, on Node's event loop. The device lives as long as this
 * process holds it (not persistent), so a crash removes it. It decides nothing
 * about addresses or routes (the caller runs `ip`); it only moves packets.
 */
import { createRequire } from 'node:module';

interface TunBinding {
  open(name: string, onBatch: (data: Buffer, offsets: Uint32Array) => void): unknown;
  name(handle: unknown): string;
  write(handle: unknown, packets: readonly Buffer[]): number;
  pause(handle: unknown): void;
  resume(handle: unknown): void;
  close(handle: unknown): void;
}

let binding: TunBinding | null | undefined;
let loadError = '';

/**
 * The addon: beside this module in a checkout (src/ under vitest, dist/src/ after a build),
 * else the installed optional dependency @warpc/tun. Null when neither loads.
 */
export function tunBinding(): TunBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  const req = createRequire(import.meta.url);
  const candidates = ['./native/build/Release/tun.node', '../../../../src/runtime/tunnel/native/build/Release/tun.node', '@warpc/tun/build/Release/tun.node'];
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      binding = req(c) as TunBinding;
      return binding;
    } catch (err) {
      errors.push(`${c}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  loadError = errors.join('; ');
  return null;
}

export interface TunCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

export class TunDevice {
  readonly name: string;
  /** rx: read from the device (the OS sent them into the tunnel); tx: written to it. */
  readonly counters: TunCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
  private readonly native: TunBinding;
  private readonly handle: unknown;
  private closed = false;

  /** Open (create) the device `name`; onPackets gets each batch the OS sent into it. */
  constructor(name: string, onPackets: (packets: Buffer[]) => void) {
    const native = tunBinding();
    if (!native) throw new Error(`the TUN addon (src/runtime/tunnel/native, @warpc/tun) is not built: ${loadError} (build it with npm ci, which needs g++, make and python3)`);
    this.native = native;
    this.handle = native.open(name, (data, offsets) => {
      const n = offsets.length - 1;
      const packets: Buffer[] = new Array<Buffer>(n);
      for (let i = 0; i < n; i++) packets[i] = data.subarray(offsets[i] as number, offsets[i + 1] as number);
      this.counters.rxPackets += n;
      this.counters.rxBytes += data.length;
      onPackets(packets);
    });
    this.name = native.name(this.handle);
  }

  /** Write packets to the OS; a packet the kernel refuses (full queue, not IP) is dropped and counted. */
  write(packets: readonly Buffer[]): void {
    if (this.closed || packets.length === 0) return;
    const n = this.native.write(this.handle, packets);
    this.counters.txPackets += n;
    for (const p of packets) this.counters.txBytes += p.length;
    this.counters.txDropped += packets.length - n;
  }

  pause(): void {
    if (!this.closed) this.native.pause(this.handle);
  }

  resume(): void {
    if (!this.closed) this.native.resume(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.handle);
  }
}
