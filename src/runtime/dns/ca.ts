/**
 * Extra CAs for the DoH server. Node adds NODE_EXTRA_CA_CERTS to its default
 * store, which the DoH client uses when it is given no `ca`; a given `ca`
 * replaces that store, so with `--doh-ca` the NODE_EXTRA_CA_CERTS bundle is
 * passed along with the file to keep both (`warpc up` and `warpc dns-proxy` alike).
 */
import { readFile } from 'node:fs/promises';

/** The `ca` to hand the DoH client, or undefined to use Node's default store (which has NODE_EXTRA_CA_CERTS). */
export async function dohCa(dohCaFile: string | undefined): Promise<string | undefined> {
  if (!dohCaFile) return undefined;
  const parts = [await readFile(dohCaFile, 'utf8')];
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  if (extra) parts.unshift(await readFile(extra, 'utf8'));
  return parts.join('\n');
}
