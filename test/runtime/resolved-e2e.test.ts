/**
 * A real systemd-resolved (Debian's binary) in a private mount + network
 * namespace with a D-Bus system bus of its own: `warpc up` points it at the
 * proxy through the tunnel link (resolvectl dns/domain/default-route), names
 * resolve through resolved → proxy → DoH, `warpc apply` changes the search
 * domains in place, `warpc status --diff` reads the link back (and reports a domain
 * changed by hand), and `warpc down` reverts the link. Nothing of the host's
 * /run, D-Bus or resolv.conf is touched: the tmpfs on /run and the bind-mounted
 * passwd exist only in the test's mount namespace.
 *
 * The binary comes from an installed systemd-resolved, or from the files of its
 * Debian package extracted to WARPC_RESOLVED_ROOT (`apt-get download
 * systemd-resolved && dpkg-deb -x …`), which .ci/run does: installing the package
 * would repoint the machine's own /etc/resolv.conf at resolved's stub.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { addDevicePeer, CLI, compileProfile, destroyTopology, E2E_TOOLS, freshRoot, LOADER, profileYaml, REPO, buildTopology, warpc, type Topology } from './helpers/topology.js';

const execFileP = promisify(execFile);

/** Where systemd-resolved's package files are: an extracted .deb (WARPC_RESOLVED_ROOT), or / when installed; '' when neither. */
function resolvedRoot(): string {
  for (const root of [process.env['WARPC_RESOLVED_ROOT'], '/'].filter((x): x is string => !!x)) {
    const bin = ['lib/systemd/systemd-resolved', 'usr/lib/systemd/systemd-resolved'].some((p) => existsSync(join(root, p)));
    if (bin && existsSync(join(root, 'usr/bin/resolvectl'))) return root;
  }
  return '';
}

const ROOT = resolvedRoot();
// Tools for describeE2E: a missing binary is reported as "systemd-resolved" (skip, or failure under WARPC_E2E=required).
const TOOLS = [...E2E_TOOLS, 'dbus-daemon', 'nsenter', ROOT ? 'sh' : 'systemd-resolved'];

describeE2E('warpc with a real systemd-resolved (private mount + network namespace, own D-Bus)', TOOLS, () => {
  let t: Topology;
  let planA: string;
  let planB: string;
  let work: string;
  const pids: number[] = [];
  beforeAll(async () => {
    t = await buildTopology();
    const base = profileYaml(t).replace('doh_via: tunnel }', 'doh_via: tunnel, search: [example.net] }');
    expect(base).toMatch(/search: \[example\.net\]/);
    planA = await compileProfile(t, base, 'resolved-a');
    planB = await compileProfile(t, base.replace('search: [example.net]', 'search: [example.net, corp.example.net]'), 'resolved-b');
    work = join(t.tmp, 'resolved');
    await mkdir(work, { recursive: true });
    await chmod(work, 0o755);
    const uid = 64991;
    await writeFile(join(work, 'passwd'), `${await readFile('/etc/passwd', 'utf8')}systemd-resolve:x:${uid}:${uid}:systemd Resolver:/:/usr/sbin/nologin\n`);
    await writeFile(join(work, 'group'), `${await readFile('/etc/group', 'utf8')}systemd-resolve:x:${uid}:\n`);
    await writeFile(
      join(work, 'dbus.conf'),
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`,
    );
  });
  afterAll(async () => {
    for (const f of ['dbus.pid', 'resolved.pid']) {
      const pid = Number((await readFile(join(work, f), 'utf8').catch(() => '')).trim());
      if (pid > 0) pids.push(pid);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await destroyTopology(t);
  }, 180_000);

  it('up points resolved at the proxy on the tunnel link, apply changes its search domains in place, down reverts the link', async () => {
    const { root, stateDir } = await freshRoot(t, 'resolved');
    // --root: resolv.conf is the test's; /run is the mount namespace's tmpfs, seen through a symlink.
    const { symlink } = await import('node:fs/promises');
    await symlink('/run', join(root, 'run'));
    const child = t.dev.spawn('unshare', ['-m', '--propagation', 'private', 'sh', join(REPO, 'test/runtime/helpers/with-resolved.sh'), ROOT, work, '--',
      process.execPath, '--import', LOADER, CLI, 'up', planA, '--state-dir', stateDir, '--root', root, '--doh-ca', t.caPem, '--dns-manager', 'systemd-resolved']);
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    for (let i = 0; i < 600 && !/warpc: up: /.test(log) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(log, log).toMatch(/DNS manager: systemd-resolved/);
    expect(log).toMatch(/warpc: up: /);
    const agentPid = (JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8')) as { pid: number }).pid;
    const resolvectl = async (...args: string[]): Promise<string> =>
      (await execFileP('nsenter', ['-t', String(agentPid), '-m', '-n', join(ROOT, 'usr/bin/resolvectl'), ...args], { env: { ...process.env, ...(ROOT !== '/' ? { LD_LIBRARY_PATH: join(ROOT, 'usr/lib/x86_64-linux-gnu/systemd') } : {}) } })).stdout;
    expect(await resolvectl('dns', t.devIf)).toMatch(/127\.0\.2\.2/);
    expect(await resolvectl('domain', t.devIf)).toMatch(/~\. example\.net/);
    const key = (await readFile(join(stateDir, 'private.key'), 'utf8')).trim();
    await addDevicePeer(t, (await t.dev.run('wg', ['pubkey'], { input: `${key}\n` })).stdout.trim());
    // A name asked of resolved goes to the proxy, then over DoH through the tunnel.
    expect(await resolvectl('query', '--cache=no', 'app.example.com')).toMatch(/203\.0\.113\.10/);

    // status --diff, in the agent's namespaces (resolvectl reaches this resolved there): the link as the plan wants it.
    const env = { ...process.env, PATH: `${join(ROOT, 'usr/bin')}:${process.env['PATH'] ?? ''}`, ...(ROOT !== '/' ? { LD_LIBRARY_PATH: join(ROOT, 'usr/lib/x86_64-linux-gnu/systemd') } : {}) };
    const statusDiff = async (): Promise<{ code: number; out: string }> =>
      execFileP('nsenter', ['-t', String(agentPid), '-m', '-n', process.execPath, '--import', LOADER, CLI, 'status', '--diff', '--state-dir', stateDir, '--format', 'json'], { env }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '' }),
      );
    const clean = await statusDiff();
    expect(clean.code, clean.out).toBe(0);
    const link = (JSON.parse(clean.out) as { dns_manager: string; groups: { name: string; matching: number; lines: unknown[] }[] });
    expect(link.dns_manager).toBe('systemd-resolved');
    expect(link.groups.find((g) => g.name === `systemd-resolved link ${t.devIf}`)).toMatchObject({ matching: 3, lines: [] });
    // A domain changed by hand on the link is drift: the plan's line missing, the device's extra.
    await resolvectl('domain', t.devIf, 'example.net');
    const drifted = await statusDiff();
    expect(drifted.code).toBe(1);
    expect((JSON.parse(drifted.out) as { groups: { name: string; lines: unknown[] }[] }).groups.filter((g) => g.lines.length > 0)).toEqual([
      { ...link.groups.find((g) => g.name === `systemd-resolved link ${t.devIf}`), matching: 2, extra: ['domain example.net'], missing: ['domain ~. example.net'], lines: [{ op: '-', line: 'domain ~. example.net' }, { op: '+', line: 'domain example.net' }] },
    ]);
    await resolvectl('domain', t.devIf, '~.', 'example.net');

    const a = await warpc(t.dev, ['apply', planB, '--state-dir', stateDir]);
    expect(a.code, a.stderr + log).toBe(0);
    expect(a.stderr).toMatch(/systemd-resolved link settings updated/);
    expect(await resolvectl('domain', t.devIf)).toMatch(/~\. example\.net corp\.example\.net/);
    expect(await resolvectl('query', '--cache=no', 'app.example.com')).toMatch(/203\.0\.113\.10/);

    expect((await warpc(t.dev, ['down', '--state-dir', stateDir])).code).toBe(0);
    expect(await exited).toBe(0);
    const j = JSON.parse(await readFile(join(stateDir, 'journal.json'), 'utf8')) as { state: string; restore: { done: string[]; errors: string[] } };
    expect(j.state).toBe('closed');
    expect(j.restore.errors).toEqual([]);
    expect(j.restore.done).toContain('systemd-resolved settings removed');
  }, 180_000);
});
