/**
 * The tunnel link on Linux: a kernel WireGuard interface where the kernel has
 * the module, else wireguard-go (userspace, over /dev/net/tun) configured through
 * its UAPI socket (src/runtime/tunnel/); or, when the plan chose MASQUE, a TUN
 * device this process opens with the MASQUE client behind it (src/runtime/masque/);
 * then its addresses and MTU with `ip`.
 * It creates and deletes only the link it is named; taking over an existing
 * link is refused earlier, in the agent's preflight.
 */
import { lstat, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import type { Executor } from '../exec.js';
import { isDeadState, processCmdline, processStartTime, readStat, sleep, stopProcess } from '../proc.js';
import { uapiGet, uapiSet, uapiSocketPath, type UapiDevice } from '../tunnel/uapi.js';
import { uapiSetLines, type WgConf } from '../tunnel/wgconf.js';
import { keyToHex } from '../tunnel/keys.js';
import type { MasqueSettings } from '../../contract/masque.js';

export type TunnelBackend = 'wireguard-go' | 'kernel' | 'masque';

export interface TunnelSpec {
  readonly ifname: string;
  readonly ipv4: string;
  readonly ipv6: string | null;
  readonly mtu: number;
  readonly conf: WgConf | null;
  readonly privateKey: string | null;
  /** Set: MASQUE instead of WireGuard (conf and privateKey are then unused). */
  readonly masque?: { readonly settings: MasqueSettings; readonly log: (msg: string) => void };
}

export interface TunnelHandle {
  readonly backend: TunnelBackend;
  readonly pid: number | null;
  readonly pidStart: string | null;
  readonly socket: string | null;
}

/**
 * Create the interface. `onProcess` is called as soon as wireguard-go runs, so
 * the journal knows its PID before anything else can fail.
 */
export async function startTunnel(exec: Executor, spec: TunnelSpec, onProcess: (h: TunnelHandle) => Promise<void>): Promise<TunnelHandle> {
  let handle: TunnelHandle;
  if (spec.masque) {
    // In this process: no PID to record (stopping the agent stops it), and the TUN dies with the process.
    handle = { backend: 'masque', pid: null, pidStart: null, socket: null };
    await onProcess(handle);
    const { MasqueTunnel } = await import('../masque/tunnel.js'); // loaded only for a MASQUE plan
    const t = await MasqueTunnel.start({ ifname: spec.ifname, settings: spec.masque.settings, stateDir: exec.stateDir, log: spec.masque.log });
    await exec.run('ip', ['-4', 'addr', 'add', `${spec.ipv4}/32`, 'dev', spec.ifname]);
    if (spec.ipv6) await exec.run('ip', ['-6', 'addr', 'add', `${spec.ipv6}/128`, 'dev', spec.ifname, 'nodad']);
    await exec.run('ip', ['link', 'set', 'dev', spec.ifname, 'mtu', String(spec.mtu), 'up']);
    // Give the first session a moment (the health check's DoH probe may ride the tunnel); up does
    // not fail without one: like a WireGuard handshake, it comes when the gateway answers.
    if (!(await t.client.waitConnected(5000))) spec.masque.log(`MASQUE: no session yet (${t.client.stats.last_error ?? 'connecting'}); packets into the tunnel are dropped until one is up`);
    return handle;
  }
  if (!spec.conf || !spec.privateKey) throw new Error('a WireGuard tunnel needs wireguard.conf and the device key');
  const conf = spec.conf;
  const privateKey = spec.privateKey;
  const kernel = process.env['WARPC_WG_BACKEND'] !== 'wireguard-go' && (await exec.run('ip', ['link', 'add', spec.ifname, 'type', 'wireguard'], { allowFail: true })).code === 0;
  if (kernel) {
    handle = { backend: 'kernel', pid: null, pidStart: null, socket: null };
    await onProcess(handle);
    await configureKernel(exec, spec.ifname, conf);
  } else {
    const socket = uapiSocketPath(spec.ifname);
    // The socket folder is shared by every network namespace: a socket a live wireguard-go
    // serves belongs to someone else (refused, naming it); one left by a dead one goes.
    await clearStaleUapiSocket(spec.ifname, socket);
    const proc = await exec.spawn('wireguard-go', ['-f', spec.ifname], {
      logFile: join(exec.stateDir, 'wireguard-go.log'),
      env: { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: process.env['WARPC_WG_LOG_LEVEL'] ?? 'error' },
    });
    handle = { backend: 'wireguard-go', pid: proc.pid, pidStart: await processStartTime(proc.pid), socket };
    await onProcess(handle);
    await waitForSocket(socket, proc.exited, join(exec.stateDir, 'wireguard-go.log'));
    await uapiSet(socket, uapiSetLines(conf, privateKey));
  }
  await exec.run('ip', ['-4', 'addr', 'add', `${spec.ipv4}/32`, 'dev', spec.ifname]);
  if (spec.ipv6) await exec.run('ip', ['-6', 'addr', 'add', `${spec.ipv6}/128`, 'dev', spec.ifname, 'nodad']);
  await exec.run('ip', ['link', 'set', 'dev', spec.ifname, 'mtu', String(spec.mtu), 'up']);
  return handle;
}

/** How long `up` waits for wireguard-go's UAPI socket to accept a connection. */
export const UAPI_READY_TIMEOUT_MS = 10_000;

/** Wait until the socket accepts connections (not merely exists: a stale file exists too). */
async function waitForSocket(socket: string, exited: Promise<number | string>, logFile: string): Promise<void> {
  let gone: number | string | null = null;
  void exited.then((c) => {
    gone = c;
  });
  const until = Date.now() + UAPI_READY_TIMEOUT_MS;
  let last = 'no socket yet';
  while (Date.now() < until) {
    if (gone !== null) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`wireguard-go exited (${gone}) before its UAPI socket ${socket} accepted a connection${tail ? `: ${tail}` : ''}`);
    }
    const r = await probeSocket(socket);
    if (r === 'accepts') return;
    last = r;
    await sleep(20);
  }
  throw new Error(`wireguard-go: its UAPI socket ${socket} did not accept a connection within ${UAPI_READY_TIMEOUT_MS / 1000} s (last: ${last})`);
}

/** Does something accept connections on this unix socket? */
export function probeSocket(socket: string, timeoutMs = 1000): Promise<'accepts' | string> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    const timer = setTimeout(() => {
      c.destroy();
      resolve('timeout');
    }, timeoutMs);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve('accepts');
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

export interface WgProcess {
  readonly pid: number;
  /** `net:[inode]` of its network namespace. */
  readonly netns: string;
}

/** Running wireguard-go processes started for `ifname` (any network namespace), from /proc. */
export async function wireguardGoFor(ifname: string): Promise<WgProcess[]> {
  const out: WgProcess[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const argv = (await processCmdline(pid)) ?? [];
    if (argv.length < 2 || basename(argv[0]!) !== 'wireguard-go' || !argv.slice(1).includes(ifname)) continue;
    const stat = await readStat(pid);
    if (stat === null || isDeadState(stat.state)) continue;
    out.push({ pid, netns: await readlink(`/proc/${pid}/ns/net`).catch(() => 'net:[?]') });
  }
  return out;
}

/**
 * Before wireguard-go starts for `ifname`: a UAPI socket that a live wireguard-go
 * serves (another agent, another network namespace: /var/run/wireguard is not per
 * namespace) is an error naming that process; a socket nobody serves (left by a
 * crash) is removed, so the new wireguard-go binds a fresh one.
 */
export async function clearStaleUapiSocket(ifname: string, socket = uapiSocketPath(ifname)): Promise<void> {
  if (await assertUapiSocketFree(ifname, socket)) await rm(socket, { force: true });
}

/** Throw (naming the owner) when a live wireguard-go serves or is starting on `ifname`'s socket; true when a stale file is left. */
export async function assertUapiSocketFree(ifname: string, socket = uapiSocketPath(ifname)): Promise<boolean> {
  const owners = await wireguardGoFor(ifname);
  const exists = await lstat(socket).then(() => true, () => false);
  if (owners.length > 0 || (exists && (await probeSocket(socket)) === 'accepts')) {
    const mine = await readlink('/proc/self/ns/net').catch(() => 'net:[?]');
    const who = owners.length > 0 ? owners.map((o) => `wireguard-go pid ${o.pid} in network namespace ${o.netns}${o.netns === mine ? ' (this one)' : ''}`).join(', ') : 'a process warpc cannot see';
    throw new Error(
      `the WireGuard UAPI socket ${socket} for interface ${ifname} is in use by ${who}: ${dirnameOf(socket)} is shared by every network namespace, so two agents cannot use the same interface name; stop the other one or set targets.linux.interface to another name`,
    );
  }
  return exists;
}

function dirnameOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

async function configureKernel(exec: Executor, ifname: string, conf: WgConf): Promise<void> {
  const keyFile = join(exec.stateDir, 'private.key');
  const args = ['set', ifname, 'private-key', keyFile];
  if (conf.fwmark !== null) args.push('fwmark', String(conf.fwmark));
  for (const peer of conf.peers) {
    keyToHex(peer.publicKey);
    args.push('peer', peer.publicKey);
    if (peer.endpoint) args.push('endpoint', peer.endpoint);
    args.push('allowed-ips', peer.allowedIps.join(','));
  }
  await exec.run('wg', args);
}

/** Remove the interface and stop its wireguard-go (by recorded PID); idempotent. */
export async function stopTunnel(exec: Executor, ifname: string, handle: { pid: number | null; pidStart: string | null; socket: string | null } | null): Promise<void> {
  // A MASQUE tunnel of this process: closing its TUN removes the link (a crashed agent's went with it).
  if (handle === null || (handle.pid === null && handle.socket === null)) (await import('../masque/tunnel.js')).runningMasque(ifname)?.stop();
  await exec.run('ip', ['link', 'del', 'dev', ifname], { allowFail: true });
  if (handle?.pid) await stopProcess(handle.pid, handle.pidStart);
  const socket = handle?.socket ?? null;
  if (socket) await rm(socket, { force: true });
}

export async function tunnelStatus(ifname: string): Promise<UapiDevice | null> {
  try {
    return await uapiGet(uapiSocketPath(ifname));
  } catch {
    return null;
  }
}

/**
 * What `warpc apply` changes on a running tunnel, in place: peers (key,
 * endpoint, allowed IPs), addresses and MTU. The agent calls only this, so a
 * second tunnel kind implements the same four operations.
 */
export interface TunnelControl {
  /** Change the running tunnel from `from` to `to`; returns what changed (empty: nothing). */
  update(from: TunnelSpec, to: TunnelSpec): Promise<string[]>;
}

/** Peer lines for a UAPI `set=1` that keeps the sessions of peers that stay (no replace_peers). */
export function uapiPeerUpdate(from: WgConf, to: WgConf): string[] {
  const out: string[] = [];
  if (to.fwmark !== from.fwmark && to.fwmark !== null) out.push(`fwmark=${to.fwmark}`);
  const keep = new Set(to.peers.map((p) => p.publicKey));
  for (const p of from.peers) if (!keep.has(p.publicKey)) out.push(`public_key=${keyToHex(p.publicKey)}`, 'remove=true');
  for (const p of to.peers) {
    const old = from.peers.find((x) => x.publicKey === p.publicKey);
    if (old && JSON.stringify(old) === JSON.stringify(p)) continue;
    out.push(`public_key=${keyToHex(p.publicKey)}`);
    if (p.endpoint) out.push(`endpoint=${p.endpoint}`);
    if (p.persistentKeepalive !== null) out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    out.push('replace_allowed_ips=true');
    for (const ip of p.allowedIps) out.push(`allowed_ip=${ip}`);
  }
  return out;
}

export function tunnelControl(exec: Executor, handle: { backend: TunnelBackend; socket: string | null }): TunnelControl {
  return {
    async update(from, to) {
      if (from.ifname !== to.ifname) throw new Error(`the interface name changes (${from.ifname} -> ${to.ifname}): that needs warpc down and warpc up`);
      const changed: string[] = [];
      // A MASQUE tunnel has no peers to change here (its settings are refused earlier when they differ).
      const peers = from.conf && to.conf ? uapiPeerUpdate(from.conf, to.conf) : [];
      if (from.conf && to.conf && peers.length > 0) {
        if (handle.backend === 'wireguard-go' && handle.socket) await uapiSet(handle.socket, peers);
        else {
          const args = ['set', to.ifname];
          if (to.conf.fwmark !== null && to.conf.fwmark !== from.conf.fwmark) args.push('fwmark', String(to.conf.fwmark));
          const keep = new Set(to.conf.peers.map((p) => p.publicKey));
          for (const p of from.conf.peers) if (!keep.has(p.publicKey)) args.push('peer', p.publicKey, 'remove');
          for (const p of to.conf.peers) {
            args.push('peer', p.publicKey);
            if (p.endpoint) args.push('endpoint', p.endpoint);
            args.push('allowed-ips', p.allowedIps.join(','));
          }
          await exec.run('wg', args);
        }
        changed.push('peers');
      }
      if (from.ipv4 !== to.ipv4) {
        await exec.run('ip', ['-4', 'addr', 'add', `${to.ipv4}/32`, 'dev', to.ifname]);
        await exec.run('ip', ['-4', 'addr', 'del', `${from.ipv4}/32`, 'dev', to.ifname], { allowFail: true });
        changed.push('IPv4 address');
      }
      if (from.ipv6 !== to.ipv6) {
        if (to.ipv6) await exec.run('ip', ['-6', 'addr', 'add', `${to.ipv6}/128`, 'dev', to.ifname, 'nodad']);
        if (from.ipv6) await exec.run('ip', ['-6', 'addr', 'del', `${from.ipv6}/128`, 'dev', to.ifname], { allowFail: true });
        changed.push('IPv6 address');
      }
      if (from.mtu !== to.mtu) {
        await exec.run('ip', ['link', 'set', 'dev', to.ifname, 'mtu', String(to.mtu)]);
        changed.push('MTU');
      }
      return changed;
    },
  };
}
