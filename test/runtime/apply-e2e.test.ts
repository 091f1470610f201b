/**
 * `warpc apply` against a running agent (namespaces): a prefix moved from the
 * tunnel to direct and a new fallback suffix are applied while `ping -i 0.01`
 * runs through the tunnel and a DNS query loop runs through the proxy: zero
 * pings lost, zero queries failed, and the moved prefix is routed directly as
 * soon as `apply` returns. A failed step rolls back to the running plan
 * exactly; `--timeout` without `confirm` rolls back; a malformed control
 * request changes nothing; `status` shows the running and previous plan.
 */
import { createConnection } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { addDevicePeer, ADDR, buildTopology, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, profileYaml, startAgent, stopLeftoverAgents, warpc, type Agent, type Topology } from './helpers/topology.js';

/** A DNS loop inside the device namespace: one query at a time, alternating names; prints "ok=N failed=M". */
const DNS_LOOP = `
const dgram = require('dgram');
const [server, seconds, ...names] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let ok = 0, failed = 0, i = 0; const fails = [];
const end = Date.now() + Number(seconds) * 1000;
function q(name, id) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
function next() {
  if (Date.now() > end) { console.log('ok=' + ok + ' failed=' + failed + ' ' + fails.slice(0, 5).join(',')); process.exit(0); }
  const id = (i++) & 0xffff; const name = names[i % names.length];
  const timer = setTimeout(() => { failed++; fails.push(name + ':timeout'); s.removeAllListeners('message'); setTimeout(next, 10); }, 2000);
  s.removeAllListeners('message');
  s.on('message', (m) => {
    if (m.readUInt16BE(0) !== id) return;
    clearTimeout(timer);
    const rcode = m[3] & 15, an = m.readUInt16BE(6);
    if (rcode === 0 && an > 0) ok++; else { failed++; fails.push(name + ':rcode' + rcode); }
    setTimeout(next, 10);
  });
  s.send(q(name, id), 53, server);
}
next();
`;

describeE2E('warpc apply (namespaces)', E2E_TOOLS, () => {
  let t: Topology;
  let planA: string;
  let planB: string;
  let planC: string;
  beforeAll(async () => {
    t = await buildTopology();
    const base = profileYaml(t);
    planA = await compileProfile(t, base, 'plan-a');
    // B: 198.19.0.0/24 moves from the tunnel to direct.
    const moved = base.replace('    - { host: "*.cdn.example.com"', '    - { address: 198.19.0.0/24, description: moved direct }\n    - { host: "*.cdn.example.com"');
    expect(moved).not.toBe(base);
    planB = await compileProfile(t, moved, 'plan-b');
    // C: B plus a fallback suffix (blocked.example.com now asks the corp resolver, not DoH).
    const suffix = moved.replace('fallback_domains:\n', `fallback_domains:\n  - { suffix: blocked.example.com, dns_server: [${ADDR.corp}], description: added live }\n`);
    expect(suffix).not.toBe(moved);
    planC = await compileProfile(t, suffix, 'plan-c');
  });
  afterEach(async () => {
    if (t) await stopLeftoverAgents(t);
  });
  afterAll(async () => {
    await destroyTopology(t);
  });

  async function running(label: string, env: Record<string, string> = {}): Promise<{ agent: Agent; root: string; stateDir: string; before: Record<string, string> }> {
    const { root, stateDir } = await freshRoot(t, label);
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['up', planA, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem], env);
    expect(agent.log()).toMatch(/warpc: up: /);
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    await addDevicePeer(t, (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim());
    return { agent, root, stateDir, before };
  }
  const sha = async (dir: string): Promise<string> => (await import('node:crypto')).createHash('sha256').update(await readFile(join(dir, '..', 'manifest.json'))).digest('hex');
  const status = async (stateDir: string): Promise<Record<string, unknown>> => JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as Record<string, unknown>;

  it('moves a prefix from the tunnel to direct and adds a fallback suffix with zero pings lost and zero DNS queries failed', async () => {
    const { agent, root, stateDir, before } = await running('zero-loss');
    expect((await t.dev.run('ip', ['route', 'get', ADDR.cdn])).stdout).toMatch(new RegExp(`dev ${t.devIf}`));
    expect((await t.dev.run('dig', ['+time=5', '@127.0.2.2', 'blocked.example.com'])).stdout).toMatch(/status: NXDOMAIN/);
    const ping = t.dev.run('ping', ['-q', '-i', '0.01', '-c', '700', '-W', '1', ADDR.app], { timeoutMs: 60_000 });
    const dns = t.dev.run(process.execPath, ['-e', DNS_LOOP, '127.0.2.2', '7', 'app.example.com', 'intranet.corp.example.net'], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const b = await warpc(t.dev, ['apply', planB, '--state-dir', stateDir]);
    expect(b.code, b.stderr + agent.log()).toBe(0);
    // Routed the new way as soon as apply returns, and no longer held back by the leak guard.
    expect((await t.dev.run('ip', ['route', 'get', ADDR.cdn])).stdout).toMatch(/dev eth0/);
    expect((await t.dev.tryRun('ping', ['-c', '1', '-W', '2', ADDR.cdn])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const c = await warpc(t.dev, ['apply', planC, '--state-dir', stateDir]);
    expect(c.code, c.stderr + agent.log()).toBe(0);
    expect(c.stderr).toMatch(/DNS proxy reconfigured in place \(\d+ cached answers dropped\)/);
    // The new suffix goes to its resolver (which does not know the name), not to DoH any more.
    expect((await t.dev.run('dig', ['+time=5', '@127.0.2.2', 'blocked.example.com'])).stdout).not.toMatch(/status: NXDOMAIN/);
    const pinged = (await ping).stdout;
    const looped = (await dns).stdout;
    expect(pinged, pinged).toMatch(/700 packets transmitted, 700 received, 0% packet loss/);
    expect(looped, looped).toMatch(/ok=[1-9]\d* failed=0 /);
    const s = await status(stateDir);
    expect(s).toMatchObject({ manifest_sha256: await sha(planC), previous: { manifest_sha256: await sha(planB), compiled_dir: planB } });
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  }, 180_000);

  for (const step of ['tunnel', 'routes', 'firewall', 'proxy']) {
    it(`a step that fails after "${step}" rolls back to the running plan exactly`, async () => {
      const { agent, root, stateDir, before } = await running(`fail-${step}`, { WARPC_APPLY_FAIL_AFTER: step });
      const onA = await deviceState(t, root);
      const r = await warpc(t.dev, ['apply', planC, '--state-dir', stateDir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`injected failure after step ${step}`));
      expect(r.stderr).toMatch(/rolled back: the device runs plan [0-9a-f]{12} again, exactly as before/);
      expect(await deviceState(t, root)).toEqual(onA);
      expect((await t.dev.run('dig', ['+time=5', '@127.0.2.2', 'blocked.example.com'])).stdout).toMatch(/status: NXDOMAIN/);
      expect((await status(stateDir))['manifest_sha256']).toBe(await sha(planA));
      expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
      expect((await agent.exited).code).toBe(0);
      expect(await deviceState(t, root)).toEqual(before);
    }, 180_000);
  }

  it('apply --timeout rolls back unless warpc confirm comes in time; confirm keeps it', async () => {
    const { agent, root, stateDir } = await running('timeout');
    const onA = await deviceState(t, root);
    const r = await warpc(t.dev, ['apply', planB, '--timeout', '2', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rolls back at .* unless warpc confirm/);
    for (let i = 0; i < 100 && (await status(stateDir))['manifest_sha256'] !== (await sha(planA)); i++) await new Promise((res) => setTimeout(res, 100));
    expect(agent.log()).toMatch(/not confirmed by .*: rolling back/);
    expect(await deviceState(t, root)).toEqual(onA);
    // Long enough for apply, status and confirm to run on a loaded CI machine (each is a process start).
    const again = await warpc(t.dev, ['apply', planB, '--timeout', '120', '--state-dir', stateDir]);
    expect(again.code, again.stderr).toBe(0);
    expect((await status(stateDir))['apply_deadline']).not.toBeNull();
    const conf = await warpc(t.dev, ['confirm', '--state-dir', stateDir]);
    expect(conf.code, conf.stderr).toBe(0);
    expect(conf.stderr).toMatch(/confirmed: plan [0-9a-f]{12} stays/);
    expect(await status(stateDir)).toMatchObject({ manifest_sha256: await sha(planB), apply_deadline: null });
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    await agent.exited;
  }, 180_000);

  it('the control socket is 0600 in a 0700 state dir; a malformed or unauthenticated request is refused and changes nothing', async () => {
    const { agent, root, stateDir } = await running('control');
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(stateDir, 'control.sock'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(stateDir, 'control.token'))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    const onA = await deviceState(t, root);
    const token = (await readFile(join(stateDir, 'control.token'), 'utf8')).trim();
    const ask = (line: string): Promise<string> =>
      new Promise((res) => {
        const c = createConnection(join(stateDir, 'control.sock'));
        let out = '';
        c.on('data', (d) => (out += d.toString()));
        c.on('close', () => res(out));
        c.on('connect', () => c.write(line));
      });
    expect(await ask('not json\n')).toMatch(/"ok":false.*malformed request: not JSON; nothing was changed/);
    expect(await ask(`${JSON.stringify({ token, op: 'apply', dir: 'relative/linux' })}\n`)).toMatch(/dir must be an absolute path/);
    expect(await ask(`${JSON.stringify({ token: 'x'.repeat(64), op: 'apply', dir: planB })}\n`)).toMatch(/wrong control token/);
    expect(await ask(`${JSON.stringify({ token, op: 'apply', dir: '/nonexistent/linux' })}\n`)).toMatch(/manifest\.json: missing.*nothing was changed/s);
    expect(await deviceState(t, root)).toEqual(onA);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    await agent.exited;
  }, 180_000);
});
