/**
 * The orchestrator's TLS identity with no set-up: a CA (P-256, ten years) kept in the
 * store's shared secrets, so every process on one database has the same one, and a
 * server certificate it issues at each start for the names the server answers to
 * (localhost, 127.0.0.1, ::1 and --hostname values). Devices pin the CA by its
 * SHA-256 fingerprint or trust ca.pem, which `serve` writes into its data folder.
 * With --tls-cert/--tls-key none of this is used.
 *
 * Decides: the CA and server certificate. Must not touch: HTTP, tokens.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { certificate, derToPem, fingerprint } from '../net/x509.js';
import type { Store } from './store/types.js';

const DAY = 86_400_000;

export interface TlsIdentity {
  readonly keyPem: string;
  readonly certPem: string;
  /** The CA that issued certPem (null when the certificate was given). */
  readonly caPem: string | null;
  /** SHA-256 fingerprints, uppercase hex with colons as `openssl x509 -fingerprint -sha256` prints them. */
  readonly caFingerprint: string | null;
  readonly certFingerprint: string;
}

export { fingerprint };

/** The fleet CA (created once, shared through the store) and a fresh server certificate for `names`. */
export async function generatedTls(store: Store, names: readonly string[], now = new Date()): Promise<TlsIdentity> {
  const stored = await store.secret('tls-ca', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const der = certificate({ subjectKey: key, subject: 'warpc orchestrator CA', issuerKey: key, issuer: 'warpc orchestrator CA', notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + 3650 * DAY), ca: true });
    return JSON.stringify({ key: key.export({ type: 'pkcs8', format: 'pem' }), cert: derToPem(der) });
  });
  const ca = JSON.parse(stored) as { key: string; cert: string };
  const caKey = createPrivateKey(ca.key);
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const der = certificate({
    subjectKey: key,
    subject: names[0] ?? 'localhost',
    issuerKey: caKey,
    issuer: 'warpc orchestrator CA',
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 365 * DAY),
    usage: 'server',
    altNames: [...new Set(['localhost', '127.0.0.1', '::1', ...names])],
  });
  const certPem = derToPem(der);
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, certPem, caPem: ca.cert, caFingerprint: fingerprint(ca.cert), certFingerprint: fingerprint(certPem) };
}
