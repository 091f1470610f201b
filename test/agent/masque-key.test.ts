/**
 * The agent registers its MASQUE key with the real orchestrator (in-process, SQLite) before a
 * MASQUE plan: once (remembered in registration.json), the key the runtime will present
 * (masque.key in the state dir), with the gateway's MASQUE side taken from the answer; a key
 * registered by someone else is a coded refusal, a revoked device is reported as such. No root.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../../src/agent/enroll.js';
import { ensureMasqueKey, isMasquePlan } from '../../src/agent/masque.js';
import { overrideOf } from '../../src/agent/follow.js';
import { readRegistration } from '../../src/agent/state.js';
import { loadOrCreateIdentity } from '../../src/runtime/masque/cert.js';
import { openSqliteStore } from '../../src/orchestrator/store/sqlite.js';
import type { Store } from '../../src/orchestrator/store/types.js';
import { ADMIN, GATEWAY_KEY, startHarness, type Harness } from '../orchestrator/harness.js';

const SERVER_PIN = `sha256/${Buffer.alloc(32, 3).toString('base64')}`;
let dir: string;
let store: Store;
let h: Harness;
let caFile: string;
const lines: string[] = [];
const log = (m: string): void => void lines.push(m);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warpc-agent-masque-'));
  store = await openSqliteStore(join(dir, 'db'));
  h = await startHarness(store, {}, undefined, [
    { public_key: GATEWAY_KEY, endpoint: { v4: '192.0.2.1:51820' } },
    { tunnel_type: 'masque', public_key: SERVER_PIN, endpoint: { v4: '192.0.2.1:443' } },
  ]);
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, h.ca);
});
afterAll(async () => {
  await h?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (): string => `https://127.0.0.1:${h.orch.port}`;

describe("the agent's MASQUE key", () => {
  it('registers the key the runtime presents, once; remembers it and the MASQUE gateway; the override names it', async () => {
    const sd = join(dir, 'a');
    const reg = await enroll({ url: url(), token: h.enroll, stateDir: sd, ca: caFile, log });
    const r1 = await ensureMasqueKey(reg, sd, log);
    if (!('reg' in r1)) throw new Error('revoked?');
    // The runtime's identity in the same state dir is the registered key.
    const id = await loadOrCreateIdentity(sd, { usage: 'client' });
    const spki = (createPublicKey(id.keyPem).export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    expect((await store.device(reg.id))!.masqueKey).toBe(spki);
    expect(r1.reg.masque_key).toBe(spki);
    expect((await readRegistration(sd))!.masque_key).toBe(spki);
    expect(overrideOf(r1.reg).masque).toEqual({ endpoint: '192.0.2.1:443', server_pin: SERVER_PIN });
    expect(lines.some((l) => l.includes(`registered the device's MASQUE key sha256/${id.pin}`))).toBe(true);
    const peers = await h.call('GET', '/v0/gateway/peers', { token: h.gateway });
    expect(peers.json.peers.find((p: { device_id: string }) => p.device_id === reg.id).masque_pin).toBe(`sha256/${createHash('sha256').update(Buffer.from(spki, 'base64')).digest('base64')}`);
    // Once: a second call asks nothing of the orchestrator (here: one that cannot be reached).
    const r2 = await ensureMasqueKey({ ...(await readRegistration(sd))!, orchestrator: 'https://127.0.0.1:1' }, sd, log);
    expect('reg' in r2 && r2.reg.masque_key).toBe(spki);
    expect((await store.audit()).filter((e) => e.action === 'device.masque_key' && e.subject === reg.id)).toHaveLength(1);
  });

  it('a key registered by someone else: WARPC0265, nothing replaced; a revoked device: revoked', async () => {
    const sd = join(dir, 'b');
    const reg = await enroll({ url: url(), token: h.enroll, stateDir: sd, ca: caFile, log });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await store.setMasqueKey(reg.id, null, other);
    await expect(ensureMasqueKey(reg, sd, log)).rejects.toThrow(/^WARPC0265: the orchestrator at .* holds another MASQUE key for device .* \(HTTP 409: key_changed: .*\): this device keeps its key sha256\//);
    expect((await store.device(reg.id))!.masqueKey).toBe(other);
    expect((await readRegistration(sd))!.masque_key).toBeUndefined();
    expect((await h.call('DELETE', `${ADMIN}/devices/${reg.id}`, { token: h.admin })).status).toBe(200);
    expect(await ensureMasqueKey(reg, sd, log)).toEqual({ revoked: 401 });
  });

  it('isMasquePlan: a folder with masque.json', async () => {
    const d = mkdtempSync(join(dir, 'plan-'));
    expect(await isMasquePlan(d)).toBe(false);
    writeFileSync(join(d, 'masque.json'), '{}');
    expect(await isMasquePlan(d)).toBe(true);
    expect(readFileSync(join(d, 'masque.json'), 'utf8')).toBe('{}');
  });
});
