/**
 * Canonical address and prefix text written as ASCII bytes from numbers, for the lists a large
 * plan makes long (prefix lists, one line per Split Tunnel entry): no string per prefix. Each
 * writer puts its text at `at` in `out` and returns the position after it; the caller makes
 * room (the longest prefix is 18 bytes for IPv4, 43 for IPv6). What they write equals
 * formatPrefix's text (test/net/prefix-text.property.test.ts).
 */
import { zeroRun } from './ip.js';

const SLASH = 0x2f;
const COLON = 0x3a;
const DOT = 0x2e;
const DIGIT0 = 0x30;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** `text`'s bytes; it must be ASCII (`what` names it in the error). */
export function asciiBytes(text: string, what: string): Uint8Array {
  if (!/^[\x00-\x7f]*$/.test(text)) throw new Error(`cidrText: the ${what} must be ASCII`);
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** `bytes` (a few) at `at`: a loop, cheaper than Buffer#copy's call for so few. */
export function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i]!;
  return at;
}

/** `/length` at `at`. */
export function writeLength(out: Uint8Array, at: number, length: number): number {
  out[at++] = SLASH;
  return writeOctet(out, at, length);
}

/** Decimal of 0 ≤ v ≤ 255 at `at`; returns the position after it. */
function writeOctet(out: Uint8Array, at: number, v: number): number {
  if (v >= 100) out[at++] = DIGIT0 + ((v / 100) | 0);
  if (v >= 10) out[at++] = DIGIT0 + (((v / 10) | 0) % 10);
  out[at++] = DIGIT0 + (v % 10);
  return at;
}

/** formatV4Number(n) at `at`. */
export function writeV4(out: Uint8Array, at: number, n: number): number {
  at = writeOctet(out, at, n >>> 24);
  out[at++] = DOT;
  at = writeOctet(out, at, (n >>> 16) & 0xff);
  out[at++] = DOT;
  at = writeOctet(out, at, (n >>> 8) & 0xff);
  out[at++] = DOT;
  return writeOctet(out, at, n & 0xff);
}

/** A 16-bit group in lowercase hex without leading zeros. */
function writeGroup(out: Uint8Array, at: number, g: number): number {
  if (g >= 0x1000) out[at++] = HEX[g >>> 12]!;
  if (g >= 0x100) out[at++] = HEX[(g >>> 8) & 0xf]!;
  if (g >= 0x10) out[at++] = HEX[(g >>> 4) & 0xf]!;
  out[at++] = HEX[g & 0xf]!;
  return at;
}

/** writeV6Words' scratch: an address's eight groups. */
const GROUPS = new Array<number>(8);

/**
 * formatAddress(6, v) at `at` (RFC 5952, IPv4-mapped addresses dotted), for the address in `words`:
 * four 32-bit words at place `i`, most significant first (src/net/prefix-set.ts's bounds).
 */
export function writeV6Words(out: Uint8Array, at: number, words: ArrayLike<number>, i = 0): number {
  const groups = GROUPS;
  for (let x = 0; x < 4; x++) {
    groups[2 * x] = words[4 * i + x]! >>> 16;
    groups[2 * x + 1] = words[4 * i + x]! & 0xffff;
  }
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    for (const c of '::ffff:') out[at++] = c.charCodeAt(0);
    return writeV4(out, at, groups[6]! * 0x10000 + groups[7]!);
  }
  const run = zeroRun(groups);
  const start = run < 0 ? -1 : run >> 4;
  const length = run < 0 ? 0 : run & 15;
  for (let i = 0; i < 8; i++) {
    if (i === start) {
      out[at++] = COLON;
      out[at++] = COLON;
      i += length - 1;
      continue;
    }
    if (i > 0 && i !== start + length) out[at++] = COLON;
    at = writeGroup(out, at, groups[i]!);
  }
  return at;
}
