/**
 * HTTP plumbing of the orchestrator: request bodies read with a size limit, JSON
 * parsed and checked against a schema (a bad field names its JSON pointer), one
 * error type that becomes a 4xx/5xx ApiError body, and the per-address rate limit
 * of registrations.
 *
 * Decides: error bodies and limits. Must not touch: the store, routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorObject } from 'ajv';
import type { ApiError } from '../contract/orchestrator.js';
import { schemaValidator } from '../schemas.js';

/** A refusal: HTTP status, stable code, sentence, and the JSON pointer of the field at fault. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Extra members of the body (the compiler's diagnostics of a refused profile). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export function apiErrorBody(f: ApiFailure): ApiError {
  return { error: { code: f.code, message: f.message, ...(f.field !== undefined ? { field: f.field } : {}) } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** The body, at most `limit` bytes; more is a 413 (the rest is not read: the connection closes). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new ApiFailure(413, 'body_too_large', `the request body is ${declared} bytes; at most ${limit} are accepted`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new ApiFailure(413, 'body_too_large', `the request body is over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** JSON of the body; a syntax error is a 400 naming where. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const bytes = await readBody(req, limit);
  if (bytes.length === 0) throw new ApiFailure(400, 'invalid_json', 'the request has no body; a JSON value was expected');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiFailure(400, 'invalid_json', 'the request body is not UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiFailure(400, 'invalid_json', `the request body is not JSON: ${(err as Error).message}`);
  }
}

/** The JSON pointer an ajv error is about: the missing or unexpected property itself where there is one. */
export function pointerOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
  if (e.keyword === 'required' && typeof p['missingProperty'] === 'string') return `${e.instancePath}/${esc(p['missingProperty'])}`;
  if (e.keyword === 'additionalProperties' && typeof p['additionalProperty'] === 'string') return `${e.instancePath}/${esc(p['additionalProperty'])}`;
  if (e.keyword === 'propertyNames' && typeof p['propertyName'] === 'string') return `${e.instancePath}/${esc(p['propertyName'])}`;
  return e.instancePath === '' ? '/' : e.instancePath;
}

/** Checks `value` against schema/<schema>; the first error is a 400 naming the field. */
export function validate<T>(schema: string, value: unknown): T {
  const v = schemaValidator(schema);
  if (v(value)) return value as T;
  const errs = v.errors ?? [];
  // The most specific error: the deepest pointer (a missing field beats "must match anyOf").
  const e = [...errs].sort((a, b) => pointerOf(b).length - pointerOf(a).length)[0];
  if (!e) throw new ApiFailure(400, 'invalid_request', 'the request body does not match its schema');
  const field = pointerOf(e);
  const what = e.keyword === 'additionalProperties' ? 'is not a known field' : e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid');
  throw new ApiFailure(400, 'invalid_field', `${field} ${what}`, field);
}

/**
 * Token buckets per source address: `burst` requests at once, refilled at `perSecond`.
 * At most `maxKeys` addresses are remembered; when full, the fullest buckets (idle
 * addresses) are forgotten first, so memory stays bounded under a spoofed flood.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly maxKeys = 65_536,
  ) {}

  /** Takes one token for `key`; false when none is left. */
  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
    // Everyone is busy: forget the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let n = Math.floor(this.maxKeys / 2);
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
