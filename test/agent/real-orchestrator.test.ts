/**
 * The agent against the real orchestrator (src/orchestrator/, in-process on loopback, SQLite):
 * the wire shapes agree — enroll, the signed bundle verifies with the pinned key, a long-poll
 * wakes on an admin change, a restart on the same store keeps --ca and a CA fingerprint pin
 * working, revocation is seen as such. No root.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../../src/agent/enroll.js';
import { AgentError } from '../../src/agent/errors.js';
import { Follower } from '../../src/agent/follow.js';
import { readRegistration, writeRegistration } from '../../src/agent/state.js';
import { openSqliteStore } from '../../src/orchestrator/store/sqlite.js';
import type { Store } from '../../src/orchestrator/store/types.js';
import { startOrchestrator } from '../../src/orchestrator/server.js';
import { createToken } from '../../src/orchestrator/admin.js';
import { fingerprint, generatedTls } from '../../src/orchestrator/tls.js';
import { ADMIN, GATEWAY_KEY, startHarness, type Harness } from '../orchestrator/harness.js';

let dir: string;
let store: Store;
let h: Harness;
let caFile: string;
const log = (): void => undefined;
const url = (x: Harness): string => `https://127.0.0.1:${x.orch.port}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warpc-agent-real-'));
  store = await openSqliteStore(join(dir, 'db'));
  h = await startHarness(store);
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, h.ca);
});
afterAll(async () => {
  await h?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the agent and the real orchestrator', () => {
  it('enrolls with --ca, verifies the signed bundle, wakes on an admin change, sees a revocation', async () => {
    const sd = join(dir, 'a');
    const reg = await enroll({ url: url(h), token: h.enroll, stateDir: sd, ca: caFile, log });
    expect(reg.peers[0]).toMatchObject({ public_key: GATEWAY_KEY });
    expect(reg.addresses.v4).toMatch(/^100\.96\.0\.\d+$/);
    const f = new Follower(reg, { stateDir: sd, root: '/', log }, null);
    const sig = new AbortController().signal;
    expect(await f.poll(0, sig)).toMatch(/bundles\/\d+\/linux$/);
    await f.committed();
    const v1 = f.running as number;
    expect(await f.poll(0, sig)).toBeNull();
    const waiting = f.poll(20, sig);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.call('PUT', `${ADMIN}/devices/policy/exclude`, { token: h.admin, body: [{ address: '203.0.113.0/24', description: 'direct' }] })).status).toBe(200);
    expect(await waiting).toMatch(/bundles\/\d+\/linux$/);
    await f.committed();
    expect(f.running).toBeGreaterThan(v1);
    expect(await f.reportPosture(true, sig)).toBeNull();
    expect((await h.call('GET', `${ADMIN}/devices/${reg.id}`, { token: h.admin })).json.result.posture).toMatchObject({ firewall: true });
    expect((await h.call('POST', `${ADMIN}/devices/revoke`, { token: h.admin, body: [reg.id] })).status).toBe(200);
    const r = await f.poll(0, sig);
    expect(r).toEqual({ revoked: expect.any(Number) });
    expect([401, 404]).toContain((r as { revoked: number }).revoked);
  });

  it('a restart on the same store (a new server key, the same CA): --ca keeps working; a pinned server key is refused, clearly', async () => {
    const withCa = join(dir, 'b');
    const tofu = join(dir, 'c');
    await enroll({ url: url(h), token: h.enroll, stateDir: withCa, ca: caFile, log });
    await enroll({ url: url(h), token: h.enroll, stateDir: tofu, log });
    const h2 = await startHarness(store);
    try {
      for (const sd of [withCa, tofu]) await writeRegistration(sd, { ...(await readRegistration(sd))!, orchestrator: url(h2) });
      const ok = new Follower((await readRegistration(withCa))!, { stateDir: withCa, root: '/', log }, null);
      expect(await ok.poll(0, new AbortController().signal)).toMatch(/bundles\/\d+\/linux$/);
      // The server sends only its own certificate, so first use pinned its key, which a restart replaces.
      const pinned = new Follower((await readRegistration(tofu))!, { stateDir: tofu, root: '/', log }, null);
      const e = await pinned.poll(0, new AbortController().signal).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(AgentError);
      expect((e as AgentError).message).toMatch(/^WARPC0232: the orchestrator at https:\/\/127.0.0.1:\d+ presented a certificate with key sha256\/\S+, but this device pinned sha256\//);
    } finally {
      await h2.close();
    }
  });

  it('--pin takes the certificate fingerprint serve prints (uppercase hex with colons)', async () => {
    const leaf = await new Promise<string>((resolve, reject) => {
      // The leaf as the server presents it.
      import('node:tls').then(({ connect }) => {
        const s = connect({ host: '127.0.0.1', port: h.orch.port, rejectUnauthorized: false }, () => {
          const pem = `-----BEGIN CERTIFICATE-----\n${s.getPeerX509Certificate()!.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
          s.destroy();
          resolve(pem);
        });
        s.on('error', reject);
      }, reject);
    });
    const reg = await enroll({ url: url(h), token: h.enroll, stateDir: join(dir, 'd'), pin: fingerprint(leaf), log });
    expect(reg.tls.pin).toBe(Buffer.from(fingerprint(leaf).replace(/:/g, ''), 'hex').toString('base64'));
    const f = new Follower(reg, { stateDir: join(dir, 'd'), root: '/', log }, null);
    expect(await f.poll(0, new AbortController().signal)).toMatch(/bundles\/\d+\/linux$/);
  });

  it('a server that sends its CA with its certificate: first use pins the CA, which outlives a restart with a new server key; a leaf not issued by it is refused', async () => {
    const pools = { v4: '100.97.0.0/24', v6: 'fd01:5ca1:ab1f::/120', reserved: ['100.97.0.1', 'fd01:5ca1:ab1f::1'] };
    const peers = [{ public_key: GATEWAY_KEY, endpoint: { v4: '192.0.2.1:51820' } }];
    const chained = async (): Promise<Awaited<ReturnType<typeof startOrchestrator>>> => {
      const g = await generatedTls(store, []);
      return startOrchestrator({ store, host: '127.0.0.1', port: 0, tls: { keyPem: g.keyPem, certPem: g.certPem + g.caPem! }, pools, peers });
    };
    const o1 = await chained();
    const sd = join(dir, 'e');
    try {
      const reg = await enroll({ url: `https://127.0.0.1:${o1.port}`, token: h.enroll, stateDir: sd, log });
      const { X509Certificate } = await import('node:crypto');
      const { spkiSha256 } = await import('../../src/runtime/masque/cert.js');
      expect(reg.tls.pin).toBe(spkiSha256(new X509Certificate(h.ca)));
    } finally {
      await o1.close();
    }
    const o2 = await chained();
    try {
      await writeRegistration(sd, { ...(await readRegistration(sd))!, orchestrator: `https://127.0.0.1:${o2.port}` });
      const f = new Follower((await readRegistration(sd))!, { stateDir: sd, root: '/', log }, null);
      expect(await f.poll(0, new AbortController().signal)).toMatch(/bundles\/\d+\/linux$/);
    } finally {
      await o2.close();
    }
    // An impostor that sends the real CA certificate (public) after a leaf naming it as issuer but signed by another key: the link does not verify, so the pin does not match.
    const { startFakeOrchestrator } = await import('./helpers/fake-orchestrator.js');
    const imp = await startFakeOrchestrator({ extraChainPem: h.ca, forgeIssuer: 'warpc orchestrator CA' });
    try {
      await writeRegistration(sd, { ...(await readRegistration(sd))!, orchestrator: imp.url });
      const f = new Follower((await readRegistration(sd))!, { stateDir: sd, root: '/', log }, null);
      const e = await f.poll(0, new AbortController().signal).catch((err: unknown) => err);
      expect((e as Error).message).toMatch(/^WARPC0232: /);
      expect(imp.requests).toEqual([]);
    } finally {
      await imp.close();
    }
  });

  it('failures as a user meets them: an expired token, a used-up token, an exhausted address pool — each a clear refusal, nothing stored', async () => {
    const expired = (await createToken(store, { kind: 'enroll', label: 'old', expiresAt: Date.now() - 1000, maxUses: null }, 'test')).token;
    const sd = join(dir, 'f');
    const e1 = await enroll({ url: url(h), token: expired, stateDir: sd, ca: caFile, log }).catch((e: unknown) => e as AgentError);
    expect((e1 as AgentError).message).toMatch(/^WARPC0234: the orchestrator refused the enrollment \(HTTP 401: /);
    expect(await readRegistration(sd)).toBeNull();
    const once = (await createToken(store, { kind: 'enroll', label: 'once', expiresAt: null, maxUses: 1 }, 'test')).token;
    await enroll({ url: url(h), token: once, stateDir: join(dir, 'g1'), ca: caFile, log });
    const e2 = await enroll({ url: url(h), token: once, stateDir: join(dir, 'g2'), ca: caFile, log }).catch((e: unknown) => e as AgentError);
    expect((e2 as AgentError).message).toMatch(/^WARPC0234: the orchestrator refused the enrollment \(HTTP 401: /);
    const small = await startHarness(store, {}, { v4: '100.98.0.0/30', v6: 'fd01:5ca1:ab20::/126', reserved: ['100.98.0.1', 'fd01:5ca1:ab20::1'] });
    try {
      const results: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await enroll({ url: `https://127.0.0.1:${small.orch.port}`, token: small.enroll, stateDir: join(dir, `pool${i}`), ca: caFile, log }).then(
          (x) => x.addresses.v4,
          (e: unknown) => (e as Error).message,
        );
        results.push(r);
      }
      expect(results.filter((r) => r.startsWith('100.98.0.')).length).toBeGreaterThan(0);
      expect(results[results.length - 1]).toMatch(/^WARPC0234: the orchestrator refused the enrollment \(HTTP (409|503|507|422): .*/);
    } finally {
      await small.close();
    }
  });
});
