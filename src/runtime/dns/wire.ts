/**
 * DNS wire format: only what the proxy needs (RFC 1035, RFC 6891).
 *
 * Queries are parsed as far as routing needs: header, the single question,
 * and the OPT record (EDNS UDP size, DO bit). Everything else is passed
 * through as bytes. Responses from upstreams are walked once, when they are
 * stored, to find the TTL offsets, the negative-caching TTL (RFC 2308) and,
 * when host rules exist, the addresses they carry.
 *
 * Functions on the per-query path write into caller-owned objects and
 * buffers instead of allocating.
 */
import { formatAddress } from '../../net/ip.js';

export const HEADER_LEN = 12;
export const MAX_NAME_WIRE = 255;
export const MAX_MESSAGE = 65_535;
export const UDP_DEFAULT_MAX = 512;

export const TYPE_A = 1;
export const TYPE_SOA = 6;
export const TYPE_CNAME = 5;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

/** Flag bits of the second header word. */
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;

/** What parseQuery found. Reused across queries: callers own one instance. */
export interface QueryInfo {
  id: number;
  flags: number;
  opcode: number;
  /** Offset just past the question's type and class. */
  questionEnd: number;
  /** Offset just past the name (where qtype starts). */
  nameEnd: number;
  qtype: number;
  qclass: number;
  hasOpt: boolean;
  /** The client's advertised EDNS UDP payload size (0 when no OPT). */
  udpSize: number;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

export function newQueryInfo(): QueryInfo {
  return { id: 0, flags: 0, opcode: 0, questionEnd: 0, nameEnd: 0, qtype: 0, qclass: 0, hasOpt: false, udpSize: 0, dnssecOk: false, checkingDisabled: false };
}

/** parseQuery outcome. */
export const enum Parse {
  /** A well-formed query. */
  Ok = 0,
  /** Not worth an answer: too short for a header, or a response (QR=1). */
  Drop = 1,
  /** The header parses but the rest is malformed: answer FORMERR. */
  FormErr = 2,
  /** A well-formed message with an opcode other than QUERY: answer NOTIMP. */
  NotImp = 3,
}

/**
 * Skip a (possibly compressed) name starting at `off`; returns the offset just
 * past it, or -1 when malformed. Does not follow pointers (it only needs the end).
 */
export function skipName(buf: Uint8Array, off: number, end: number): number {
  let total = 0;
  for (;;) {
    if (off >= end) return -1;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return off + 2 <= end ? off + 2 : -1;
    if (kind !== 0) return -1;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return -1;
    off += len + 1;
  }
}

/**
 * Parse a query's header, question and OPT record into `q`.
 * The question must hold exactly one uncompressed name.
 */
export function parseQuery(msg: Uint8Array, q: QueryInfo): Parse {
  const len = msg.length;
  if (len < HEADER_LEN) return Parse.Drop;
  const flags = (msg[2]! << 8) | msg[3]!;
  if ((flags & QR) !== 0) return Parse.Drop;
  q.id = (msg[0]! << 8) | msg[1]!;
  q.flags = flags;
  q.opcode = (flags & OPCODE_MASK) >> 11;
  q.hasOpt = false;
  q.udpSize = 0;
  q.dnssecOk = false;
  q.checkingDisabled = (flags & CD) !== 0;
  q.questionEnd = HEADER_LEN;
  q.nameEnd = HEADER_LEN;
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  if (qd !== 1) return Parse.FormErr;
  // The question name: plain labels only.
  let off = HEADER_LEN;
  for (;;) {
    if (off >= len) return Parse.FormErr;
    const l = msg[off]!;
    if (l === 0) {
      off++;
      break;
    }
    if (l > 63) return Parse.FormErr;
    off += l + 1;
    if (off - HEADER_LEN >= MAX_NAME_WIRE) return Parse.FormErr;
  }
  q.nameEnd = off;
  if (off + 4 > len) return Parse.FormErr;
  q.qtype = (msg[off]! << 8) | msg[off + 1]!;
  q.qclass = (msg[off + 2]! << 8) | msg[off + 3]!;
  off += 4;
  q.questionEnd = off;
  if (q.opcode !== 0) return Parse.NotImp;
  // Queries normally carry no answer or authority records; skip them if present.
  for (let i = 0; i < an + ns; i++) {
    off = skipRecord(msg, off, len);
    if (off < 0) return Parse.FormErr;
  }
  for (let i = 0; i < ar; i++) {
    const nameEnd = skipName(msg, off, len);
    if (nameEnd < 0 || nameEnd + 10 > len) return Parse.FormErr;
    const type = (msg[nameEnd]! << 8) | msg[nameEnd + 1]!;
    const rdlen = (msg[nameEnd + 8]! << 8) | msg[nameEnd + 9]!;
    const next = nameEnd + 10 + rdlen;
    if (next > len) return Parse.FormErr;
    if (type === TYPE_OPT) {
      // RFC 6891: exactly one OPT, owned by the root.
      if (q.hasOpt || nameEnd !== off + 1) return Parse.FormErr;
      q.hasOpt = true;
      q.udpSize = (msg[nameEnd + 2]! << 8) | msg[nameEnd + 3]!;
      q.dnssecOk = (msg[nameEnd + 6]! & 0x80) !== 0;
    }
    off = next;
  }
  return Parse.Ok;
}

/** Skip one resource record; -1 when malformed. */
export function skipRecord(msg: Uint8Array, off: number, end: number): number {
  const nameEnd = skipName(msg, off, end);
  if (nameEnd < 0 || nameEnd + 10 > end) return -1;
  const next = nameEnd + 10 + ((msg[nameEnd + 8]! << 8) | msg[nameEnd + 9]!);
  return next > end ? -1 : next;
}

/** The largest response a UDP client accepts (RFC 6891 §6.2.5: below 512 means 512). */
export function udpLimit(q: QueryInfo): number {
  return q.hasOpt && q.udpSize > UDP_DEFAULT_MAX ? q.udpSize : UDP_DEFAULT_MAX;
}

/**
 * Write the cache key of a parsed query into `scratch` and return it as a
 * string: the lowercased wire name, qtype, qclass and one byte of EDNS state
 * (present, DO, CD). Only ASCII letters are folded (DNS case rules).
 */
export function cacheKey(msg: Uint8Array, q: QueryInfo, scratch: Buffer): string {
  let o = 0;
  let off = HEADER_LEN;
  const nameEnd = q.nameEnd;
  while (off < nameEnd) {
    const c = msg[off++]!;
    scratch[o++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  // Label length bytes are below 64 and never folded by the test above.
  scratch[o++] = msg[nameEnd]!;
  scratch[o++] = msg[nameEnd + 1]!;
  scratch[o++] = msg[nameEnd + 2]!;
  scratch[o++] = msg[nameEnd + 3]!;
  scratch[o++] = 0x40 | (q.hasOpt ? 1 : 0) | (q.dnssecOk ? 2 : 0) | (q.checkingDisabled ? 4 : 0);
  return scratch.toString('latin1', 0, o);
}

/** The question name as dotted text, lowercased, without the trailing dot ('' for the root). */
export function questionName(msg: Uint8Array, q: QueryInfo): string {
  return readName(msg, HEADER_LEN, q.nameEnd) ?? '';
}

/**
 * Read a (possibly compressed) name at `off` as lowercased dotted text
 * without the trailing dot; null when malformed or looping.
 * Bytes outside printable ASCII are escaped as \DDD (RFC 1035 §5.1).
 */
export function readName(msg: Uint8Array, off: number, end: number = msg.length): string | null {
  let out = '';
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (off >= end) return null;
    const len = msg[off]!;
    if (len === 0) return out;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= end || ++jumps > 64) return null;
      off = ((len & 0x3f) << 8) | msg[off + 1]!;
      continue;
    }
    if (kind !== 0) return null;
    if (off + 1 + len > end) return null;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return null;
    if (out.length > 0) out += '.';
    for (let i = off + 1; i <= off + len; i++) {
      let c = msg[i]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) out += String.fromCharCode(c);
      else out += `\\${String(c).padStart(3, '0')}`;
    }
    off += len + 1;
  }
}

/** Encode a dotted name (no escapes; '' or '.' is the root) in wire form. */
export function encodeName(name: string): Buffer {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n === '') return Buffer.from([0]);
  const parts = n.split('.');
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length === 0 || b.length > 63) throw new Error(`invalid label in ${JSON.stringify(name)}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  const out = Buffer.concat(bufs);
  if (out.length > MAX_NAME_WIRE) throw new Error(`name too long: ${name}`);
  return out;
}

/** Build a query (RD set), optionally with an OPT record. For clients and tests. */
export function buildQuery(
  id: number,
  name: string,
  qtype: number,
  opts: { qclass?: number; edns?: { udpSize: number; dnssecOk?: boolean } | null; rd?: boolean } = {},
): Buffer {
  const qname = encodeName(name);
  const opt = opts.edns ? 11 : 0;
  const buf = Buffer.alloc(HEADER_LEN + qname.length + 4 + opt);
  buf.writeUInt16BE(id & 0xffff, 0);
  buf.writeUInt16BE(opts.rd === false ? 0 : RD, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(opts.edns ? 1 : 0, 10);
  qname.copy(buf, HEADER_LEN);
  let off = HEADER_LEN + qname.length;
  buf.writeUInt16BE(qtype, off);
  buf.writeUInt16BE(opts.qclass ?? CLASS_IN, off + 2);
  off += 4;
  if (opts.edns) writeOpt(buf, off, opts.edns.udpSize, opts.edns.dnssecOk ?? false);
  return buf;
}

/** Write an empty OPT record (11 bytes) at `off`. */
function writeOpt(buf: Buffer, off: number, udpSize: number, dnssecOk: boolean): void {
  buf[off] = 0;
  buf.writeUInt16BE(TYPE_OPT, off + 1);
  buf.writeUInt16BE(udpSize, off + 3);
  buf.writeUInt32BE(dnssecOk ? 0x8000 : 0, off + 5);
  buf.writeUInt16BE(0, off + 9);
}

/** The EDNS UDP size the proxy advertises in the responses it builds. */
export const PROXY_UDP_SIZE = 1232;

/**
 * A response carrying only the header, the question and (when the client used
 * EDNS) an OPT record: for SERVFAIL, REFUSED, NOTIMP, truncation (tc) and
 * locally built errors. `q` must come from a successful or NotImp parse.
 */
export function errorResponse(msg: Uint8Array, q: QueryInfo, rcode: number, tc = false): Buffer {
  const qlen = q.questionEnd - HEADER_LEN;
  const optLen = q.hasOpt ? 11 : 0;
  const out = Buffer.allocUnsafe(HEADER_LEN + qlen + optLen);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  const flags = QR | (q.flags & (OPCODE_MASK | RD | CD)) | RA | (tc ? TC : 0) | (rcode & 0xf);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(q.hasOpt ? 1 : 0, 10);
  out.set(msg.subarray(HEADER_LEN, q.questionEnd), HEADER_LEN);
  if (q.hasOpt) writeOpt(out, HEADER_LEN + qlen, PROXY_UDP_SIZE, q.dnssecOk);
  return out;
}

/** FORMERR for a message whose question could not be parsed: header only. */
export function formErrResponse(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_LEN);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  const flags = (msg[2]! << 8) | msg[3]!;
  out.writeUInt16BE(QR | (flags & (OPCODE_MASK | RD)) | RA | RCODE_FORMERR, 2);
  return out;
}

/** A response with A/AAAA records for the question (local answers). */
export function addressResponse(msg: Uint8Array, q: QueryInfo, addresses: readonly Uint8Array[], ttl: number): Buffer {
  const qlen = q.questionEnd - HEADER_LEN;
  const optLen = q.hasOpt ? 11 : 0;
  let size = HEADER_LEN + qlen + optLen;
  for (const a of addresses) size += 12 + a.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out.writeUInt16BE(QR | (q.flags & (OPCODE_MASK | RD | CD)) | RA | 0x0400 /* AA */, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(addresses.length, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(q.hasOpt ? 1 : 0, 10);
  out.set(msg.subarray(HEADER_LEN, q.questionEnd), HEADER_LEN);
  let off = HEADER_LEN + qlen;
  for (const a of addresses) {
    out.writeUInt16BE(0xc000 | HEADER_LEN, off);
    out.writeUInt16BE(a.length === 4 ? TYPE_A : TYPE_AAAA, off + 2);
    out.writeUInt16BE(q.qclass, off + 4);
    out.writeUInt32BE(ttl, off + 6);
    out.writeUInt16BE(a.length, off + 10);
    out.set(a, off + 12);
    off += 12 + a.length;
  }
  if (q.hasOpt) writeOpt(out, off, PROXY_UDP_SIZE, q.dnssecOk);
  return out;
}

/** An address record found in a response, for host rules. */
export interface AddressRecord {
  readonly owner: string;
  readonly address: string;
  readonly ttl: number;
}

/** What the proxy needs to know about an upstream response, found in one walk. */
export interface ResponseInfo {
  rcode: number;
  ancount: number;
  /** Offsets of the TTL fields of every record except OPT. */
  ttlOffsets: number[];
  /** The smallest TTL among those records; -1 when there are none. */
  minTtl: number;
  /** For NXDOMAIN/NODATA: min(SOA TTL, SOA MINIMUM) of the authority SOA; -1 without one. */
  negativeTtl: number;
  /** A and AAAA records of the answer section (only when asked for). */
  addresses: AddressRecord[] | null;
}

/**
 * Walk a response. Returns null when it is not a well-formed response to the
 * question `question` (the query bytes from offset 12 to its question end,
 * compared case-insensitively).
 */
export function inspectResponse(resp: Uint8Array, question: Uint8Array | null, wantAddresses: boolean): ResponseInfo | null {
  const len = resp.length;
  if (len < HEADER_LEN) return null;
  const flags = (resp[2]! << 8) | resp[3]!;
  if ((flags & QR) === 0) return null;
  const qd = (resp[4]! << 8) | resp[5]!;
  const an = (resp[6]! << 8) | resp[7]!;
  const ns = (resp[8]! << 8) | resp[9]!;
  const ar = (resp[10]! << 8) | resp[11]!;
  let off = HEADER_LEN;
  if (question !== null) {
    if (qd !== 1 || len < HEADER_LEN + question.length) return null;
    for (let i = 0; i < question.length; i++) {
      let a = resp[HEADER_LEN + i]!;
      let b = question[i]!;
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (a !== b) return null;
    }
    off += question.length;
  } else {
    for (let i = 0; i < qd; i++) {
      off = skipName(resp, off, len);
      if (off < 0 || off + 4 > len) return null;
      off += 4;
    }
  }
  const info: ResponseInfo = { rcode: flags & 0xf, ancount: an, ttlOffsets: [], minTtl: -1, negativeTtl: -1, addresses: wantAddresses ? [] : null };
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const nameStart = off;
    const nameEnd = skipName(resp, off, len);
    if (nameEnd < 0 || nameEnd + 10 > len) return null;
    const type = (resp[nameEnd]! << 8) | resp[nameEnd + 1]!;
    const rdlen = (resp[nameEnd + 8]! << 8) | resp[nameEnd + 9]!;
    const rdata = nameEnd + 10;
    const next = rdata + rdlen;
    if (next > len) return null;
    if (type === TYPE_OPT) {
      if (i < an + ns) return null;
      info.rcode = (resp[nameEnd + 4]! << 4) | (flags & 0xf);
    } else {
      const ttlOff = nameEnd + 4;
      let ttl = ((resp[ttlOff]! << 24) | (resp[ttlOff + 1]! << 16) | (resp[ttlOff + 2]! << 8) | resp[ttlOff + 3]!) >>> 0;
      // RFC 2181 §8: a TTL with the top bit set is taken as zero.
      if (ttl > 0x7fffffff) ttl = 0;
      info.ttlOffsets.push(ttlOff);
      if (info.minTtl < 0 || ttl < info.minTtl) info.minTtl = ttl;
      if (type === TYPE_SOA && i >= an && i < an + ns && rdlen >= 22) {
        const min = ((resp[next - 4]! << 24) | (resp[next - 3]! << 16) | (resp[next - 2]! << 8) | resp[next - 1]!) >>> 0;
        info.negativeTtl = Math.min(ttl, min > 0x7fffffff ? 0 : min);
      }
      if (info.addresses !== null && i < an && ((type === TYPE_A && rdlen === 4) || (type === TYPE_AAAA && rdlen === 16))) {
        const owner = readName(resp, nameStart, len);
        if (owner !== null) info.addresses.push({ owner, address: formatRdataAddress(resp, rdata, rdlen), ttl });
      }
    }
    off = next;
  }
  return info;
}

function formatRdataAddress(buf: Uint8Array, off: number, len: number): string {
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(buf[off + i]!);
  return formatAddress(len === 4 ? 4 : 6, v);
}

/** Read the 16-bit ID of a message. */
export function messageId(msg: Uint8Array): number {
  return (msg[0]! << 8) | msg[1]!;
}

/** Is the TC bit set? */
export function isTruncated(msg: Uint8Array): boolean {
  return msg.length >= 4 && (msg[2]! & 0x02) !== 0;
}

export function rcodeOf(msg: Uint8Array): number {
  return msg.length >= 4 ? msg[3]! & 0x0f : -1;
}
