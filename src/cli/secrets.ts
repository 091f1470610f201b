/**
 * Resolving the secret references of a profile's `deployment:` section (`env: NAME`,
 * `file: PATH`) for `warpc compile`. A failure's reason names the reference, never a value.
 */
import { closeSync, openSync } from 'node:fs';
import type { SecretResolver } from '../mdm/deployment.js';
import { readBounded } from '../read-bounded.js';

/** A secret file larger than this is not a secret (a token is a few hundred bytes). */
const MAX_SECRET_BYTES = 64 * 1024;

export const resolveSecret: SecretResolver = (ref) => {
  if ('env' in ref) {
    const v = process.env[ref.env];
    return v === undefined ? { ok: false, reason: `the environment variable ${ref.env} is not set` } : { ok: true, value: v };
  }
  let fd: number | null = null;
  try {
    fd = openSync(ref.file, 'r');
    const bytes = readBounded(fd, MAX_SECRET_BYTES);
    if (bytes === null) return { ok: false, reason: `${ref.file} is larger than ${MAX_SECRET_BYTES / 1024} KiB` };
    // One trailing line break (as `echo` writes) is not part of the secret.
    return { ok: true, value: bytes.toString('utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `${ref.file} does not exist` : `${ref.file} cannot be read (${code ?? 'error'})` };
  } finally {
    if (fd !== null) closeSync(fd);
  }
};
