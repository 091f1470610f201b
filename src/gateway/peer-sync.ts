/**
 * The reference gateway's link to its orchestrator: follow GET /v0/gateway/peers
 * (long-poll, If-None-Match), hand every list to onPeers (the MASQUE server's
 * clients) and keep a wireguard-go interface's peers equal to it,
 * with `wg syncconf` semantics for the peers it manages — a new device is
 * added, a changed one updated, a revoked one removed — and without touching
 * any other peer or the sessions of unchanged ones (no replace_peers). The
 * peers it manages are remembered in <state-dir>/gateway-peers.json so a
 * restart removes what was revoked meanwhile.
 *
 * Decides only the interface's peer list. Must not touch: routes, firewall,
 * the interface's own key and port.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayPeers } from '../contract/orchestrator.js';
import { agentError } from '../agent/errors.js';
import { backoffMs, sleep } from '../agent/follow.js';
import { apiErrorDetail, orchestratorRequest, type Trust } from '../agent/http.js';
import { ensureStateDir } from '../agent/state.js';
import { atomicWrite } from '../runtime/linux/resolv.js';
import { keyToHex } from '../runtime/tunnel/keys.js';
import { uapiGet, uapiSet, uapiSocketPath, type UapiPeer } from '../runtime/tunnel/uapi.js';

export const MANAGED_FILE = 'gateway-peers.json';

export interface SyncPlan {
  readonly lines: string[];
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly managed: string[];
}

const norm = (ips: readonly string[]): string => [...ips].sort().join(',');

/** The UAPI `set` lines that take `current` to `desired` for the peers we manage; every other peer is left alone. */
export function planPeerSync(current: readonly UapiPeer[], desired: GatewayPeers['peers'], managed: ReadonlySet<string>): SyncPlan {
  const have = new Map(current.map((p) => [p.publicKey, p]));
  const want = new Map(desired.map((p) => [p.public_key, p]));
  const lines: string[] = [];
  let added = 0;
  let updated = 0;
  let removed = 0;
  for (const [key, p] of want) {
    const cur = have.get(key);
    if (cur && norm(cur.allowedIps) === norm(p.allowed_ips)) continue;
    lines.push(`public_key=${keyToHex(key)}`, 'replace_allowed_ips=true', ...p.allowed_ips.map((ip) => `allowed_ip=${ip}`));
    if (cur) updated++;
    else added++;
  }
  for (const key of managed) {
    if (want.has(key) || !have.has(key)) continue;
    lines.push(`public_key=${keyToHex(key)}`, 'remove=true');
    removed++;
  }
  return { lines, added, updated, removed, managed: [...want.keys()].sort() };
}

export interface GatewaySyncOptions {
  readonly orchestrator: URL;
  readonly token: string;
  readonly trust: Trust;
  /** The wireguard-go interface whose peers follow the list; absent: no WireGuard sync (a MASQUE-only gateway). */
  readonly ifname?: string;
  /** Every list heard (the first and each change), e.g. for the MASQUE server's clients (src/gateway/masque-clients.ts). */
  readonly onPeers?: (list: GatewayPeers) => Promise<void>;
  readonly stateDir: string;
  readonly log: (msg: string) => void;
  readonly signal: AbortSignal;
  readonly waitSeconds?: number;
  /** Backoff bounds after a failure, ms (jittered ±50 %); default 1 s to 30 s. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly socket?: string;
}

async function readManaged(stateDir: string): Promise<Set<string>> {
  try {
    return new Set(JSON.parse(await readFile(join(stateDir, MANAGED_FILE), 'utf8')) as string[]);
  } catch {
    return new Set();
  }
}

/** Follow the orchestrator's peer list until `signal` aborts; an unreachable orchestrator leaves the peers as they are and is retried with backoff. */
export async function runPeerSync(o: GatewaySyncOptions): Promise<void> {
  await ensureStateDir(o.stateDir);
  const socket = o.ifname === undefined ? null : (o.socket ?? uapiSocketPath(o.ifname));
  let managed = await readManaged(o.stateDir);
  let version: number | null = null;
  let attempt = 0;
  const wait = o.waitSeconds ?? 25;
  while (!o.signal.aborted) {
    try {
      const r = await orchestratorRequest(o.orchestrator, o.trust, {
        method: 'GET',
        path: `/v0/gateway/peers${version === null ? '' : `?wait=${wait}`}`,
        token: o.token,
        headers: version === null ? {} : { 'if-none-match': `"${version}"` },
        timeoutMs: (wait + 15) * 1000,
        signal: o.signal,
      });
      if (r.status === 304) {
        attempt = 0;
        continue;
      }
      if (r.status !== 200) throw agentError('AgentRequestRefused', { what: 'the peer list', status: r.status, detail: apiErrorDetail(r) });
      const list = JSON.parse(r.body.toString('utf8')) as GatewayPeers;
      if (o.onPeers) await o.onPeers(list);
      if (socket === null) {
        version = list.version;
        attempt = 0;
        continue;
      }
      const dev = await uapiGet(socket);
      const plan = planPeerSync(dev.peers, list.peers, managed);
      if (plan.lines.length > 0) await uapiSet(socket, plan.lines);
      managed = new Set(plan.managed);
      await atomicWrite(join(o.stateDir, MANAGED_FILE), Buffer.from(`${JSON.stringify(plan.managed)}\n`), 0o600);
      if (plan.lines.length > 0 || version === null) o.log(`peers of ${o.ifname} at version ${list.version}: ${plan.added} added, ${plan.updated} updated, ${plan.removed} removed (${list.peers.length} devices)`);
      version = list.version;
      attempt = 0;
    } catch (err) {
      if (o.signal.aborted) return;
      const ms = backoffMs(attempt++, o.backoffMinMs ?? 1000, o.backoffMaxMs ?? 30_000);
      o.log(`${(err as Error).message}; the peers stay as they are; next try in ${(ms / 1000).toFixed(1)} s`);
      await sleep(ms, o.signal);
    }
  }
}
