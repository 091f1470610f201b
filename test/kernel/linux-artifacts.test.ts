/**
 * The Linux artifacts against a real kernel, inside throwaway namespaces:
 * every golden ruleset passes `nft -c` and loads; both route batches load on a
 * veth stand-in for the tunnel link (this kernel has no wireguard/dummy link
 * types); `ip route get` agrees with the plan for sampled addresses, prefix
 * edges included; up.sh/down.sh apply and then remove everything, each safe to
 * run twice (up;up;down;down leaves the namespace as it was, MTU included).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { formatAddress, parseAddress, parsePrefix, prefixLast, type Family } from '../../src/net/ip.js';
import type { Plan } from '../../src/plan/types.js';
import { describeE2E } from '../helpers/e2e.js';
import { validFixtures } from '../helpers/fixtures.js';
import { Netns, NetnsPool } from '../helpers/netns.js';

const fixtures = validFixtures().map((fx) => ({ ...fx, plan: analyze(fx.source).plan!, linux: join(fx.dir, 'expected', 'linux') }));

/** A device namespace with the tunnel stand-in and a physical link with default routes in main. */
async function device(pool: NetnsPool, label: string, ifname: string): Promise<Netns> {
  const ns = await pool.create(label);
  const peer = await pool.create(`${label}-p`);
  await pool.link(ns, ifname, [], peer, 'tun0', []);
  await pool.link(ns, 'eth0', ['192.0.2.2/24', '2001:db8:ffff:1::2/64'], peer, 'eth0', ['192.0.2.1/24', '2001:db8:ffff:1::1/64']);
  await ns.run('ip', ['-4', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0']);
  await ns.run('ip', ['-6', 'route', 'add', 'default', 'via', '2001:db8:ffff:1::1', 'dev', 'eth0']);
  return ns;
}

/** Addresses to probe: both edges of every tunnel and direct prefix, plus random ones. */
function probes(plan: Plan, family: Family, random: number): string[] {
  const key = family === 4 ? 'v4' : 'v6';
  const out = new Set<string>();
  for (const set of [plan.split.tunnel[key], plan.split.direct[key]]) {
    for (const cidr of set.toCidrs().slice(0, 150)) {
      const p = parsePrefix(cidr);
      if (!p.ok) continue;
      out.add(formatAddress(family, p.prefix.network));
      out.add(formatAddress(family, prefixLast(p.prefix)));
    }
  }
  const bits = family === 4 ? 32 : 128;
  fc.sample(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), { numRuns: random, seed: 42 }).forEach((v) => out.add(formatAddress(family, v)));
  return [...out];
}

/** Which addresses the kernel would not route (multicast, broadcast, loopback…): `ip route get` answers differently. */
function kernelSpecial(addr: string): boolean {
  return /^(127\.|0\.|22[4-9]\.|23\d\.|24\d\.|25[0-5]\.)/.test(addr) || /^(ff|::$|::1$|::ffff:)/.test(addr) || addr.startsWith('fe8') || addr.startsWith('fe9') || addr.startsWith('fea') || addr.startsWith('feb');
}

describeE2E('Linux artifacts on a real kernel', ['ip', 'nft', 'shellcheck', 'sh'], () => {
  const pool = new NetnsPool();
  let scratch: Netns;
  beforeAll(async () => {
    scratch = await pool.create('nftc');
  });
  afterAll(async () => {
    await pool.cleanup();
  });

  for (const fx of fixtures) {
    const files = readdirSafe(fx.linux);
    if (files.includes('ruleset.nft')) {
      it(`${fx.name}: ruleset.nft passes nft -c and loads, twice (atomic replace)`, async () => {
        const file = join(fx.linux, 'ruleset.nft');
        await scratch.run('nft', ['-c', '-f', file]);
        await scratch.run('nft', ['-f', file]);
        await scratch.run('nft', ['-f', file]);
        const { stdout } = await scratch.run('nft', ['list', 'tables']);
        expect(stdout.trim()).toBe(`table inet ${fx.plan.targets.linux.nftTable}`);
        // Exclude mode lists the direct set (and rejects the rest), include mode the tunnel set.
        const setName = fx.plan.split.mode === 'exclude' ? 'direct4' : 'tunnel4';
        const set = await scratch.run('nft', ['-j', 'list', 'set', 'inet', fx.plan.targets.linux.nftTable, setName]);
        expect(set.stdout).toContain(`"${setName}"`);
        await scratch.run('nft', ['delete', 'table', 'inet', fx.plan.targets.linux.nftTable]);
      });
    }

    if (files.includes('routes4.batch')) {
      it(`${fx.name}: route batches load and ip route get agrees with the plan`, async () => {
        const lx = fx.plan.targets.linux;
        const ns = await device(pool, `rt-${fx.name}`.slice(0, 20), lx.interface);
        await ns.run('ip', ['-4', '-batch', join(fx.linux, 'routes4.batch')]);
        await ns.run('ip', ['-6', '-batch', join(fx.linux, 'routes6.batch')]);
        const rules = (await ns.run('ip', ['-4', 'rule'])).stdout;
        expect(rules).toContain(`${lx.rulePriority}:\tnot from all fwmark 0x${lx.fwmark.toString(16)} lookup ${lx.table}`);
        for (const family of [4, 6] as const) {
          const addrs = probes(fx.plan, family, 60).filter((a) => !kernelSpecial(a));
          const batch = addrs.map((a) => `route get ${a}`).join('\n');
          const { stdout } = await ns.run('ip', [`-${family}`, '-batch', '-'], { input: `${batch}\n` });
          const answers = stdout.split('\n').filter((l) => /^\S/.test(l) && !l.startsWith('cache'));
          expect(answers.length, 'one answer per probe').toBe(addrs.length);
          addrs.forEach((addr, i) => {
            const viaTunnel = answers[i]!.includes(`dev ${lx.interface} table ${lx.table}`);
            const inPlan = fx.plan.split.tunnel[family === 4 ? 'v4' : 'v6'].contains(parseAddr(addr, family));
            expect(viaTunnel, `${addr}: kernel says "${answers[i]}"`).toBe(inPlan);
          });
        }
        // The client's own packets (the mark) never use the tunnel table.
        const marked = await ns.run('ip', ['-4', 'route', 'get', '8.8.8.8', 'mark', String(lx.fwmark)]);
        expect(marked.stdout).not.toContain(`table ${lx.table}`);
      });
    }

    if (files.includes('up.sh')) {
      it(`${fx.name}: up.sh and down.sh are shellcheck-clean, apply then remove everything, and are safe twice`, async () => {
        await scratch.run('shellcheck', ['-s', 'sh', join(fx.linux, 'up.sh'), join(fx.linux, 'down.sh'), ...(files.includes('resolved.sh') ? [join(fx.linux, 'resolved.sh')] : [])]);
        const lx = fx.plan.targets.linux;
        const ns = await device(pool, `sh-${fx.name}`.slice(0, 20), lx.interface);
        const root = mkdtempSync(join(tmpdir(), 'warpc-root-'));
        try {
          mkdirSync(join(root, 'etc'));
          // A symlinked resolv.conf, as on most distributions: it must come back as the same symlink.
          writeFileSync(join(root, 'etc', 'resolv.conf.real'), 'nameserver 192.0.2.53\nsearch example.org\n');
          symlinkSync('resolv.conf.real', join(root, 'etc', 'resolv.conf'));
          const state = async (): Promise<string> =>
            [
              (await ns.run('ip', ['-4', 'rule'])).stdout,
              (await ns.run('ip', ['-6', 'rule'])).stdout,
              (await ns.run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout,
              (await ns.run('ip', ['-6', 'route', 'show', 'table', 'all'])).stdout,
              (await ns.run('ip', ['addr'])).stdout,
              (await ns.run('nft', ['list', 'ruleset'])).stdout,
            ].join('\n---\n');
          // The stand-in link exists before up.sh (like a link up.sh reuses): up.sh sets its MTU and
          // brings it up, down.sh must give the old MTU back (and, for one fixture, take it down again).
          if (fx.name === 'tunnel-only') await ns.run('ip', ['link', 'set', 'dev', lx.interface, 'down']);
          const before = await state();
          const env = ['env', `WARPC_ROOT=${root}`, `WARPC_STATE_DIR=${join(root, 'state')}`, 'WARPC_DNS_MANAGER=resolv.conf', 'sh'];
          await ns.run(env[0]!, [...env.slice(1), join(fx.linux, 'up.sh')]);
          const during = await state();
          if (fx.plan.features.tunnel) expect(during).toContain(`mtu ${fx.plan.interface.mtu} `);
          // A second up.sh (a retry, or a run after one that stopped half way) succeeds and changes nothing.
          await ns.run(env[0]!, [...env.slice(1), join(fx.linux, 'up.sh')]);
          expect(await state()).toBe(during);
          if (fx.plan.features.routes) expect(during).toContain(`lookup ${lx.table}`);
          if (fx.plan.features.firewall) expect(during).toContain(`table inet ${lx.nftTable}`);
          if (fx.plan.features.tunnel) expect(during).toContain(`inet ${fx.plan.interface.ipv4}/32`);
          if (fx.plan.dns) {
            expect(readFileSync(join(root, 'etc', 'resolv.conf'), 'utf8')).toBe(readFileSync(join(fx.linux, 'resolv.conf'), 'utf8'));
            expect(during).toContain('fd01:db8:1111::2/128');
          }
          await ns.run(env[0]!, [...env.slice(1), join(fx.linux, 'down.sh')]);
          expect(await state()).toBe(before);
          expect(existsSync(join(root, 'state')), 'down.sh leaves no state behind').toBe(false);
          expect(lstatSync(join(root, 'etc', 'resolv.conf')).isSymbolicLink()).toBe(true);
          expect(readlinkSync(join(root, 'etc', 'resolv.conf'))).toBe('resolv.conf.real');
          // down.sh a second time is harmless.
          await ns.run(env[0]!, [...env.slice(1), join(fx.linux, 'down.sh')]);
          expect(await state()).toBe(before);
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      });
    }
  }
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
function parseAddr(text: string, family: Family): bigint {
  const a = parseAddress(text);
  if (!a || a.family !== family) throw new Error(`bad probe ${text}`);
  return a.value;
}
