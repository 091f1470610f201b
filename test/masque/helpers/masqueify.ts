/**
 * Until the profile has `tunnel.protocol: masque` (issue #15 point 1), the MASQUE
 * runtime tests turn a compiled WireGuard folder into the MASQUE form the Linux
 * target will write: masque.json (written with the contract's own serializer) in
 * place of wireguard.conf, and the manifest's rows updated to match. Routes,
 * firewall and DNS artifacts stay exactly as the compiler wrote them (the endpoint
 * address is the same, so it is already routed outside the tunnel).
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { serializeMasque, type MasqueSettings } from '../../../src/contract/masque.js';

export async function masqueify(linuxDir: string, m: Omit<MasqueSettings, 'version' | 'transport'>): Promise<void> {
  const text = serializeMasque({ version: 1, transport: 'h2', ...m });
  await writeFile(join(linuxDir, 'masque.json'), text);
  await rm(join(linuxDir, 'wireguard.conf'), { force: true });
  const manifestPath = join(dirname(linuxDir), 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { files: { path: string; sha256: string; size: number; mode: string }[] };
  const bytes = Buffer.from(text);
  manifest.files = manifest.files.filter((f) => f.path !== 'linux/wireguard.conf');
  manifest.files.push({ path: 'linux/masque.json', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, mode: '0644' });
  manifest.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}
