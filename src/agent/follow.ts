/**
 * `warpc up` on an enrolled state directory: the orchestrated agent. It
 * fetches and verifies the bundle for this OS, brings it up through the
 * runtime platform with the registration's addresses and gateway peer over
 * the profile's (src/contract/device-override.ts), then follows: a long-poll
 * (If-None-Match, wait=) whose every new verified bundle goes through the live
 * apply path (no tunnel teardown); a posture report at start and every few
 * minutes. With the orchestrator down it keeps the last good bundle and
 * retries with backoff and jitter; it never applies what it cannot verify.
 * 401/404 on its registration (revoked) brings the device down (the runtime
 * restores its snapshot) and `status` says so.
 *
 * It decides nothing about policy and changes the device only through the
 * platform (src/runtime/platform.ts): up, apply, and the stop signal.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { DeviceOverride } from '../contract/device-override.js';
import type { PostureReport } from '../contract/orchestrator.js';
import { parseLinuxSettings, SETTINGS_FILE, type DnsManagerChoice } from '../contract/settings.js';
import type { RuntimePlatform } from '../runtime/platform.js';
import { VERSION } from '../version.js';
import { agentError, agentMessage, AgentError, isAgentError } from './errors.js';
import { osVersion, type Log } from './enroll.js';
import { apiErrorDetail, orchestratorRequest, type HttpResponse } from './http.js';
import { readAgentStatus, readCurrentBundle, readRegistration, storeBundle, writeAgentStatus, type AgentStatusFile, type RegistrationFile } from './state.js';
import { ensureMasqueKey, isMasquePlan } from './masque.js';
import { verifyBundle, type VerifyContext } from './verify.js';

export interface FollowOptions {
  readonly stateDir: string;
  readonly root: string;
  readonly dnsManager?: DnsManagerChoice;
  readonly dohCa?: string;
  readonly log: Log;
  /** Long-poll wait asked of the server, seconds. */
  readonly waitSeconds?: number;
  readonly postureIntervalMs?: number;
  /** Backoff bounds after a failure, ms (jittered ±50 %). */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
}

/**
 * The registration as the runtime takes it: our addresses, the first WireGuard
 * gateway peer's endpoint (v4, then host, then v6), the gateway's MASQUE side
 * (a `tunnel_type: masque` peer) for a MASQUE plan, and what must stay outside the
 * tunnel: `orchestratorAddresses` (the orchestrator never obeys Split Tunnel
 * rules: were it reached through the tunnel, a device the gateway has dropped
 * could never hear it was revoked) and the gateway peers' endpoint addresses.
 */
export function overrideOf(reg: RegistrationFile, orchestratorAddresses: readonly string[] = []): DeviceOverride {
  const peer = reg.peers.find((p) => p.tunnel_type !== 'masque');
  const mq = reg.peers.find((p) => p.tunnel_type === 'masque');
  const mqEndpoint = mq ? (mq.endpoint.v4 ?? mq.endpoint.v6 ?? mq.endpoint.host) : undefined;
  const endpoint = peer ? (peer.endpoint.v4 ?? peer.endpoint.host ?? peer.endpoint.v6 ?? '') : '';
  const bare = (a: string): string => a.replace(/\/\d+$/, '');
  const bypass = new Set(orchestratorAddresses);
  for (const p of reg.peers) {
    for (const hp of [p.endpoint.v4, p.endpoint.v6, p.endpoint.host]) {
      const host = hp?.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      if (host && isIP(host)) bypass.add(host);
    }
  }
  return {
    interface: { ipv4: bare(reg.addresses.v4), ipv6: reg.addresses.v6 ? bare(reg.addresses.v6) : null },
    peer: { public_key: peer?.public_key ?? '', endpoint },
    ...(mq && mqEndpoint !== undefined ? { masque: { endpoint: mqEndpoint, server_pin: mq.public_key } } : {}),
    bypass: [...bypass],
  };
}

/**
 * The orchestrator's IP addresses: the URL's when it names one, else what the
 * system resolver answers now (before warpc's DNS proxy runs). Unresolvable:
 * none, and the caller says so (the orchestrator then follows the plan's routes).
 */
export async function orchestratorAddresses(url: string): Promise<string[]> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) return [host];
  const { lookup } = await import('node:dns/promises');
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

export function backoffMs(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.5 + random()));
}

/** Wait `ms`, or less when `signal` aborts; the abort listener goes with the timer. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Follower {
  readonly reg: RegistrationFile;
  private readonly url: URL;
  private readonly ctx: Omit<VerifyContext, 'runningVersion'>;
  status: AgentStatusFile;
  running: number | null = null;
  /** A version that verified but did not apply: not asked for again (304 until a newer one). */
  private skipped: number | null = null;

  constructor(
    reg: RegistrationFile,
    private readonly o: FollowOptions,
    prior: AgentStatusFile | null,
  ) {
    this.reg = reg;
    this.url = new URL(reg.orchestrator);
    this.ctx = { bundleKeyPem: reg.bundle_key.pem, bundleKeyPin: reg.bundle_key.spki_sha256, deviceId: reg.id, os: reg.os };
    this.status = { orchestrator: reg.orchestrator, registration_id: reg.id, bundle_version: null, profile: null, last_checked: prior?.last_checked ?? null, last_error: null, revoked: null };
  }

  async save(): Promise<void> {
    await writeAgentStatus(this.o.stateDir, this.status);
  }

  /** The stored bundle, verified again; null when there is none yet. */
  async loadCurrent(): Promise<string | null> {
    const cur = await readCurrentBundle(this.o.stateDir, this.ctx).catch((err: unknown) => {
      this.o.log(`${(err as Error).message}; fetching a fresh one`);
      return null;
    });
    if (!cur) return null;
    this.running = cur.version;
    this.status.bundle_version = cur.version;
    this.status.profile = cur.profile;
    return join(cur.dir, this.reg.os);
  }

  private isRevoked(r: HttpResponse): boolean {
    return r.status === 401 || r.status === 404;
  }

  async markRevoked(status: number): Promise<AgentError> {
    this.status.revoked = { at: new Date().toISOString(), status };
    this.status.last_error = agentMessage('AgentRevoked', { url: this.reg.orchestrator, id: this.reg.id, status });
    await this.save();
    return agentError('AgentRevoked', { url: this.reg.orchestrator, id: this.reg.id, status });
  }

  /**
   * One bundle request. Resolves with the folder of a new verified bundle
   * (stored, `current` flipped), null when unchanged, or 'revoked'; throws
   * AgentError when unreachable or when the bundle is refused.
   */
  async poll(waitSeconds: number, signal: AbortSignal): Promise<string | null | { revoked: number }> {
    const etag = this.skipped ?? this.running;
    const r = await orchestratorRequest(this.url, this.reg.tls, {
      method: 'GET',
      path: `/v0/reg/${encodeURIComponent(this.reg.id)}/bundle?os=${encodeURIComponent(this.reg.os)}${waitSeconds > 0 ? `&wait=${waitSeconds}` : ''}`,
      token: this.reg.token,
      // gzip: the files are base64 text; orchestratorRequest decompresses (size-limited).
      headers: { 'accept-encoding': 'gzip', ...(etag !== null ? { 'if-none-match': `"${etag}"` } : {}) },
      timeoutMs: (waitSeconds + 15) * 1000,
      signal,
    });
    if (this.isRevoked(r)) return { revoked: r.status };
    this.status.last_checked = new Date().toISOString();
    if (r.status === 304) {
      this.status.last_error = null;
      await this.save();
      return null;
    }
    if (r.status !== 200) throw agentError('AgentRequestRefused', { what: 'the bundle request', status: r.status, detail: apiErrorDetail(r) });
    let body: unknown;
    try {
      body = JSON.parse(r.body.toString('utf8'));
    } catch {
      throw agentError('AgentBundleFormat', { reason: 'the answer is not JSON' });
    }
    const v = verifyBundle(body, { ...this.ctx, runningVersion: this.running });
    if (v.kind === 'unchanged') {
      this.status.last_error = null;
      await this.save();
      return null;
    }
    const dir = await storeBundle(this.o.stateDir, { version: v.statement.version, statementBytes: v.statementBytes, signature: v.signature, files: v.files }, this.running);
    this.o.log(`bundle ${v.statement.version} verified (profile ${v.statement.profile.id} revision ${v.statement.profile.revision}, ${v.files.size} files) and stored in ${dir}`);
    this.pending = { version: v.statement.version, profile: v.statement.profile };
    return join(dir, this.reg.os);
  }

  pending: { version: number; profile: { id: string; revision: number } } | null = null;

  /** The pending bundle is the one the runtime now runs. */
  async committed(): Promise<void> {
    if (!this.pending) return;
    this.running = this.pending.version;
    this.status.bundle_version = this.pending.version;
    this.status.profile = this.pending.profile;
    this.status.last_error = null;
    this.pending = null;
    this.skipped = null;
    await this.save();
  }

  /** The pending bundle did not apply: the device stays on the running one and does not ask for that version again. */
  async rejected(why: string): Promise<void> {
    if (this.pending) this.skipped = this.pending.version;
    this.pending = null;
    this.status.last_error = why;
    await this.save();
  }

  async reportPosture(firewall: boolean, signal: AbortSignal): Promise<number | null> {
    const body: PostureReport = { os_version: await osVersion(), client_version: VERSION, firewall, disk_encryption: await diskEncrypted(), checks: { warpc_agent: true } };
    const r = await orchestratorRequest(this.url, this.reg.tls, { method: 'POST', path: `/v0/reg/${encodeURIComponent(this.reg.id)}/posture`, token: this.reg.token, body, signal });
    if (this.isRevoked(r)) return r.status;
    if (r.status >= 300) this.o.log(`posture report refused (HTTP ${r.status}${apiErrorDetail(r)})`);
    return null;
  }
}

/** Whether the plan loads warpc's own nft table (the posture's firewall). */
async function planHasFirewall(dir: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  try {
    // The bundle was verified against its manifest; settings.json is read through its contract validator.
    return parseLinuxSettings(await readFile(join(dir, SETTINGS_FILE), 'utf8')).features.firewall;
  } catch {
    return false;
  }
}

/** A dm-crypt device is mapped (the disk, or part of it, is encrypted). */
async function diskEncrypted(): Promise<boolean> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const d of await readdir('/sys/block').catch(() => [] as string[])) {
    if (!d.startsWith('dm-')) continue;
    const uuid = await readFile(`/sys/block/${d}/dm/uuid`, 'utf8').catch(() => '');
    if (uuid.startsWith('CRYPT-')) return true;
  }
  return false;
}

/** Run the orchestrated agent in the foreground until a signal, `warpc down`, or revocation. */
export async function runOrchestrated(platform: RuntimePlatform, o: FollowOptions): Promise<void> {
  const log = o.log;
  const reg = await readRegistration(o.stateDir);
  if (!reg) throw agentError('AgentNotEnrolled', { dir: o.stateDir });
  const f = new Follower(reg, o, await readAgentStatus(o.stateDir));
  const minMs = o.backoffMinMs ?? 1000;
  const maxMs = o.backoffMaxMs ?? 60_000;
  const wait = o.waitSeconds ?? 25;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // 1. The bundle to start with: a fresh one when the orchestrator answers, else the last good one.
    let dir = await f.loadCurrent();
    for (let attempt = 0; !stop.signal.aborted; attempt++) {
      try {
        const got = await f.poll(0, stop.signal);
        if (got !== null && typeof got === 'object') throw await f.markRevoked(got.revoked);
        if (typeof got === 'string') {
          dir = got;
          await f.committed(); // nothing runs yet: the first up takes it
        }
        await f.save();
        break;
      } catch (err) {
        if (!(err instanceof AgentError) || isAgentError(err, 'AgentRevoked')) throw err;
        f.status.last_error = err.message;
        await f.save();
        if (dir !== null) {
          log(agentMessage('AgentOffline', { url: reg.orchestrator, reason: err.detail, version: f.running ?? 0, seconds: 0 }).replace(/; next try in 0 s$/, '; starting with it and retrying in the background'));
          break;
        }
        const ms = backoffMs(attempt, minMs, maxMs);
        log(`${err.message}; no verified bundle yet: next try in ${(ms / 1000).toFixed(1)} s`);
        await sleep(ms, stop.signal);
      }
    }
    if (stop.signal.aborted || dir === null) return;

    // A MASQUE plan: the gateway must know this device's MASQUE key before the tunnel comes up.
    // Registered once (the answer also names the gateway's MASQUE side, which the override takes).
    let current = reg;
    if (await isMasquePlan(dir)) {
      const m = await ensureMasqueKey(current, o.stateDir, log, stop.signal);
      if ('revoked' in m) throw await f.markRevoked(m.revoked);
      current = m.reg;
    }

    // 2. Up through the runtime, then follow. The orchestrator stays outside the tunnel.
    const orchAddresses = await orchestratorAddresses(reg.orchestrator).catch((err: unknown) => {
      log(`the orchestrator's name does not resolve now (${(err as Error).message}): its traffic follows the plan's routes`);
      return [] as string[];
    });
    let applyLive: ((dir: string) => Promise<string[]>) | null = null;
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const onReady = (apply: (dir: string) => Promise<string[]>): void => {
      applyLive = apply;
      ready();
    };
    const revoke = new AbortController();
    // The posture's firewall: whether the running plan loads warpc's nft table (a new bundle may change it).
    let firewall = await planHasFirewall(dir);
    const runningMasque = await isMasquePlan(dir);
    let revokedStatus: number | null = null;
    const onRevoked = async (status: number): Promise<void> => {
      if (revokedStatus !== null) return;
      revokedStatus = status;
      log(`${(await f.markRevoked(status)).message.replace(/: the device was brought down.*$/, '')}: bringing the device down`);
      revoke.abort();
      stop.abort();
    };
    const follow = (async (): Promise<void> => {
      await Promise.race([isReady, new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }))]);
      let attempt = 0;
      let lastPosture = 0;
      const postureEvery = o.postureIntervalMs ?? 5 * 60_000;
      while (!stop.signal.aborted) {
        try {
          if (Date.now() - lastPosture >= postureEvery) {
            const rev = await f.reportPosture(firewall, stop.signal);
            if (rev !== null) return void (await onRevoked(rev));
            lastPosture = Date.now();
          }
          const w = Math.max(1, Math.min(wait, Math.ceil((postureEvery - (Date.now() - lastPosture)) / 1000)));
          const got = await f.poll(w, stop.signal);
          attempt = 0;
          if (got !== null && typeof got === 'object') return void (await onRevoked(got.revoked));
          if (typeof got === 'string') {
            const masque = await isMasquePlan(got);
            if (masque !== runningMasque) {
              // A live apply keeps the tunnel up, so it cannot change its protocol (the runtime refuses it too):
              // the bundle stays stored and skipped until `warpc up` restarts. Its MASQUE key is registered
              // now, so that restart finds the gateway ready.
              if (masque) {
                let m;
                try {
                  m = await ensureMasqueKey(current, o.stateDir, log, stop.signal);
                } catch (err) {
                  // Another key is registered: retrying cannot help; the bundle is skipped like one that did not apply.
                  if (!isAgentError(err, 'AgentMasqueKeyConflict')) throw err;
                  await f.rejected((err as Error).message);
                  log((err as Error).message);
                  continue;
                }
                if ('revoked' in m) return void (await onRevoked(m.revoked));
                current = m.reg;
              }
              const version = f.pending?.version ?? 0;
              const why = agentMessage('AgentTunnelSwitch', { version, to: masque ? 'MASQUE' : 'WireGuard', from: runningMasque ? 'MASQUE' : 'WireGuard', running: f.running ?? 0 });
              await f.rejected(why);
              log(why);
              continue;
            }
            try {
              if (!applyLive) throw new Error('the agent is not up');
              for (const line of await (applyLive as (dir: string) => Promise<string[]>)(got)) log(`apply: ${line}`);
              await f.committed();
              log(`now running bundle ${f.running}`);
              const now = await planHasFirewall(got);
              if (now !== firewall) {
                firewall = now;
                lastPosture = 0; // what match sees changed: say so now, not at the next interval
              }
            } catch (err) {
              await f.rejected((err as Error).message);
              log(`bundle ${f.status.bundle_version ?? '?'} stays: the new bundle did not apply: ${(err as Error).message}`);
            }
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          if (!(err instanceof AgentError)) {
            log(`follow: ${(err as Error).message}`);
          }
          f.status.last_error = (err as Error).message;
          await f.save().catch(() => undefined);
          const ms = backoffMs(attempt++, minMs, maxMs);
          if (isAgentError(err, 'AgentUnreachable', 'AgentRequestRefused')) log(agentMessage('AgentOffline', { url: reg.orchestrator, reason: (err as AgentError).detail, version: f.running ?? 0, seconds: (ms / 1000).toFixed(1) }));
          else log(`${(err as Error).message}; the device keeps bundle ${f.running ?? '?'}; next try in ${(ms / 1000).toFixed(1)} s`);
          await sleep(ms, stop.signal);
        }
      }
    })();
    try {
      await platform.run({
        compiledDir: dir,
        stateDir: o.stateDir,
        root: o.root,
        mode: 'up',
        override: overrideOf(current, orchAddresses),
        stop: revoke.signal,
        onReady,
        ...(o.dnsManager ? { dnsManager: o.dnsManager } : {}),
        ...(o.dohCa ? { dohCa: o.dohCa } : {}),
      });
    } finally {
      stop.abort();
      await follow;
    }
    if (revokedStatus !== null) throw agentError('AgentRevoked', { url: reg.orchestrator, id: reg.id, status: revokedStatus });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
