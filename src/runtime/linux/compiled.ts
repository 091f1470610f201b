/**
 * The compiled Linux directory the runtime consumes, checked against the
 * manifest before anything is read from it: what an admin previewed is byte
 * for byte what the agent applies.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DnsManagerChoice } from './dns-manager.js';

export interface LinuxSettings {
  readonly version: 1;
  readonly serviceMode: string;
  readonly features: { readonly dns: boolean; readonly tunnel: boolean; readonly routes: boolean; readonly firewall: boolean; readonly localProxy: boolean };
  readonly interface: { readonly name: string; readonly ipv4: string; readonly ipv6: string | null; readonly mtu: number };
  readonly routing: { readonly table: number; readonly fwmark: number; readonly rulePriority: number };
  readonly nftTable: string;
  readonly dnsManager: DnsManagerChoice;
  readonly dns: { readonly listen: readonly string[]; readonly search: readonly string[] } | null;
  readonly hostRules: readonly { readonly pattern: string; readonly action: 'tunnel' | 'direct' }[];
  readonly splitMode: 'exclude' | 'include';
}

export interface CompiledLinux {
  /** Absolute path of OUT/linux. */
  readonly dir: string;
  readonly settings: LinuxSettings;
  /** Verified file contents by name inside linux/ (only files the manifest lists). */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly manifestSha256: string;
  readonly compilerVersion: string;
}

export class CompiledDirError extends Error {}

interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

/** Files the runtime may read from linux/. */
const RUNTIME_FILES = ['settings.json', 'wireguard.conf', 'routes4.batch', 'routes6.batch', 'ruleset.nft', 'resolv.conf', 'resolved.sh', 'dns-proxy.json'];

export async function loadCompiled(linuxDir: string): Promise<CompiledLinux> {
  const dir = resolve(linuxDir);
  const out = dirname(dir);
  const sub = basename(dir);
  let manifestText: Buffer;
  try {
    manifestText = await readFile(join(out, 'manifest.json'));
  } catch {
    throw new CompiledDirError(`${join(out, 'manifest.json')}: missing; give warpc up the linux/ folder of a compiled output (warpc compile … --target linux --out DIR)`);
  }
  let manifest: { schema_version?: unknown; files?: unknown; compiler?: { version?: unknown } };
  try {
    manifest = JSON.parse(manifestText.toString('utf8')) as typeof manifest;
  } catch (err) {
    throw new CompiledDirError(`${join(out, 'manifest.json')}: not JSON (${(err as Error).message})`);
  }
  if (manifest.schema_version !== 1 || !Array.isArray(manifest.files)) throw new CompiledDirError(`${join(out, 'manifest.json')}: unsupported manifest (schema_version ${String(manifest.schema_version)})`);
  const listed = new Map<string, ManifestFile>();
  for (const f of manifest.files as ManifestFile[]) {
    if (typeof f?.path !== 'string' || typeof f.sha256 !== 'string') throw new CompiledDirError('manifest.json: a file entry lacks path or sha256');
    if (f.path.startsWith(`${sub}/`)) listed.set(f.path.slice(sub.length + 1), f);
  }
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
    if (sha !== entry.sha256.toLowerCase() || (typeof entry.size === 'number' && entry.size !== bytes.length)) {
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
  const settingsBytes = files.get('settings.json');
  if (!settingsBytes) throw new CompiledDirError(`refusing ${dir}: no settings.json in the manifest`);
  const settings = parseSettings(settingsBytes.toString('utf8'));
  const need: [boolean, string][] = [
    [settings.features.tunnel, 'wireguard.conf'],
    [settings.features.routes, 'routes4.batch'],
    [settings.features.firewall, 'ruleset.nft'],
    [settings.features.dns, 'resolv.conf'],
  ];
  for (const [on, name] of need) if (on && !files.has(name)) throw new CompiledDirError(`refusing ${dir}: settings.json enables ${name} but the manifest does not list it`);
  return {
    dir,
    settings,
    files,
    manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
    compilerVersion: String(manifest.compiler?.version ?? 'unknown'),
  };
}

function req<T>(cond: T | undefined | null, what: string): T {
  if (cond === undefined || cond === null) throw new CompiledDirError(`settings.json: missing ${what}`);
  return cond;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NFT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export function parseSettings(text: string): LinuxSettings {
  let raw: Record<string, any>;
  try {
    raw = JSON.parse(text) as Record<string, any>;
  } catch (err) {
    throw new CompiledDirError(`settings.json: not JSON (${(err as Error).message})`);
  }
  if (raw['version'] !== 1) throw new CompiledDirError(`settings.json: unsupported version ${String(raw['version'])}`);
  const f = req(raw['features'], 'features');
  const itf = req(raw['interface'], 'interface');
  const routing = req(raw['routing'], 'routing');
  const name = String(req(itf.name, 'interface.name'));
  if (!IFNAME.test(name)) throw new CompiledDirError(`settings.json: bad interface name ${JSON.stringify(name)}`);
  const nftTable = String(req(raw['nft_table'], 'nft_table'));
  if (!NFT_NAME.test(nftTable)) throw new CompiledDirError(`settings.json: bad nft table name ${JSON.stringify(nftTable)}`);
  const dnsManager = (raw['dns_manager'] ?? 'auto') as DnsManagerChoice;
  if (!['auto', 'resolv.conf', 'systemd-resolved'].includes(dnsManager)) throw new CompiledDirError(`settings.json: bad dns_manager ${String(dnsManager)}`);
  const int = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new CompiledDirError(`settings.json: ${what} must be a non-negative integer`);
    return v;
  };
  const dns = raw['dns'] as { listen?: unknown; search?: unknown } | null | undefined;
  return {
    version: 1,
    serviceMode: String(raw['service_mode'] ?? 'warp'),
    features: { dns: !!f.dns, tunnel: !!f.tunnel, routes: !!f.routes, firewall: !!f.firewall, localProxy: !!f.local_proxy },
    interface: { name, ipv4: String(itf.ipv4), ipv6: itf.ipv6 ? String(itf.ipv6) : null, mtu: int(itf.mtu, 'interface.mtu') },
    routing: { table: int(routing.table, 'routing.table'), fwmark: int(routing.fwmark, 'routing.fwmark'), rulePriority: int(routing.rule_priority, 'routing.rule_priority') },
    nftTable,
    dnsManager,
    dns: dns ? { listen: (dns.listen as string[] | undefined) ?? [], search: (dns.search as string[] | undefined) ?? [] } : null,
    hostRules: ((raw['host_rules'] as { pattern: string; action: 'tunnel' | 'direct' }[] | undefined) ?? []).map((h) => ({ pattern: String(h.pattern), action: h.action === 'tunnel' ? 'tunnel' : 'direct' })),
    splitMode: raw['split_mode'] === 'include' ? 'include' : 'exclude',
  };
}
