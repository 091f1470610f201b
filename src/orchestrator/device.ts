/**
 * The device API (/v0/reg…, shaped like the consumer registration API of
 * docs/cloudflare-formats.md §5) and the gateway's peer list: registration with
 * an enrollment token, the device reading, rotating and deleting its own
 * registration, posture reports, and the signed bundle that this device's
 * identity, posture and OS select, with If-None-Match and long-poll. A device
 * token reaches only its own id: any other id is the same 404 as one that does
 * not exist.
 *
 * Long-poll: a waiting request is one small record in a map (no timer, no
 * closure of its own); one interval timer answers expired waits with 304, and
 * Store.subscribe changes re-select for the waiters they concern (a profile
 * change: everyone; a device or posture change: that device).
 *
 * Decides: device routes, selection inputs, long-poll. Must not touch: SQL, TLS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BundleStatement, GatewayPeers, KeyRotation, PostureReport, Registration, RegistrationPeer, RegistrationRequest } from '../contract/orchestrator.js';
import { BUNDLE_FORMAT } from '../contract/orchestrator.js';
import { selectProfile, type Device, type OsName } from '../match/eval.js';
import { BUNDLE_OS, type BundleCache, type BundleOs } from './bundles.js';
import { ApiFailure, readJson, sendJson, validate } from './http.js';
import { candidatesOf, DEFAULT_ID, profileSources } from './profiles.js';
import type { Signer } from './signing.js';
import { StoreConflict, type AddressPools, type Change, type DeviceRow, type ProfileRow, type Store } from './store/types.js';
import { bearerOf, hashToken, sameHash, tokenShape } from './tokens.js';

export interface DeviceContext {
  readonly store: Store;
  readonly signer: Signer;
  readonly bundles: BundleCache;
  readonly pools: AddressPools;
  readonly peers: readonly RegistrationPeer[];
  readonly bodyLimit: number;
  /** Longest long-poll a device may ask for, in seconds. */
  readonly maxWait: number;
}

/** The device's own OS name as `match` spells it (`mac`, not macos). */
const MATCH_OS: Readonly<Record<string, OsName>> = { linux: 'linux', macos: 'mac', windows: 'windows', ios: 'ios', android: 'android' };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What `match` knows of a device: its enrollment identity, OS, and the OS version it last reported. */
export function matchDevice(d: DeviceRow): Device {
  const reported = isObj(d.posture) && typeof d.posture['os_version'] === 'string' ? d.posture['os_version'] : undefined;
  const os = MATCH_OS[d.osName];
  return {
    ...(d.identity?.email !== undefined ? { email: d.identity.email } : {}),
    ...(d.identity?.groups !== undefined ? { groups: d.identity.groups } : {}),
    ...(os !== undefined ? { os } : {}),
    osVersion: reported ?? d.osVersion,
  };
}

/** The profiles as bundles need them; rebuilt after a profile change. */
interface ProfilesView {
  readonly rows: Map<string, ProfileRow>;
  readonly sources: Map<string, { name: string; text: string }>;
  readonly candidates: ReturnType<typeof candidatesOf>;
}

type Served = { status: 200; etag: string; body: string; version: number } | { status: 304; etag: string; version: number };

interface BundleWaiter {
  readonly deviceId: string;
  readonly os: BundleOs;
  readonly version: number;
  readonly deadline: number;
}
interface GatewayWaiter {
  readonly version: number;
  readonly deadline: number;
}

export class DeviceApi {
  private view: Promise<ProfilesView> | null = null;
  private generation = 0;
  private readonly bundleWaiters = new Map<ServerResponse, BundleWaiter>();
  private readonly gatewayWaiters = new Map<ServerResponse, GatewayWaiter>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private wakeAll = false;
  private wakeGateway = false;
  private readonly wakeIds = new Set<string>();
  private waking = false;
  /** One function for every waiter's 'close' event (no closure per waiter). */
  private readonly forget = (res: ServerResponse): void => {
    this.bundleWaiters.delete(res);
    this.gatewayWaiters.delete(res);
  };
  /** Every waiter's 'close' listener: one function per API (EventEmitter passes the response as `this`). */
  private readonly onClose: (this: ServerResponse) => void;

  constructor(private readonly ctx: DeviceContext) {
    const forget = this.forget;
    this.onClose = function (this: ServerResponse): void {
      forget(this);
    };
    this.timer = setInterval(() => this.expire(Date.now()), 250);
    this.timer.unref();
    this.unsubscribe = ctx.store.subscribe((c) => this.changed(c));
  }

  /** How many requests are waiting (bench and tests). */
  get waiting(): number {
    return this.bundleWaiters.size + this.gatewayWaiters.size;
  }

  /** Answers every waiter with 304 (they come back) and stops following the store. */
  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    this.expire(Infinity);
  }

  private changed(c: Change): void {
    if (c.kind === 'profile') {
      this.generation++;
      this.view = null;
      this.wakeAll = true;
    } else if (c.kind === 'device' || c.kind === 'posture') this.wakeIds.add(c.id);
    if (c.kind === 'device') this.wakeGateway = true;
    if (!this.waking) void this.wake();
  }

  private profiles(): Promise<ProfilesView> {
    if (this.view) return this.view;
    const gen = this.generation;
    const p = this.ctx.store.profiles().then((rows) => {
      const sources = profileSources(rows);
      return { rows: new Map(rows.map((r) => [r.id, r])), sources, candidates: candidatesOf(rows, sources) };
    });
    this.view = p;
    // A change heard while loading: this view may predate it, so it is not kept.
    void p.then(
      () => {
        if (gen !== this.generation && this.view === p) this.view = null;
      },
      () => {
        if (this.view === p) this.view = null;
      },
    );
    return p;
  }

  // ---- authentication

  private async device(req: IncomingMessage, id: string): Promise<DeviceRow> {
    const token = bearerOf(req.headers.authorization);
    if (token === null || !tokenShape(token, 'device')) throw new ApiFailure(401, 'unauthorized', 'a device token is required (Authorization: Bearer wpd_…)');
    const hash = hashToken(token);
    const d = await this.ctx.store.deviceByTokenHash(hash);
    if (!d || !sameHash(d.tokenHash, hash)) throw new ApiFailure(401, 'unauthorized', 'the device token is unknown or its device was deleted');
    // Another device's id, or none: the same answer, so ids cannot be probed.
    if (d.id !== id) throw new ApiFailure(404, 'not_found', `no registration ${id} for this token`);
    return d;
  }

  private async gatewayToken(req: IncomingMessage): Promise<void> {
    const token = bearerOf(req.headers.authorization);
    if (token === null || !tokenShape(token, 'gateway')) throw new ApiFailure(401, 'unauthorized', 'a gateway token is required (Authorization: Bearer wpg_…)');
    const hash = hashToken(token);
    const t = await this.ctx.store.tokenByHash(hash);
    if (!t || t.kind !== 'gateway' || !sameHash(t.hash, hash) || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= Date.now())) throw new ApiFailure(401, 'unauthorized', 'the gateway token is unknown, revoked or expired');
  }

  private registration(d: DeviceRow, token?: string): Registration {
    return {
      id: d.id,
      ...(token !== undefined ? { token } : {}),
      config: { peers: this.ctx.peers, interface: { addresses: { v4: d.addressV4, v6: d.addressV6 } } },
      bundle_key: this.ctx.signer.publicKey,
    };
  }

  // ---- routes

  /** Handles /v0/…; `parts` are the path's segments after `v0`. */
  async handle(req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const store = this.ctx.store;
    const [a, id, sub] = parts;
    if (a === 'gateway' && id === 'peers' && sub === undefined) {
      if (method !== 'GET') throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed here`);
      await this.gatewayToken(req);
      const wait = waitOf(query, this.ctx.maxWait);
      const have = etagVersion(req.headers['if-none-match']);
      const cur = await this.peers();
      if (have === cur.version && wait > 0) {
        this.gatewayWaiters.set(res, { version: have, deadline: Date.now() + wait * 1000 });
        res.once('close', this.onClose);
        return;
      }
      return replyPeers(res, cur, have);
    }
    if (a !== 'reg') throw new ApiFailure(404, 'not_found', `no such route: ${method} ${req.url ?? ''}`);
    if (id === undefined) {
      if (method !== 'POST') throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed here`);
      return this.register(req, res);
    }
    if (parts.length > 3) throw new ApiFailure(404, 'not_found', `no such route: ${method} ${req.url ?? ''}`);
    const d = await this.device(req, id);
    const now = Date.now();
    if (sub === undefined) {
      if (method === 'GET') {
        await store.touch(d.id, now);
        return sendJson(res, 200, this.registration(d));
      }
      if (method === 'PATCH') {
        const r = validate<KeyRotation>('orchestrator-key-rotation.schema.json', await readJson(req, this.ctx.bodyLimit));
        try {
          const row = await store.rotateKey(d.id, r.previous_key, r.key);
          await store.touch(d.id, now);
          return sendJson(res, 200, this.registration(row));
        } catch (err) {
          if (err instanceof StoreConflict && err.reason === 'key_changed') throw new ApiFailure(409, 'key_changed', 'previous_key is not the registered key (another rotation came first): read the registration and retry', '/previous_key');
          throw err;
        }
      }
      if (method === 'DELETE') {
        await store.deleteDevice(d.id, `device:${d.id}`);
        res.writeHead(204).end();
        return;
      }
      throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed here`);
    }
    if (sub === 'posture') {
      if (method !== 'POST') throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed here`);
      const p = validate<PostureReport>('orchestrator-posture.schema.json', await readJson(req, this.ctx.bodyLimit));
      await store.setPosture(d.id, p, now);
      await store.touch(d.id, now);
      res.writeHead(204).end();
      return;
    }
    if (sub === 'bundle') {
      if (method !== 'GET') throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed here`);
      const osParam = query.get('os') ?? d.osName;
      if (!(BUNDLE_OS as readonly string[]).includes(osParam)) throw new ApiFailure(400, 'invalid_field', `os must be one of ${BUNDLE_OS.join(', ')}`, 'os');
      const os = osParam as BundleOs;
      const wait = waitOf(query, this.ctx.maxWait);
      const have = etagVersion(req.headers['if-none-match']);
      // The version a device asks with is the one it runs: that is what "applied" means here.
      await store.touch(d.id, now, have ?? undefined);
      const served = await this.serve(d, os, have);
      if (served.status === 304 && wait > 0) {
        this.bundleWaiters.set(res, { deviceId: d.id, os, version: served.version, deadline: now + wait * 1000 });
        res.once('close', this.onClose);
        return;
      }
      return reply(res, served);
    }
    throw new ApiFailure(404, 'not_found', `no such route: ${method} ${req.url ?? ''}`);
  }

  private async register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = bearerOf(req.headers.authorization);
    if (token === null || !tokenShape(token, 'enroll')) throw new ApiFailure(401, 'unauthorized', 'an enrollment token is required (Authorization: Bearer wpe_…)');
    const r = validate<RegistrationRequest>('orchestrator-registration-request.schema.json', await readJson(req, this.ctx.bodyLimit));
    const { newToken } = await import('./tokens.js');
    const deviceToken = newToken('device');
    try {
      const d = await this.ctx.store.registerDevice(
        { installId: r.install_id, publicKey: r.key, tokenHash: hashToken(deviceToken), model: r.model, osName: r.os_name, osVersion: r.os_version, serial: r.serial_number, enrolledWith: '' },
        hashToken(token),
        this.ctx.pools,
        Date.now(),
      );
      sendJson(res, 201, this.registration(d, deviceToken));
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
      if (err.reason === 'token_unusable') throw new ApiFailure(401, 'token_unusable', 'the enrollment token is unknown, revoked, expired or used up');
      if (err.reason === 'install_id_taken') throw new ApiFailure(409, 'install_id_taken', 'this install_id is registered already: use its registration (GET /v0/reg/{id}) or delete it first', '/install_id');
      if (err.reason === 'pool_exhausted') throw new ApiFailure(503, 'pool_exhausted', 'no free tunnel address is left in the address pool; nothing was registered');
      throw err;
    }
  }

  /** The bundle this device gets now: 304 when it is the version it has. */
  private async serve(d: DeviceRow, os: BundleOs, have: number | null): Promise<Served | { status: 422; body: unknown }> {
    const view = await this.profiles();
    const chosen = selectProfile(view.candidates, matchDevice(d)).chosen;
    const pid = chosen?.policyId ?? DEFAULT_ID;
    const row = view.rows.get(pid)!;
    const src = view.sources.get(pid)!;
    const compiled = this.ctx.bundles.get(`${pid}@${row.revision}`, os, src.text, src.name);
    if (!compiled.ok) return { status: 422, body: { error: { code: 'bundle_invalid', message: `profile ${src.name} does not compile for ${os}` }, diagnostics: compiled.diagnostics } };
    const version = await this.ctx.store.bundleVersion(d.id, `${pid}@${row.revision}/${os}`);
    const etag = `"${version}"`;
    if (have === version) return { status: 304, etag, version };
    const statement: BundleStatement = { format: BUNDLE_FORMAT, device_id: d.id, os, version, profile: { id: pid, revision: row.revision }, manifest_sha256: compiled.manifestSha256, issued_at: new Date().toISOString() };
    const signed = this.ctx.signer.sign(statement);
    return { status: 200, etag, version, body: `{"statement":"${signed.statement}","signature":"${signed.signature}","files":${compiled.filesJson}}` };
  }

  private async peers(): Promise<GatewayPeers> {
    const version = await this.ctx.store.seq();
    const devices = await this.ctx.store.devices();
    return { version, peers: devices.map((d) => ({ device_id: d.id, public_key: d.publicKey, allowed_ips: [`${d.addressV4}/32`, `${d.addressV6}/128`] })) };
  }

  private expire(now: number): void {
    for (const [res, w] of this.bundleWaiters) {
      if (w.deadline > now) continue;
      this.bundleWaiters.delete(res);
      reply(res, { status: 304, etag: `"${w.version}"`, version: w.version });
    }
    for (const [res, w] of this.gatewayWaiters) {
      if (w.deadline > now) continue;
      this.gatewayWaiters.delete(res);
      res.writeHead(304, { etag: `"${w.version}"` }).end();
    }
  }

  /** Re-select for the waiters a change concerns, until no change is pending. */
  private async wake(): Promise<void> {
    this.waking = true;
    try {
      while (this.wakeAll || this.wakeIds.size > 0 || this.wakeGateway) {
        const all = this.wakeAll;
        const ids = new Set(this.wakeIds);
        const gateway = this.wakeGateway;
        this.wakeAll = false;
        this.wakeIds.clear();
        this.wakeGateway = false;
        if (gateway && this.gatewayWaiters.size > 0) {
          const cur = await this.peers();
          for (const [res, w] of this.gatewayWaiters) {
            if (w.version === cur.version) continue;
            this.gatewayWaiters.delete(res);
            replyPeers(res, cur, w.version);
          }
        }
        for (const [res, w] of [...this.bundleWaiters]) {
          if (!all && !ids.has(w.deviceId)) continue;
          if (!this.bundleWaiters.has(res)) continue;
          try {
            const d = await this.ctx.store.device(w.deviceId);
            if (!d) {
              this.bundleWaiters.delete(res);
              sendJson(res, 404, { error: { code: 'not_found', message: `no registration ${w.deviceId}` } });
              continue;
            }
            const served = await this.serve(d, w.os, w.version);
            if (served.status === 304) continue;
            if (!this.bundleWaiters.delete(res)) continue;
            reply(res, served);
          } catch {
            // The store failed for this one: it stays waiting and gets its 304 at the deadline.
          }
        }
      }
    } finally {
      this.waking = false;
    }
  }
}

function reply(res: ServerResponse, s: Served | { status: 422; body: unknown }): void {
  if (res.writableEnded || res.destroyed) return;
  if (s.status === 422) return sendJson(res, 422, s.body);
  if (s.status === 304) {
    res.writeHead(304, { etag: s.etag, 'cache-control': 'no-store' }).end();
    return;
  }
  sendJson(res, 200, s.body, { etag: s.etag });
}

function replyPeers(res: ServerResponse, cur: GatewayPeers, have: number | null): void {
  if (res.writableEnded || res.destroyed) return;
  if (have === cur.version) {
    res.writeHead(304, { etag: `"${cur.version}"` }).end();
    return;
  }
  sendJson(res, 200, cur, { etag: `"${cur.version}"` });
}

/** `wait=SECONDS`, 0 to maxWait. */
function waitOf(q: URLSearchParams, max: number): number {
  const w = q.get('wait');
  if (w === null) return 0;
  if (!/^\d{1,6}$/.test(w) || Number(w) > max) throw new ApiFailure(400, 'invalid_field', `wait must be whole seconds from 0 to ${max}`, 'wait');
  return Number(w);
}

/** The version an If-None-Match names (`"12"` or `W/"12"`), or null. */
function etagVersion(h: string | undefined): number | null {
  if (h === undefined) return null;
  const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(h);
  return m ? Number(m[1]) : null;
}
