/**
 * The compiled `wireguard.conf` (wg setconf syntax, without the device's own
 * key) and its translation to UAPI `set=1` lines.
 */
import { keyToHex } from './keys.js';

export interface WgPeerConf {
  readonly publicKey: string;
  readonly endpoint: string | null;
  readonly allowedIps: readonly string[];
  readonly persistentKeepalive: number | null;
}

export interface WgConf {
  readonly fwmark: number | null;
  readonly listenPort: number | null;
  readonly peers: readonly WgPeerConf[];
}

export function parseWgConf(text: string): WgConf {
  let section: 'none' | 'interface' | 'peer' = 'none';
  let fwmark: number | null = null;
  let listenPort: number | null = null;
  const peers: { publicKey: string | null; endpoint: string | null; allowedIps: string[]; persistentKeepalive: number | null }[] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') return;
    const where = `wireguard.conf:${i + 1}`;
    if (/^\[interface\]$/i.test(line)) {
      section = 'interface';
      return;
    }
    if (/^\[peer\]$/i.test(line)) {
      section = 'peer';
      peers.push({ publicKey: null, endpoint: null, allowedIps: [], persistentKeepalive: null });
      return;
    }
    const m = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${where}: cannot parse "${rawLine}"`);
    const key = (m[1] as string).toLowerCase();
    const value = (m[2] as string).trim();
    if (section === 'interface') {
      if (key === 'fwmark') fwmark = value === 'off' ? 0 : Number(value);
      else if (key === 'listenport') listenPort = Number(value);
      else if (key === 'privatekey') throw new Error(`${where}: a compiled wireguard.conf must not carry a PrivateKey (the device supplies its own)`);
      else throw new Error(`${where}: unknown [Interface] key ${m[1]}`);
      if ((fwmark !== null && !Number.isInteger(fwmark)) || (listenPort !== null && !Number.isInteger(listenPort))) throw new Error(`${where}: bad number "${value}"`);
      return;
    }
    const peer = peers[peers.length - 1];
    if (section !== 'peer' || !peer) throw new Error(`${where}: "${m[1]}" outside a section`);
    if (key === 'publickey') peer.publicKey = value;
    else if (key === 'endpoint') peer.endpoint = value;
    else if (key === 'allowedips') peer.allowedIps.push(...value.split(',').map((s) => s.trim()).filter(Boolean));
    else if (key === 'persistentkeepalive') peer.persistentKeepalive = value === 'off' ? 0 : Number(value);
    else throw new Error(`${where}: unknown [Peer] key ${m[1]}`);
  });
  return {
    fwmark,
    listenPort,
    peers: peers.map((p, i) => {
      if (!p.publicKey) throw new Error(`wireguard.conf: [Peer] #${i + 1} has no PublicKey`);
      keyToHex(p.publicKey);
      return { publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive };
    }),
  };
}

/** The UAPI `set=1` body (without the `set=1` line and the blank terminator). */
export function uapiSetLines(conf: WgConf, privateKey: string, listenPort = 0): string[] {
  const out = [`private_key=${keyToHex(privateKey)}`, `listen_port=${conf.listenPort ?? listenPort}`];
  if (conf.fwmark !== null) out.push(`fwmark=${conf.fwmark}`);
  out.push('replace_peers=true');
  for (const peer of conf.peers) {
    out.push(`public_key=${keyToHex(peer.publicKey)}`);
    if (peer.endpoint) out.push(`endpoint=${peer.endpoint}`);
    if (peer.persistentKeepalive !== null) out.push(`persistent_keepalive_interval=${peer.persistentKeepalive}`);
    out.push('replace_allowed_ips=true');
    for (const ip of peer.allowedIps) out.push(`allowed_ip=${ip}`);
  }
  return out;
}

/** wg setconf text for a parsed conf (the in-memory form an override produces; same keys parseWgConf reads). */
export function serializeWgConf(conf: WgConf): string {
  const out = ['[Interface]'];
  if (conf.fwmark !== null) out.push(`FwMark = 0x${conf.fwmark.toString(16)}`);
  if (conf.listenPort !== null) out.push(`ListenPort = ${conf.listenPort}`);
  for (const p of conf.peers) {
    out.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (p.endpoint) out.push(`Endpoint = ${p.endpoint}`);
    if (p.allowedIps.length > 0) out.push(`AllowedIPs = ${p.allowedIps.join(', ')}`);
    if (p.persistentKeepalive !== null) out.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return `${out.join('\n')}\n`;
}
