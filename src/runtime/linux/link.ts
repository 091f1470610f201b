/**
 * The tunnel link on Linux: a kernel WireGuard interface where the kernel has
 * the module, else wireguard-go (userspace, over /dev/net/tun) configured through
 * its UAPI socket (src/runtime/tunnel/); or, when the plan chose MASQUE, a TUN
 * device this process opens with the MASQUE client behind it (src/runtime/masque/);
 * then its addresses and MTU with `ip`.
 * It creates and deletes only the link it is named; taking over an existing
 * link is refused earlier, in the agent's preflight.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Executor } from '../exec.js';
import { processStartTime, sleep, stopProcess } from '../proc.js';
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
    const proc = await exec.spawn('wireguard-go', ['-f', spec.ifname], {
      logFile: join(exec.stateDir, 'wireguard-go.log'),
      env: { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: process.env['WARPC_WG_LOG_LEVEL'] ?? 'error' },
    });
    const socket = uapiSocketPath(spec.ifname);
    handle = { backend: 'wireguard-go', pid: proc.pid, pidStart: await processStartTime(proc.pid), socket };
    await onProcess(handle);
    await waitForSocket(socket, proc.exited);
    await uapiSet(socket, uapiSetLines(conf, privateKey));
  }
  await exec.run('ip', ['-4', 'addr', 'add', `${spec.ipv4}/32`, 'dev', spec.ifname]);
  if (spec.ipv6) await exec.run('ip', ['-6', 'addr', 'add', `${spec.ipv6}/128`, 'dev', spec.ifname, 'nodad']);
  await exec.run('ip', ['link', 'set', 'dev', spec.ifname, 'mtu', String(spec.mtu), 'up']);
  return handle;
}

async function waitForSocket(socket: string, exited: Promise<number | string>): Promise<void> {
  let gone: number | string | null = null;
  void exited.then((c) => {
    gone = c;
  });
  for (let i = 0; i < 400; i++) {
    if (gone !== null) throw new Error(`wireguard-go exited (${gone}) before its UAPI socket appeared`);
    try {
      if ((await stat(socket)).isSocket()) return;
    } catch {
      /* not yet */
    }
    await sleep(25);
  }
  throw new Error(`wireguard-go: no UAPI socket at ${socket} after 10 s`);
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
