/**
 * DNS over HTTPS client (RFC 8484) on node:http2.
 *
 * - One long-lived HTTP/2 session per upstream URL. It connects to the
 *   bootstrap addresses (in turn, moving on when one fails) with the URL's host
 *   as TLS server name and `:authority`, so no DNS lookup is ever needed.
 * - POST with `application/dns-message`; the ID is 0 on the wire (RFC 8484
 *   §4.1) and the client's ID is restored in the response.
 * - A response must be 200 with `application/dns-message` and at most 64 KiB.
 * - An idle session is PINGed so a dead connection is found before a query
 *   needs it; a PING without an ACK destroys the session; a long-idle session
 *   is closed.
 * - When a request on a reused session fails before any response headers
 *   (GOAWAY, reset, EOF), it is retried once on a new session.
 * - TLS is verified against the system roots, plus `ca` for private gateways.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { UpstreamError } from './plain.js';

export interface DohOptions {
  readonly url: string;
  readonly addresses: readonly string[];
  /** Extra CA certificates (PEM) trusted besides the system roots. */
  readonly ca?: string | Buffer | undefined;
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** PING after this long without traffic on the session. */
  readonly pingIntervalMs?: number;
  /** Close the session after this long without requests. */
  readonly idleTimeoutMs?: number;
  readonly onEvent?: ((event: string, detail: Record<string, unknown>) => void) | undefined;
}

export const DOH_MAX_RESPONSE = 65_536;
const DOH_CONTENT_TYPE = 'application/dns-message';

interface SessionState {
  readonly session: http2.ClientHttp2Session;
  readonly address: string;
  lastActivity: number;
  requests: number;
  pingTimer: NodeJS.Timeout | null;
  usable: boolean;
  connected: boolean;
  failed: boolean;
}

export interface DohStats {
  requests: number;
  retries: number;
  failures: number;
  sessions: number;
  pingFailures: number;
}

/** An error before any response headers arrived on a session that was already in use. */
class ConnectionLost extends Error {}
/** The session never came up (TCP or TLS failed). */
class ConnectFailed extends Error {}

export class DohClient {
  private readonly url: URL;
  private readonly origin: string;
  private readonly path: string;
  private readonly host: string;
  private readonly port: number;
  private readonly ca: (string | Buffer)[] | undefined;
  private readonly timeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private current: SessionState | null = null;
  private addressIndex = 0;
  private closed = false;
  private readonly all = new Set<SessionState>();
  readonly stats: DohStats = { requests: 0, retries: 0, failures: 0, sessions: 0, pingFailures: 0 };

  constructor(private readonly opts: DohOptions) {
    this.url = new URL(opts.url);
    if (this.url.protocol !== 'https:') throw new Error(`DoH URL must be https: ${opts.url}`);
    if (opts.addresses.length === 0) throw new Error('DoH needs at least one bootstrap address');
    this.origin = this.url.origin;
    this.path = `${this.url.pathname}${this.url.search}`;
    this.host = this.url.hostname.replace(/^\[|\]$/g, '');
    this.port = this.url.port === '' ? 443 : Number(this.url.port);
    this.ca = opts.ca === undefined ? undefined : [...tls.rootCertificates, opts.ca];
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.pingIntervalMs = opts.pingIntervalMs ?? 15_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
  }

  /** Send `query` (any ID) and resolve with the response carrying the query's ID. */
  async query(query: Uint8Array): Promise<Buffer> {
    if (this.closed) throw new UpstreamError('DoH client closed', 'failed');
    const id = (query[0]! << 8) | query[1]!;
    const body = Buffer.from(query);
    body[0] = 0;
    body[1] = 0;
    this.stats.requests++;
    const deadline = Date.now() + this.timeoutMs;
    let resp: Buffer;
    let retried = false;
    let connectFailures = 0;
    for (;;) {
      try {
        resp = await this.attempt(body, deadline);
        break;
      } catch (err) {
        const timeLeft = deadline - Date.now() > 0;
        if (!this.closed && timeLeft && err instanceof ConnectionLost && !retried) {
          // A pooled connection turned out dead: one transparent retry on a new session.
          retried = true;
          this.stats.retries++;
          this.emit('retry', { reason: err.message });
          continue;
        }
        if (!this.closed && timeLeft && err instanceof ConnectFailed && ++connectFailures < this.opts.addresses.length) {
          // That bootstrap address is unreachable: the next one (getSession moved on).
          continue;
        }
        this.stats.failures++;
        throw toUpstreamError(err);
      }
    }
    resp[0] = id >> 8;
    resp[1] = id & 0xff;
    return resp;
  }

  /** Close every session; pending requests fail. */
  close(): void {
    this.closed = true;
    for (const s of this.all) this.drop(s, true);
    this.all.clear();
    this.current = null;
  }

  private emit(event: string, detail: Record<string, unknown>): void {
    this.opts.onEvent?.(event, detail);
  }

  private getSession(): { state: SessionState; reused: boolean } {
    const cur = this.current;
    if (cur !== null && cur.usable && !cur.session.closed && !cur.session.destroyed) return { state: cur, reused: cur.connected };
    return { state: this.connect(), reused: false };
  }

  private connect(): SessionState {
    const address = this.opts.addresses[this.addressIndex % this.opts.addresses.length]!;
    const session = http2.connect(this.origin, {
      createConnection: () =>
        tls.connect({
          host: address,
          port: this.port,
          servername: isIp(this.host) ? undefined : this.host,
          // Verify the certificate against the URL's host, not the bootstrap address.
          checkServerIdentity: (_h, cert) => tls.checkServerIdentity(this.host, cert),
          ALPNProtocols: ['h2'],
          ...(this.ca ? { ca: this.ca } : {}),
        }),
    });
    const state: SessionState = { session, address, lastActivity: Date.now(), requests: 0, pingTimer: null, usable: true, connected: false, failed: false };
    this.all.add(state);
    this.current = state;
    this.stats.sessions++;
    this.emit('connect', { address });
    session.on('error', (err) => {
      this.emit('session-error', { address, error: err.message });
      if (!state.connected) this.connectFailed(state);
      this.drop(state, false);
    });
    session.on('goaway', (code) => {
      this.emit('goaway', { address, code });
      state.usable = false;
      if (this.current === state) this.current = null;
    });
    session.on('close', () => this.drop(state, false));
    // A bootstrap address that does not answer at all must not hold every query until the kernel gives up.
    const connectTimer = setTimeout(() => {
      if (!state.connected) {
        this.emit('connect-timeout', { address });
        this.connectFailed(state);
      }
    }, Math.max(1, Math.floor(this.timeoutMs / 2)));
    connectTimer.unref();
    session.on('close', () => clearTimeout(connectTimer));
    session.on('connect', () => {
      clearTimeout(connectTimer);
      state.connected = true;
      this.schedulePing(state, this.pingIntervalMs);
    });
    // The socket must not keep the process alive on its own.
    session.unref();
    return state;
  }

  private schedulePing(state: SessionState, delay: number): void {
    if (state.pingTimer !== null) clearTimeout(state.pingTimer);
    state.pingTimer = setTimeout(() => this.ping(state), Math.max(1, delay));
    state.pingTimer.unref();
  }

  /** Runs every pingIntervalMs: close a long-idle session, PING a quiet one. */
  private ping(state: SessionState): void {
    state.pingTimer = null;
    const s = state.session;
    if (s.closed || s.destroyed || !state.usable) return;
    const idle = Date.now() - state.lastActivity;
    if (idle >= this.idleTimeoutMs) {
      this.emit('idle-close', { address: state.address });
      state.usable = false;
      if (this.current === state) this.current = null;
      s.close();
      return;
    }
    if (idle < this.pingIntervalMs) {
      this.schedulePing(state, this.pingIntervalMs - idle);
      return;
    }
    const timeout = setTimeout(() => {
      this.stats.pingFailures++;
      this.emit('ping-timeout', { address: state.address });
      this.drop(state, true);
    }, Math.min(this.timeoutMs, this.pingIntervalMs));
    timeout.unref();
    const sent = s.ping((err) => {
      clearTimeout(timeout);
      if (err) {
        this.stats.pingFailures++;
        this.emit('ping-failed', { address: state.address, error: err.message });
        this.drop(state, true);
        return;
      }
      this.schedulePing(state, this.pingIntervalMs);
    });
    if (!sent) {
      clearTimeout(timeout);
      this.drop(state, true);
    }
  }

  /** A connection that never came up moves the next attempt to the next bootstrap address (once per session). */
  private connectFailed(state: SessionState): void {
    if (state.failed) return;
    state.failed = true;
    this.addressIndex++;
    this.drop(state, true);
  }

  private drop(state: SessionState, destroy: boolean): void {
    state.usable = false;
    if (state.pingTimer !== null) {
      clearTimeout(state.pingTimer);
      state.pingTimer = null;
    }
    if (this.current === state) this.current = null;
    this.all.delete(state);
    if (destroy && !state.session.destroyed) state.session.destroy();
  }

  private attempt(body: Buffer, deadline: number): Promise<Buffer> {
    const { state, reused } = this.getSession();
    state.requests++;
    state.lastActivity = Date.now();
    return new Promise<Buffer>((resolve, reject) => {
      let gotHeaders = false;
      let settled = false;
      const chunks: Buffer[] = [];
      let size = 0;
      const settle = (err: Error | null, value?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        state.lastActivity = Date.now();
        if (err) reject(err);
        else resolve(value!);
      };
      const lost = (why: string): Error => {
        const text = `DoH ${this.origin} via ${state.address}: ${why}`;
        if (!state.connected) {
          this.connectFailed(state);
          return new ConnectFailed(text);
        }
        return reused && !gotHeaders ? new ConnectionLost(text) : new UpstreamError(text, 'failed');
      };
      const remaining = Math.max(1, deadline - Date.now());
      const timer = setTimeout(() => {
        if (!state.connected) this.connectFailed(state);
        settle(new UpstreamError(`DoH ${this.origin} via ${state.address}: no answer within ${this.timeoutMs} ms`, 'timeout'));
        if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
      }, remaining);
      let req: http2.ClientHttp2Stream;
      try {
        req = state.session.request({
          ':method': 'POST',
          ':path': this.path,
          'content-type': DOH_CONTENT_TYPE,
          accept: DOH_CONTENT_TYPE,
          'content-length': String(body.length),
        });
      } catch (err) {
        this.drop(state, true);
        settle(lost((err as Error).message));
        return;
      }
      req.on('response', (headers) => {
        gotHeaders = true;
        const status = headers[':status'];
        const ctype = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (status !== 200) {
          settle(new UpstreamError(`DoH ${this.origin}: HTTP status ${String(status)}`, 'failed'));
          req.close(http2.constants.NGHTTP2_CANCEL);
        } else if (ctype !== DOH_CONTENT_TYPE) {
          settle(new UpstreamError(`DoH ${this.origin}: content-type ${JSON.stringify(ctype)}`, 'failed'));
          req.close(http2.constants.NGHTTP2_CANCEL);
        } else {
          const len = Number(headers['content-length'] ?? '0');
          if (len > DOH_MAX_RESPONSE) {
            settle(new UpstreamError(`DoH ${this.origin}: response of ${len} bytes exceeds ${DOH_MAX_RESPONSE}`, 'failed'));
            req.close(http2.constants.NGHTTP2_CANCEL);
          }
        }
      });
      req.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > DOH_MAX_RESPONSE) {
          settle(new UpstreamError(`DoH ${this.origin}: response exceeds ${DOH_MAX_RESPONSE} bytes`, 'failed'));
          req.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!gotHeaders) settle(lost('stream ended without a response'));
        else settle(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      });
      req.on('error', (err) => settle(lost(err.message)));
      req.on('close', () => {
        if (!settled) settle(lost(`stream closed (code ${req.rstCode ?? 'none'})`));
      });
      req.end(body);
    });
  }
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function toUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  return new UpstreamError(err instanceof Error ? err.message : String(err), 'failed');
}
