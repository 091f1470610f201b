/**
 * MASQUE over HTTP/2: the byte stream of a CONNECT-IP request as RFC 9297
 * capsules. Decides only framing: QUIC variable-length integers (RFC 9000
 * §16), DATAGRAM capsules (type 0) whose payload is a context ID and, for
 * context ID 0, one IP packet (RFC 9484); every other capsule type and context
 * ID is skipped without being buffered. It never touches sockets, TUN devices
 * or policy (client.ts and server.ts do), so it can be fuzzed on its own.
 */

/** RFC 9297 DATAGRAM capsule type. */
export const CAPSULE_DATAGRAM = 0x00;
/** RFC 9484: context ID 0 carries a full IP packet. */
export const CONTEXT_IP = 0;
/** Largest value a varint can hold (2^62 - 1), and the largest this reader accepts as a length (2^53 - 1). */
export const VARINT_MAX = 2n ** 62n - 1n;
/** An IP packet larger than this (the biggest IPv6 payload without jumbograms plus its header) ends the stream. */
export const MAX_PACKET = 65535 + 40;

export class CapsuleError extends Error {}

/** Bytes the varint encoding of n takes (1, 2, 4 or 8). */
export function varintLength(n: number): number {
  if (n < 0x40) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x40000000) return 4;
  return 8;
}

/** Write n at buf[off] in its shortest encoding; returns the offset after it. */
export function writeVarint(buf: Uint8Array, off: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
  if (n < 0x40) {
    buf[off] = n;
    return off + 1;
  }
  if (n < 0x4000) {
    buf[off] = 0x40 | (n >>> 8);
    buf[off + 1] = n & 0xff;
    return off + 2;
  }
  if (n < 0x40000000) {
    buf[off] = 0x80 | (n >>> 24);
    buf[off + 1] = (n >>> 16) & 0xff;
    buf[off + 2] = (n >>> 8) & 0xff;
    buf[off + 3] = n & 0xff;
    return off + 4;
  }
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  buf[off] = 0xc0 | (hi >>> 24);
  buf[off + 1] = (hi >>> 16) & 0xff;
  buf[off + 2] = (hi >>> 8) & 0xff;
  buf[off + 3] = hi & 0xff;
  buf[off + 4] = lo >>> 24;
  buf[off + 5] = (lo >>> 16) & 0xff;
  buf[off + 6] = (lo >>> 8) & 0xff;
  buf[off + 7] = lo & 0xff;
  return off + 8;
}

export function encodeVarint(n: number): Buffer {
  const b = Buffer.alloc(varintLength(n));
  writeVarint(b, 0, n);
  return b;
}

/**
 * Read a varint at buf[off]: its value as a bigint and its length, or null when
 * buf ends first. Non-shortest encodings are valid (RFC 9000 §16).
 */
export function readVarint(buf: Uint8Array, off = 0): { value: bigint; length: number } | null {
  if (off >= buf.length) return null;
  const first = buf[off] as number;
  const length = 1 << (first >> 6);
  if (off + length > buf.length) return null;
  let v = BigInt(first & 0x3f);
  for (let i = 1; i < length; i++) v = (v << 8n) | BigInt(buf[off + i] as number);
  return { value: v, length };
}

/** Fast path of readVarint for values that fit in a number (all but 8-byte encodings above 2^53). */
function readSmall(buf: Uint8Array, off: number, end: number): number {
  const first = buf[off] as number;
  const length = 1 << (first >> 6);
  if (off + length > end) return -1;
  if (length === 1) return first & 0x3f;
  if (length === 2) return ((first & 0x3f) << 8) | (buf[off + 1] as number);
  if (length === 4) return ((first & 0x3f) * 2 ** 24) + ((buf[off + 1] as number) << 16) + ((buf[off + 2] as number) << 8) + (buf[off + 3] as number);
  const r = readVarint(buf, off);
  if (!r) return -1;
  if (r.value > BigInt(Number.MAX_SAFE_INTEGER)) return -2;
  return Number(r.value);
}

/** Header bytes before an IP packet in a DATAGRAM capsule: type 0, length, context ID 0. */
export function datagramHeaderLength(packetLength: number): number {
  return 1 + varintLength(packetLength + 1) + 1;
}

/** One DATAGRAM capsule carrying `packet` with context ID 0. */
export function encodeDatagram(packet: Uint8Array): Buffer {
  const h = datagramHeaderLength(packet.length);
  const out = Buffer.allocUnsafe(h + packet.length);
  let off = writeVarint(out, 0, CAPSULE_DATAGRAM);
  off = writeVarint(out, off, packet.length + 1);
  off = writeVarint(out, off, CONTEXT_IP);
  out.set(packet, off);
  return out;
}

/** Many packets as one buffer of back-to-back DATAGRAM capsules (one stream write per batch). */
export function encodeDatagrams(packets: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const p of packets) total += datagramHeaderLength(p.length) + p.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const p of packets) {
    off = writeVarint(out, off, CAPSULE_DATAGRAM);
    off = writeVarint(out, off, p.length + 1);
    off = writeVarint(out, off, CONTEXT_IP);
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Any capsule (tests, and a peer that wants to send one warpc does not know). */
export function encodeCapsule(type: number, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(varintLength(type) + varintLength(value.length) + value.length);
  let off = writeVarint(out, 0, type);
  off = writeVarint(out, off, value.length);
  out.set(value, off);
  return out;
}

export interface CapsuleStats {
  /** IP packets delivered (DATAGRAM capsules with context ID 0). */
  packets: number;
  /** Capsules of other types, skipped. */
  unknownCapsules: number;
  /** DATAGRAM capsules with another context ID, skipped. */
  unknownContexts: number;
}

/**
 * Incremental reader of a capsule stream. push() takes chunks as they arrive
 * and calls onPacket for every complete IP packet (a view into the chunk when
 * the capsule lies within it, so the callback must use it before returning).
 * Unknown capsule types are skipped as their bytes arrive, never buffered; a
 * DATAGRAM capsule longer than MAX_PACKET + its context ID, an empty one, or a
 * length past 2^53 throws CapsuleError (the caller closes the stream).
 */
export class CapsuleReader {
  readonly stats: CapsuleStats = { packets: 0, unknownCapsules: 0, unknownContexts: 0 };
  /** Bytes of an incomplete header or DATAGRAM capsule carried over from the last chunk. */
  private pending: Buffer | null = null;
  /** Bytes of an unknown capsule still to skip. */
  private skip = 0;
  private failed = false;

  constructor(
    private readonly onPacket: (packet: Buffer) => void,
    private readonly maxPacket = MAX_PACKET,
  ) {}

  /** True when the stream ended on a capsule boundary (a clean close). */
  get atBoundary(): boolean {
    return this.skip === 0 && (this.pending === null || this.pending.length === 0);
  }

  push(chunk: Buffer): void {
    if (this.failed) throw new CapsuleError('the capsule stream already failed');
    try {
      this.pushInner(chunk);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private pushInner(chunk: Buffer): void {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    const end = buf.length;
    while (off < end) {
      const type = readSmall(buf, off, end);
      if (type === -1) break;
      const tlen = 1 << ((buf[off] as number) >> 6);
      if (off + tlen >= end) break;
      const len = readSmall(buf, off + tlen, end);
      if (len === -1) break;
      if (len === -2) throw new CapsuleError('a capsule length past 2^53 bytes');
      const llen = 1 << ((buf[off + tlen] as number) >> 6);
      const body = off + tlen + llen;
      if (type !== CAPSULE_DATAGRAM) {
        // Unknown type (including types past 2^53): skip its value, buffering nothing.
        this.stats.unknownCapsules++;
        const have = end - body;
        if (have >= len) {
          off = body + len;
          continue;
        }
        this.skip = len - have;
        off = end;
        break;
      }
      if (len === 0) throw new CapsuleError('a DATAGRAM capsule without a context ID');
      if (len > this.maxPacket + 8) throw new CapsuleError(`a DATAGRAM capsule of ${len} bytes (at most ${this.maxPacket} bytes of packet)`);
      if (body + len > end) break;
      const ctx = readSmall(buf, body, body + len);
      if (ctx === -1) throw new CapsuleError('a DATAGRAM capsule whose context ID overruns it');
      const clen = 1 << ((buf[body] as number) >> 6);
      // The bound above allowed for the longest context ID; the packet itself is bounded here.
      if (len - clen > this.maxPacket) throw new CapsuleError(`a DATAGRAM capsule of ${len} bytes (at most ${this.maxPacket} bytes of packet)`);
      if (ctx === CONTEXT_IP) {
        this.stats.packets++;
        this.onPacket(buf.subarray(body + clen, body + len));
      } else {
        this.stats.unknownContexts++;
      }
      off = body + len;
    }
    if (off < end) this.pending = Buffer.from(buf.subarray(off));
  }
}
