/**
 * A test proxy in front of the real orchestrator: it terminates TLS with the
 * orchestrator's own certificate and key (the test made them and gave them to
 * `warpc orchestrator serve --tls-cert --tls-key`, so the devices' pin holds)
 * and passes every request through, long-polls included. On command (a line
 * on stdin) it tampers with the bundles it passes:
 *
 *   flip     flips one byte of linux/routes4.batch in each 200 bundle response
 *   replay   answers each 200 bundle response with the first bundle it passed
 *            to that device (an older version, correctly signed)
 *   pass     passes bundles unchanged again
 *
 * A gzip answer (the agent asks for one) is tampered with uncompressed and sent on gzipped.
 *
 * It prints `mode M` after each command and `listening` once. With the
 * orchestrator down it drops the device's connection, as a dead host would.
 *
 * Usage: node tamper-proxy.ts LISTEN_HOST LISTEN_PORT UPSTREAM_PORT CERT_FILE KEY_FILE
 */
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { gunzipSync, gzipSync } from 'node:zlib';

const [host, port, upstreamPort, certFile, keyFile] = process.argv.slice(2) as [string, string, string, string, string];
let mode: 'pass' | 'flip' | 'replay' = 'pass';
/** The first bundle response body passed to each device. */
const firstBundle = new Map<string, Buffer>();

process.stdin.setEncoding('utf8');
let pending = '';
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    const cmd = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (cmd === 'pass' || cmd === 'flip' || cmd === 'replay') mode = cmd;
    process.stdout.write(`mode ${mode}\n`);
  }
});

function tampered(id: string, body: Buffer): Buffer {
  if (!firstBundle.has(id)) firstBundle.set(id, body);
  if (mode === 'replay') return firstBundle.get(id) as Buffer;
  if (mode !== 'flip') return body;
  const doc = JSON.parse(body.toString('utf8')) as { files: Record<string, string> };
  const b = Buffer.from(doc.files['linux/routes4.batch'] as string, 'base64');
  b[b.length - 2] = (b[b.length - 2] as number) ^ 1;
  doc.files['linux/routes4.batch'] = b.toString('base64');
  return Buffer.from(JSON.stringify(doc));
}

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const up = request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers, rejectUnauthorized: false }, (ur) => {
    const bundle = /^\/v0\/reg\/([^/?]+)\/bundle/.exec(req.url ?? '');
    if (!bundle || ur.statusCode !== 200) {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      return;
    }
    const parts: Buffer[] = [];
    ur.on('data', (c: Buffer) => parts.push(c));
    ur.on('end', () => {
      // The agent asks for gzip: tamper with (and remember) the plain answer, and send it on as it came.
      const gzip = ur.headers['content-encoding'] === 'gzip';
      const plain = tampered(bundle[1] as string, gzip ? gunzipSync(Buffer.concat(parts)) : Buffer.concat(parts));
      const body = gzip ? gzipSync(plain) : plain;
      const headers = { ...ur.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      res.writeHead(200, headers);
      res.end(body);
    });
    ur.on('error', () => req.socket.destroy());
  });
  up.on('error', () => req.socket.destroy());
  res.on('close', () => up.destroy());
  req.pipe(up);
});
// Long-polls last up to the agents' wait; never cut them here.
server.requestTimeout = 0;
server.headersTimeout = 30_000;
server.listen(Number(port), host, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
