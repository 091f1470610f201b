/**
 * An orchestrator on a test store: generated TLS, loopback, a random port, an admin,
 * an enrollment and a gateway token; and an HTTPS client that trusts its CA.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import type { RegistrationPeer } from '../../src/contract/orchestrator.js';
import { createToken } from '../../src/orchestrator/admin.js';
import { startOrchestrator, type Limits, type Orchestrator } from '../../src/orchestrator/server.js';
import type { Store } from '../../src/orchestrator/store/types.js';
import { generatedTls } from '../../src/orchestrator/tls.js';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body's bytes as they came (compressed when the answer was). */
  readonly bytes: Buffer;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Harness {
  readonly store: Store;
  readonly orch: Orchestrator;
  readonly ca: string;
  readonly admin: string;
  readonly enroll: string;
  readonly gateway: string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> }): Promise<Reply>;
  /** Registers a device: its id, token and key. */
  register(extra?: Record<string, unknown>): Promise<{ id: string; token: string; key: string; reply: Reply }>;
  close(): Promise<void>;
}

export const GATEWAY_KEY = Buffer.alloc(32, 7).toString('base64');

/** A WireGuard-shaped public key (32 random bytes, base64). */
export function wgKey(): string {
  return generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
}

export async function startHarness(
  store: Store,
  limits: Partial<Limits> = {},
  pools = { v4: '100.96.0.0/24', v6: 'fd01:5ca1:ab1e::/120', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] },
  peers: readonly RegistrationPeer[] = [{ public_key: GATEWAY_KEY, endpoint: { v4: '192.0.2.1:51820' } }],
): Promise<Harness> {
  const tls = await generatedTls(store, []);
  const orch = await startOrchestrator({ store, host: '127.0.0.1', port: 0, tls, pools, peers, limits });
  const admin = (await createToken(store, { kind: 'admin', label: 'test admin', expiresAt: null, maxUses: null }, 'test')).token;
  const enroll = (await createToken(store, { kind: 'enroll', label: 'test enroll', expiresAt: null, maxUses: null, identity: { email: 'alice@example.com', groups: ['eng'] } }, 'test')).token;
  const gateway = (await createToken(store, { kind: 'gateway', label: 'gw', expiresAt: null, maxUses: null }, 'test')).token;
  const call: Harness['call'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: orch.port,
          method,
          path,
          ca: tls.caPem!,
          agent: false,
          headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const text = bytes.toString('utf8');
            let json: unknown = null;
            try {
              json = text === '' ? null : JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, bytes, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  const register: Harness['register'] = async (extra = {}) => {
    const key = wgKey();
    const reply = await call('POST', '/v0/reg', { token: enroll, body: { key, key_type: 'curve25519', tunnel_type: 'wireguard', install_id: randomUUID(), model: 'test laptop', os_name: 'linux', os_version: '6.1', serial_number: 'SN1', ...extra } });
    return { id: reply.json?.id, token: reply.json?.token, key, reply };
  };
  return { store, orch, ca: tls.caPem!, admin, enroll, gateway, call, register, close: () => orch.close() };
}

export const ADMIN = '/client/v4/accounts/acct';
