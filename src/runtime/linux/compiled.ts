/**
 * The compiled Linux directory the runtime consumes, checked against the
 * manifest before anything is read from it: what an admin previewed is byte
 * for byte what the agent applies.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ContractError } from '../../contract/json-file.js';
import { MANIFEST_FILE, parseManifest, type Manifest, type ManifestFile } from '../../contract/manifest.js';
import { MASQUE_FILE, parseMasque, type MasqueSettings } from '../../contract/masque.js';
import { parseLinuxSettings, SETTINGS_FILE, type LinuxSettings } from '../../contract/settings.js';
import type { DeviceOverride } from '../../contract/device-override.js';
import { parseAddress } from '../../net/ip.js';
import { decodeKey } from '../tunnel/keys.js';
import { parseWgConf, serializeWgConf } from '../tunnel/wgconf.js';

export type { LinuxSettings };

export interface CompiledLinux {
  /** Absolute path of OUT/linux. */
  readonly dir: string;
  readonly settings: LinuxSettings;
  /** The MASQUE tunnel (masque.json) when the plan chose it over WireGuard (wireguard.conf), else null. */
  readonly masque: MasqueSettings | null;
  /** Verified file contents by name inside linux/ (only files the manifest lists). */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly manifestSha256: string;
  readonly compilerVersion: string;
}

export class CompiledDirError extends Error {}


/** Files the runtime may read from linux/. */
const RUNTIME_FILES = ['settings.json', 'wireguard.conf', 'masque.json', 'routes4.batch', 'routes6.batch', 'ruleset.nft', 'resolv.conf', 'resolved.sh', 'dns-proxy.json'];

export async function loadCompiled(linuxDir: string): Promise<CompiledLinux> {
  const dir = resolve(linuxDir);
  const out = dirname(dir);
  const sub = basename(dir);
  let manifestText: Buffer;
  try {
    manifestText = await readFile(join(out, MANIFEST_FILE));
  } catch {
    throw new CompiledDirError(`${join(out, MANIFEST_FILE)}: missing; give warpc up the linux/ folder of a compiled output (warpc compile … --target linux --out DIR)`);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestText.toString('utf8'), join(out, MANIFEST_FILE));
  } catch (err) {
    if (err instanceof ContractError) throw new CompiledDirError(`refusing ${dir}: ${err.message}`);
    throw err;
  }
  const listed = new Map<string, ManifestFile>();
  for (const f of manifest.files) if (f.path.startsWith(`${sub}/`)) listed.set(f.path.slice(sub.length + 1), f);
  const files = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const [name, entry] of listed) {
    if (name.includes('/') || name.includes('..')) continue;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch {
      problems.push(`${name}: listed in the manifest but missing`);
      continue;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== entry.sha256 || entry.size !== bytes.length) {
      problems.push(`${name}: sha256 ${sha} does not match the manifest (${entry.sha256})`);
      continue;
    }
    files.set(name, bytes);
  }
  for (const name of RUNTIME_FILES) {
    if (listed.has(name)) continue;
    try {
      await stat(join(dir, name));
      problems.push(`${name}: present but not listed in the manifest`);
    } catch {
      /* absent and unlisted: fine */
    }
  }
  if (problems.length > 0) throw new CompiledDirError(`refusing ${dir}: it does not match its manifest:\n  ${problems.join('\n  ')}`);
  const settingsBytes = files.get(SETTINGS_FILE);
  if (!settingsBytes) throw new CompiledDirError(`refusing ${dir}: no ${SETTINGS_FILE} in the manifest`);
  let settings: LinuxSettings;
  try {
    settings = parseLinuxSettings(settingsBytes.toString('utf8'), join(dir, SETTINGS_FILE));
  } catch (err) {
    if (err instanceof ContractError) throw new CompiledDirError(`refusing ${dir}: ${err.message}`);
    throw err;
  }
  let masque: MasqueSettings | null = null;
  const masqueBytes = files.get(MASQUE_FILE);
  if (masqueBytes) {
    try {
      masque = parseMasque(masqueBytes.toString('utf8'), join(dir, MASQUE_FILE));
    } catch (err) {
      if (err instanceof ContractError) throw new CompiledDirError(`refusing ${dir}: ${err.message}`);
      throw err;
    }
    if (files.has('wireguard.conf')) throw new CompiledDirError(`refusing ${dir}: it holds both wireguard.conf and masque.json; a plan has one tunnel`);
  }
  const need: [boolean, string][] = [
    [settings.features.tunnel, masque ? MASQUE_FILE : 'wireguard.conf'],
    [settings.features.routes, 'routes4.batch'],
    [settings.features.firewall, 'ruleset.nft'],
    [settings.features.dns, 'resolv.conf'],
  ];
  for (const [on, name] of need) if (on && !files.has(name)) throw new CompiledDirError(`refusing ${dir}: settings.json enables ${name} but the manifest does not list it`);
  return {
    dir,
    settings,
    masque,
    files,
    manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
    compilerVersion: manifest.compiler.version,
  };
}

/**
 * The plan as an enrolled device runs it: the registration's own addresses and
 * gateway peer in place of the profile's interface address and first tunnel
 * peer (src/contract/device-override.ts). Only the in-memory plan changes; the
 * files on disk and the manifest sha256 stay as verified. A MASQUE plan or one
 * without a tunnel takes the addresses only.
 */
export function withDeviceOverride(c: CompiledLinux, o: DeviceOverride | null | undefined): CompiledLinux {
  if (!o) return c;
  const bad = (what: string, v: string): never => {
    throw new CompiledDirError(`the device override's ${what} ${JSON.stringify(v)} is not valid`);
  };
  const v4 = parseAddress(o.interface.ipv4);
  if (!v4 || v4.family !== 4) bad('IPv4 address', o.interface.ipv4);
  if (o.interface.ipv6 !== null) {
    const v6 = parseAddress(o.interface.ipv6);
    if (!v6 || v6.family !== 6) bad('IPv6 address', o.interface.ipv6);
  }
  const settings: LinuxSettings = { ...c.settings, interface: { ...c.settings.interface, ipv4: o.interface.ipv4, ipv6: c.settings.interface.ipv6 === null ? null : o.interface.ipv6 } };
  const files = new Map(c.files);
  const wg = c.files.get('wireguard.conf');
  if (wg && !c.masque) {
    try {
      decodeKey(o.peer.public_key);
    } catch {
      bad('peer public key', o.peer.public_key);
    }
    if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):\d{1,5}$/.test(o.peer.endpoint)) bad('peer endpoint', o.peer.endpoint);
    const conf = parseWgConf(wg.toString('utf8'));
    const [first, ...rest] = conf.peers;
    if (first) files.set('wireguard.conf', Buffer.from(serializeWgConf({ ...conf, peers: [{ ...first, publicKey: o.peer.public_key, endpoint: o.peer.endpoint }, ...rest] })));
  }
  return { ...c, settings, files };
}
