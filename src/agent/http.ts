/**
 * HTTPS to the orchestrator with its certificate pinned: every connection is
 * checked before a byte of the request (and its bearer token) is sent —
 * either a certificate of the presented chain (the leaf, or a CA it verifiably
 * chains to) has the pin taken at enrollment (trust on first use, or --pin) as
 * its SPKI sha256 or its own sha256 fingerprint, or, with --ca, the chain and
 * the host name verify against that CA. One connection per request (no session reuse that
 * could skip the check).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { createHash, X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { gunzip } from 'node:zlib';
import { spkiSha256 } from '../runtime/masque/cert.js';
import { agentError, AgentError } from './errors.js';

export interface Trust {
  /** SPKI sha256, base64: the presented certificate's key must have it. */
  readonly pin: string | null;
  /** PEM CA certificates: the chain and the host name must verify. */
  readonly ca: string | null;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Largest response body read, compressed and decompressed (a bundle is a compiled folder: a few hundred KB). */
  readonly maxBytes?: number;
}

/** Parse an orchestrator URL: https only, no path, query or credentials. */
export function parseOrchestratorUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw agentError('AgentBadUrl', { value: JSON.stringify(text), reason: 'not a URL' });
  }
  if (u.protocol !== 'https:') throw agentError('AgentBadUrl', { value: JSON.stringify(text), reason: 'orchestrators speak HTTPS only' });
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) throw agentError('AgentBadUrl', { value: JSON.stringify(text), reason: 'no path, query or credentials' });
  return u;
}

/** A pin as given to --pin: `sha256/BASE64`, bare base64 of 32 bytes, or 64 hex digits (colons allowed: a certificate fingerprint as openssl prints it). Returns base64. */
export function parsePinArg(text: string): string {
  const t = text.trim().replace(/^sha256[/:]/i, '');
  const hex = t.replace(/:/g, '');
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, 'hex').toString('base64');
  const raw = Buffer.from(t, 'base64');
  if (raw.length === 32 && raw.toString('base64') === t) return t;
  throw agentError('AgentBadPin', { value: JSON.stringify(text) });
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The presented chain from the leaf up, as far as each certificate is issued
 * and signed by the next: a pin may name any of them (so a pinned CA keeps
 * working when the server's own key changes), but never one the leaf does not
 * chain to.
 */
function verifiedChain(s: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const x = new X509Certificate(c.raw);
    const prev = out[out.length - 1];
    if (prev && !(prev.checkIssued(x) && prev.verify(x.publicKey))) break;
    out.push(x);
    c = c.issuerCertificate;
  }
  return out;
}

/** A certificate's pins: its key's SPKI sha256 and its own sha256 (the fingerprint `openssl x509 -fingerprint -sha256` and warpc orchestrator serve print), base64. */
function pinsOf(c: X509Certificate): string[] {
  return [spkiSha256(c), createHash('sha256').update(c.raw).digest('base64')];
}

/** Open a TLS connection and check it; resolves with the socket and the presented key's pin. */
export function openChecked(u: URL, trust: Trust, timeoutMs = 10_000, signal?: AbortSignal): Promise<{ socket: TLSSocket; pin: string }> {
  const host = hostOf(u);
  const port = Number(u.port || 443);
  return new Promise((resolve, reject) => {
    const s = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: trust.ca !== null,
      ...(trust.ca !== null ? { ca: trust.ca } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      s.destroy();
      reject(err instanceof AgentError ? err : agentError('AgentUnreachable', { url: u.origin, reason: err.message }));
    };
    const timer = setTimeout(() => fail(new Error(`no TLS connection within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(new Error('stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
    s.once('error', fail);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      s.off('error', fail);
      const chain = verifiedChain(s);
      if (chain.length === 0) return fail(new Error('the server presented no certificate'));
      const got = spkiSha256(chain[0]!);
      if (trust.pin !== null && !chain.some((c) => pinsOf(c).includes(trust.pin as string))) return fail(agentError('AgentPinMismatch', { url: u.origin, got, pinned: trust.pin }));
      // On first use, the topmost certificate of the chain: the CA when the server sends it (it outlives the server's key).
      resolve({ socket: s, pin: spkiSha256(chain[chain.length - 1]!) });
    });
  });
}

/** One request over a checked connection. Network failures are AgentUnreachable; HTTP statuses are returned as they are. */
export async function orchestratorRequest(u: URL, trust: Trust, o: RequestOptions): Promise<HttpResponse> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const { socket } = await openChecked(u, trust, Math.min(timeoutMs, 10_000), o.signal);
  const body = o.body === undefined ? null : Buffer.from(JSON.stringify(o.body));
  const max = o.maxBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: u.host, accept: 'application/json', ...(o.headers ?? {}) };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    let done = false;
    const finish = (err: Error | null, r?: HttpResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err instanceof AgentError ? err : agentError('AgentUnreachable', { url: u.origin, reason: err.message }));
      else resolve(r as HttpResponse);
    };
    const req = httpRequest({ method: o.method, path: o.path, headers, createConnection: () => socket });
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onAbort = (): void => {
      req.destroy();
      finish(new Error('stopped'));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.destroy();
          finish(new Error(`answer larger than ${max} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const enc = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (enc === 'identity') return finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: raw });
        if (enc !== 'gzip') return finish(new Error(`the answer's content-encoding ${JSON.stringify(enc)} is not one this agent reads`));
        // A gzip answer (asked for with Accept-Encoding): its checksum is checked, and it may not inflate past the limit.
        gunzip(raw, { maxOutputLength: max }, (err, out) => (err ? finish(new Error(`the gzip answer does not decompress (${err.message})`)) : finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: out })));
      });
      res.on('error', (err) => finish(err));
    });
    req.end(body ?? undefined);
  });
}

/** The ApiError body's code and message, when there is one, for messages. */
export function apiErrorDetail(r: HttpResponse): string {
  try {
    const e = (JSON.parse(r.body.toString('utf8')) as { error?: { code?: string; message?: string; field?: string } }).error;
    if (e) return `: ${e.code ?? 'error'}: ${e.message ?? ''}${e.field ? ` (${e.field})` : ''}`;
  } catch {
    /* not JSON */
  }
  return '';
}
