/**
 * Canonical prefix text recognised without parsing into numbers: what formatPrefix
 * (src/net/ip.ts) would write, decided by one scan. Used where text is checked or
 * reused at scale (the emit `cidr` helper, split tunnel entries already written
 * canonically). A false answer only means "not settled here": callers fall back to
 * parsePrefix + formatPrefix.
 */
import { zeroRun } from './ip.js';

/**
 * Is `s` canonical IPv4 prefix text? The fast path of the emit `cidr` helper and of
 * profile validation (a large plan renders millions, a large profile lists 100,000s): canonical IPv4 CIDR text is
 * four decimal octets without leading zeros, `/`, a length without a leading zero, and no
 * host bits set. Anything else takes the general parse-and-format check.
 */
export function canonicalV4Cidr(s: string): boolean {
  return canonicalV4CidrValue(s) >= 0;
}

/**
 * canonicalV4Cidr's scan, keeping what it read: `network * 64 + length` for canonical
 * text (exact in a double: below 2^38), -1 for anything else. `v4Network` and `v4Length`
 * take it apart. The text is s[from, to) (all of `s` by default): a value read in place.
 */
export function canonicalV4CidrValue(s: string, from = 0, to = s.length): number {
  const n = to;
  let i = from;
  let value = 0;
  for (let part = 0; part < 5; part++) {
    const start = i;
    let x = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      x = x * 10 + (c - 0x30);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || (digits > 1 && s.charCodeAt(start) === 0x30)) return -1;
    if (part < 4) {
      if (x > 255 || i >= n || s.charCodeAt(i) !== (part < 3 ? 0x2e : 0x2f)) return -1;
      value = value * 256 + x;
      i++;
    } else {
      if (x > 32 || i !== n) return -1;
      return x === 32 || value % POW2[32 - x]! === 0 ? value * 64 + x : -1;
    }
  }
  return -1;
}

/**
 * 2^i for 0 ≤ i ≤ 128. Code that runs per prefix reads this instead of writing `2 ** i`: with a
 * variable exponent that is a call to the math library's pow, about 60 ns here, twenty times a
 * table read (measured on the block walk of a 678,000-prefix set: 41 ms against 3.4).
 */
export const POW2: Float64Array = Float64Array.from({ length: 129 }, (_, i) => 2 ** i);

export const v4Network = (packed: number): number => Math.floor(packed / 64);
export const v4Length = (packed: number): number => packed % 64;

/**
 * The IPv6 fast path: RFC 5952 text as formatAddress writes it (lowercase
 * groups without leading zeros, `::` for the first longest run of two or more zero groups
 * and nowhere else), a length 0–128 without a leading zero, no host bits set. It answers
 * true only for such text; anything it does not settle (a dotted tail, an IPv4-mapped
 * address) is false and takes the general parse-and-format check.
 */
export function canonicalV6Cidr(s: string): boolean {
  return canonicalV6CidrGroups(s, []) >= 0;
}

/**
 * canonicalV6Cidr's scan, keeping what it read: for canonical text, the prefix length, with
 * the address's eight 16-bit groups in groups[0..7]; -1 for anything else (groups then hold
 * whatever the scan reached). No array or object is made: a profile lists 100,000s of these.
 * The text is s[from, to) (all of `s` by default).
 */
export function canonicalV6CidrGroups(s: string, groups: number[], from = 0, to = s.length): number {
  const n = to;
  // The slash stands within the last four characters (a length of 1–3 digits): search there, not the rest of `s`.
  let slash = n - 2;
  while (slash >= from && slash >= n - 4 && s.charCodeAt(slash) !== 0x2f) slash--;
  if (slash < from + 2 || slash < n - 4 || s.charCodeAt(slash) !== 0x2f) return -1;
  let length = 0;
  for (let i = slash + 1; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39 || (i === slash + 1 && c === 0x30 && n - slash > 2)) return -1;
    length = length * 10 + (c - 0x30);
  }
  if (length > 128) return -1;
  let count = 0;
  let gap = -1;
  let i = from;
  if (s.charCodeAt(from) === 0x3a) {
    if (s.charCodeAt(from + 1) !== 0x3a) return -1;
    gap = 0;
    i = from + 2;
  }
  while (i < slash) {
    const start = i;
    let v = 0;
    for (; i < slash; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) v = v * 16 + (c - 0x30);
      else if (c >= 0x61 && c <= 0x66) v = v * 16 + (c - 0x57);
      else break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || (digits > 1 && s.charCodeAt(start) === 0x30) || count === 8) return -1;
    groups[count++] = v;
    if (i === slash) break;
    if (s.charCodeAt(i) !== 0x3a) return -1; // a dot, an upper-case digit, anything else
    if (s.charCodeAt(i + 1) === 0x3a) {
      if (gap >= 0) return -1;
      gap = count;
      i += 2;
    } else if (++i === slash) return -1;
  }
  // The gap stands for at least two zero groups (one is written as 0).
  if (gap < 0 ? count !== 8 : count > 6) return -1;
  const gapLen = gap < 0 ? 0 : 8 - count;
  if (gap >= 0) {
    // The groups after the gap move up by its length, and it fills with zeros.
    for (let g = count - 1; g >= gap; g--) groups[g + gapLen] = groups[g]!;
    for (let g = gap; g < gap + gapLen; g++) groups[g] = 0;
  }
  // IPv4-mapped addresses are written with a dotted tail: the general check decides.
  if (groups[5] === 0xffff && groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) return -1;
  // The gap must be the first longest run of zero groups of two or more, and the only one compressed.
  const run = zeroRun(groups);
  if (gap < 0 ? run >= 0 : run !== gap * 16 + gapLen) return -1;
  // No host bits: every bit past `length` is zero.
  for (let g = 0; g < 8; g++) {
    const keep = Math.min(16, Math.max(0, length - g * 16));
    if ((groups[g]! & (0xffff >> keep)) !== 0) return -1;
  }
  return length;
}
