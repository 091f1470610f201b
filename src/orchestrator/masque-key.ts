/**
 * A device's MASQUE key as the orchestrator takes it (PATCH /v0/reg/{id} with
 * `tunnel_type: masque`): the base64 of a P-256 public key's SubjectPublicKeyInfo
 * DER, checked with node:crypto, and its pin `sha256/BASE64` — the form the
 * MASQUE server's clients and masque.json use (src/runtime/masque/cert.ts).
 *
 * Decides: what a MASQUE key is. Must not touch: the store, HTTP.
 */
import { createHash, createPublicKey } from 'node:crypto';

/** null when `b64` is the canonical base64 of a P-256 SPKI DER; else why not (a sentence after the field name). */
export function p256Spki(b64: string): string | null {
  const der = Buffer.from(b64, 'base64');
  if (der.length === 0 || der.toString('base64') !== b64) return 'is not canonical base64';
  let key;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return 'is not a DER SubjectPublicKeyInfo (base64 of the public key as `openssl pkey -pubout -outform DER` writes it)';
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    return `is a ${key.asymmetricKeyType === 'ec' ? `${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'} EC` : (key.asymmetricKeyType ?? 'unknown')} key, not P-256 (secp256r1)`;
  // One key, one spelling: the DER node:crypto writes back for it (no trailing bytes, no explicit curve parameters).
  if (!(key.export({ type: 'spki', format: 'der' }) as Buffer).equals(der)) return 'is not the canonical SubjectPublicKeyInfo of a P-256 key (named curve, uncompressed point)';
  return null;
}

/** `sha256/` + base64 SHA-256 of the SPKI DER that `b64` encodes. */
export function masquePin(b64: string): string {
  return `sha256/${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64')}`;
}
