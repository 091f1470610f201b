/**
 * The device's WireGuard key: `<state-dir>/private.key`, base64 as `wg genkey`
 * writes it, created 0600 when absent. Curve25519 through node:crypto.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function decodeKey(b64: string): Buffer {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== b64.trim()) throw new Error('a WireGuard key is 32 bytes in base64');
  return raw;
}

export function keyToHex(b64: string): string {
  return decodeKey(b64).toString('hex');
}

export function hexToKey(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d as string;
  const raw = Buffer.from(d, 'base64url');
  // Clamp as `wg genkey` does (X25519 clamps anyway; this keeps files identical in shape).
  raw[0] = (raw[0] as number) & 248;
  raw[31] = ((raw[31] as number) & 127) | 64;
  return raw.toString('base64');
}

export function publicKeyOf(privateB64: string): string {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, decodeKey(privateB64)]);
  const priv = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const x = createPublicKey(priv).export({ format: 'jwk' }).x as string;
  return Buffer.from(x, 'base64url').toString('base64');
}

/** Read the device key, creating it (mode 0600, exclusive) when absent. */
export async function loadOrCreateKey(path: string): Promise<{ privateKey: string; created: boolean }> {
  try {
    const text = await readFile(path, 'utf8');
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) await chmod(path, 0o600);
    return { privateKey: (decodeKey(text), text.trim()), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = generatePrivateKey();
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(`${key}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { privateKey: key, created: true };
}
