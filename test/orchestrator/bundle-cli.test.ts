/**
 * The orchestrator with the real commands on both sides, on SQLite and PostgreSQL:
 * `warpc export --format cloudflare-api` requests are sent to its admin API as they are;
 * a device's fetched bundle verifies against the orchestrator's public key, and its files are
 * byte-identical to `warpc compile --target <os>` of the profile `warpc import` makes from the
 * API's own responses (the profile that device's identity selects). And: two orchestrator
 * processes on one PostgreSQL — a change through one wakes a device waiting on the other.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createToken } from '../../src/orchestrator/admin.js';
import { describeStores } from '../helpers/stores.js';
import { ADMIN, startHarness, type Harness } from './harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ACCOUNT = join(ROOT, 'fixtures', 'import', 'tf-v5-plan', 'expected');

function warpc(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`warpc ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describeStores('orchestrator with warpc export, import and compile', (f) => {
  let h: Harness;
  const tmp = mkdtempSync(join(tmpdir(), 'warpc-orch-cli-'));
  beforeAll(async () => {
    if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    h = await startHarness(await f.open());
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('takes every request of `warpc export --format cloudflare-api` as it is', async () => {
    const exported = JSON.parse(warpc(['export', ACCOUNT, '--format', 'cloudflare-api'])) as { base: string; requests: { method: string; path: string; body: unknown }[] };
    expect(exported.requests.length).toBeGreaterThan(4);
    for (const r of exported.requests) {
      const reply = await h.call(r.method, `${ADMIN}${r.path}`, { token: h.admin, body: r.body });
      expect([reply.status, r.method, r.path, reply.json.errors]).toEqual([200, r.method, r.path, []]);
    }
    const custom = (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).json.result;
    expect(custom.map((p: { name: string }) => p.name).sort()).toEqual(['Legacy VPN pilot', 'Lobby kiosks', 'Sales laptops']);
  });

  for (const os of ['linux', 'windows', 'macos'] as const) {
    it(`a fetched ${os} bundle verifies, and equals warpc compile of the profile warpc import makes of the API's responses`, async () => {
      // Sales laptops: identity.email == "hank.scorpio@globex.example"
      const enroll = await createToken(h.store, { kind: 'enroll', label: 'hank', expiresAt: null, maxUses: null, identity: { email: 'hank.scorpio@globex.example' } }, 'test');
      const reg = await h.call('POST', '/v0/reg', { token: enroll.token, body: { key: Buffer.alloc(32, 3).toString('base64'), key_type: 'curve25519', tunnel_type: 'wireguard', install_id: `hank-laptop-${os}`, model: 'm', os_name: os, os_version: '1', serial_number: 's' } });
      expect(reg.status).toBe(201);
      const b = await h.call('GET', `/v0/reg/${reg.json.id}/bundle?os=${os}`, { token: reg.json.token });
      expect(b.status).toBe(200);
      const statement = Buffer.from(b.json.statement, 'base64');
      expect(verify(null, statement, createPublicKey(reg.json.bundle_key.pem), Buffer.from(b.json.signature, 'base64'))).toBe(true);
      const st = JSON.parse(statement.toString('utf8'));
      expect(createHash('sha256').update(Buffer.from(b.json.files['manifest.json'], 'base64')).digest('hex')).toBe(st.manifest_sha256);

      // The admin API's responses, as files, through `warpc import`.
      const dir = join(tmp, `${f.name}-${os}`);
      const exportDir = join(dir, 'export');
      execFileSync('mkdir', ['-p', exportDir]);
      writeFileSync(join(exportDir, 'default.json'), (await h.call('GET', `${ADMIN}/devices/policy`, { token: h.admin })).text);
      writeFileSync(join(exportDir, 'policies.json'), (await h.call('GET', `${ADMIN}/devices/policies`, { token: h.admin })).text);
      warpc(['import', exportDir, '--out', join(dir, 'profiles')]);
      const index = readFileSync(join(dir, 'profiles', 'index.yaml'), 'utf8');
      const line = index.split('\n').find((l) => l.includes(st.profile.id))!;
      expect(line).toContain('Sales laptops');
      const file = /file: ([^,]+),/.exec(line)![1]!;
      warpc(['compile', join(dir, 'profiles', file), '--target', os, '--out', join(dir, 'compiled')]);
      const compiled = filesUnder(join(dir, 'compiled'));
      const bundle = new Map(Object.entries(b.json.files as Record<string, string>).map(([p, v]) => [p, Buffer.from(v, 'base64')]));
      expect([...bundle.keys()].sort()).toEqual([...compiled.keys()].sort());
      for (const [p, bytes] of compiled) expect(bundle.get(p)!.equals(bytes), p).toBe(true);
    });
  }

  // One SQLite file serves one process; several share a PostgreSQL database: only there is this a case.
  if (f.name === 'postgres')
    it('two orchestrators on one database: a change through one wakes a device waiting on the other', async () => {
    const other = await startHarness(await f.reopen(h.store));
    try {
      const d = await h.register();
      const first = await other.call('GET', `/v0/reg/${d.id}/bundle?os=linux`, { token: d.token });
      expect(first.status).toBe(200);
      const waiting = other.call('GET', `/v0/reg/${d.id}/bundle?os=linux&wait=30`, { token: d.token, headers: { 'if-none-match': first.headers['etag'] as string } });
      for (let i = 0; other.orch.device.waiting === 0 && i < 250; i++) await new Promise((r) => setTimeout(r, 20));
      expect(other.orch.device.waiting).toBe(1);
      const t0 = Date.now();
      const put = await h.call('PUT', `${ADMIN}/devices/policy/exclude`, { token: h.admin, body: [{ address: '198.51.100.0/24', description: 'changed on the first process' }] });
      expect(put.status).toBe(200);
      const woke = await waiting;
      expect(woke.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
      const v = (x: { json: { statement: string } }): number => JSON.parse(Buffer.from(x.json.statement, 'base64').toString('utf8')).version;
      expect(v(woke)).toBeGreaterThan(v(first));
    } finally {
      await other.close();
    }
  });
});
