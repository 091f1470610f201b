/**
 * The orchestrator: devices register with it, it chooses each one's profile and
 * serves it as a signed compiled bundle (README "Orchestration"). This folder is
 * the server side — store/ (SQLite or PostgreSQL behind one interface), the admin
 * API (admin.ts), the device API with long-poll (device.ts), bundles compiled
 * through the compiler (bundles.ts, profiles.ts via src/interop/), signing,
 * tokens and TLS. The device side (src/agent/) and the wire shapes
 * (src/contract/orchestrator.ts) are not here.
 *
 * This file: the HTTPS server (TLS only) with its limits against slow and
 * oversized clients, authentication of admin requests, and routing.
 *
 * Decides: listening, limits, routing. Must not touch: SQL, the runtime.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistrationPeer } from '../contract/orchestrator.js';
import { ADMIN_PREFIX, adminFailure, handleAdmin } from './admin.js';
import { BundleCache } from './bundles.js';
import { DeviceApi } from './device.js';
import { ApiFailure, apiErrorBody, RateLimiter, sendJson } from './http.js';
import { DEFAULT_ID } from './profiles.js';
import { fleetSigner, type Signer } from './signing.js';
import type { AddressPools, Store } from './store/types.js';
import { bearerOf, hashToken, sameHash, tokenShape } from './tokens.js';

export interface Limits {
  /** Largest admin request body (a profile with its lists), bytes. */
  readonly adminBody: number;
  /** Largest device request body, bytes. */
  readonly deviceBody: number;
  /** TLS handshake, request headers, whole request (headers and body), idle keep-alive: milliseconds. */
  readonly handshakeMs: number;
  readonly headersMs: number;
  readonly requestMs: number;
  readonly idleMs: number;
  /** Longest long-poll, seconds. */
  readonly maxWait: number;
  /** POST /v0/reg per source address: burst and sustained rate per second. */
  readonly registerBurst: number;
  readonly registerPerSecond: number;
  /** Compiled bundles kept in memory. */
  readonly bundleCache: number;
}

export const DEFAULT_LIMITS: Limits = {
  adminBody: 8 * 1024 * 1024,
  deviceBody: 16 * 1024,
  handshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 30_000,
  idleMs: 5_000,
  maxWait: 300,
  registerBurst: 20,
  registerPerSecond: 5,
  bundleCache: 256,
};

export interface OrchestratorOptions {
  readonly store: Store;
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly keyPem: string; readonly certPem: string };
  readonly pools: AddressPools;
  /** The gateway every registration names (from `serve --gateway-key/--gateway-endpoint`); none: an empty list. */
  readonly peers: readonly RegistrationPeer[];
  readonly limits?: Partial<Limits>;
  readonly log?: (msg: string) => void;
}

export interface Orchestrator {
  readonly port: number;
  readonly signer: Signer;
  readonly device: DeviceApi;
  readonly bundles: BundleCache;
  /** Stops listening, answers waiting requests (304) and closes connections; the store stays open. */
  close(): Promise<void>;
}

/** The default profile exists from the first start (empty: warpc's defaults). */
export async function ensureDefaultProfile(store: Store): Promise<void> {
  if (!(await store.profile(DEFAULT_ID))) await store.putProfile({ id: DEFAULT_ID, body: {}, match: null, precedence: null, enabled: true }, 'system');
}

export async function startOrchestrator(o: OrchestratorOptions): Promise<Orchestrator> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...o.limits };
  const log = o.log ?? ((): void => undefined);
  await ensureDefaultProfile(o.store);
  const signer = await fleetSigner(o.store);
  const bundles = new BundleCache(limits.bundleCache);
  const device = new DeviceApi({ store: o.store, signer, bundles, pools: o.pools, peers: o.peers, bodyLimit: limits.deviceBody, maxWait: limits.maxWait });
  const registrations = new RateLimiter(limits.registerBurst, limits.registerPerSecond);

  const adminActor = async (req: IncomingMessage): Promise<string> => {
    const token = bearerOf(req.headers.authorization);
    if (token === null || !tokenShape(token, 'admin')) throw new ApiFailure(401, 'unauthorized', 'an admin token is required (Authorization: Bearer wpa_…)');
    const hash = hashToken(token);
    const t = await o.store.tokenByHash(hash);
    if (!t || t.kind !== 'admin' || !sameHash(t.hash, hash) || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= Date.now())) throw new ApiFailure(401, 'unauthorized', 'the admin token is unknown, revoked or expired');
    return `${t.id} (${t.label})`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://orchestrator.invalid');
    } catch {
      throw new ApiFailure(400, 'invalid_request', 'the request target is not a URL path');
    }
    const parts = url.pathname.split('/').slice(1);
    if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new ApiFailure(404, 'not_found', `no such route: ${url.pathname}`);
    if (url.pathname.startsWith(ADMIN_PREFIX)) {
      // /client/v4/accounts/{account}/…: one fleet per orchestrator, so the account segment is not checked.
      const rest = parts.slice(4);
      if (parts[3] === undefined || rest.length === 0) throw new ApiFailure(404, 'not_found', `no such route: ${url.pathname}`);
      return handleAdmin({ store: o.store, bodyLimit: limits.adminBody }, req, res, await adminActor(req), rest, url.searchParams);
    }
    if (parts[0] === 'v0') {
      if (parts[1] === 'reg' && parts.length === 2 && req.method === 'POST') {
        const from = req.socket.remoteAddress ?? 'unknown';
        if (!registrations.take(from)) throw new ApiFailure(429, 'rate_limited', `too many registrations from ${from}; try again in a few seconds`);
      }
      return device.handle(req, res, parts.slice(1), url.searchParams);
    }
    throw new ApiFailure(404, 'not_found', `no such route: ${url.pathname}`);
  };

  const server: Server = createServer(
    { key: o.tls.keyPem, cert: o.tls.certPem, minVersion: 'TLSv1.2', handshakeTimeout: limits.handshakeMs, requestTimeout: limits.requestMs, headersTimeout: limits.headersMs, keepAliveTimeout: limits.idleMs, maxHeaderSize: 16 * 1024, connectionsCheckingInterval: Math.min(1000, limits.headersMs) },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        const f = err instanceof ApiFailure ? err : null;
        if (!f) log(`${req.method ?? '?'} ${req.url ?? ''}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        const failure = f ?? new ApiFailure(500, 'internal', 'the orchestrator failed on this request; see its log');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // A refused body is not read to its end: the connection closes after the answer.
        if (failure.status === 413) res.setHeader('connection', 'close');
        if ((req.url ?? '').startsWith(ADMIN_PREFIX)) adminFailure(res, failure);
        else sendJson(res, failure.status, failure.extra ? { ...apiErrorBody(failure), ...failure.extra } : apiErrorBody(failure));
      });
    },
  );
  // A connection that goes quiet mid-request or between requests is closed (slow-loris); long-polls keep their socket busy.
  server.timeout = limits.requestMs + limits.maxWait * 1000;
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    signer,
    device,
    bundles,
    async close() {
      device.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(force);
    },
  };
}
