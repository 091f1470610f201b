/** enroll, unenroll and the follower against a stand-in orchestrator over real HTTPS (no root, no network but loopback). */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, unenroll } from '../../src/agent/enroll.js';
import { AgentError } from '../../src/agent/errors.js';
import { backoffMs, Follower, orchestratorAddresses, overrideOf } from '../../src/agent/follow.js';
import { parsePinArg } from '../../src/agent/http.js';
import { readCurrentVersion, readRegistration, writeRegistration } from '../../src/agent/state.js';
import { publicKeyOf } from '../../src/runtime/tunnel/keys.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { startFakeOrchestrator, type FakeOrchestrator } from './helpers/fake-orchestrator.js';

let orch: FakeOrchestrator;
const dirs: string[] = [];
const tmp = (): string => {
  const d = join(mkdtempSync(join(tmpdir(), 'warpc-enroll-')), 'state');
  dirs.push(d);
  return d;
};
const logs: string[] = [];
const log = (m: string): void => void logs.push(m);
const profile = (name: string): string => readFileSync(join(FIXTURES_DIR, name, 'profile.yaml'), 'utf8');

beforeAll(async () => {
  orch = await startFakeOrchestrator();
  orch.publish(profile('corporate-exclude'));
});
afterAll(async () => {
  await orch.close();
  for (const d of dirs) rmSync(join(d, '..'), { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AgentError);
  return (e as AgentError).message;
}

describe('warpc enroll', () => {
  it('trusts the certificate on first use, makes the key 0600, sends only its public half, and stores the registration 0600 in a 0700 dir', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    expect(reg.tls).toEqual({ pin: orch.tlsPin, ca: null });
    expect(logs.join('\n')).toContain(`trusting the orchestrator's certificate on first use: key sha256/${orch.tlsPin}`);
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(statSync(join(d, 'private.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'registration.json')).mode & 0o777).toBe(0o600);
    const priv = readFileSync(join(d, 'private.key'), 'utf8').trim();
    const dev = orch.devices.get(reg.id)!;
    expect(dev.key).toBe(publicKeyOf(priv));
    expect(JSON.stringify([...orch.devices.values()])).not.toContain(priv);
    expect(await readRegistration(d)).toMatchObject({ id: reg.id, addresses: { v4: dev.v4, v6: dev.v6 }, orchestrator: orch.url });
    // A second enroll of the same dir is refused.
    expect(await refusal(enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log }))).toMatch(/^WARPC0231: .* is already enrolled with https:\/\/127.0.0.1:\d+ as device /);
  });

  it('--pin exact: the right pin enrolls (hex or sha256/base64), a wrong one is refused naming both and sends nothing', async () => {
    const hex = Buffer.from(orch.tlsPin, 'base64').toString('hex');
    expect((await enroll({ url: orch.url, token: orch.enrollToken, stateDir: tmp(), pin: hex, log })).tls.pin).toBe(orch.tlsPin);
    const wrong = Buffer.alloc(32, 1).toString('base64');
    const before = orch.requests.length;
    const d = tmp();
    const msg = await refusal(enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, pin: `sha256/${wrong}`, log }));
    expect(msg).toBe(`WARPC0232: the orchestrator at ${orch.url} presented a certificate with key sha256/${orch.tlsPin}, but this device pinned sha256/${wrong}: refusing to talk to it (if its certificate really changed, unenroll and enroll again with --pin)`);
    expect(orch.requests.length).toBe(before);
    expect(existsSync(join(d, 'registration.json'))).toBe(false);
    expect(() => parsePinArg('abc')).toThrow(/^WARPC0246: --pin "abc" is not a certificate pin/);
  });

  it('--ca checks the chain and the name: a CA that did not issue the certificate is refused', async () => {
    const other = await startFakeOrchestrator();
    const caFile = join(tmp(), '..', 'ca.pem');
    writeFileSync(caFile, other.certPem);
    await other.close();
    expect(await refusal(enroll({ url: orch.url, token: orch.enrollToken, stateDir: tmp(), ca: caFile, log }))).toMatch(/^WARPC0233: cannot reach the orchestrator at https:\/\/127.0.0.1:\d+: self[- ]signed certificate/);
  });

  it('a wrong token, a bad URL and an unreachable orchestrator are clear refusals', async () => {
    expect(await refusal(enroll({ url: orch.url, token: 'nope', stateDir: tmp(), log }))).toMatch(/^WARPC0234: the orchestrator refused the enrollment \(HTTP 401: unauthorized: unknown or expired enrollment token\)/);
    expect(await refusal(enroll({ url: 'http://127.0.0.1:1', token: 't', stateDir: tmp(), log }))).toMatch(/^WARPC0249: "http:\/\/127.0.0.1:1" is not an orchestrator URL: orchestrators speak HTTPS only/);
    expect(await refusal(enroll({ url: 'https://127.0.0.1:1', token: 't', stateDir: tmp(), log }))).toMatch(/^WARPC0233: cannot reach the orchestrator at https:\/\/127.0.0.1:1: .*ECONNREFUSED/);
  });
});

describe('the follower', () => {
  it('fetches, verifies and stores the bundle; a second ask is unchanged; a long-poll wakes on publish', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const f = new Follower(reg, { stateDir: d, root: '/', log }, null);
    const ctl = new AbortController();
    const dir = await f.poll(0, ctl.signal);
    expect(typeof dir).toBe('string');
    expect(existsSync(join(dir as string, 'settings.json'))).toBe(true);
    await f.committed();
    expect(await readCurrentVersion(d)).toBe(f.running);
    expect(await f.poll(0, ctl.signal)).toBeNull();
    const t0 = Date.now();
    const waiting = f.poll(10, ctl.signal);
    setTimeout(() => orch.publish(profile('include-only')), 200);
    const next = await waiting;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(next).toMatch(/bundles\/\d+\/linux$/);
  });

  it('a tampered bundle and a replayed older one are refused and current stays; revocation is reported as such', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const f = new Follower(reg, { stateDir: d, root: '/', log }, null);
    const sig = new AbortController().signal;
    await f.poll(0, sig);
    await f.committed();
    const running = f.running as number;
    orch.publish(profile('corporate-exclude'));
    orch.mangle = (r) => {
      const files = { ...r.files };
      const b = Buffer.from(files['linux/ruleset.nft']!, 'base64');
      b[b.length - 3] = (b[b.length - 3] as number) ^ 1;
      files['linux/ruleset.nft'] = b.toString('base64');
      return { ...r, files };
    };
    expect(await refusal(f.poll(0, sig))).toMatch(/^WARPC0240: bundle refused: file linux\/ruleset.nft: sha256/);
    orch.mangle = (_r, dev) => orch.bundleFor(dev.id, 1);
    expect(await refusal(f.poll(0, sig))).toMatch(new RegExp(`^WARPC0238: bundle refused: version 1 is older than version ${running}`));
    orch.mangle = null;
    expect(await readCurrentVersion(d)).toBe(running);
    orch.revoke(reg.id);
    expect(await f.poll(0, sig)).toEqual({ revoked: 401 });
    expect((await f.markRevoked(401)).message).toMatch(/^WARPC0243: .*no longer accepts registration .* \(HTTP 401\): revoked/);
  });

  it('asks for gzip and verifies the decompressed bundle; a gzip answer that is corrupt, inflates past the size limit or has an unknown encoding is refused and current stays', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const f = new Follower(reg, { stateDir: d, root: '/', log }, null);
    const sig = new AbortController().signal;
    const n = orch.bundleEncodings.length;
    expect(await f.poll(0, sig)).toMatch(/bundles\/\d+\/linux$/);
    expect(orch.bundleEncodings.slice(n)).toEqual(['gzip']);
    await f.committed();
    const running = f.running as number;
    orch.publish(profile('include-only'));
    const fails = async (encode: (json: Buffer) => { encoding: string; bytes: Buffer }, what: RegExp): Promise<void> => {
      orch.encode = encode;
      try {
        const e = await f.poll(0, sig).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(AgentError);
        expect((e as Error).message).toMatch(what);
      } finally {
        orch.encode = null;
      }
    };
    const corrupt = (j: Buffer): { encoding: string; bytes: Buffer } => {
      const z = gzipSync(j);
      z.writeUInt8(z.readUInt8(z.length - 8) ^ 1, z.length - 8);
      return { encoding: 'gzip', bytes: z };
    };
    await fails(corrupt, /gzip answer does not decompress/);
    // 17 MB of JSON whitespace: a few KB on the wire, over the 16 MB a body may have.
    await fails((j) => ({ encoding: 'gzip', bytes: gzipSync(Buffer.concat([j.subarray(0, -1), Buffer.alloc(17 * 1024 * 1024, ' '), j.subarray(-1)])) }), /gzip answer does not decompress/);
    await fails((j) => ({ encoding: 'br', bytes: j }), /content-encoding "br" is not one this agent reads/);
    expect(await readCurrentVersion(d)).toBe(running);
    // The same answer uncompressed (an orchestrator that ignores Accept-Encoding) is fine.
    orch.encode = (j) => ({ encoding: 'identity', bytes: j });
    try {
      expect(await f.poll(0, sig)).toMatch(/bundles\/\d+\/linux$/);
    } finally {
      orch.encode = null;
    }
  });

  it('a changed orchestrator certificate after enrollment is refused on every request, naming both keys', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const impostor = await startFakeOrchestrator();
    try {
      await writeRegistration(d, { ...reg, orchestrator: impostor.url });
      const f = new Follower((await readRegistration(d))!, { stateDir: d, root: '/', log }, null);
      expect(await refusal(f.poll(0, new AbortController().signal))).toBe(
        `WARPC0232: the orchestrator at ${impostor.url} presented a certificate with key sha256/${impostor.tlsPin}, but this device pinned sha256/${orch.tlsPin}: refusing to talk to it (if its certificate really changed, unenroll and enroll again with --pin)`,
      );
      expect(impostor.requests).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  it('reports posture; the override is the registration; backoff grows, is capped and jittered', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const f = new Follower(reg, { stateDir: d, root: '/', log }, null);
    expect(await f.reportPosture(true, new AbortController().signal)).toBeNull();
    expect(orch.devices.get(reg.id)!.posture[0]).toMatchObject({ firewall: true, checks: { warpc_agent: true } });
    expect(overrideOf(reg)).toEqual({ interface: { ipv4: reg.addresses.v4, ipv6: reg.addresses.v6 }, peer: { public_key: orch.gatewayPeer.public_key, endpoint: orch.gatewayPeer.endpoint }, bypass: ['192.0.2.1'] });
    // The orchestrator's own addresses join the gateway's, once each.
    expect(overrideOf(reg, ['127.0.0.1', '192.0.2.1']).bypass).toEqual(['127.0.0.1', '192.0.2.1']);
    expect(await orchestratorAddresses(orch.url)).toEqual([new URL(orch.url).hostname]);
    expect(await orchestratorAddresses('https://[2001:db8::5]:8443')).toEqual(['2001:db8::5']);
    expect(await orchestratorAddresses('https://localhost:8443')).toEqual(expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]));
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 1000, 5000, () => 0.5))).toEqual([1000, 2000, 4000, 5000]);
    expect(backoffMs(10, 1000, 5000, () => 0)).toBe(2500);
    expect(backoffMs(10, 1000, 5000, () => 0.999)).toBe(7495);
  });
});

describe('warpc unenroll', () => {
  it('deletes the registration on the server, then the local state', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    const r = await unenroll(d, log);
    expect(r.serverDeleted).toBe(true);
    expect(orch.devices.get(reg.id)!.revoked).toBe(true);
    expect(r.removed).toEqual(expect.arrayContaining(['registration.json', 'private.key']));
    expect(existsSync(join(d, 'registration.json'))).toBe(false);
    expect(await refusal(unenroll(d, log))).toMatch(/^WARPC0230: .* holds no registration/);
  });

  it('with the orchestrator unreachable it removes the local state and says the server still has the device', async () => {
    const d = tmp();
    const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir: d, log });
    await writeRegistration(d, { ...reg, orchestrator: 'https://127.0.0.1:1' });
    const seen: string[] = [];
    const r = await unenroll(d, (m) => void seen.push(m));
    expect(r.serverDeleted).toBe(false);
    expect(seen.join('\n')).toMatch(new RegExp(`WARPC0247: the orchestrator at https://127.0.0.1:1 could not be reached \\(.*ECONNREFUSED.*\\): the local registration is removed, but device ${reg.id} stays registered there until an admin revokes it`));
    expect(existsSync(join(d, 'registration.json'))).toBe(false);
  });

  it('clock skew: a device whose clock is days off still talks to its pinned orchestrator (the pin, not the clock, decides; bundle order is by version)', async () => {
    const day = 86_400_000;
    for (const [from, to] of [[Date.now() + 2 * day, Date.now() + 30 * day], [Date.now() - 30 * day, Date.now() - 2 * day]] as const) {
      const skewed = await startFakeOrchestrator({ validFrom: new Date(from), validTo: new Date(to) });
      try {
        skewed.publish(profile('corporate-exclude'));
        const d = tmp();
        const reg = await enroll({ url: skewed.url, token: skewed.enrollToken, stateDir: d, log });
        const f = new Follower(reg, { stateDir: d, root: '/', log }, null);
        expect(await f.poll(0, new AbortController().signal)).toMatch(/bundles\/1\/linux$/);
      } finally {
        await skewed.close();
      }
    }
  });
});
