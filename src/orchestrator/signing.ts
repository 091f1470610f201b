/**
 * The bundle-signing key: one Ed25519 key per fleet, kept in the store's shared
 * secrets (so every orchestrator process on one database signs with it), and
 * the signature of a statement (src/contract/orchestrator.ts serializeStatement
 * makes the exact bytes).
 *
 * Decides: which key signs and its published form (SPKI SHA-256 pin and PEM).
 * Must not touch: HTTP, bundles' contents.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { serializeStatement, type BundleStatement } from '../contract/orchestrator.js';
import type { Store } from './store/types.js';

export interface Signer {
  /** What registrations publish: base64 SHA-256 of the public key's SPKI DER, and the public key as PEM. */
  readonly publicKey: { readonly spki_sha256: string; readonly pem: string };
  /** The statement's exact bytes (base64) and their Ed25519 signature (base64). */
  sign(s: BundleStatement): { statement: string; signature: string };
}

export function signerOf(privatePem: string): Signer {
  const key: KeyObject = createPrivateKey(privatePem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the bundle-signing key is not an Ed25519 private key');
  const pub = createPublicKey(key);
  const der = pub.export({ type: 'spki', format: 'der' });
  return {
    publicKey: { spki_sha256: createHash('sha256').update(der).digest('base64'), pem: pub.export({ type: 'spki', format: 'pem' }) as string },
    sign(s) {
      const bytes = Buffer.from(serializeStatement(s), 'utf8');
      return { statement: bytes.toString('base64'), signature: sign(null, bytes, key).toString('base64') };
    },
  };
}

/** The fleet's signer: the key is created by the first process that asks and shared through the store. */
export async function fleetSigner(store: Store): Promise<Signer> {
  const pem = await store.secret('bundle-signing-key', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  return signerOf(pem);
}
