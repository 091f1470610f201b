/**
 * Bundle answers as a small per-device head and one shared tail, in both encodings:
 * identity is `head + tail` (the two Buffers written one after the other), gzip is one
 * gzip member whose deflate data is the head as a stored block followed by the tail's
 * raw deflate, compressed once per tail and shared by every answer (RFC 1951 blocks
 * may follow each other whatever compressed them; the tail's back-references stay
 * inside the tail). The member's CRC-32 over head + tail comes from the head's CRC
 * and a 32-entry table of the tail (CRC-32 is affine in its starting value), so an
 * answer costs a CRC of the head and no compression.
 *
 * Decides: the bytes of a gzip answer and whether a request accepts gzip. Must not
 * touch: what the head and tail say (device.ts and bundles.ts), signing, the store.
 */
import { constants, deflateRawSync } from 'node:zlib';

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (gzip's) of `b`, continuing from `crc` (0 to start). */
export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < b.length; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The tail's gzip parts, made once. */
interface Compressed {
  /** Raw deflate of the tail, ending with the final block. */
  readonly deflated: Buffer;
  /** crc32(tail, 0) and, for each bit of a starting CRC, what that bit changes: crc32(tail, c) = crc0 ^ (xor of shift[i] for the bits i of c). */
  readonly crc0: number;
  readonly shift: Uint32Array;
}

/** A shared tail: the same bytes after every device's head. */
export class SharedTail {
  private gz: Compressed | null = null;
  constructor(readonly bytes: Buffer) {}

  /** The tail compressed, on first use (one deflate per tail, whatever the number of answers). */
  private compressed(): Compressed {
    if (this.gz) return this.gz;
    const crc0 = crc32(this.bytes);
    const shift = new Uint32Array(32);
    for (let i = 0; i < 32; i++) shift[i] = (crc32(this.bytes, (1 << i) >>> 0) ^ crc0) >>> 0;
    this.gz = { deflated: deflateRawSync(this.bytes, { level: constants.Z_BEST_COMPRESSION }), crc0, shift };
    return this.gz;
  }

  /** The identity answer's parts: `head` then the tail. */
  identity(head: Buffer): [Buffer, Buffer] {
    return [head, this.bytes];
  }

  /** The gzip answer's parts (one gzip member that decompresses to head + tail): a small per-answer prefix, the shared deflated tail, an 8-byte trailer. */
  gzip(head: Buffer): [Buffer, Buffer, Buffer] {
    if (head.length > 0xffff) throw new Error('a bundle answer head is at most 65535 bytes');
    const z = this.compressed();
    const pre = Buffer.allocUnsafe(10 + 5 + head.length);
    // gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952)
    pre.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255], 0);
    // a stored, non-final block of the head (RFC 1951 3.2.4): BFINAL 0, BTYPE 00, LEN, NLEN
    pre[10] = 0;
    pre.writeUInt16LE(head.length, 11);
    pre.writeUInt16LE(~head.length & 0xffff, 13);
    head.copy(pre, 15);
    let c = z.crc0;
    const h = crc32(head);
    for (let i = 0; i < 32; i++) if ((h >>> i) & 1) c ^= z.shift[i]!;
    const trailer = Buffer.allocUnsafe(8);
    trailer.writeUInt32LE(c >>> 0, 0);
    trailer.writeUInt32LE((head.length + this.bytes.length) >>> 0, 4);
    return [pre, z.deflated, trailer];
  }
}

/** Whether an Accept-Encoding header accepts gzip (`gzip`, `x-gzip` or `*`, with a q above 0; an explicit gzip;q=0 refuses). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  let gzip: boolean | null = null;
  let star = false;
  for (const part of text.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim());
    const q = params.find((p) => /^q\s*=/i.test(p));
    const ok = q === undefined || Number(q.replace(/^q\s*=\s*/i, '')) > 0;
    const coding = name.toLowerCase();
    if (coding === 'gzip' || coding === 'x-gzip') gzip = gzip === true || ok;
    else if (coding === '*') star = ok;
  }
  return gzip ?? star;
}
