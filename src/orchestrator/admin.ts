/**
 * The admin API (bearer admin token), below /client/v4/accounts/{account}: device
 * settings profiles on Cloudflare's own paths and envelope (docs/cloudflare-formats.md
 * §1), so `warpc export --format cloudflare-api` requests can be sent to it and
 * `warpc import` reads its responses; devices (list, show, revoke); tokens; the
 * audit log. Every profile write is checked by the compiler on the account as it
 * would be: diagnostics come back in `messages` (or `errors`), and a profile with
 * an error is refused whole.
 *
 * Decides: admin routes and their JSON. Must not touch: SQL (the Store does that), TLS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toJSON } from '../diagnostics/diagnostic.js';
import { LIST_NAMES, type ListName } from '../interop/model.js';
import { ApiFailure, readJson, sendJson, validate } from './http.js';
import { apiObject, bodyOf, checkWrite, DEFAULT_ID, selectorOf, storedBody, type ProfileBody } from './profiles.js';
import { StoreConflict, type DeviceRow, type Identity, type ProfileRow, type Store, type TokenKind, type TokenRow } from './store/types.js';
import { masquePin } from './masque-key.js';
import { hashToken, newToken } from './tokens.js';

export const ADMIN_PREFIX = '/client/v4/accounts/';

export interface AdminContext {
  readonly store: Store;
  readonly bodyLimit: number;
}

/** Cloudflare's envelope. */
function ok(res: ServerResponse, status: number, result: unknown, messages: unknown[] = [], extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { success: true, errors: [], messages, result, ...extra });
}

/** An admin failure: Cloudflare's envelope with the ApiError's `error` beside it. */
export function adminFailure(res: ServerResponse, f: ApiFailure): void {
  const diagnostics = Array.isArray(f.extra?.['diagnostics']) ? (f.extra['diagnostics'] as unknown[]) : [];
  const errors = [{ code: f.code, message: f.message, ...(f.field !== undefined ? { field: f.field } : {}) }, ...diagnostics];
  sendJson(res, f.status, { success: false, errors, messages: [], result: null, error: errors[0] });
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function deviceJson(d: DeviceRow): Record<string, unknown> {
  return {
    id: d.id,
    install_id: d.installId,
    model: d.model,
    os_name: d.osName,
    os_version: d.osVersion,
    serial_number: d.serial,
    public_key: d.publicKey,
    masque: d.masqueKey !== null ? { key: d.masqueKey, pin: masquePin(d.masqueKey) } : null,
    addresses: { v4: d.addressV4, v6: d.addressV6 },
    identity: d.identity,
    enrolled_with: d.enrolledWith,
    created: iso(d.createdAt),
    last_seen: iso(d.lastSeen),
    posture: d.posture,
    posture_at: iso(d.postureAt),
    bundle: { selection: d.bundleKey, version: d.bundleVersion, applied_version: d.appliedVersion },
  };
}

function tokenJson(t: TokenRow): Record<string, unknown> {
  return { id: t.id, kind: t.kind, label: t.label, created: iso(t.createdAt), expires: iso(t.expiresAt), max_uses: t.maxUses, uses: t.uses, revoked: iso(t.revokedAt), identity: t.identity };
}

/** Creates a token and returns it with its plaintext (shown once). */
export async function createToken(store: Store, t: { kind: TokenKind; label: string; expiresAt: number | null; maxUses: number | null; identity?: Identity | null }, actor: string): Promise<{ row: TokenRow; token: string }> {
  const token = newToken(t.kind);
  const row = await store.createToken({ ...t, hash: hashToken(token) }, actor);
  return { row, token };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Profile ids in paths: `default` is not one; a custom profile's is a UUID-like name. */
const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

async function writeProfile(ctx: AdminContext, actor: string, id: string, change: (b: ProfileBody, existed: boolean) => ProfileBody, opts: { create?: boolean } = {}): Promise<{ row: ProfileRow; diagnostics: unknown[] }> {
  // Read-modify-write with the store's revision check: a write from another process in between is re-read, not lost.
  for (let attempt = 0; ; attempt++) {
    const rows = await ctx.store.profiles();
    const prev = rows.find((r) => r.id === id);
    if (!prev && id === DEFAULT_ID) throw new Error('the default profile is missing from the store');
    if (!prev && !opts.create) throw new ApiFailure(404, 'not_found', `no profile ${id}`);
    const body = change(bodyOf(prev), prev !== undefined);
    if (id !== DEFAULT_ID) {
      const s = body.settings;
      if (typeof s['name'] !== 'string' || s['name'] === '') throw new ApiFailure(400, 'invalid_field', '/name is required: a custom profile has a name', '/name');
      if (typeof s['match'] !== 'string') throw new ApiFailure(400, 'invalid_field', '/match is required: a custom profile says which devices get it', '/match');
      if (typeof s['precedence'] !== 'number' || !Number.isInteger(s['precedence']) || s['precedence'] < 0) throw new ApiFailure(400, 'invalid_field', '/precedence is required: a non-negative integer', '/precedence');
    }
    const stored = storedBody(body);
    const checked = checkWrite(rows, { id, body: stored });
    const diagnostics = checked.diagnostics.map(toJSON);
    if (!checked.ok) throw new ApiFailure(400, 'profile_invalid', `the profile has errors (warpc check); nothing was stored`, undefined, { diagnostics });
    const sel = id === DEFAULT_ID ? { match: null, precedence: null, enabled: true } : selectorOf(body);
    try {
      const row = await ctx.store.putProfile({ id, body: stored, ...sel }, actor, prev ? { ifRevision: prev.revision } : {});
      return { row, diagnostics };
    } catch (err) {
      if (err instanceof StoreConflict && err.reason === 'revision_changed' && attempt < 5) continue;
      if (err instanceof StoreConflict && err.reason === 'precedence_taken') throw new ApiFailure(409, 'precedence_taken', err.message, '/precedence');
      throw err;
    }
  }
}

/** PATCH: the settings given replace those of the same name (null removes one); a list given replaces the list. */
function patchWith(input: unknown): (b: ProfileBody) => ProfileBody {
  if (!isObj(input)) throw new ApiFailure(400, 'invalid_field', '/ must be an object of profile settings', '/');
  for (const k of ['policy_id', 'default']) if (k in input) throw new ApiFailure(400, 'invalid_field', `/${k} is read-only`, `/${k}`);
  return (b) => {
    const settings = { ...b.settings };
    const lists = { ...b.lists };
    for (const [k, v] of Object.entries(input)) {
      if ((LIST_NAMES as readonly string[]).includes(k)) {
        if (v === null) delete lists[k as ListName];
        else lists[k as ListName] = v as unknown[];
      } else if (v === null) delete settings[k];
      else settings[k] = v;
    }
    return { settings, lists };
  };
}

function listWith(list: ListName, input: unknown): (b: ProfileBody) => ProfileBody {
  if (!Array.isArray(input)) throw new ApiFailure(400, 'invalid_field', `/ must be an array: the whole ${list} list`, '/');
  return (b) => ({ settings: b.settings, lists: { ...b.lists, [list]: input } });
}

/** Handles an admin request whose path starts with ADMIN_PREFIX; `rest` is the path after the account segment. */
export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, actor: string, rest: string[], query: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  const store = ctx.store;
  const body = async (): Promise<unknown> => readJson(req, ctx.bodyLimit);
  const notAllowed = (): never => {
    throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed on ${req.url ?? ''}`);
  };
  const [a, b, c, d] = rest;
  if (a === 'devices' && b === 'policies' && c === undefined) {
    if (method !== 'GET') notAllowed();
    const custom = (await store.profiles()).filter((r) => r.id !== DEFAULT_ID).map(apiObject);
    return ok(res, 200, custom, [], { result_info: { count: custom.length, page: 1, per_page: Math.max(custom.length, 1), total_count: custom.length } });
  }
  if (a === 'devices' && b === 'policy') {
    // /devices/policy[/{id}][/{list}]
    let id = DEFAULT_ID;
    let list: ListName | undefined;
    if (c !== undefined && (LIST_NAMES as readonly string[]).includes(c) && d === undefined) list = c as ListName;
    else if (c !== undefined) {
      if (!POLICY_ID.test(c) || c === DEFAULT_ID) throw new ApiFailure(404, 'not_found', `no profile ${JSON.stringify(c)}`);
      id = c;
      if (d !== undefined) {
        if (!(LIST_NAMES as readonly string[]).includes(d) || rest.length > 4) throw new ApiFailure(404, 'not_found', `no such list: ${d}`);
        list = d as ListName;
      }
    }
    if (list !== undefined) {
      if (method === 'GET') {
        const row = await store.profile(id);
        if (!row) throw new ApiFailure(404, 'not_found', `no profile ${id}`);
        return ok(res, 200, bodyOf(row).lists[list] ?? []);
      }
      if (method !== 'PUT') notAllowed();
      const w = await writeProfile(ctx, actor, id, listWith(list, await body()));
      return ok(res, 200, bodyOf(w.row).lists[list] ?? [], w.diagnostics);
    }
    if (c === undefined && method === 'POST') {
      const w = await writeProfile(ctx, actor, randomUUID(), patchWith(await body()), { create: true });
      return ok(res, 200, apiObject(w.row), w.diagnostics);
    }
    if (method === 'GET') {
      const row = await store.profile(id);
      if (!row) throw new ApiFailure(404, 'not_found', `no profile ${id}`);
      return ok(res, 200, apiObject(row));
    }
    if (method === 'PATCH') {
      // A PATCH of an unknown custom profile creates it with that policy_id: an export's requests apply to an empty orchestrator.
      const w = await writeProfile(ctx, actor, id, patchWith(await body()), { create: true });
      return ok(res, 200, apiObject(w.row), w.diagnostics);
    }
    if (method === 'DELETE' && id !== DEFAULT_ID) {
      if (!(await store.profile(id))) throw new ApiFailure(404, 'not_found', `no profile ${id}`);
      await store.deleteProfile(id, actor);
      // Cloudflare answers a DELETE with the remaining custom profiles.
      return ok(res, 200, (await store.profiles()).filter((r) => r.id !== DEFAULT_ID).map(apiObject));
    }
    return notAllowed();
  }
  if (a === 'devices' && b === 'revoke' && c === undefined) {
    if (method !== 'POST') notAllowed();
    const ids = await body();
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new ApiFailure(400, 'invalid_field', '/ must be an array of device ids', '/');
    for (const id of ids as string[]) if (await store.device(id)) await store.deleteDevice(id, actor);
    return ok(res, 200, null);
  }
  if (a === 'devices' && c === undefined) {
    if (b === undefined) {
      if (method !== 'GET') notAllowed();
      return ok(res, 200, (await store.devices()).map(deviceJson));
    }
    const dev = await store.device(b);
    if (!dev) throw new ApiFailure(404, 'not_found', `no device ${b}`);
    if (method === 'GET') return ok(res, 200, deviceJson(dev));
    if (method === 'DELETE') {
      await store.deleteDevice(b, actor);
      return ok(res, 200, { id: b });
    }
    if (method === 'PATCH') {
      // The device moves to another user or group: `match` sees the new identity, and the device's next bundle follows.
      const u = await body();
      if (typeof u !== 'object' || u === null || Array.isArray(u) || Object.keys(u).some((k) => k !== 'identity') || !('identity' in u)) throw new ApiFailure(400, 'invalid_field', '/ must be {"identity": {"email", "groups"} or null}', '/');
      const identity = (u as { identity: unknown }).identity;
      // An identity's rules are an enrollment token's (one schema for one shape); the pointers (/identity/…) are the same.
      if (identity !== null) validate('orchestrator-token-request.schema.json', { kind: 'enroll', identity });
      return ok(res, 200, deviceJson(await store.setIdentity(b, identity as Identity | null, actor)));
    }
    return notAllowed();
  }
  if (a === 'warpc' && b === 'tokens') {
    if (c === undefined && method === 'GET') return ok(res, 200, (await store.listTokens()).map(tokenJson));
    if (c === undefined && method === 'POST') {
      const t = validate<{ kind: TokenKind; label?: string; expires_in?: number; max_uses?: number; identity?: Identity }>('orchestrator-token-request.schema.json', await body());
      if (t.identity && t.kind !== 'enroll') throw new ApiFailure(400, 'invalid_field', '/identity is for enrollment tokens only', '/identity');
      const made = await createToken(store, { kind: t.kind, label: t.label ?? '', expiresAt: t.expires_in !== undefined ? Date.now() + t.expires_in * 1000 : null, maxUses: t.max_uses ?? null, identity: t.identity ?? null }, actor);
      return ok(res, 201, { ...tokenJson(made.row), token: made.token });
    }
    if (c !== undefined && d === undefined && method === 'DELETE') {
      if (!(await store.listTokens()).some((t) => t.id === c)) throw new ApiFailure(404, 'not_found', `no token ${c}`);
      await store.revokeToken(c, actor);
      return ok(res, 200, { id: c });
    }
    return notAllowed();
  }
  if (a === 'warpc' && b === 'audit' && c === undefined) {
    if (method !== 'GET') notAllowed();
    const after = Number(query.get('after_seq') ?? '0');
    const limit = Number(query.get('limit') ?? '100');
    if (!Number.isInteger(after) || after < 0) throw new ApiFailure(400, 'invalid_field', 'after_seq must be a non-negative integer', 'after_seq');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiFailure(400, 'invalid_field', 'limit must be 1 to 1000', 'limit');
    const entries = await store.audit({ afterSeq: after, limit });
    return ok(res, 200, entries.map((e) => ({ seq: e.seq, at: iso(e.at), actor: e.actor, action: e.action, subject: e.subject, detail: e.detail })));
  }
  throw new ApiFailure(404, 'not_found', `no such route: ${method} ${req.url ?? ''}`);
}
