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
  const v = parseV4Number(text);
  return v < 0 ? null : BigInt(v);
}

/** An IPv4 address as a number, or -1 when `text` is not one (four decimal octets, no leading zeros). */
export function parseV4Number(text: string): number {
  if (text.length < 7 || text.length > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * RFC 4291 text forms: eight hextets, one `::` for a run of zero groups, and an
 * optional dotted IPv4 tail for the last 32 bits. One scan over the characters;
 * the groups are numbers until the final four 32-bit words become one bigint.
 */
function parseV6(text: string): bigint | null {
  const n = text.length;
  if (n < 2 || n > 45) return null;
  const groups: number[] = [];
  let gap = -1; // where "::" stands, as an index into groups
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let j = i;
    let v = 0;
    for (let d = 0; j < n && (d = hexDigit(text.charCodeAt(j))) >= 0 && j - i < 4; j++) v = v * 16 + d;
    if (j < n && text.charCodeAt(j) === 46) {
      // A dotted IPv4 tail: the rest of the text, two groups' worth.
      const tail = parseV4(text.slice(i));
      if (tail === null) return null;
      const t = Number(tail);
      groups.push(t >>> 16, t & 0xffff);
      break;
    }
    if (j === i || groups.length === 8) return null;
    groups.push(v);
    if (j === n) break;
    if (text.charCodeAt(j) !== 58) return null; // a fifth hex digit, a zone index, anything else
    if (text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === n) return null; // a trailing single colon
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  if (gap >= 0) groups.splice(gap, 0, ...Array<number>(8 - groups.length).fill(0));
  return v6Value(groups);
}

/** The IPv6 address of eight 16-bit groups, as a bigint (its four words through v6WordsValue). */
function v6Value(groups: readonly number[]): bigint {
  for (let x = 0; x < 4; x++) V6_WORDS[x] = groups[2 * x]! * 0x10000 + groups[2 * x + 1]!;
  return v6WordsValue(V6_WORDS, 0);
}
const V6_WORDS = new Uint32Array(4);

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
  // IPv4 stays a number until the end (a profile lists 100,000s of these); IPv6 is a bigint.
  const family: Family = addrText.includes(':') ? 6 : 4;
  const v4 = family === 4 ? parseV4Number(addrText) : -1;
  const v6 = family === 6 ? parseV6(addrText) : null;
  if (family === 4 ? v4 < 0 : v6 === null) return { ok: false, error: 'syntax' };
  const bits = BITS[family];
  let length = bits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return { ok: false, error: 'length' };
    length = Number(lenText);
    if (length > bits) return { ok: false, error: 'length' };
  }
  if (family === 4 ? v4 % 2 ** (32 - length) !== 0 : (v6! & hostMaskOf(6, length)) !== 0n) return { ok: false, error: 'host-bits' };
  return { ok: true, prefix: { family, network: family === 4 ? BigInt(v4) : v6!, length } };
}

/** Every host mask, by family and prefix length: made once. */
const HOST_MASKS: Record<Family, readonly bigint[]> = {
  4: Array.from({ length: 33 }, (_, l) => (1n << BigInt(32 - l)) - 1n),
  6: Array.from({ length: 129 }, (_, l) => (1n << BigInt(128 - l)) - 1n),
};

export function hostMaskOf(family: Family, length: number): bigint {
  // Made once per family and length: a large IPv6 list asks for one per entry, and each would cost three bigints.
  return HOST_MASKS[family][length] ?? (1n << BigInt(BITS[family] - length)) - 1n;
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

/**
 * The indexes of `values` (IPv6 addresses) in ascending order, ties broken by `lengths` (when
 * given) and then by index: sorted on their 32-bit words (v6Words, orderV6Words), as sorting
 * 100,000 bigints by comparison takes most of a second.
 */
export function orderV6(values: readonly bigint[], lengths?: ArrayLike<number>): Uint32Array {
  return orderV6Words(v6Words(values), lengths);
}

/** v6Words' scratch: one address as 16 bytes. */
const WORD_BYTES = new DataView(new ArrayBuffer(16));

/** The four 32-bit words of each value (IPv6 addresses), most significant first: word x of value i at [4 * i + x]. */
export function v6Words(values: readonly bigint[]): Uint32Array {
  const n = values.length;
  const words = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) putV6Words(words, i, values[i]!);
  return words;
}

/** The four 32-bit words of IPv6 address `v` at place `i` of `words` (most significant first). */
export function putV6Words(words: Uint32Array, i: number, v: bigint): void {
  WORD_BYTES.setBigUint64(0, v >> 64n); // big-endian, as DataView writes by default
  WORD_BYTES.setBigUint64(8, v); // the low 64 bits: setBigUint64 takes a bigint modulo 2^64
  for (let x = 0; x < 4; x++) words[4 * i + x] = WORD_BYTES.getUint32(4 * x);
}

/** The IPv6 address at place `i` of `words` (four 32-bit words each, most significant first), as a bigint. */
export function v6WordsValue(words: ArrayLike<number>, i: number): bigint {
  for (let x = 0; x < 4; x++) WORD_BYTES.setUint32(4 * x, words[4 * i + x]!);
  const hi = WORD_BYTES.getBigUint64(0);
  const lo = WORD_BYTES.getBigUint64(8);
  return hi === 0n ? lo : (hi << 64n) | lo;
}

/** Do the first `bits` bits of the IPv6 addresses at place i of `a` and place j of `b` (four 32-bit words each) agree? */
export function sameV6Bits(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, bits: number): boolean {
  for (let x = 0; bits > 0; x++, bits -= 32) {
    const d = (a[4 * i + x]! ^ b[4 * j + x]!) >>> 0;
    if (bits >= 32 ? d !== 0 : d >>> (32 - bits) !== 0) return false;
  }
  return true;
}

/**
 * IPv6 prefixes as numbers, by place: prefix i's network is words [4i, 4i + 4) (most significant
 * first, as putV6Words writes them) and its length lengths[i]. A profile's IPv6 Split Tunnel
 * entries share one: a list of 100,000 makes no bigint or Prefix each, and what reads them at
 * scale (the redundancy check, the plan's sets and rule index) reads the words.
 */
export class V6Prefixes {
  #words = new Uint32Array(0);
  #lengths = new Uint8Array(0);
  #count = 0;

  /** Room for `expected` prefixes is made at the first add (a list of IPv4 entries makes none); it grows past them. */
  constructor(private readonly expected = 16) {}

  /** The networks' words; valid until the next add (which may move them). */
  get words(): Uint32Array {
    return this.#words;
  }
  get lengths(): Uint8Array {
    return this.#lengths;
  }
  get count(): number {
    return this.#count;
  }

  /** Adds the prefix whose network has the eight 16-bit `groups`; returns its place. */
  addGroups(groups: readonly number[], length: number): number {
    const i = this.room();
    for (let x = 0; x < 4; x++) this.#words[4 * i + x] = groups[2 * x]! * 0x10000 + groups[2 * x + 1]!;
    this.#lengths[i] = length;
    return i;
  }

  /** Adds an IPv6 prefix; returns its place. */
  add(p: Prefix): number {
    const i = this.room();
    putV6Words(this.#words, i, p.network);
    this.#lengths[i] = p.length;
    return i;
  }

  /** Adds prefix i of `from`; returns its place here. */
  addFrom(from: V6Prefixes, i: number): number {
    const k = this.room();
    for (let x = 0; x < 4; x++) this.#words[4 * k + x] = from.#words[4 * i + x]!;
    this.#lengths[k] = from.#lengths[i]!;
    return k;
  }

  /** Prefix i as a Prefix (a bigint made when asked). */
  prefix(i: number): Prefix {
    return { family: 6, network: v6WordsValue(this.#words, i), length: this.#lengths[i]! };
  }

  /** Does prefix i hold the address at place j of `words` (four words each)? Its first `length` bits agree. */
  contains(i: number, words: ArrayLike<number>, j: number): boolean {
    return sameV6Bits(this.#words, i, words, j, this.#lengths[i]!);
  }

  /** The place for one more prefix, growing the arrays by doubling. */
  private room(): number {
    const i = this.#count++;
    if (i === this.#lengths.length) {
      const room = Math.max(this.expected, 2 * i, 1);
      const words = new Uint32Array(4 * room);
      words.set(this.#words);
      this.#words = words;
      const lengths = new Uint8Array(room);
      lengths.set(this.#lengths);
      this.#lengths = lengths;
    }
    return i;
  }
}

/**
 * The V6Prefixes whose places 0, 1, … hold the IPv6 prefixes of `items` (those `isV6` picks), in
 * order and nothing else: what a validated list's entries share, to be read in place. Undefined
 * when they share none (entries made elsewhere, the defaults).
 */
export function sharedV6Prefixes(items: readonly { readonly v6?: number; readonly v6Prefixes?: V6Prefixes }[], isV6: (i: number) => boolean): V6Prefixes | undefined {
  let shared: V6Prefixes | undefined;
  let k = 0;
  for (let i = 0; i < items.length; i++) {
    if (!isV6(i)) continue;
    const x = items[i]!;
    if (k === 0) shared = x.v6Prefixes;
    if (shared === undefined || x.v6Prefixes !== shared || x.v6 !== k) return undefined;
    k++;
  }
  return shared !== undefined && shared.count === k ? shared : undefined;
}

/**
 * orderV6 of the values whose words v6Words wrote. Many are sorted by a least-significant-digit
 * radix sort on their eight 16-bit halves of words (and the length below them): stable passes
 * over typed arrays, only for the digits that vary (one scan finds them: a list of /64s under
 * one /32 sorts in two passes); few by comparison.
 */
export function orderV6Words(words: Uint32Array, lengths?: ArrayLike<number>): Uint32Array {
  const n = words.length / 4;
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 512) {
    // Few: a comparison sort costs less than the passes' 65,536 buckets.
    return order.sort((a, b) => {
      for (let x = 0; x < 4; x++) if (words[4 * a + x] !== words[4 * b + x]) return words[4 * a + x]! - words[4 * b + x]!;
      return (lengths ? lengths[a]! - lengths[b]! : 0) || a - b;
    });
  }
  // The bits where some value differs from the first, per word; the same for the lengths.
  const varies = new Uint32Array(5);
  for (let i = 1; i < n; i++) {
    for (let x = 0; x < 4; x++) varies[x]! |= words[4 * i + x]! ^ words[x]!;
    if (lengths !== undefined) varies[4]! |= lengths[i]! ^ lengths[0]!;
  }
  let next = new Uint32Array(n);
  const count = new Uint32Array(0x10001);
  const pass = (keys: ArrayLike<number>, stride: number, at: number, shift: number): void => {
    radixPass(order, next, count, keys, stride, at, shift);
    [order, next] = [next, order];
  };
  if (lengths !== undefined && varies[4] !== 0) pass(lengths, 1, 0, 0);
  for (let x = 3; x >= 0; x--) {
    if ((varies[x]! & 0xffff) !== 0) pass(words, 4, x, 0);
    if (varies[x]! >>> 16 !== 0) pass(words, 4, x, 16);
  }
  return order;
}

/**
 * One stable counting pass: `order` into `next` by the 16-bit key (keys[stride * i + at] >>> shift) & 0xffff
 * of each item i. No call per item: the passes run once each over 100,000s of items, mostly unoptimized.
 */
function radixPass(order: Uint32Array, next: Uint32Array, count: Uint32Array, keys: ArrayLike<number>, stride: number, at: number, shift: number): void {
  const n = order.length;
  count.fill(0);
  for (let k = 0; k < n; k++) count[((keys[stride * order[k]! + at]! >>> shift) & 0xffff) + 1]!++;
  for (let b = 0; b < 0x10000; b++) count[b + 1]! += count[b]!;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    next[count[(keys[stride * i + at]! >>> shift) & 0xffff]!++] = i;
  }
}

/** Dotted-quad text of an IPv4 address given as a number. */
export function formatV4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return formatV4Number(Number(value));
  // RFC 5952 section 5: an IPv4-mapped address keeps its IPv4 part dotted (::ffff:192.0.2.1).
  if (value >> 32n === 0xffffn) return `::ffff:${formatAddress(4, value & 0xffffffffn)}`;
  // Four 32-bit words, then number arithmetic for the groups.
  const groups: number[] = [];
  for (let i = 3; i >= 0; i--) {
    const w = Number((value >> BigInt(i * 32)) & 0xffffffffn);
    groups.push(w >>> 16, w & 0xffff);
  }
  const run = zeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (run < 0) return hex.join(':');
  return `${hex.slice(0, run >> 4).join(':')}::${hex.slice((run >> 4) + (run & 15)).join(':')}`;
}

/**
 * RFC 5952: the run of zero groups that `::` stands for in the canonical text of eight groups,
 * the longest of two or more, the first on a tie, as one number: start * 16 + length, or -1
 * when there is none (no object: the writers run it per prefix).
 */
export function zeroRun(groups: readonly number[]): number {
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > length) {
      start = i;
      length = j - i;
    }
    i = j;
  }
  return start < 0 ? -1 : start * 16 + length;
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

const V4_MAPPED_NET = 0xffffn << 32n;

/** The IPv4 address an IPv4-mapped IPv6 address stands for, as text; null for any other address. */
export function mappedIPv4(a: Address): string | null {
  return isIPv4Mapped(a) ? formatAddress(4, a.value & 0xffffffffn) : null;
}

/**
 * The IPv4 prefix an IPv6 prefix strictly inside ::ffff:0:0/96 stands for
 * (`::ffff:10.0.0.0/104` → `10.0.0.0/8`): written like that, it names IPv4 hosts, and
 * whether a target routes it as IPv4 or IPv6 varies. Null for anything else: the whole
 * range `::ffff:0:0/96` and wider prefixes (`::/0`) are IPv6 ranges like any other
 * (no packet on the wire carries a mapped address, so excluding or including the /96
 * changes nothing for IPv4, and `0.0.0.0/0` would be a wrong suggestion for it).
 */
export function mappedIPv4Prefix(p: Prefix): string | null {
  if (p.family !== 6 || p.length <= 96 || p.network >> 32n !== 0xffffn) return null;
  return formatPrefix({ family: 4, network: p.network - V4_MAPPED_NET, length: p.length - 96 });
}

/**
 * Addresses that can be neither a peer nor an interface's own address: the unspecified
 * address, loopback, multicast and (IPv4) the limited broadcast address. The words name
 * the kind for a diagnostic; null for an ordinary address.
 */
export function nonUnicastKind(a: Address): string | null {
  if (a.family === 4) {
    const v = Number(a.value);
    if (v === 0) return 'the unspecified address';
    if (v === 0xffffffff) return 'the limited broadcast address';
    if (v >>> 24 === 127) return 'a loopback address (127.0.0.0/8)';
    if (v >>> 28 === 0xe) return 'a multicast address (224.0.0.0/4)';
    return null;
  }
  if (a.value === 0n) return 'the unspecified address';
  if (a.value === 1n) return 'the loopback address';
  if (a.value >> 120n === 0xffn) return 'a multicast address (ff00::/8)';
  const m = isIPv4Mapped(a) ? nonUnicastKind({ family: 4, value: a.value & 0xffffffffn }) : null;
  return m === null ? null : `${m}, IPv4-mapped`;
}
