/**
 * MASQUE identities: a P-256 key and a self-signed X.509 certificate for it
 * (mutual TLS: the device's key is the registered one, the certificate only
 * carries it), issued by src/net/x509.ts (the one certificate writer); and SPKI
 * SHA-256 pins, the only way either side authenticates the other (no CA).
 * Files: <dir>/masque.key (PKCS#8 PEM, 0600) and <dir>/masque.crt (PEM). The
 * certificate is re-issued for the same key when it nears its end; the key
 * changes only when asked (it is what the gateway knows). Touches nothing but
 * those two files.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { certificate, derToPem } from '../../net/x509.js';
import { atomicWrite } from '../linux/resolv.js';

export interface CertOptions {
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** clientAuth for a device, serverAuth for a gateway. */
  readonly usage: 'client' | 'server';
}

/** A self-signed certificate (DER) for a P-256 key, signed ECDSA with SHA-256 (src/net/x509.ts writes it). */
export function selfSignedCertificate(key: KeyObject, o: CertOptions): Buffer {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('a MASQUE key is an EC P-256 private key');
  return certificate({ subjectKey: key, subject: o.commonName, issuerKey: key, issuer: o.commonName, notBefore: o.notBefore, notAfter: o.notAfter, usage: o.usage });
}

export { derToPem };

// ---- pins ------------------------------------------------------------------------------------

/** base64(SHA-256(SubjectPublicKeyInfo DER)): the pin of a key (public, private or in a certificate). */
export function spkiSha256(key: KeyObject | X509Certificate): string {
  const pub = key instanceof X509Certificate ? key.publicKey : key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
}

/**
 * A pin as a profile or a clients file writes it: a PEM public key (or certificate),
 * `sha256/BASE64`, or the bare base64 of 32 bytes. Returns the base64 SHA-256 of the SPKI.
 */
export function parsePin(text: string): string {
  const t = text.trim();
  if (t.startsWith('-----BEGIN CERTIFICATE-----')) return spkiSha256(new X509Certificate(t));
  if (t.startsWith('-----BEGIN')) {
    const pub = createPublicKey(t);
    if (pub.asymmetricKeyType !== 'ec' || pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('a pinned MASQUE key is an EC P-256 public key');
    return spkiSha256(pub);
  }
  const b64 = t.replace(/^sha256\//, '');
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== b64) throw new Error(`${JSON.stringify(t.slice(0, 80))} is not a pin: expected a PEM public key, sha256/BASE64 or the base64 of a SHA-256`);
  return b64;
}

// ---- the identity on disk --------------------------------------------------------------------

export interface MasqueIdentity {
  readonly keyPem: string;
  readonly certPem: string;
  /** base64 SHA-256 of the SPKI: what the other side pins. */
  readonly pin: string;
  readonly notAfter: Date;
  /** What changed on disk: nothing, a new certificate, or a new key (and certificate). */
  readonly created: 'none' | 'certificate' | 'key';
}

export interface IdentityOptions {
  readonly usage: 'client' | 'server';
  readonly commonName?: string;
  readonly now?: Date;
  /** Certificate lifetime (default 30 days) and how long before its end it is re-issued (default 7 days). */
  readonly lifetimeDays?: number;
  readonly renewDays?: number;
  /** Replace the key (it must then be registered again). */
  readonly rotateKey?: boolean;
}

const DAY = 86_400_000;

/**
 * Load `<dir>/masque.key` and `<dir>/masque.crt`, creating the key (0600) when absent and
 * re-issuing the certificate when missing, for another key, or within renewDays of its end.
 */
export async function loadOrCreateIdentity(dir: string, o: IdentityOptions): Promise<MasqueIdentity> {
  const now = o.now ?? new Date();
  const keyPath = join(dir, 'masque.key');
  const certPath = join(dir, 'masque.crt');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let created: MasqueIdentity['created'] = 'none';
  let key: KeyObject | null = null;
  if (!o.rotateKey) {
    try {
      const st = await stat(keyPath);
      if ((st.mode & 0o077) !== 0) await chmod(keyPath, 0o600);
      key = createPrivateKey(await readFile(keyPath, 'utf8'));
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`${keyPath} is not an EC P-256 private key`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (!key) {
    key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await atomicWrite(keyPath, Buffer.from(key.export({ type: 'pkcs8', format: 'pem' }) as string), 0o600);
    created = 'key';
  }
  const pin = spkiSha256(key);
  let certPem: string | null = null;
  let notAfter = new Date(0);
  if (created === 'none') {
    try {
      const text = await readFile(certPath, 'utf8');
      const cert = new X509Certificate(text);
      notAfter = new Date(cert.validTo);
      if (spkiSha256(cert) === pin && notAfter.getTime() - now.getTime() > (o.renewDays ?? 7) * DAY) certPem = text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof Error && /certificate|PEM|asn1|decod/i.test(err.message))) throw err;
    }
  }
  if (!certPem) {
    notAfter = new Date(Math.floor((now.getTime() + (o.lifetimeDays ?? 30) * DAY) / 1000) * 1000);
    const der = selfSignedCertificate(key, { commonName: o.commonName ?? (o.usage === 'client' ? 'warpc device' : 'warpc gateway'), notBefore: new Date(now.getTime() - 3600_000), notAfter, usage: o.usage });
    certPem = derToPem(der);
    await atomicWrite(certPath, Buffer.from(certPem), 0o644);
    if (created === 'none') created = 'certificate';
  }
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, certPem, pin, notAfter, created };
}
