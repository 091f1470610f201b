/**
 * linux/masque.json: the MASQUE tunnel a compiled Linux folder asks for (in
 * place of wireguard.conf): endpoint, SNI, the server's pinned key, the CONNECT
 * authority, the keepalive. The Linux target writes it with serializeMasque;
 * the runtime reads it with parseMasque and nothing else.
 * Shape: schema/masque.schema.json.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { parseAddress } from '../net/ip.js';
import { parseContract, stableJson, type ContractProblem } from './json-file.js';

export const MASQUE_FILE = 'masque.json';
export const MASQUE_SCHEMA = 'masque.schema.json';

export interface MasqueSettings {
  readonly version: 1;
  readonly transport: 'h2';
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly sni: string;
  /** `sha256/` + base64 SHA-256 of the server's SPKI. */
  readonly server_pin: string;
  readonly authority: string;
  readonly keepalive_seconds: number;
}

export function serializeMasque(m: MasqueSettings): string {
  return stableJson({
    version: m.version,
    transport: m.transport,
    endpoint: { host: m.endpoint.host, port: m.endpoint.port },
    sni: m.sni,
    server_pin: m.server_pin,
    authority: m.authority,
    keepalive_seconds: m.keepalive_seconds,
  });
}

/** The CONNECT authority the real client sends (cloudflare-formats.md §6). */
export const MASQUE_AUTHORITY = 'cloudflareaccess.com:443';

/**
 * A MASQUE server key as a profile writes it — the server's P-256 public key as the base64 of its
 * DER SubjectPublicKeyInfo (the PEM body on one line: profile values have no newlines), a PEM key
 * or certificate (other callers), or its SPKI SHA-256 as `sha256/BASE64` — in the one form
 * masque.json carries: `sha256/BASE64`.
 */
export function normalizeMasquePin(text: string): { ok: true; pin: string } | { ok: false; reason: string } {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    try {
      const pub = t.startsWith('-----BEGIN CERTIFICATE-----') ? new X509Certificate(t).publicKey : createPublicKey(t);
      if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { ok: false, reason: `its key is ${pub.asymmetricKeyType ?? 'of an unknown type'}, not EC P-256` };
      return { ok: true, pin: `sha256/${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64')}` };
    } catch {
      return { ok: false, reason: 'the PEM does not parse as a public key or certificate' };
    }
  }
  const m = /^sha256\/([A-Za-z0-9+/]{43}=)$/.exec(t);
  if (m) return { ok: true, pin: `sha256/${m[1]}` };
  // The PEM body on one line (a profile value has no newlines): the base64 of the SPKI DER.
  if (/^[A-Za-z0-9+/]{40,}={0,2}$/.test(t)) {
    try {
      const pub = createPublicKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'spki' });
      if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { ok: false, reason: `its key is ${pub.asymmetricKeyType ?? 'of an unknown type'}, not EC P-256` };
      return { ok: true, pin: `sha256/${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64')}` };
    } catch {
      return { ok: false, reason: 'the base64 is not a DER SubjectPublicKeyInfo' };
    }
  }
  return { ok: false, reason: 'neither a public key (base64 DER, or PEM) nor sha256/ followed by 44 base64 characters' };
}

export function parseMasque(text: string, file = MASQUE_FILE): MasqueSettings {
  return parseContract<MasqueSettings>(file, text, MASQUE_SCHEMA, (m, problems: ContractProblem[]) => {
    if (!parseAddress(m.endpoint.host)) problems.push({ pointer: '/endpoint/host', detail: `${JSON.stringify(m.endpoint.host)} is not an IP address` });
    if (Buffer.from(m.server_pin.slice(7), 'base64').length !== 32) problems.push({ pointer: '/server_pin', detail: 'is not the base64 of 32 bytes' });
  });
}
