/**
 * A stand-in orchestrator for the agent's tests: HTTPS with a generated
 * certificate, the device API of src/contract/orchestrator.ts (POST /v0/reg,
 * GET bundle with If-None-Match and wait=, DELETE, posture) signing real
 * compiled bundles with a real Ed25519 key. Hooks let a test tamper with or
 * replay a bundle, revoke a device, or answer 5xx. Not the orchestrator
 * (src/orchestrator/): only what the agent must cope with.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { compile, resolveTargets } from '../../../src/compile.js';
import { serializeStatement, type BundleResponse, type BundleStatement, type PostureReport, type Registration, type RegistrationRequest } from '../../../src/contract/orchestrator.js';
import { certificate } from '../../../src/net/x509.js';
import { derToPem, selfSignedCertificate, spkiSha256 } from '../../../src/runtime/masque/cert.js';

export interface FakeDevice {
  id: string;
  token: string;
  key: string;
  os: string;
  v4: string;
  v6: string;
  revoked: boolean;
  posture: PostureReport[];
}

export interface FakeOrchestrator {
  readonly url: string;
  readonly port: number;
  readonly tlsPin: string;
  readonly certPem: string;
  readonly bundleKey: KeyObject;
  readonly enrollToken: string;
  readonly gatewayToken: string;
  readonly devices: Map<string, FakeDevice>;
  /** Compile `source` for linux and make it every device's next bundle (versions strictly increase). */
  publish(source: string): void;
  /** The response for a device's current bundle (signed). */
  bundleFor(id: string, version?: number): BundleResponse;
  /** Change a served response (tamper) or replace it (replay); null serves as is. */
  mangle: ((r: BundleResponse, device: FakeDevice) => BundleResponse) | null;
  /** Answer every device request with this status (5xx: the orchestrator is sick). */
  failWith: number | null;
  /** How a 200 bundle answer's JSON goes on the wire; null: gzip when the request accepts it (as the orchestrator does), else as is. */
  encode: ((json: Buffer) => { encoding: string; bytes: Buffer }) | null;
  /** The content-encoding of each 200 bundle answer sent ('identity' when none). */
  bundleEncodings: string[];
  gatewayPeer: { public_key: string; endpoint: string };
  requests: string[];
  /** Revoke a device (its long-poll wakes and gets 401). */
  revoke(id: string): void;
  close(): Promise<void>;
}

/** `path`: listen on a unix socket (a forwarder in a namespace carries TCP to it) and announce `publicUrl`. */
export async function startFakeOrchestrator(o: { host?: string; path?: string; extraChainPem?: string; forgeIssuer?: string; validFrom?: Date; validTo?: Date; publicUrl?: string; gatewayPeer?: { public_key: string; endpoint: string }; pool4?: string } = {}): Promise<FakeOrchestrator> {
  const tlsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const now = Date.now();
  // forgeIssuer: a leaf that names that issuer but is signed by a key of its own (an impostor's chain).
  const der = o.forgeIssuer
    ? certificate({ subjectKey: tlsKey, subject: 'localhost', issuerKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, issuer: o.forgeIssuer, notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86_400_000), usage: 'server', altNames: ['127.0.0.1'] })
    : selfSignedCertificate(tlsKey, { commonName: 'fake-orchestrator', notBefore: o.validFrom ?? new Date(now - 3600_000), notAfter: o.validTo ?? new Date(now + 86_400_000), usage: 'server' });
  const certPem = derToPem(der);
  const { privateKey: bundleKey, publicKey: bundlePub } = generateKeyPairSync('ed25519');
  const bundlePem = bundlePub.export({ type: 'spki', format: 'pem' }) as string;
  const enrollToken = randomBytes(32).toString('base64url');
  const gatewayToken = randomBytes(32).toString('base64url');
  let peersVersion = 1;
  const devices = new Map<string, FakeDevice>();
  // Per device: version → files (so a replay can serve an older one).
  const history = new Map<number, { files: Record<string, string>; manifestSha: string; revision: number }>();
  let version = 0;
  const waiters = new Set<() => void>();
  /** A long-poll: `answer` runs once, when a change wakes the waiters or after `wait` seconds; never after the client left. */
  const park = (res: ServerResponse, wait: number, answer: () => void): void => {
    const w = (): void => {
      clearTimeout(t);
      waiters.delete(w);
      answer();
    };
    const t = setTimeout(w, wait * 1000);
    waiters.add(w);
    res.on('close', () => {
      clearTimeout(t);
      waiters.delete(w);
    });
  };
  let next4 = 2;
  const pool4 = o.pool4 ?? '100.96.0.';

  const fake: FakeOrchestrator = {
    url: '',
    port: 0,
    tlsPin: spkiSha256(tlsKey),
    certPem,
    bundleKey,
    enrollToken,
    gatewayToken,
    devices,
    mangle: null,
    failWith: null,
    encode: null,
    bundleEncodings: [],
    gatewayPeer: o.gatewayPeer ?? { public_key: Buffer.alloc(32, 7).toString('base64'), endpoint: '192.0.2.1:51820' },
    requests: [],
    revoke: () => undefined,
    publish(source: string) {
      const r = compile(source, resolveTargets('linux').targets);
      if (r.files.size === 0) throw new Error(`fixture does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
      const files: Record<string, string> = {};
      for (const [path, f] of r.files) files[path] = Buffer.from(f.text).toString('base64');
      version++;
      history.set(version, { files, manifestSha: createHash('sha256').update(Buffer.from(files['manifest.json']!, 'base64')).digest('hex'), revision: version });
      for (const w of [...waiters]) w();
    },
    bundleFor(id: string, v = version): BundleResponse {
      const h = history.get(v);
      if (!h) throw new Error(`no bundle version ${v}`);
      const st: BundleStatement = { format: 1, device_id: id, os: 'linux', version: v, profile: { id: 'default', revision: h.revision }, manifest_sha256: h.manifestSha, issued_at: new Date().toISOString() };
      const bytes = Buffer.from(serializeStatement(st));
      return { statement: bytes.toString('base64'), signature: sign(null, bytes, bundleKey).toString('base64'), files: h.files };
    },
    async close() {
      for (const w of [...waiters]) w();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const json = (res: import('node:http').ServerResponse, status: number, body?: unknown): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 304 ? { etag: `"${version}"` } : {}) });
    res.end(text);
  };
  const apiError = (res: import('node:http').ServerResponse, status: number, code: string, message: string): void => json(res, status, { error: { code, message } });

  const server: Server = createServer({ key: tlsKey.export({ type: 'pkcs8', format: 'pem' }), cert: certPem + (o.extraChainPem ?? '') }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://x');
      fake.requests.push(`${req.method} ${url.pathname}`);
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (req.method === 'POST' && url.pathname === '/v0/reg') {
        if (bearer !== enrollToken) return apiError(res, 401, 'unauthorized', 'unknown or expired enrollment token');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RegistrationRequest;
        const id = randomBytes(8).toString('hex');
        const d: FakeDevice = { id, token: randomBytes(32).toString('base64url'), key: body.key, os: body.os_name, v4: `${pool4}${next4}`, v6: `fd00:96::${next4}`, revoked: false, posture: [] };
        next4++;
        devices.set(id, d);
        peersVersion++;
        for (const w of [...waiters]) w();
        const reg: Registration = {
          id,
          token: d.token,
          config: { peers: [{ public_key: fake.gatewayPeer.public_key, endpoint: { v4: fake.gatewayPeer.endpoint } }], interface: { addresses: { v4: d.v4, v6: d.v6 } } },
          bundle_key: { spki_sha256: spkiSha256(bundlePub), pem: bundlePem },
        };
        return json(res, 201, reg);
      }
      if (req.method === 'GET' && url.pathname === '/v0/gateway/peers') {
        if (bearer !== gatewayToken) return apiError(res, 401, 'unauthorized', 'not a gateway token');
        const list = (): void => json(res, 200, { version: peersVersion, peers: [...devices.values()].filter((x) => !x.revoked).map((x) => ({ device_id: x.id, public_key: x.key, allowed_ips: [`${x.v4}/32`] })) });
        const have = req.headers['if-none-match'];
        const wait = Math.min(60, Number(url.searchParams.get('wait') ?? 0) || 0);
        if (have !== `"${peersVersion}"`) return list();
        if (wait === 0) return json(res, 304);
        return park(res, wait, () => (have !== `"${peersVersion}"` ? list() : json(res, 304)));
      }
      const m = /^\/v0\/reg\/([^/]+)(\/bundle|\/posture)?$/.exec(url.pathname);
      const d = m ? devices.get(m[1]!) : undefined;
      if (!m || !d || d.revoked || bearer !== d.token) return apiError(res, m ? 401 : 404, 'unauthorized', 'no such registration');
      if (fake.failWith !== null) return apiError(res, fake.failWith, 'unavailable', 'injected failure');
      if (req.method === 'DELETE' && !m[2]) {
        d.revoked = true;
        peersVersion++;
        for (const w of [...waiters]) w();
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && m[2] === '/posture') {
        d.posture.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostureReport);
        return json(res, 200, {});
      }
      if (req.method === 'GET' && m[2] === '/bundle') {
        const wait = Math.min(60, Number(url.searchParams.get('wait') ?? 0) || 0);
        const inm = req.headers['if-none-match'];
        const answer = (): void => {
          if (d.revoked) return apiError(res, 401, 'unauthorized', 'revoked');
          if (version === 0) return apiError(res, 503, 'no_profile', 'nothing published');
          if (inm === `"${version}"`) return json(res, 304);
          const r = fake.bundleFor(d.id);
          const body = Buffer.from(JSON.stringify(fake.mangle ? fake.mangle(r, d) : r));
          const e = fake.encode ? fake.encode(body) : /gzip/.test(String(req.headers['accept-encoding'] ?? '')) ? { encoding: 'gzip', bytes: gzipSync(body) } : { encoding: 'identity', bytes: body };
          fake.bundleEncodings.push(e.encoding);
          res.writeHead(200, { 'content-type': 'application/json', ...(e.encoding !== 'identity' ? { 'content-encoding': e.encoding } : {}) });
          res.end(e.bytes);
        };
        if (inm === `"${version}"` && wait > 0 && !d.revoked) return park(res, wait, answer);
        return answer();
      }
      apiError(res, 404, 'not_found', 'no such route');
    });
  });
  if (o.path !== undefined) {
    const path = o.path;
    await new Promise<void>((r) => server.listen(path, () => r()));
    Object.assign(fake, { url: o.publicUrl ?? '', port: 0 });
  } else {
    await new Promise<void>((r) => server.listen(0, o.host ?? '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const host = o.host ?? '127.0.0.1';
    Object.assign(fake, { url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, port });
  }
  fake.revoke = (id: string): void => {
    const d = devices.get(id);
    if (d) d.revoked = true;
    peersVersion++;
    for (const w of [...waiters]) w();
  };
  return fake;
}
