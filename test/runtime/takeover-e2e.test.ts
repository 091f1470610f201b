/**
 * `warpc up` never takes over an interface it did not create (issue #16): a link
 * with the profile's interface name already exists in the device namespace (a
 * veth standing in for a physical NIC or someone's tunnel), so `up` refuses
 * before changing anything — no journal, no rule, route, nft table, address or
 * resolv.conf change, and the existing link keeps its state.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { NetnsPool, type Netns } from '../helpers/netns.js';
import { CLI, LOADER, warpc } from './helpers/topology.js';

const execFileP = promisify(execFile);

describeE2E('warpc up refuses an interface it did not create (namespace)', ['ip', 'nft'], () => {
  const pool = new NetnsPool();
  let ns: Netns;
  let tmp: string;
  const ifname = `wt${randomBytes(3).toString('hex')}`;

  const state = async (): Promise<Record<string, string>> => {
    const run = async (cmd: string, args: string[]): Promise<string> => (await ns.tryRun(cmd, args)).stdout;
    return {
      links: await run('ip', ['-d', '-o', 'link', 'show']),
      addr: (await run('ip', ['addr'])).replace(/valid_lft \S+ preferred_lft \S+/g, ''),
      rules4: await run('ip', ['-4', 'rule']),
      rules6: await run('ip', ['-6', 'rule']),
      routes4: await run('ip', ['-4', 'route', 'show', 'table', 'all']),
      routes6: (await run('ip', ['-6', 'route', 'show', 'table', 'all'])).replace(/ expires \d+sec/g, ''),
      nft: await run('nft', ['list', 'ruleset']),
    };
  };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'warpc-takeover-'));
    ns = await pool.create('takeover');
    // The "physical" interface: a veth pair inside the namespace, up, with addresses and a route.
    await execFileP('ip', ['-n', ns.name, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
    await execFileP('ip', ['-n', ns.name, 'addr', 'add', '192.0.2.10/24', 'dev', ifname]);
    await execFileP('ip', ['-n', ns.name, 'link', 'set', ifname, 'mtu', '1400', 'up']);
    await execFileP('ip', ['-n', ns.name, 'link', 'set', `${ifname}p`, 'up']);
    await execFileP('ip', ['-n', ns.name, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', ifname]);
    const profile = join(tmp, 'profile.yaml');
    await writeFile(
      profile,
      `version: 1\nname: takeover\ntunnel: { endpoint: "198.51.100.7:2408", peer_public_key: "bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=" }\ntargets:\n  linux: { interface: ${ifname} }\n`,
    );
    await execFileP(process.execPath, ['--import', LOADER, CLI, 'compile', profile, '--target', 'linux', '--out', join(tmp, 'out')]);
    await mkdir(join(tmp, 'root', 'etc'), { recursive: true });
    await writeFile(join(tmp, 'root', 'etc', 'resolv.conf'), 'nameserver 192.0.2.1\n');
  });

  afterAll(async () => {
    await pool.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  it('refuses with a clear error and changes nothing, also with the state dir of an earlier, closed run', async () => {
    const before = await state();
    const stateDir = join(tmp, 'state');
    const r = await warpc(ns, ['up', join(tmp, 'out', 'linux'), '--state-dir', stateDir, '--root', join(tmp, 'root')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`an interface named ${ifname} already exists and warpc did not create it`);
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(await state()).toEqual(before);
    expect(existsSync(join(stateDir, 'journal.json'))).toBe(false);
    expect(await readFile(join(tmp, 'root', 'etc', 'resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.1\n');
    // A closed journal (a clean earlier run) does not make the link warpc's either.
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'journal.json'), JSON.stringify({ version: 1, state: 'closed', names: { ifname } }));
    const again = await warpc(ns, ['up', join(tmp, 'out', 'linux'), '--state-dir', stateDir, '--root', join(tmp, 'root')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists and warpc did not create it');
    expect(await state()).toEqual(before);
  });
});
