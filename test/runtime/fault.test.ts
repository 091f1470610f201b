/**
 * Fault injection and the resolv.conf kinds: `up` is killed (SIGKILL) after
 * each step in turn, and `warpc recover` must return the device to exactly the
 * snapshot; the running agent killed with SIGKILL recovers the same way, also
 * through the next `up`. A tampered manifest, a missing tool and a read-only
 * resolv.conf are refused before anything changes; a symlinked or bind-mounted
 * resolv.conf comes back as it was.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat, symlink, writeFile, readdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { STEPS } from '../../src/runtime/linux/journal.js';
import { describeE2E } from '../helpers/e2e.js';
import { addDevicePeer, stopLeftoverAgents, CLI, compileProfile, destroyTopology, deviceState, E2E_TOOLS, freshRoot, LOADER, profileYaml, buildTopology, startAgent, warpc, wgProcesses, REPO, type Topology } from './helpers/topology.js';

describeE2E('warpc fault injection and recovery (namespaces)', E2E_TOOLS, () => {
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

  const socketGone = async (): Promise<boolean> => access(`/var/run/wireguard/${t.devIf}.sock`, constants.F_OK).then(() => false, () => true);

  for (const step of STEPS) {
    it(`killed (SIGKILL) after step "${step}": warpc recover restores the exact snapshot`, async () => {
      const { root, stateDir } = await freshRoot(t, `fault-${step}`);
      const before = await deviceState(t, root);
      const r = await warpc(t.dev, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem], { WARPC_FAULT_AFTER: step });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const crashed = await deviceState(t, root);
      if (STEPS.indexOf(step) >= STEPS.indexOf('routes')) expect(crashed.rules4).not.toBe(before.rules4);
      if (STEPS.indexOf(step) >= STEPS.indexOf('dns')) expect(crashed.resolvBytes).not.toBe(before.resolvBytes);
      const rec = await warpc(t.dev, ['recover', '--state-dir', stateDir]);
      expect(rec.code, rec.stderr).toBe(0);
      expect(await deviceState(t, root)).toEqual(before);
      expect(await wgProcesses(t.devIf)).toEqual([]);
      expect(await socketGone()).toBe(true);
      if (STEPS.indexOf(step) >= STEPS.indexOf('journal')) {
        const j = JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8')) as { state: string; restore: { errors: string[] } };
        expect(j.state).toBe('closed');
        expect(j.restore.errors).toEqual([]);
      } else expect(rec.stderr).toMatch(/nothing to recover/);
    });
  }

  it('the running agent killed with SIGKILL: recover restores the snapshot; a second recover is a no-op', async () => {
    const { root, stateDir } = await freshRoot(t, 'kill9');
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    expect((await warpc(t.dev, ['recover', '--state-dir', stateDir])).stderr).toMatch(/still running/);
    agent.child.kill('SIGKILL');
    // `ip netns exec` passes the signal's effect on: the agent is the exec'd process.
    await agent.exited;
    expect((await deviceState(t, root)).rules4).not.toBe(before.rules4);
    const rec = await warpc(t.dev, ['recover', '--state-dir', stateDir]);
    expect(rec.code, rec.stderr).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
    expect(await wgProcesses(t.devIf)).toEqual([]);
    const again = await warpc(t.dev, ['recover', '--state-dir', stateDir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/journal is closed/);
  });

  it('after a crash, the next warpc up restores the snapshot first, then comes up; down restores it', async () => {
    const { root, stateDir } = await freshRoot(t, 'crash-up');
    const before = await deviceState(t, root);
    const r = await warpc(t.dev, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem], { WARPC_FAULT_AFTER: 'proxy' });
    expect(r.signal).toBe('SIGKILL');
    const agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/found an open journal from pid \d+ .*restoring the device first/);
    expect(agent.log()).toMatch(/warpc: up: /);
    const down = await warpc(t.dev, ['down', '--state-dir', stateDir]);
    expect(down.code, down.stderr).toBe(0);
    expect((await agent.exited).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('SIGTERM to the agent (as systemd stops it) restores the snapshot; NODE_EXTRA_CA_CERTS is trusted for DoH', async () => {
    const { root, stateDir } = await freshRoot(t, 'sigterm');
    const before = await deviceState(t, root);
    // No --doh-ca: the gateway's CA comes the usual Node way.
    const agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root], { NODE_EXTRA_CA_CERTS: t.caPem });
    expect(agent.log()).toMatch(/warpc: up: /);
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    await addDevicePeer(t, (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim());
    expect((await t.dev.run('dig', ['+short', '+time=5', '+tries=2', '@127.0.2.2', 'app.example.com'])).stdout, agent.log()).toBe('203.0.113.10\n');
    const pid = JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8')).pid as number;
    process.kill(pid, 'SIGTERM');
    expect((await agent.exited).code, agent.log()).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('warpc try reverts when nobody confirms within --timeout', async () => {
    const { root, stateDir } = await freshRoot(t, 'try-expire');
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['try', linuxDir, '--timeout', '3', '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/reverting at .* unless confirmed/);
    expect((await deviceState(t, root)).rules4).not.toBe(before.rules4);
    const exit = await agent.exited;
    expect(exit.code).toBe(1);
    expect(agent.log()).toMatch(/not confirmed within 3 s: reverting/);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('warpc try + warpc confirm keeps the configuration until warpc down', async () => {
    const { root, stateDir } = await freshRoot(t, 'try-confirm');
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['try', linuxDir, '--timeout', '20', '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    const c = await warpc(t.dev, ['confirm', '--state-dir', stateDir]);
    expect(c.code, c.stderr).toBe(0);
    expect(agent.log()).toMatch(/confirmed: keeping the configuration/);
    const s = JSON.parse((await warpc(t.dev, ['status', '--state-dir', stateDir, '--format', 'json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ journal_state: 'committed', mode: 'up', try_deadline: null, agent_running: true });
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('include mode: a host entry sends its addresses into the tunnel (route and nft set) as soon as it resolves', async () => {
    const yaml = profileYaml(t)
      .replace(/split_tunnel:[\s\S]*?fallback_domains:/, `split_tunnel:\n  mode: include\n  entries:\n    - { address: 203.0.113.0/24, description: the app network }\n    - { host: "*.cdn.example.com", description: CDN through the tunnel }\nfallback_domains:`);
    expect(yaml).toMatch(/mode: include/);
    const dir = await compileProfile(t, yaml, 'include');
    const { root, stateDir } = await freshRoot(t, 'include');
    const before = await deviceState(t, root);
    const agent = await startAgent(t, ['up', dir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/warpc: up: /);
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    await addDevicePeer(t, (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim());
    // Not in the include list yet: the main table.
    expect((await t.dev.run('ip', ['route', 'get', '198.19.0.7'])).stdout).toMatch(/dev eth0/);
    expect((await t.dev.run('dig', ['+short', '+time=5', '+tries=2', '@127.0.2.2', 'www.cdn.example.com'])).stdout, agent.log()).toBe('198.19.0.7\n');
    expect((await t.dev.run('ip', ['route', 'get', '198.19.0.7'])).stdout).toMatch(new RegExp(`dev ${t.devIf} table 65743`));
    expect((await t.dev.run('nft', ['list', 'set', 'inet', 'cloudflare-warp', 'host_tunnel4'])).stdout).toMatch(/198\.19\.0\.7 timeout/);
    // Bound to the physical interface, it is rejected by the firewall instead of leaking.
    expect((await t.dev.tryRun('ping', ['-c', '1', '-W', '1', '-I', 'eth0', '198.19.0.7'])).code).not.toBe(0);
    expect((await t.dev.run('nft', ['list', 'chain', 'inet', 'cloudflare-warp', 'output'])).stdout).toMatch(/ip daddr @host_tunnel4 counter packets [1-9]/);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await agent.exited).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('service mode 1dot1 (DNS only): no interface, rule or nft table; DNS through DoH; down restores resolv.conf', async () => {
    const dir = await compileProfile(t, profileYaml(t, { serviceMode: '1dot1' }), 'dnsonly');
    const settings = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as { features: Record<string, boolean> };
    expect(settings.features).toMatchObject({ dns: true, tunnel: false, routes: false, firewall: false });
    const { root, stateDir } = await freshRoot(t, 'dnsonly');
    const before = await deviceState(t, root);
    // Without a tunnel the DoH server is reached directly: give the router a path to it for this test.
    await t.rtr.run('ip', ['route', 'add', '203.0.113.0/24', 'via', '198.51.100.1']);
    try {
      const agent = await startAgent(t, ['up', dir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
      expect(agent.log()).toMatch(/warpc: up: 1dot1 mode/);
      const up = await deviceState(t, root);
      expect(up.rules4).toBe(before.rules4);
      expect(up.nft).toBe(before.nft);
      expect(up.links).toBe(before.links);
      expect(up.resolvBytes).not.toBe(before.resolvBytes);
      expect((await t.dev.run('dig', ['+short', '+time=5', '+tries=2', '@127.0.2.2', 'app.example.com'])).stdout, agent.log()).toBe('203.0.113.10\n');
      expect((await t.dev.run('dig', ['+time=5', '@127.0.2.2', 'blocked.example.com'])).stdout).toMatch(/status: NXDOMAIN/);
      expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
      expect((await agent.exited).code).toBe(0);
      expect(await deviceState(t, root)).toEqual(before);
    } finally {
      await t.rtr.run('ip', ['route', 'del', '203.0.113.0/24', 'via', '198.51.100.1']);
    }
  });

  it('a tampered or missing compiled file is refused and nothing changes', async () => {
    const { root, stateDir } = await freshRoot(t, 'tamper');
    const before = await deviceState(t, root);
    const dir = await compileProfile(t, profileYaml(t), 'tampered');
    const batch = join(dir, 'routes4.batch');
    await writeFile(batch, (await readFile(batch, 'utf8')).replace('route add throw 10.0.0.0/8', 'route add throw 11.0.0.0/8'));
    const r = await warpc(t.dev, ['up', dir, '--state-dir', stateDir, '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/routes4\.batch: sha256 [0-9a-f]{64} does not match the manifest/);
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(await deviceState(t, root)).toEqual(before);
    await access(join(stateDir, 'journal.json')).then(() => expect.fail('a journal was written'), () => undefined);
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'ruleset.nft'));
    const r2 = await warpc(t.dev, ['up', dir, '--state-dir', stateDir, '--root', root]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/ruleset\.nft: listed in the manifest but missing/);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('a missing tool is a clear error and nothing changes', async () => {
    const { root, stateDir } = await freshRoot(t, 'notool');
    const before = await deviceState(t, root);
    const bin = await mkdtemp(join(t.tmp, 'bin-'));
    for (const tool of ['ip', 'wireguard-go', 'wg', 'sh']) {
      for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
        if (await access(join(d, tool)).then(() => true, () => false)) {
          await symlink(join(d, tool), join(bin, tool));
          break;
        }
      }
    }
    const r = await warpc(t.dev, ['up', linuxDir, '--state-dir', stateDir, '--root', root], { PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing tools: nft \(Debian: apt-get install nftables\); nothing was changed/);
    expect(await deviceState(t, root)).toEqual(before);
    expect(await readdir(bin)).toContain('ip');
  });

  it('a read-only resolv.conf is a clear error before anything changes', async () => {
    const { root, stateDir } = await freshRoot(t, 'ro');
    const before = await deviceState(t, root);
    const r = await inMountNs(t, 'ro', join(root, 'etc/resolv.conf'), ['up', linuxDir, '--state-dir', stateDir, '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/resolv\.conf is on a read-only file system/);
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('a bind-mounted resolv.conf is written in place and restored byte for byte', async () => {
    const { root, stateDir } = await freshRoot(t, 'bind');
    const file = join(root, 'etc/resolv.conf');
    const before = await deviceState(t, root);
    const inode = (await stat(file)).ino;
    const run = inMountNs(t, 'bind', file, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    let j: { state: string; snapshot: { resolv: { kind: string } } } | null = null;
    for (let i = 0; i < 300 && j?.state !== 'committed'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      j = JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8').catch(() => 'null'));
    }
    expect(j?.state).toBe('committed');
    expect(j?.snapshot.resolv.kind).toBe('bind-mount');
    // Written in place: the same inode now holds the proxy's resolv.conf.
    expect((await stat(file)).ino).toBe(inode);
    expect(await readFile(file, 'utf8')).toMatch(/^nameserver 127\.0\.2\.2$/m);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect((await run).code).toBe(0);
    expect((await stat(file)).ino).toBe(inode);
    expect(await deviceState(t, root)).toEqual(before);
  });

  it('a symlinked resolv.conf (stub of a resolver that is not running) is replaced, and the link comes back', async () => {
    const { root, stateDir } = await freshRoot(t, 'symlink');
    await mkdir(join(root, 'run/systemd/resolve'), { recursive: true });
    await writeFile(join(root, 'run/systemd/resolve/stub-resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    const { rm } = await import('node:fs/promises');
    await rm(join(root, 'etc/resolv.conf'));
    await symlink('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    const before = await deviceState(t, root);
    expect(before['resolvKind']).toBe('symlink -> ../run/systemd/resolve/stub-resolv.conf');
    const agent = await startAgent(t, ['up', linuxDir, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem]);
    expect(agent.log()).toMatch(/DNS manager: resolv\.conf \(auto: \/etc\/resolv\.conf is a symlink to \/run\/systemd\/resolve\/stub-resolv\.conf, but systemd-resolved is not running/);
    expect((await deviceState(t, root))['resolvKind']).toMatch(/^file 644$/);
    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect(await deviceState(t, root)).toEqual(before);
  });
});

/** Run warpc in the device namespace inside a private mount namespace with FILE bind-mounted (ro or rw). */
function inMountNs(t: Topology, mode: 'bind' | 'ro', file: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = t.dev.spawn('unshare', ['-m', '--propagation', 'private', process.execPath, join(REPO, 'test/runtime/helpers/in-mount-ns.mjs'), mode, file, '--', process.execPath, '--import', LOADER, CLI, ...args]);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
