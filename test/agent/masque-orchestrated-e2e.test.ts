/**
 * MASQUE through the orchestrator, end to end in network namespaces (issue #15 point 4), with the
 * real parts and no clients file anywhere:
 *
 *   dev 192.168.50.2 ── rtr ── gw 198.51.100.1: warpc orchestrator serve :8443
 *                                 (--gateway-masque-endpoint/--gateway-masque-pin),
 *                               warpc gateway --masque-listen :443 --orchestrator (no --masque-clients)
 *                                 ── app 203.0.113.10
 *
 * One device enrolls; the admin sets the default profile's tunnel_protocol to masque through the
 * admin API (Cloudflare shape); `warpc up` on the state dir registers the device's MASQUE key
 * (PATCH /v0/reg/{id}), the gateway learns its pin from the peer list and accepts it, and the
 * device reaches the app through MASQUE with its registered address. A switch back to WireGuard is
 * not applied live (the device stays on MASQUE, once refused). Then the device is revoked:
 * the gateway closes its session and the device's namespace is as before; the host is untouched.
 */
import { type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../../src/runtime/masque/cert.js';
import { describeE2E } from '../helpers/e2e.js';
import { ADDR, buildTopology, CLI, destroyTopology, deviceState, E2E_TOOLS, freshRoot, LOADER, rootState, startAgent, stopLeftoverAgents, uniq, warpc, type Agent, type Topology } from '../runtime/helpers/topology.js';

const ORCH = `https://${ADDR.gw}:8443`;
const LANS = [{ address: '10.0.0.0/8' }, { address: '172.16.0.0/12' }, { address: '192.168.0.0/16' }];

describeE2E('MASQUE through the orchestrator (namespaces, warpc orchestrator serve, warpc gateway --orchestrator, warpc up)', E2E_TOOLS, () => {
  let t: Topology;
  let hostBefore: Record<string, string>;
  let serve: ChildProcess;
  let serveLog = '';
  let serveOut = '';
  let gateway: ChildProcess;
  let gatewayLog = '';
  let admin = '';
  let data: string;
  let gwState: string;
  let serverPin: string;
  let root: string;
  let stateDir: string;
  let before: Record<string, string>;
  let agent: Agent | null = null;

  const until = async (what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n--- orchestrator:\n${serveLog.slice(-3000)}\n--- gateway:\n${gatewayLog.slice(-3000)}\n--- agent:\n${agent?.log().slice(-6000) ?? ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const cli = (args: readonly string[], env: Record<string, string> = {}): ChildProcess => t.gw.spawn(process.execPath, ['--import', LOADER, CLI, ...args], { env: { ...process.env, ...env } });
  /** One admin API call, inside the gateway namespace (as an admin's curl would); the parsed envelope. */
  const api = async (method: string, path: string, body?: unknown): Promise<{ success: boolean; result: unknown }> => {
    const r = await t.gw.run('curl', ['-sS', '--cacert', join(data, 'ca.pem'), '-X', method, '-H', `Authorization: Bearer ${admin}`, '-H', 'content-type: application/json', ...(body !== undefined ? ['--data-binary', '@-'] : []), `${ORCH}/client/v4/accounts/e2e${path}`], body !== undefined ? { input: JSON.stringify(body) } : {});
    const env = JSON.parse(r.stdout) as { success: boolean; result: unknown };
    expect(env.success, `${method} ${path}: ${r.stdout}`).toBe(true);
    return env;
  };
  const token = async (kind: 'enroll' | 'gateway'): Promise<string> => {
    const r = await warpc(t.gw, ['orchestrator', 'token', 'create', `--${kind}`, '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const curlApp = async (): Promise<string> => (await t.dev.tryRun('curl', ['-s', '-m', '3', `http://${ADDR.app}:8080/`])).stdout.trim();

  beforeAll(async () => {
    hostBefore = await rootState();
    t = await buildTopology();
    data = join(t.tmp, 'orch');
    gwState = join(t.tmp, 'gw-state');
    // The gateway's MASQUE identity, as warpc gateway makes it (it loads this one): its pin goes to serve.
    serverPin = `sha256/${(await loadOrCreateIdentity(gwState, { usage: 'server', commonName: 'warpc gateway' })).pin}`;
    serve = cli(['orchestrator', 'serve', '--data', data, '--listen', `${ADDR.gw}:8443`, '--hostname', ADDR.gw, '--pool-v4', '100.96.0.0/24', '--gateway-masque-endpoint', `${ADDR.gw}:443`, '--gateway-masque-pin', serverPin]);
    serve.stdout?.on('data', (d: Buffer) => (serveOut += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    await until('the orchestrator listens', async () => /listening on https:\/\//.test(serveLog) && /^wpa_\S+\n/.test(serveOut), 60_000);
    admin = serveOut.trim().split('\n')[0]!;
    const gwToken = await token('gateway');
    gateway = cli(['gateway', '--masque-listen', `${ADDR.gw}:443`, '--orchestrator', ORCH, '--token', gwToken, '--ca', join(data, 'ca.pem'), '--state-dir', gwState, '--tun', uniq('mqo')], { WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' });
    gateway.stderr?.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    gateway.stdout?.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    await until('the gateway listens and has heard the orchestrator', async () => /listening on .*clients from the orchestrator's device list/.test(gatewayLog) && /MASQUE clients at version \d+: 0 device/.test(gatewayLog), 60_000);
    expect(gatewayLog).toContain(`server key pin: ${serverPin}`);
    ({ root, stateDir } = await freshRoot(t, 'orch-masque'));
  }, 180_000);

  afterAll(async () => {
    if (t) await stopLeftoverAgents(t);
    for (const c of [gateway, serve]) {
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        process.kill(c.pid as number, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
    }
    await destroyTopology(t);
    expect(await rootState()).toEqual(hostBefore);
  }, 60_000);

  it('the admin sets tunnel_protocol masque; the enrolled device registers its MASQUE key and reaches the app through MASQUE, accepted by a gateway with no clients file', async () => {
    before = await deviceState(t, root);
    const enroll = await warpc(t.dev, ['enroll', ORCH, '--token', await token('enroll'), '--ca', join(data, 'ca.pem'), '--state-dir', stateDir]);
    expect(enroll.code, enroll.stderr).toBe(0);
    const reg = JSON.parse(await readFile(join(stateDir, 'registration.json'), 'utf8')) as { id: string; addresses: { v4: string }; peers: unknown[] };
    expect(reg.peers).toEqual([{ tunnel_type: 'masque', public_key: serverPin, endpoint: { v4: `${ADDR.gw}:443` } }]);
    // The admin's policy, through the admin API in Cloudflare's shape.
    await api('PUT', '/devices/policy/exclude', LANS);
    await api('PATCH', '/devices/policy', { tunnel_protocol: 'masque' });
    expect(((await api('GET', `/devices/${reg.id}`)).result as { masque: unknown }).masque).toBeNull();

    agent = await startAgent(t, ['up', '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem], { WARPC_FOLLOW_WAIT: '10', WARPC_FOLLOW_BACKOFF_MS: '500' });
    await until('the device reaches the app through MASQUE with its registered address', async () => (await curlApp()) === `app 8080 sees ${reg.addresses.v4}`, 120_000);
    const device = await loadOrCreateIdentity(stateDir, { usage: 'client' });
    expect(agent.log()).toContain(`registered the device's MASQUE key sha256/${device.pin}`);
    expect(((await api('GET', `/devices/${reg.id}`)).result as { masque: { pin: string } }).masque.pin).toBe(`sha256/${device.pin}`);
    expect(gatewayLog).toMatch(/MASQUE clients at version \d+: 1 device\(s\) with a MASQUE key/);
    expect(gatewayLog).toContain(`MASQUE session from ${ADDR.dev}: device ${reg.id} (sha256/${device.pin})`);
    const st = JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as Record<string, unknown>;
    expect(JSON.stringify(st)).toMatch(/"protocol":"masque"/);
    // The tunnel runs over TCP 443 to the gateway, which stays outside the tunnel.
    expect((await t.dev.run('ip', ['-4', 'route', 'get', ADDR.gw])).stdout).toMatch(/dev eth0/);
  }, 240_000);

  it('back to WireGuard through the admin API: the live apply does not switch protocols (WARPC0266), the device stays on MASQUE and does not ask again', async () => {
    const versionBefore = (JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as { orchestration: { bundle_version: number } }).orchestration.bundle_version;
    await api('PATCH', '/devices/policy', { tunnel_protocol: 'wireguard' });
    await until('the agent refuses the switch', async () => /WARPC0266: bundle \d+ runs the tunnel over WireGuard and the device runs MASQUE/.test(agent!.log()), 30_000);
    const reg = JSON.parse(await readFile(join(stateDir, 'registration.json'), 'utf8')) as { addresses: { v4: string } };
    expect(await curlApp()).toBe(`app 8080 sees ${reg.addresses.v4}`);
    // No loop: one refusal, and the bundle it runs is the one before.
    await new Promise((r) => setTimeout(r, 3000));
    expect(agent!.log().match(/WARPC0266/g)).toHaveLength(1);
    const st = JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as { orchestration: { bundle_version: number; last_error: string } };
    expect(st.orchestration.bundle_version).toBe(versionBefore);
    expect(st.orchestration.last_error).toMatch(/^WARPC0266/);
  }, 90_000);

  it('the device revoked: the gateway closes its MASQUE session and refuses the key; the device goes down, its namespace as before', async () => {
    const reg = JSON.parse(await readFile(join(stateDir, 'registration.json'), 'utf8')) as { id: string };
    await api('POST', '/devices/revoke', [reg.id]);
    await until('the gateway closes the session', async () => gatewayLog.includes(`closing the MASQUE session of device ${reg.id}`), 30_000);
    expect(gatewayLog).toMatch(/MASQUE clients at version \d+: 0 device\(s\)/);
    const done = await Promise.race([agent!.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(done, agent!.log()).not.toBeNull();
    expect(agent!.log()).toMatch(/WARPC0243/);
    expect(await deviceState(t, root)).toEqual(before);
  }, 90_000);
});
