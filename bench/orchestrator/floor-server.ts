/**
 * The floors of a waiting device, for bench/orchestrator/run.ts: a bare node:https server with the
 * orchestrator's TLS settings (P-256 server certificate from a P-256 CA, TLS 1.2+, the same
 * timeouts and header limit) that holds every request it gets open and does nothing else: no
 * store, no routing, no waiter records, no signature. RSS growth per held request is what Node and
 * OpenSSL cost for one keep-alive TLS connection with one pending request (the memory floor).
 *
 * The fan-out floor: a `POST /trigger` (on its own connection) answers every held request at once
 * with the trigger's body: the same Buffer to all (the bench sends a real bundle answer fetched
 * from the orchestrator in the same run, so the bytes on the wire are the orchestrator's), with
 * the headers the orchestrator sends (content-type, content-length, etag, cache-control, and
 * content-encoding when the trigger names one in `x-content-encoding`). The trigger's own answer
 * (204, `x-answered: N`) comes after every held request has been written to.
 *
 *   node dist/bench/orchestrator/floor-server.js CA_PEM_OUT
 *
 * Prints `listening on https://127.0.0.1:PORT` on stderr; stop it with SIGTERM.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { certificate, derToPem } from '../../src/net/x509.js';
import { DEFAULT_LIMITS } from '../../src/orchestrator/server.js';

const now = Date.now();
const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const caCert = derToPem(
  certificate({ subjectKey: caKey, subject: 'floor CA', issuerKey: caKey, issuer: 'floor CA', notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86400_000), ca: true }),
);
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const cert = derToPem(
  certificate({
    subjectKey: key,
    subject: 'localhost',
    issuerKey: caKey,
    issuer: 'floor CA',
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86400_000),
    usage: 'server',
    altNames: ['localhost', '127.0.0.1'],
  }),
);
writeFileSync(process.argv[2]!, caCert);

const l = DEFAULT_LIMITS;
let held: ServerResponse[] = [];
const server = createServer(
  {
    key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: `${cert}${caCert}`,
    minVersion: 'TLSv1.2',
    handshakeTimeout: l.handshakeMs,
    requestTimeout: l.requestMs,
    headersTimeout: l.headersMs,
    keepAliveTimeout: l.idleMs,
    maxHeaderSize: 16 * 1024,
    connectionsCheckingInterval: 1000,
  },
  (req, res) => {
    if (req.method === 'POST' && req.url === '/trigger') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const enc = req.headers['x-content-encoding'];
        const headers = {
          'content-type': 'application/json',
          'content-length': body.length,
          'cache-control': 'no-store',
          etag: '"1"',
          ...(typeof enc === 'string' ? { 'content-encoding': enc } : {}),
        };
        const all = held;
        held = [];
        for (const r of all) r.writeHead(200, headers).end(body);
        res.writeHead(204, { 'x-answered': String(all.length) }).end();
      });
      return;
    }
    // Held, not answered until a trigger: the least a server can keep for a waiting request.
    held.push(res);
  },
);
server.timeout = l.requestMs + l.maxWait * 1000;
server.on('tlsClientError', () => undefined);
server.listen(0, '127.0.0.1', () => process.stderr.write(`listening on https://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
