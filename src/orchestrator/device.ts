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
 * change: everyone; a device or posture change: that device): selection on the
 * CPU, then the new versions of thousands of waiters in one store transaction
 * (Store.bundleVersions), then the answers.
 *
 * Decides: device routes, selection inputs, long-poll. Must not touch: SQL, TLS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BundleStatement, GatewayPeers, KeyRotation, MasqueKeyRegistration, PostureReport, Registration, RegistrationPeer, RegistrationRequest } from '../contract/orchestrator.js';
import { BUNDLE_FORMAT } from '../contract/orchestrator.js';
import { selectProfile, type Device, type OsName } from '../match/eval.js';
import { BUNDLE_OS, type BundleCache, type BundleOs, type Compiled } from './bundles.js';
import { ApiFailure, readJson, sendJson, validate } from './http.js';
import { acceptsGzip, type SharedTail } from './gzip.js';
import { candidatesOf, DEFAULT_ID, profileSources, type MasqueGateway } from './profiles.js';
import type { Signer } from './signing.js';
import { StoreConflict, type AddressPools, type Change, type DeviceRow, type ProfileRow, type Store } from './store/types.js';
import { masquePin, p256Spki } from './masque-key.js';
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

/** Waiters whose versions are allocated in one store transaction after a change. */
const WAKE_CHUNK = 2000;
/** From this many waiters on, their device rows are read in one query of every device. */
const WAKE_READ_ALL = 64;

/** The device's own OS name as `match` spells it (`mac`, not macos). */
const MATCH_OS: Readonly<Record<string, OsName>> = { linux: 'linux', macos: 'mac', windows: 'windows', ios: 'ios', android: 'android' };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What `match` knows of a device: its enrollment identity, OS, and what it last reported (OS and client version, firewall, disk encryption). */
export function matchDevice(d: DeviceRow): Device {
  const p = isObj(d.posture) ? d.posture : {};
  const os = MATCH_OS[d.osName];
  const flag = (v: unknown): { value: 'true' | 'false' } | null => (typeof v === 'boolean' ? { value: v ? 'true' : 'false' } : null);
  const firewall = flag(p['firewall']);
  const disk = flag(p['disk_encryption']);
  return {
    ...(d.identity?.email !== undefined ? { email: d.identity.email } : {}),
    ...(d.identity?.groups !== undefined ? { groups: d.identity.groups } : {}),
    ...(os !== undefined ? { os } : {}),
    osVersion: typeof p['os_version'] === 'string' ? p['os_version'] : d.osVersion,
    ...(typeof p['client_version'] === 'string' ? { clientVersion: p['client_version'] } : {}),
    ...(firewall ? { firewall: firewall.value } : {}),
    ...(disk ? { diskEncryption: disk.value } : {}),
  };
}

/** The profiles as bundles need them; rebuilt after a profile change. */
interface ProfilesView {
  readonly rows: Map<string, ProfileRow>;
  readonly sources: Map<string, { name: string; text: string }>;
  readonly candidates: ReturnType<typeof candidatesOf>;
}

/** A 200's body is `head` (the signed statement: per device) then the bundle's shared tail (the files). */
type Served = { status: 200; etag: string; head: Buffer; tail: SharedTail; version: number } | { status: 304; etag: string; version: number };
type Refused = { status: 422; body: unknown };
/** A selection: the store key (`<profile id>@<revision>/<os>`) and its compiled bundle. */
interface Chosen {
  readonly status: 0;
  readonly key: string;
  readonly pid: string;
  readonly revision: number;
  readonly compiled: Extract<Compiled, { ok: true }>;
}

interface BundleWaiter {
  readonly deviceId: string;
  readonly os: BundleOs;
  readonly version: number;
  readonly deadline: number;
  /** The request accepts a gzip answer. */
  readonly gzip: boolean;
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
  /** Every change heard so far: a request that parks after one arrived re-checks at once. */
  private changes = 0;
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

  /** The gateway's MASQUE side (a `tunnel_type: masque` peer of every registration): profiles with tunnel_protocol masque compile to it. */
  private readonly masqueGateway: MasqueGateway | null;

  constructor(private readonly ctx: DeviceContext) {
    const mq = ctx.peers.find((p) => p.tunnel_type === 'masque');
    const mqEndpoint = mq ? (mq.endpoint.v4 ?? mq.endpoint.v6) : undefined;
    this.masqueGateway = mq && mqEndpoint !== undefined ? { endpoint: mqEndpoint, pin: mq.public_key } : null;
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
    this.changes++;
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
      const sources = profileSources(rows, this.masqueGateway);
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
    if (!t || t.kind !== 'gateway' || !sameHash(t.hash, hash) || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= Date.now()))
      throw new ApiFailure(401, 'unauthorized', 'the gateway token is unknown, revoked or expired');
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
      const heard = this.changes;
      const cur = await this.peers();
      if (have === cur.version && wait > 0) {
        this.gatewayWaiters.set(res, { version: have, deadline: Date.now() + wait * 1000 });
        res.once('close', this.onClose);
        if (this.changes !== heard) {
          this.wakeGateway = true;
          if (!this.waking) void this.wake();
        }
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
        const body = await readJson(req, this.ctx.bodyLimit);
        // `tunnel_type: masque` enrols the MASQUE key (as the public API does); anything else is a WireGuard key rotation.
        if (isObj(body) && 'tunnel_type' in body) {
          const m = validate<MasqueKeyRegistration>('orchestrator-masque-key.schema.json', body);
          const why = p256Spki(m.key);
          if (why !== null) throw new ApiFailure(400, 'invalid_field', `/key ${why}`, '/key');
          try {
            const row = await store.setMasqueKey(d.id, m.previous_key ?? null, m.key);
            await store.touch(d.id, now);
            return sendJson(res, 200, this.registration(row));
          } catch (err) {
            if (err instanceof StoreConflict && err.reason === 'key_changed')
              throw new ApiFailure(
                409,
                'key_changed',
                m.previous_key === undefined ? 'a MASQUE key is registered already: name it in previous_key to replace it' : 'previous_key is not the registered MASQUE key (another registration came first): read the registration and retry',
                '/previous_key',
              );
            throw err;
          }
        }
        const r = validate<KeyRotation>('orchestrator-key-rotation.schema.json', body);
        try {
          const row = await store.rotateKey(d.id, r.previous_key, r.key);
          await store.touch(d.id, now);
          return sendJson(res, 200, this.registration(row));
        } catch (err) {
          if (err instanceof StoreConflict && err.reason === 'key_changed')
            throw new ApiFailure(409, 'key_changed', 'previous_key is not the registered key (another rotation came first): read the registration and retry', '/previous_key');
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
      const heard = this.changes;
      const served = await this.serve(d, os, have);
      if (served.status === 304 && wait > 0) {
        this.bundleWaiters.set(res, { deviceId: d.id, os, version: served.version, deadline: now + wait * 1000, gzip: acceptsGzip(req.headers['accept-encoding']) });
        res.once('close', this.onClose);
        // A change that arrived while this request was being answered found no waiter yet.
        if (this.changes !== heard) {
          this.wakeIds.add(d.id);
          if (!this.waking) void this.wake();
        }
        return;
      }
      return reply(res, served, acceptsGzip(req.headers['accept-encoding']));
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
      if (err.reason === 'install_id_taken')
        throw new ApiFailure(409, 'install_id_taken', 'this install_id is registered already: use its registration (GET /v0/reg/{id}) or delete it first', '/install_id');
      if (err.reason === 'pool_exhausted') throw new ApiFailure(503, 'pool_exhausted', 'no free tunnel address is left in the address pool; nothing was registered');
      throw err;
    }
  }

  /** The bundle this device gets now: 304 when it is the version it has. */
  private async serve(d: DeviceRow, os: BundleOs, have: number | null): Promise<Served | Refused> {
    const chosen = this.choose(await this.profiles(), d, os);
    if (chosen.status === 422) return chosen;
    return this.answer(d, os, have, await this.ctx.store.bundleVersion(d.id, chosen.key), chosen);
  }

  /** What `match` selects for this device and OS, compiled (CPU only: no store). */
  private choose(view: ProfilesView, d: DeviceRow, os: BundleOs): Chosen | Refused {
    const chosen = selectProfile(view.candidates, matchDevice(d)).chosen;
    const pid = chosen?.policyId ?? DEFAULT_ID;
    const row = view.rows.get(pid)!;
    const src = view.sources.get(pid)!;
    const compiled = this.ctx.bundles.get(`${pid}@${row.revision}`, os, src.text, src.name);
    if (!compiled.ok) return { status: 422, body: { error: { code: 'bundle_invalid', message: `profile ${src.name} does not compile for ${os}` }, diagnostics: compiled.diagnostics } };
    return { status: 0, key: `${pid}@${row.revision}/${os}`, pid, revision: row.revision, compiled };
  }

  /** The signed answer for `version` (304 when the device has it). */
  private answer(d: DeviceRow, os: BundleOs, have: number | null, version: number, c: Chosen): Served {
    const etag = `"${version}"`;
    if (have === version) return { status: 304, etag, version };
    const statement: BundleStatement = {
      format: BUNDLE_FORMAT,
      device_id: d.id,
      os,
      version,
      profile: { id: c.pid, revision: c.revision },
      manifest_sha256: c.compiled.manifestSha256,
      issued_at: new Date().toISOString(),
    };
    const signed = this.ctx.signer.sign(statement);
    return { status: 200, etag, version, head: Buffer.from(`{"statement":"${signed.statement}","signature":"${signed.signature}"`, 'latin1'), tail: c.compiled.tail };
  }

  private async peers(): Promise<GatewayPeers> {
    const version = await this.ctx.store.seq();
    const devices = await this.ctx.store.devices();
    return {
      version,
      peers: devices.map((d) => ({
        device_id: d.id,
        public_key: d.publicKey,
        allowed_ips: [`${d.addressV4}/32`, `${d.addressV6}/128`],
        ...(d.masqueKey !== null ? { masque_pin: masquePin(d.masqueKey) } : {}),
      })),
    };
  }

  private expire(now: number): void {
    for (const [res, w] of this.bundleWaiters) {
      if (w.deadline > now) continue;
      this.bundleWaiters.delete(res);
      reply(res, { status: 304, etag: `"${w.version}"`, version: w.version }, false);
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
        const todo = [...this.bundleWaiters].filter(([, w]) => all || ids.has(w.deviceId));
        if (todo.length === 0) continue;
        const rows = await this.rowsOf(todo).catch(() => null);
        // The store failed: these stay waiting and get their 304 at the deadline.
        if (rows === null) continue;
        for (let i = 0; i < todo.length; i += WAKE_CHUNK) await this.wakeBundles(todo.slice(i, i + WAKE_CHUNK), rows);
      }
    } finally {
      this.waking = false;
    }
  }

  /** The waiters' device rows: one query of every device when they are many. */
  private async rowsOf(todo: [ServerResponse, BundleWaiter][]): Promise<Map<string, DeviceRow>> {
    const store = this.ctx.store;
    if (todo.length >= WAKE_READ_ALL) return new Map((await store.devices()).map((d) => [d.id, d]));
    const rows = new Map<string, DeviceRow>();
    for (const id of new Set(todo.map(([, w]) => w.deviceId))) {
      const d = await store.device(id);
      if (d) rows.set(id, d);
    }
    return rows;
  }

  /**
   * Re-selects for these waiters: the selection on the CPU (device rows read once per wake), every
   * version in one store transaction (bundleVersions), then the answers. A device waiting twice in
   * one chunk (two OSes) takes the one-by-one path for its second request.
   */
  private async wakeBundles(todo: [ServerResponse, BundleWaiter][], rows: Map<string, DeviceRow>): Promise<void> {
    const store = this.ctx.store;
    const view = await this.profiles().catch(() => null);
    if (view === null) return;
    const batch: { res: ServerResponse; w: BundleWaiter; d: DeviceRow; c: Chosen }[] = [];
    const single: [ServerResponse, BundleWaiter, DeviceRow][] = [];
    const inBatch = new Set<string>();
    for (const [res, w] of todo) {
      if (this.bundleWaiters.get(res) !== w) continue;
      const d = rows.get(w.deviceId);
      if (!d) {
        this.gone(res, w);
        continue;
      }
      if (inBatch.has(d.id)) {
        single.push([res, w, d]);
        continue;
      }
      const c = this.choose(view, d, w.os);
      if (c.status === 422) {
        if (this.bundleWaiters.delete(res)) reply(res, c, false);
        continue;
      }
      inBatch.add(d.id);
      batch.push({ res, w, d, c });
    }
    let versions: (number | null)[];
    try {
      versions = await store.bundleVersions(batch.map((b) => ({ id: b.d.id, key: b.c.key })));
    } catch {
      return;
    }
    batch.forEach((b, i) => {
      const v = versions[i];
      if (v === null || v === undefined) return this.gone(b.res, b.w);
      if (v === b.w.version || this.bundleWaiters.get(b.res) !== b.w) return;
      this.bundleWaiters.delete(b.res);
      reply(b.res, this.answer(b.d, b.w.os, b.w.version, v, b.c), b.w.gzip);
    });
    for (const [res, w, d] of single) {
      try {
        const served = await this.serve(d, w.os, w.version);
        if (served.status !== 304 && this.bundleWaiters.get(res) === w) {
          this.bundleWaiters.delete(res);
          reply(res, served, w.gzip);
        }
      } catch {
        // Stays waiting: its 304 comes at the deadline.
      }
    }
  }

  /** The waiter's device was deleted. */
  private gone(res: ServerResponse, w: BundleWaiter): void {
    if (this.bundleWaiters.get(res) === w && this.bundleWaiters.delete(res)) sendJson(res, 404, { error: { code: 'not_found', message: `no registration ${w.deviceId}` } });
  }
}

/** Writes an answer; a 200 as its head and the shared tail's Buffers (gzip when the request accepts it), never one string per device. */
function reply(res: ServerResponse, s: Served | Refused, gzip: boolean): void {
  if (res.writableEnded || res.destroyed) return;
  if (s.status === 422) return sendJson(res, 422, s.body);
  if (s.status === 304) {
    res.writeHead(304, { etag: s.etag, 'cache-control': 'no-store' }).end();
    return;
  }
  const parts = gzip ? s.tail.gzip(s.head) : s.tail.identity(s.head);
  let length = 0;
  for (const p of parts) length += p.length;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': length, 'cache-control': 'no-store', vary: 'accept-encoding', ...(gzip ? { 'content-encoding': 'gzip' } : {}), etag: s.etag });
  for (let i = 0; i < parts.length - 1; i++) res.write(parts[i]);
  res.end(parts[parts.length - 1]);
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
