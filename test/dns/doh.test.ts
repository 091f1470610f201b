/**
 * The DoH client against a scripted HTTP/2 server on loopback (TLS with a
 * certificate made by openssl): wire details, TLS verification, limits, the
 * one transparent retry on a dead pooled connection, bootstrap failover,
 * PING and idle handling, timeouts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { DohClient } from '../../src/runtime/dns/doh.js';
import { UpstreamError } from '../../src/runtime/dns/plain.js';
import { buildQuery, TYPE_A } from '../../src/runtime/dns/wire.js';
import { decode, respond, sleep } from './helpers.js';
import { makeCertificates } from './peers.js';

interface Seen {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  servername: string | false | null;
  session: http2.ServerHttp2Session;
}

type Handler = (stream: http2.ServerHttp2Stream, seen: Seen, index: number) => void;

const answerNormally: Handler = (stream, seen) => {
  const resp = respond(seen.body, { answers: [{ type: TYPE_A, ttl: 60, data: '192.0.2.53' }] });
  stream.respond({ ':status': 200, 'content-type': 'application/dns-message', 'content-length': resp.length });
  stream.end(resp);
};

describeE2E('DoH client (RFC 8484) against a scripted HTTP/2 server', ['openssl'], () => {
  let dir: string;
  let certs: { ca: string; cert: string; key: string };
  let server: http2.Http2SecureServer;
  let port = 0;
  let handler: Handler = answerNormally;
  const seen: Seen[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  const pings: number[] = [];
  /** The raw TLS sockets, in connection order (http2 hides them behind the session). */
  const rawSockets: TLSSocket[] = [];
  let client: DohClient | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warpc-doh-'));
    certs = await makeCertificates(dir, 'doh.test');
    server = http2.createSecureServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key), allowHTTP1: false });
    server.on('secureConnection', (sock: TLSSocket) => rawSockets.push(sock));
    server.on('session', (s) => {
      sessions.push(s);
      s.on('ping', () => pings.push(Date.now()));
      s.on('error', () => {});
    });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => {});
      stream.on('end', () => {
        const s: Seen = { headers, body: Buffer.concat(chunks), servername: (stream.session!.socket as TLSSocket).servername, session: stream.session as http2.ServerHttp2Session };
        seen.push(s);
        handler(stream, s, seen.length - 1);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(() => {
    client?.close();
    client = null;
    handler = answerNormally;
    seen.length = 0;
    pings.length = 0;
    for (const s of sessions) if (!s.destroyed) s.destroy();
    sessions.length = 0;
    rawSockets.length = 0;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const make = (over: Partial<ConstructorParameters<typeof DohClient>[0]> = {}): DohClient => {
    client = new DohClient({ url: `https://doh.test:${port}/dns-query?x=1`, addresses: ['127.0.0.1'], ca: readFileSync(certs.ca), timeoutMs: 2000, ...over });
    return client;
  };

  it('POSTs application/dns-message with ID 0 to the bootstrap address, SNI and :authority from the URL, and restores the ID', async () => {
    const c = make();
    const query = buildQuery(0xbeef, 'www.example.com', TYPE_A);
    const resp = await c.query(query);
    expect(resp.readUInt16BE(0)).toBe(0xbeef);
    expect(decode(resp).answers[0]!.address).toBe('192.0.2.53');
    const s = seen[0]!;
    expect(s.headers[':method']).toBe('POST');
    expect(s.headers[':path']).toBe('/dns-query?x=1');
    expect(s.headers[':authority']).toBe(`doh.test:${port}`);
    expect(s.headers['content-type']).toBe('application/dns-message');
    expect(s.headers['accept']).toBe('application/dns-message');
    expect(s.servername).toBe('doh.test');
    expect(s.body.readUInt16BE(0)).toBe(0);
    expect(s.body.subarray(2)).toEqual(query.subarray(2));
  });

  it('keeps one long-lived session for many queries', async () => {
    const c = make();
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.query(buildQuery(i, `n${i}.example`, TYPE_A))));
    await c.query(buildQuery(99, 'again.example', TYPE_A));
    expect(sessions).toHaveLength(1);
    expect(c.stats.sessions).toBe(1);
  });

  it('verifies TLS: an unknown CA or a certificate for another name fails', async () => {
    const noCa = make({ ca: undefined });
    await expect(noCa.query(buildQuery(1, 'a.example', TYPE_A))).rejects.toBeInstanceOf(UpstreamError);
    noCa.close();
    const otherName = make({ url: `https://other.test:${port}/dns-query` });
    await expect(otherName.query(buildQuery(1, 'a.example', TYPE_A))).rejects.toThrow(/certificate|altnames|other\.test/i);
    expect(seen).toHaveLength(0);
  });

  it('refuses non-200 answers, other content types and responses over 64 KiB', async () => {
    const c = make();
    handler = (stream) => {
      stream.respond({ ':status': 500, 'content-type': 'application/dns-message' });
      stream.end();
    };
    await expect(c.query(buildQuery(1, 'a.example', TYPE_A))).rejects.toThrow(/status 500/);
    handler = (stream, s) => {
      stream.respond({ ':status': 200, 'content-type': 'text/html' });
      stream.end(respond(s.body));
    };
    await expect(c.query(buildQuery(1, 'a.example', TYPE_A))).rejects.toThrow(/content-type/);
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/dns-message' });
      // No content-length: the client must count what arrives.
      stream.write(Buffer.alloc(40_000));
      stream.end(Buffer.alloc(40_000));
    };
    await expect(c.query(buildQuery(1, 'a.example', TYPE_A))).rejects.toThrow(/64|65536|exceeds/);
    handler = answerNormally;
    expect((await c.query(buildQuery(7, 'ok.example', TYPE_A))).readUInt16BE(0)).toBe(7);
  });

  it('retries once, transparently, when the pooled connection turns out dead (EOF on the request)', async () => {
    const c = make();
    await c.query(buildQuery(1, 'first.example', TYPE_A));
    // The next request on that session finds the connection gone: the server drops the socket.
    handler = (_stream, s, i) => {
      if (i === 1) rawSockets[rawSockets.length - 1]!.destroy();
      else answerNormally(_stream, s, i);
    };
    const resp = await c.query(buildQuery(2, 'second.example', TYPE_A));
    expect(decode(resp).answers[0]!.address).toBe('192.0.2.53');
    expect(c.stats.retries).toBe(1);
    expect(c.stats.sessions).toBe(2);
  });

  it('retries once on a GOAWAY that refuses the stream, but not twice', async () => {
    const c = make();
    await c.query(buildQuery(1, 'first.example', TYPE_A));
    handler = (stream, s) => {
      // Refuse this stream and every later one on every session.
      s.session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    };
    await expect(c.query(buildQuery(2, 'refused.example', TYPE_A))).rejects.toBeInstanceOf(UpstreamError);
    expect(c.stats.retries).toBe(1);
    expect(seen.length).toBe(3);
    handler = answerNormally;
    expect(decode(await c.query(buildQuery(3, 'back.example', TYPE_A))).answers).toHaveLength(1);
  });

  it('moves on to the next bootstrap address when one refuses connections', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(port, '127.0.0.2', () => r()));
    dead.close();
    const c = make({ addresses: ['127.0.0.2', '127.0.0.1'] });
    const resp = await c.query(buildQuery(5, 'failover.example', TYPE_A));
    expect(resp.readUInt16BE(0)).toBe(5);
    expect(seen).toHaveLength(1);
  });

  it('PINGs a quiet session and closes it after the idle timeout', async () => {
    const c = make({ pingIntervalMs: 100, idleTimeoutMs: 700 });
    await c.query(buildQuery(1, 'ping.example', TYPE_A));
    const closed = new Promise<void>((r) => sessions[0]!.once('close', () => r()));
    await sleep(450);
    expect(pings.length).toBeGreaterThanOrEqual(1);
    await closed;
    // A new query opens a new session.
    await c.query(buildQuery(2, 'after-idle.example', TYPE_A));
    expect(c.stats.sessions).toBe(2);
  });

  it('fails with a timeout when the server never answers', async () => {
    const c = make({ timeoutMs: 300 });
    handler = () => {};
    const err = await c.query(buildQuery(1, 'slow.example', TYPE_A)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).kind).toBe('timeout');
  });
});
