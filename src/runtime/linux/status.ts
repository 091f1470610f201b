/** `warpc status`: the journal and the tunnel as seen through UAPI, snake_case for JSON. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyOf } from '../tunnel/keys.js';
import { tunnelStatus } from './link.js';
import { agentAlive, readJournal } from './journal.js';
import { MASQUE_STATUS_FILE, type MasqueStatusFile } from '../masque/status-file.js';
import type { StatusReport } from '../platform.js';

export type { StatusReport };


export async function collectStatus(stateDir: string): Promise<StatusReport> {
  const j = await readJournal(stateDir);
  const alive = j ? await agentAlive(j) : false;
  const ifname = j?.names.ifname ?? null;
  const dev = ifname && j?.state !== 'closed' ? await tunnelStatus(ifname) : null;
  let publicKey: string | null = null;
  if (dev?.privateKeyHex) publicKey = publicKeyOf(Buffer.from(dev.privateKeyHex, 'hex').toString('base64'));
  else {
    const key = await readFile(join(stateDir, 'private.key'), 'utf8').catch(() => null);
    if (key) publicKey = publicKeyOf(key.trim());
  }
  const masque = j?.tunnel?.backend === 'masque' ? await readMasqueStatus(stateDir) : null;
  if (masque) publicKey = masque.device_pin;
  const iso = (sec: number): string | null => (sec > 0 ? new Date(sec * 1000).toISOString() : null);
  const peer = dev?.peers[0];
  return {
    state_dir: stateDir,
    journal_state: j ? j.state : 'none',
    mode: j?.mode ?? null,
    agent_running: alive,
    pid: j && alive ? j.pid : null,
    started_at: j?.started_at ?? null,
    steps_done: j?.steps_done ?? [],
    try_deadline: j?.try_deadline ?? null,
    manifest_sha256: j && j.state !== 'closed' ? j.manifest_sha256 : null,
    applied_at: j && j.state !== 'closed' ? (j.applied_at ?? j.started_at) : null,
    previous: j && j.state !== 'closed' ? (j.previous ?? null) : null,
    apply_deadline: j?.apply_deadline ?? null,
    interface: ifname,
    tunnel_backend: j?.tunnel?.backend ?? null,
    protocol: j?.tunnel ? (masque || j.tunnel.backend === 'masque' ? 'masque' : 'wireguard') : null,
    session_state: masque ? (alive && j?.state !== 'closed' ? masque.state : 'stopped') : null,
    packets_rx: masque ? masque.rx_packets : null,
    packets_tx: masque ? masque.tx_packets : null,
    dropped_packets: masque ? masque.dropped_packets : null,
    reconnects: masque ? masque.reconnects : null,
    last_error: masque ? masque.last_error : null,
    public_key: publicKey,
    listen_port: dev ? dev.listenPort : null,
    fwmark: dev ? `0x${dev.fwmark.toString(16)}` : null,
    endpoint: masque ? masque.endpoint : (peer?.endpoint ?? null),
    latest_handshake: peer ? iso(peer.lastHandshake) : null,
    latest_handshake_seconds_ago: peer && peer.lastHandshake > 0 ? Math.max(0, Math.round(Date.now() / 1000 - peer.lastHandshake)) : null,
    transfer_rx: masque ? masque.rx_bytes : peer ? peer.rxBytes : null,
    transfer_tx: masque ? masque.tx_bytes : peer ? peer.txBytes : null,
    peers: (dev?.peers ?? []).map((p) => ({ public_key: p.publicKey, endpoint: p.endpoint, allowed_ips: p.allowedIps, latest_handshake: iso(p.lastHandshake), transfer_rx: p.rxBytes, transfer_tx: p.txBytes })),
    dns_manager: j?.dns?.manager ?? null,
    dns_manager_reason: j?.dns?.reason ?? null,
    routing_table: j?.names.table ?? null,
    nft_table: j?.names.nft_table ?? null,
    last_restore: j?.restore ?? null,
  };
}

async function readMasqueStatus(stateDir: string): Promise<MasqueStatusFile | null> {
  try {
    return JSON.parse(await readFile(join(stateDir, MASQUE_STATUS_FILE), 'utf8')) as MasqueStatusFile;
  } catch {
    return null;
  }
}

export function formatStatus(s: StatusReport): string {
  const masque = s.protocol === 'masque';
  const rows: [string, string][] = [
    ['state', `${s.journal_state}${s.agent_running ? ` (agent pid ${s.pid ?? '?'}, ${s.mode})` : ' (agent not running)'}`],
    ['state dir', s.state_dir],
    ['plan', s.manifest_sha256 ? `manifest sha256 ${s.manifest_sha256}, applied ${s.applied_at ?? '?'}` : '-'],
    ['previous plan', s.previous ? `manifest sha256 ${s.previous.manifest_sha256}, applied ${s.previous.applied_at} (${s.previous.compiled_dir})` : '-'],
    ['interface', s.interface ? `${s.interface} (${s.tunnel_backend ?? 'no tunnel'})` : '-'],
    ['protocol', s.protocol ?? '-'],
    [masque ? 'device key' : 'public key', s.public_key ?? '-'],
    ['endpoint', s.endpoint ?? '-'],
    masque
      ? ['session', `${s.session_state ?? '-'}; ${s.reconnects ?? 0} reconnects${s.last_error ? `; last error: ${s.last_error}` : ''}`]
      : ['latest handshake', s.latest_handshake ? `${s.latest_handshake} (${s.latest_handshake_seconds_ago ?? '?'} s ago)` : 'never'],
    ['transfer', s.transfer_rx === null ? '-' : `${s.transfer_rx} B received, ${s.transfer_tx ?? 0} B sent${s.packets_rx === null ? '' : ` (${s.packets_rx} / ${s.packets_tx ?? 0} packets, ${s.dropped_packets ?? 0} dropped while down)`}`],
    ['DNS manager', s.dns_manager ? `${s.dns_manager}: ${s.dns_manager_reason ?? ''}` : '-'],
    ['routing', s.routing_table === null ? '-' : `table ${s.routing_table}, nft table inet ${s.nft_table ?? '-'}`],
  ];
  if (s.apply_deadline) rows.push(['apply deadline', `${s.apply_deadline} (warpc confirm keeps the new plan)`]);
  if (s.try_deadline) rows.push(['try deadline', `${s.try_deadline} (warpc confirm keeps it)`]);
  if (s.last_restore && s.journal_state === 'closed') rows.push(['last restore', s.last_restore.errors.length === 0 ? `clean (resolv.conf: ${s.last_restore.resolv})` : `errors: ${s.last_restore.errors.join('; ')}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}
