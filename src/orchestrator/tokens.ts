/**
 * Bearer tokens of the orchestrator: 256 random bits, base64url, with a prefix
 * naming their kind (`wpa_` admin, `wpe_` enrollment, `wpg_` gateway, `wpd_`
 * device) so a token pasted in the wrong place is refused before any lookup.
 * Only SHA-256 of a token is stored; a lookup by hash is confirmed with a
 * constant-time comparison.
 *
 * Decides: token format and hashing. Must not touch: the store, HTTP.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type BearerKind = 'admin' | 'enroll' | 'gateway' | 'device';

export const TOKEN_PREFIX: Readonly<Record<BearerKind, string>> = { admin: 'wpa_', enroll: 'wpe_', gateway: 'wpg_', device: 'wpd_' };

/** A fresh token of `kind`: prefix + base64url of 32 random bytes (43 characters). */
export function newToken(kind: BearerKind): string {
  return `${TOKEN_PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 (hex) of the token's bytes: what the store keeps. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `token` has the shape of a `kind` token (prefix and 43 base64url characters). */
export function tokenShape(token: string, kind: BearerKind): boolean {
  return token.length === 47 && token.startsWith(TOKEN_PREFIX[kind]) && /^[A-Za-z0-9_-]{43}$/.test(token.slice(4));
}

/** Constant-time equality of two hex hashes of equal length (a stored hash and a computed one). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer +([\x21-\x7e]{1,200})$/.exec(header);
  return m ? m[1]! : null;
}
