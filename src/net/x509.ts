/**
 * X.509 certificates written with node:crypto and a minimal DER writer: the one
 * certificate generator of warpc. MASQUE identities (src/runtime/masque/cert.ts:
 * self-signed P-256, pinned) and the orchestrator's CA and server certificate
 * (src/orchestrator/tls.ts) both issue through certificate().
 *
 * Decides: the DER of a certificate (ECDSA P-256 with SHA-256 signatures). Must
 * not touch: files, keys on disk.
 */
import { createHash, createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const explicit = (n: number, ...c: Buffer[]): Buffer => tlv(0xa0 | n, ...c);
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'));

/** A non-negative INTEGER from big-endian bytes (a leading zero when the top bit is set). */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && ((b[1] as number) & 0x80) === 0) b = b.subarray(1);
  if (((b[0] as number) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), whole seconds. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-11-30T09:22:42.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

const OID_ECDSA_SHA256 = '2a8648ce3d040302';
const OID_CN = '550403';
const OID_BASIC_CONSTRAINTS = '551d13';
const OID_KEY_USAGE = '551d0f';
const OID_EXT_KEY_USAGE = '551d25';
const OID_SUBJECT_ALT_NAME = '551d11';
const OID_SERVER_AUTH = '2b06010505070301';
const OID_CLIENT_AUTH = '2b06010505070302';

function name(cn: string): Buffer {
  return seq(set(seq(oid(OID_CN), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

/** One IP address literal as the 4 or 16 bytes of a GeneralName iPAddress. */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

export interface CertificateSpec {
  /** The key being certified (public or private; only its public half goes in). */
  readonly subjectKey: KeyObject;
  readonly subject: string;
  /** The issuer's P-256 private key (the subject's own for a self-signed certificate) and its name. */
  readonly issuerKey: KeyObject;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA (keyCertSign) or an end entity (digitalSignature, with clientAuth or serverAuth). */
  readonly ca?: boolean;
  readonly usage?: 'client' | 'server';
  /** subjectAltName: DNS names and IP address literals. */
  readonly altNames?: readonly string[];
}

/** A certificate (DER) signed ECDSA with SHA-256 by a P-256 issuer key. */
export function certificate(o: CertificateSpec): Buffer {
  const k = o.issuerKey;
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('an issuer key is an EC P-256 private key');
  const pub = o.subjectKey.type === 'private' ? createPublicKey(o.subjectKey) : o.subjectKey;
  const spki = pub.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const alg = seq(oid(OID_ECDSA_SHA256));
  const exts: Buffer[] = [
    seq(oid(OID_BASIC_CONSTRAINTS), tlv(0x01, Buffer.from([0xff])), tlv(0x04, o.ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq())),
    // keyUsage: digitalSignature (bit 0) for an end entity; digitalSignature, keyCertSign and cRLSign (bits 0, 5, 6) for a CA.
    seq(oid(OID_KEY_USAGE), tlv(0x01, Buffer.from([0xff])), tlv(0x04, tlv(0x03, o.ca ? Buffer.from([0x01, 0x86]) : Buffer.from([0x07, 0x80])))),
  ];
  if (o.usage) exts.push(seq(oid(OID_EXT_KEY_USAGE), tlv(0x04, seq(oid(o.usage === 'client' ? OID_CLIENT_AUTH : OID_SERVER_AUTH)))));
  if (o.altNames && o.altNames.length > 0) {
    const names = o.altNames.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii'))));
    exts.push(seq(oid(OID_SUBJECT_ALT_NAME), tlv(0x04, seq(...names))));
  }
  const tbs = seq(explicit(0, integer(Buffer.from([2]))), integer(serial), alg, name(o.issuer), seq(time(o.notBefore), time(o.notAfter)), name(o.subject), spki, explicit(3, seq(...exts)));
  const signature = sign('sha256', tbs, k); // DER ECDSA-Sig-Value
  return seq(tbs, alg, tlv(0x03, Buffer.from([0]), signature));
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A certificate's SHA-256 fingerprint, uppercase hex with colons as `openssl x509 -fingerprint -sha256` prints it. */
export function fingerprint(pem: string): string {
  const der = new X509Certificate(pem).raw;
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}
