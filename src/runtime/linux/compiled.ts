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
import { MASQUE_FILE, parseMasque, serializeMasque, type MasqueSettings } from '../../contract/masque.js';
import { parseLinuxSettings, SETTINGS_FILE, type LinuxSettings } from '../../contract/settings.js';
import type { DeviceOverride } from '../../contract/device-override.js';
import { formatAddress, parseAddress, type Address } from '../../net/ip.js';
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
 * peer, and the override's bypass addresses outside the tunnel
 * (src/contract/device-override.ts). Only the in-memory plan changes; the
 * files on disk and the manifest sha256 stay as verified. A wireguard.conf
 * without a [Peer] gets the gateway as its peer. A MASQUE plan takes the
 * registration's MASQUE gateway (endpoint and server pin) in place of
 * masque.json's when the override names one; a plan without a tunnel takes the
 * addresses only.
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
    // A profile from the orchestrator's admin API names no peer (Cloudflare's profiles never do: the
    // client learns its peer at registration), so its wireguard.conf has none: the gateway becomes the
    // peer, with the AllowedIPs every compiled peer has (the routes, not AllowedIPs, decide what enters).
    const peer = first ? { ...first, publicKey: o.peer.public_key, endpoint: o.peer.endpoint } : { publicKey: o.peer.public_key, endpoint: o.peer.endpoint, allowedIps: ['0.0.0.0/0', '::/0'], persistentKeepalive: null };
    files.set('wireguard.conf', Buffer.from(serializeWgConf({ ...conf, peers: [peer, ...rest] })));
  }
  let masque = c.masque;
  if (masque && o.masque) {
    // The registration's MASQUE gateway in place of masque.json's endpoint and server pin (the SNI,
    // authority and keepalive stay the profile's).
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(o.masque.endpoint);
    const host = m ? (m[1] ?? m[2]!) : '';
    const port = m ? Number(m[3]) : 0;
    const addr = parseAddress(host);
    if (!m || !addr || (m[1] !== undefined) !== (addr.family === 6) || port < 1 || port > 65535) bad('MASQUE endpoint', o.masque.endpoint);
    if (!/^sha256\/[A-Za-z0-9+/]{43}=$/.test(o.masque.server_pin) || Buffer.from(o.masque.server_pin.slice(7), 'base64').length !== 32) bad('MASQUE server pin', o.masque.server_pin);
    masque = { ...masque, endpoint: { host: formatAddress(addr!.family, addr!.value), port }, server_pin: o.masque.server_pin };
    files.set(MASQUE_FILE, Buffer.from(serializeMasque(masque)));
  }
  const bypass: Address[] = [];
  for (const text of o.bypass ?? []) {
    const a = parseAddress(text);
    if (!a) bad('bypass address', text);
    else if (!bypass.some((b) => b.family === a.family && b.value === a.value)) bypass.push(a);
  }
  if (bypass.length > 0) {
    if (settings.features.routes) {
      for (const fam of [4, 6] as const) {
        const name = `routes${fam}.batch`;
        const batch = files.get(name);
        if (batch) files.set(name, Buffer.from(withBypassRoutes(batch.toString('utf8'), bypass.filter((a) => a.family === fam), settings.routing.table)));
      }
    }
    const ruleset = files.get('ruleset.nft');
    if (settings.features.firewall && ruleset) files.set('ruleset.nft', Buffer.from(withBypassElements(ruleset.toString('utf8'), bypass)));
  }
  return { ...c, settings, masque, files };
}

/**
 * A routes batch with a throw route in warpc's table for each address (a host
 * prefix), after the compiled lines: the longest match sends the address back
 * to the main table in both modes, as the plan's own bypass does. An address
 * the batch already throws as a host prefix is not added twice (ip -batch would
 * fail on the duplicate).
 */
export function withBypassRoutes(batch: string, addresses: readonly Address[], table: number): string {
  const lines = addresses
    .map((a) => `route add throw ${formatAddress(a.family, a.value)}/${a.family === 4 ? 32 : 128} table ${table}`)
    .filter((line) => !new RegExp(`^${line.replace(/[.]/g, '\\.')}\\s*$`, 'm').test(batch));
  if (lines.length === 0) return batch;
  const body = batch.endsWith('\n') || batch === '' ? batch : `${batch}\n`;
  return `${body}# The device override's bypass: outside the tunnel whatever the plan (the orchestrator, the gateway).\n${lines.join('\n')}\n`;
}

/**
 * A ruleset whose host_bypass4/host_bypass6 sets hold the addresses from the
 * start, without a timeout: the output chain accepts them before any reject, in
 * both modes. The sets stay the runtime's (their DNS-answer elements are carried
 * over a swap as before); these elements simply never expire.
 */
export function withBypassElements(ruleset: string, addresses: readonly Address[]): string {
  let out = ruleset;
  for (const fam of [4, 6] as const) {
    const elems = addresses.filter((a) => a.family === fam).map((a) => formatAddress(fam, a.value));
    if (elems.length === 0) continue;
    const head = new RegExp(`^([ \\t]*)set host_bypass${fam} \\{\\n((?:\\1[ \\t]+[^\\n]*\\n)*?)(\\1\\})[ \\t]*$`, 'm');
    const m = head.exec(out);
    if (!m) throw new CompiledDirError(`ruleset.nft has no set host_bypass${fam}: the device override's bypass addresses cannot be added`);
    if (/elements\s*=/.test(m[2]!)) throw new CompiledDirError(`ruleset.nft's set host_bypass${fam} already lists elements: the device override's bypass addresses cannot be added`);
    const indent = `${m[1]!}\t`;
    out = out.slice(0, m.index) + `${m[1]!}set host_bypass${fam} {\n${m[2]!}${indent}elements = { ${elems.join(', ')} }\n${m[3]!}` + out.slice(m.index + m[0].length);
  }
  return out;
}
