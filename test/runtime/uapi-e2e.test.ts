/**
 * The WireGuard UAPI socket folder (/var/run/wireguard) is shared by every
 * network namespace. A socket left by a crashed wireguard-go is removed and
 * `up` waits until the new one accepts; a socket a live wireguard-go (another
 * agent, another namespace) serves is a clear error naming it, and that
 * wireguard-go is left untouched.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { RecordingExecutor, type SpawnedProcess } from '../../src/runtime/exec.js';
import { startTunnel } from '../../src/runtime/linux/link.js';
import { buildTopology, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, profileYaml, startAgent, stopLeftoverAgents, warpc, type Topology } from './helpers/topology.js';

describeE2E('warpc and the shared UAPI socket folder (namespaces)', E2E_TOOLS, () => {
  let t: Topology;
  let linuxDir: string;
  beforeAll(async () => {
    t = await buildTopology();
    linuxDir = await compileProfile(t, profileYaml(t));
  });
  afterEach(async () => {
    if (t) await stopLeftoverAgents(t);
  });
  afterAll(async () => {
    await destroyTopology(t);
  });

  const sock = (): string => `/var/run/wireguard/${t.devIf}.sock`;

  /** Start wireguard-go for the device's interface name in `ns`; resolves when its socket accepts. */
  async function otherWireguard(ns: Topology['app']): Promise<import('node:child_process').ChildProcess> {
    const child = ns.spawn('wireguard-go', ['-f', t.devIf], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' } });
    for (let i = 0; i < 200; i++) {
      if ((await ns.tryRun('wg', ['show', t.devIf])).code === 0) return child;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('wireguard-go did not come up');
  }

  it('up waits until the UAPI socket accepts, not until a file exists: a stale socket is removed first (deterministic: the daemon binds 300 ms late)', async () => {
    const ifname = `wqs${Math.random().toString(16).slice(2, 8)}`;
    const path = `/var/run/wireguard/${ifname}.sock`;
    await mkdir('/var/run/wireguard', { recursive: true });
    // A stale socket: bound by a process that was then killed.
    const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((r) => stale.once('exit', r));
    expect((await lstat(path)).isSocket()).toBe(true);
    // A stand-in daemon that binds late and answers every UAPI request with errno=0.
    const daemon = `const fs=require('fs'),net=require('net');setTimeout(()=>{try{fs.unlinkSync(${JSON.stringify(path)})}catch{}net.createServer(c=>{c.on('data',d=>{if(String(d).endsWith('\\n\\n'))c.end('errno=0\\n\\n')})}).listen(${JSON.stringify(path)})},300)`;
    const state = await mkdtemp(join(tmpdir(), 'warpc-uapi-'));
    let child: import('node:child_process').ChildProcess | null = null;
    class LateDaemon extends RecordingExecutor {
      override async spawn(): Promise<SpawnedProcess> {
        const c = spawn(process.execPath, ['-e', daemon], { stdio: 'ignore' });
        child = c;
        return { pid: c.pid!, exited: new Promise((r) => c.once('exit', (code) => r(code ?? 'signal'))), kill: () => c.kill() };
      }
    }
    const exec = new LateDaemon(state, state).respond((cmd, args) => (cmd === 'ip' && args.includes('wireguard') ? { code: 2, stderr: 'Error: Unknown device type.' } : undefined));
    const key = 'd2FycGMgdGVzdCBrZXkgd2FycGMgdGVzdCBrZXkgMzI=';
    try {
      const h = await startTunnel(exec, { ifname, ipv4: '172.16.0.2', ipv6: null, mtu: 1280, privateKey: key, conf: { fwmark: null, listenPort: null, peers: [{ publicKey: key, endpoint: '192.0.2.1:2408', allowedIps: ['0.0.0.0/0'], persistentKeepalive: null }] } }, async () => undefined);
      expect(h.backend).toBe('wireguard-go');
      expect(exec.lines()).toContain(`ip link set dev ${ifname} mtu 1280 up`);
    } finally {
      (child as import('node:child_process').ChildProcess | null)?.kill('SIGKILL');
      await rm(path, { force: true });
      await rm(state, { recursive: true, force: true });
    }
  }, 180_000);

  it('a stale UAPI socket left by a killed wireguard-go is replaced, and up succeeds the first time', async () => {
    const wg = await otherWireguard(t.dev);
    wg.kill('SIGKILL');
    await new Promise((r) => wg.once('exit', r));
    expect((await lstat(sock())).isSocket()).toBe(true);
    const { root, stateDir } = await freshRoot(t, 'stale');
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
    await access(sock(), constants.F_OK).then(() => expect.fail('socket left behind'), () => undefined);
  }, 180_000);

  it('a live wireguard-go of the same interface name in another namespace: a clear error naming it, nothing changed, its peers untouched', async () => {
    const other = await otherWireguard(t.app);
    try {
      const { root, stateDir } = await freshRoot(t, 'shared');
      const before = await deviceState(t, root);
      const r = await warpc(t.dev, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`UAPI socket ${sock()} for interface ${t.devIf} is in use by wireguard-go pid ${other.pid}`);
      expect(r.stderr).toMatch(/in network namespace net:\[\d+\]/);
      expect(r.stderr).toMatch(/nothing was changed/);
      expect(await deviceState(t, root)).toEqual(before);
      // The other agent's tunnel was not configured by us.
      const shown = (await t.app.run('wg', ['show', t.devIf, 'dump'])).stdout.trim().split('\n');
      expect(shown).toHaveLength(1);
      expect(shown[0]!.split('\t')[0]).toBe('(none)');
    } finally {
      other.kill('SIGTERM');
      await new Promise((r) => (other.exitCode !== null ? r(null) : other.once('exit', r)));
    }
  }, 180_000);
});
