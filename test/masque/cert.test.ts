import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { derToPem, loadOrCreateIdentity, parsePin, selfSignedCertificate, spkiSha256 } from '../../src/runtime/masque/cert.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'warpc-masque-cert-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

describe('self-signed P-256 certificates', () => {
  it('parses in node:crypto, carries the key, and verifies under its own key', () => {
    const key = p256();
    const der = selfSignedCertificate(key, { commonName: 'warpc device', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-02-01T00:00:00Z'), usage: 'client' });
    const cert = new X509Certificate(der);
    expect(cert.subject).toBe('CN=warpc device');
    expect(cert.issuer).toBe('CN=warpc device');
    expect(new Date(cert.validFrom).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(cert.verify(createPublicKey(key))).toBe(true);
    expect(cert.verify(createPublicKey(p256()))).toBe(false);
    expect(spkiSha256(cert)).toBe(spkiSha256(key));
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.ca).toBe(false);
  });

  it.skipIf(!hasOpenssl)('openssl reads it: version 3, ecdsa-with-SHA256, P-256, extensions; and verifies its signature', () => {
    const d = tmp();
    const key = p256();
    const file = join(d, 'c.pem');
    writeFileSync(file, derToPem(selfSignedCertificate(key, { commonName: 'gw', notBefore: new Date('2049-12-31T00:00:00Z'), notAfter: new Date('2051-01-01T00:00:00Z'), usage: 'server' })));
    const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/NIST CURVE: P-256|ASN1 OID: prime256v1/);
    expect(text).toMatch(/Not Before: Dec 31 00:00:00 2049 GMT/); // UTCTime
    expect(text).toMatch(/Not After : Jan {2}1 00:00:00 2051 GMT/); // GeneralizedTime
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    // The signature checks out against the certificate's own key (self-signed).
    const pub = join(d, 'pub.pem');
    writeFileSync(pub, createPublicKey(key).export({ type: 'spki', format: 'pem' }));
    const out = execFileSync('openssl', ['x509', '-in', file, '-noout', '-pubkey'], { encoding: 'utf8' });
    expect(out).toBe(readFileSync(pub, 'utf8'));
    expect(execFileSync('openssl', ['verify', '-check_ss_sig', '-partial_chain', '-no_check_time', '-trusted', file, file], { encoding: 'utf8' })).toMatch(/OK/);
  });

  it('property: any common name and validity round-trips, and the signature verifies', () => {
    const key = p256();
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }).filter((s) => !/[\0-\x1f,=+"\\<>;#]/.test(s) && s.trim() === s),
        fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 3650 }),
        (cn, from, days) => {
          const nb = new Date(Math.floor(from.getTime() / 1000) * 1000);
          const na = new Date(nb.getTime() + days * 86_400_000);
          const cert = new X509Certificate(selfSignedCertificate(key, { commonName: cn, notBefore: nb, notAfter: na, usage: 'client' }));
          expect(cert.subject).toBe(`CN=${cn}`);
          expect(new Date(cert.validTo).getTime()).toBe(na.getTime());
          expect(cert.verify(createPublicKey(key))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses keys that are not P-256', () => {
    const rsa = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expect(() => selfSignedCertificate(rsa, { commonName: 'x', notBefore: new Date(), notAfter: new Date(), usage: 'client' })).toThrow(/P-256/);
  });
});

describe('identity files and rotation', () => {
  it('creates the key 0600 and a certificate, then reuses both', async () => {
    const d = tmp();
    const a = await loadOrCreateIdentity(d, { usage: 'client' });
    expect(a.created).toBe('key');
    expect(statSync(join(d, 'masque.key')).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateIdentity(d, { usage: 'client' });
    expect(b.created).toBe('none');
    expect(b.pin).toBe(a.pin);
    expect(b.certPem).toBe(a.certPem);
    expect(spkiSha256(createPrivateKey(readFileSync(join(d, 'masque.key'), 'utf8')))).toBe(a.pin);
  });

  it('re-issues the certificate for the same key near its end, and replaces the key only when asked', async () => {
    const d = tmp();
    const now = new Date('2026-06-01T00:00:00Z');
    const a = await loadOrCreateIdentity(d, { usage: 'client', now, lifetimeDays: 30, renewDays: 7 });
    const b = await loadOrCreateIdentity(d, { usage: 'client', now: new Date(now.getTime() + 22 * 86_400_000), lifetimeDays: 30, renewDays: 7 });
    expect(b.created).toBe('none');
    const c = await loadOrCreateIdentity(d, { usage: 'client', now: new Date(now.getTime() + 24 * 86_400_000), lifetimeDays: 30, renewDays: 7 });
    expect(c.created).toBe('certificate');
    expect(c.pin).toBe(a.pin);
    expect(c.certPem).not.toBe(a.certPem);
    expect(c.notAfter.getTime()).toBeGreaterThan(a.notAfter.getTime());
    const r = await loadOrCreateIdentity(d, { usage: 'client', rotateKey: true });
    expect(r.created).toBe('key');
    expect(r.pin).not.toBe(a.pin);
  });

  it('tightens a key file someone made readable, and re-issues a certificate for another key', async () => {
    const d = tmp();
    const a = await loadOrCreateIdentity(d, { usage: 'server' });
    const { chmodSync } = await import('node:fs');
    chmodSync(join(d, 'masque.key'), 0o644);
    writeFileSync(join(d, 'masque.crt'), derToPem(selfSignedCertificate(p256(), { commonName: 'other', notBefore: new Date(), notAfter: new Date(Date.now() + 1e10), usage: 'server' })));
    const b = await loadOrCreateIdentity(d, { usage: 'server' });
    expect(statSync(join(d, 'masque.key')).mode & 0o777).toBe(0o600);
    expect(b.created).toBe('certificate');
    expect(spkiSha256(new X509Certificate(b.certPem))).toBe(a.pin);
  });
});

describe('pins', () => {
  it('accepts a PEM key, a certificate, sha256/… and bare base64; refuses anything else', () => {
    const key = p256();
    const pin = spkiSha256(key);
    expect(parsePin(createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string)).toBe(pin);
    expect(parsePin(derToPem(selfSignedCertificate(key, { commonName: 'x', notBefore: new Date(), notAfter: new Date(Date.now() + 1e9), usage: 'server' })))).toBe(pin);
    expect(parsePin(`sha256/${pin}`)).toBe(pin);
    expect(parsePin(` ${pin}\n`)).toBe(pin);
    expect(() => parsePin('abc')).toThrow(/not a pin/);
    expect(() => parsePin(Buffer.alloc(31).toString('base64'))).toThrow(/not a pin/);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => parsePin(ed)).toThrow(/P-256/);
  });
});
