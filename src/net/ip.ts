/**
 * IP addresses and prefixes as integers.
 *
 * Parsing is strict: IPv4 is four decimal octets without leading zeros (a
 * leading zero means octal to some parsers, so it is ambiguous and refused);
 * IPv6 follows RFC 4291 text forms including `::` and a trailing dotted quad;
 * zone indexes are refused. Formatting is canonical (RFC 5952 for IPv6).
 */

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

export interface Prefix {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly network: bigint;
  readonly length: number;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };
export const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

/** Four decimal octets, 0–255, no leading zeros; numbers throughout (this runs 100k times per list). */
function parseV4(text: string): bigint | null {
  if (text.length < 7 || text.length > 15) return null;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return null; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return null;
    } else {
      return null;
    }
  }
  if (digits === 0 || dots !== 3) return null;
  return BigInt(value * 256 + octet);
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseV6(text: string): bigint | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > lastColon) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    // "a:b::1.2.3.4" keeps its "::"; "a:b:c:d:e:f:1.2.3.4" drops the separator.
    head = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const groupsWanted = tailV4 === null ? 8 : 6;
  const doubleColon = head.indexOf('::');
  if (doubleColon !== head.lastIndexOf('::')) return null;
  let groups: string[];
  if (doubleColon >= 0) {
    const left = head.slice(0, doubleColon);
    const right = head.slice(doubleColon + 2);
    const l = left === '' ? [] : left.split(':');
    const r = right === '' ? [] : right.split(':');
    const missing = groupsWanted - l.length - r.length;
    if (missing < 1) return null;
    groups = [...l, ...Array<string>(missing).fill('0'), ...r];
  } else {
    groups = head.split(':');
  }
  if (groups.length !== groupsWanted) return null;
  let value = 0n;
  for (const g of groups) {
    if (!HEXTET.test(g)) return null;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== null) value = (value << 32n) | tailV4;
  return value;
}

/** Parse an IPv4 or IPv6 address; null when it is not one (zone indexes included). */
export function parseAddress(text: string): Address | null {
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseV4(text);
  return value === null ? null : { family: 4, value };
}

export type PrefixError = 'syntax' | 'length' | 'host-bits';

/**
 * Parse `address/length` (or a bare address, taken as a host prefix).
 * Host bits set is an error: `10.0.0.1/8` is almost always a typo for `10.0.0.0/8`.
 */
export function parsePrefix(text: string): { ok: true; prefix: Prefix } | { ok: false; error: PrefixError } {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (addr === null) return { ok: false, error: 'syntax' };
  const bits = BITS[addr.family];
  let length = bits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return { ok: false, error: 'length' };
    length = Number(lenText);
    if (length > bits) return { ok: false, error: 'length' };
  }
  const hostMask = hostMaskOf(addr.family, length);
  if ((addr.value & hostMask) !== 0n) return { ok: false, error: 'host-bits' };
  return { ok: true, prefix: { family: addr.family, network: addr.value, length } };
}

export function hostMaskOf(family: Family, length: number): bigint {
  return (1n << BigInt(BITS[family] - length)) - 1n;
}

export function prefixLast(p: Prefix): bigint {
  return p.network | hostMaskOf(p.family, p.length);
}

export function prefixContains(p: Prefix, a: Address): boolean {
  return p.family === a.family && a.value >= p.network && a.value <= prefixLast(p);
}

/** Does `outer` contain all of `inner`? */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.length <= inner.length && inner.network >= outer.network && prefixLast(inner) <= prefixLast(outer);
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  // RFC 5952 section 5: an IPv4-mapped address keeps its IPv4 part dotted (::ffff:192.0.2.1).
  if (value >> 32n === 0xffffn) return `::ffff:${formatAddress(4, value & 0xffffffffn)}`;
  // Four 32-bit words, then number arithmetic for the groups.
  const groups: number[] = [];
  for (let i = 3; i >= 0; i--) {
    const w = Number((value >> BigInt(i * 32)) & 0xffffffffn);
    groups.push(w >>> 16, w & 0xffff);
  }
  // RFC 5952: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.network)}/${p.length}`;
}

/** Canonical text of an address, or null when it does not parse. */
export function canonicalAddress(text: string): string | null {
  const a = parseAddress(text);
  return a === null ? null : formatAddress(a.family, a.value);
}

/** The IPv4-mapped IPv6 form `::ffff:a.b.c.d` as used by Windows for the DNS proxy. */
export function isIPv4Mapped(a: Address): boolean {
  return a.family === 6 && a.value >> 32n === 0xffffn;
}
