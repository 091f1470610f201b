/**
 * The macOS up.sh/down.sh (and routes.sh) of every fixture, run under a real sh
 * on a fake macOS (test/readers/macos-fake.ts: route, ifconfig, pfctl, scutil
 * keep state in files and refuse a duplicate add or a missing delete like the
 * real tools): up;up;down;down must succeed, the second up must change nothing,
 * and down must leave the system exactly as before, the utun's MTU included.
 * The routes and the pf tunnel tables come from tunnel4.txt/tunnel6.txt: routes.sh's
 * loop and the fake pfctl read them as the OS would, and the applied state must hold
 * exactly their prefixes. Hundreds of fake route calls per fixture: slow on a loaded
 * machine, so its own file with a longer timeout.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { validFixtures } from '../helpers/fixtures.js';
import { fakeMacos } from '../readers/macos-fake.js';

/** The text of one file of a fake's snapshot (null if the snapshot has no such file). */
function snapshotFile(snapshot: string, path: string): string | null {
  const head = `== ${path}\n`;
  const at = snapshot.startsWith(head) ? 0 : snapshot.indexOf(`\n${head}`) + 1;
  if (at === 0 && !snapshot.startsWith(head)) return null;
  const start = at + head.length;
  const end = snapshot.indexOf('\n== ', start - 1);
  return snapshot.slice(start, end < 0 ? snapshot.length : end + 1);
}

/** A data file's prefixes. */
function prefixes(dir: string, name: string): string[] {
  return readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);
}

/** The tunnel routes (on the utun) of a snapshot, as prefixes. */
function utunRoutes(snapshot: string, utun: string): string[] {
  const out: string[] = [];
  for (const m of snapshot.matchAll(/^== sys\/routes\/-inet6?-net=([^=\n]+)=(\d+)\n(.*)$/gm)) if (m[3] === `-interface ${utun}`) out.push(`${m[1]}/${m[2]}`);
  return out.sort();
}

describe('macOS up.sh and down.sh on a fake macOS: up;up;down;down', () => {
  const all = validFixtures()
    .map((fx) => ({ ...fx, plan: analyze(fx.source).plan!, macos: join(fx.dir, 'expected', 'macos') }))
    .filter((fx) => existsSync(join(fx.macos, 'up.sh')));
  it('covers the fixtures with macOS scripts', () => {
    expect(all.length).toBeGreaterThanOrEqual(6);
  });
  for (const fx of all) {
    it(`${fx.name}: a second up.sh succeeds and changes nothing; down.sh (twice) restores everything, the utun's MTU included`, { timeout: 240_000 }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'warpc-fakemac-'));
      try {
        const utun = fx.plan.tunnel ? fx.plan.targets.macos.interface : null;
        const mac = fakeMacos(dir, utun);
        const run = (script: string): void => {
          try {
            execFileSync('sh', [join(fx.macos, script)], { env: mac.env, stdio: 'pipe' });
          } catch (err) {
            const e = err as { stderr?: Buffer; status?: number };
            throw new Error(`${script} exited ${e.status}: ${String(e.stderr)}`);
          }
        };
        const before = mac.snapshot();
        run('up.sh');
        const applied = mac.snapshot();
        expect(applied).not.toBe(before);
        if (utun) expect(applied).toContain(`== sys/if/${utun}/mtu\n${fx.plan.interface.mtu}\n`);
        if (fx.plan.features.routes) {
          const routes = applied.split('\n').filter((l) => l.startsWith('== sys/routes/'));
          expect(routes.length).toBeGreaterThan(1);
        }
        if (fx.plan.features.firewall) expect(applied).toMatch(/== sys\/pf\/tokens\n\d+\n==/);
        if (fx.plan.features.routes || fx.plan.features.firewall) {
          const v4 = prefixes(fx.macos, 'tunnel4.txt');
          const v6 = prefixes(fx.macos, 'tunnel6.txt');
          expect(v4.length + v6.length).toBeGreaterThan(0);
          // Every line of the tunnel files is a route on the utun, and nothing else is.
          if (fx.plan.features.routes) expect(utunRoutes(applied, utun!)).toEqual([...v4, ...v6].sort());
          // The fake pfctl loaded the anchor's tunnel tables from the same files.
          if (fx.plan.features.firewall) {
            const a = fx.plan.targets.macos.pfAnchor.replaceAll('/', '_');
            expect(snapshotFile(applied, `sys/pf/table.${a}.warpc_tunnel4`)?.split('\n').filter(Boolean).sort()).toEqual([...v4].sort());
            expect(snapshotFile(applied, `sys/pf/table.${a}.warpc_tunnel6`)?.split('\n').filter(Boolean).sort()).toEqual([...v6].sort());
          }
        }
        run('up.sh');
        expect(mac.snapshot(), 'the second up.sh changed something').toBe(applied);
        run('down.sh');
        expect(mac.snapshot()).toBe(before);
        run('down.sh');
        expect(mac.snapshot()).toBe(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('macOS routes.sh and pf.conf read their tunnel files as the OS would', () => {
  const fx = validFixtures().find((f) => f.name === 'include-only')!;
  const plan = analyze(fx.source).plan!;
  const utun = plan.targets.macos.interface;
  /** A copy of the fixture's macOS directory, `change`d, and a fake macOS beside it. */
  const withCopy = (change: (dir: string) => void, body: (dir: string, env: NodeJS.ProcessEnv, snapshot: () => string) => void): void => {
    const tmp = mkdtempSync(join(tmpdir(), 'warpc-fakemac-'));
    try {
      const dir = join(tmp, 'macos');
      cpSync(join(fx.dir, 'expected', 'macos'), dir, { recursive: true });
      change(dir);
      const mac = fakeMacos(join(tmp, 'os'), utun);
      body(dir, mac.env, mac.snapshot);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
  const run = (file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): { status: number; stderr: string } => {
    try {
      execFileSync('sh', [file, ...args], { env, stdio: 'pipe', cwd });
      return { status: 0, stderr: '' };
    } catch (err) {
      const e = err as { stderr?: Buffer; status?: number };
      return { status: e.status ?? -1, stderr: String(e.stderr) };
    }
  };

  it('a route add that fails in the loop fails routes.sh there: the lines after it are not routed', { timeout: 120_000 }, () => {
    withCopy(
      (dir) => {
        const v4 = prefixes(dir, 'tunnel4.txt');
        // A line the route tool refuses (no prefix length), between two good ones.
        writeFileSync(join(dir, 'tunnel4.txt'), `${v4[0]}\n10.0.0.0\n${v4.slice(1).join('\n')}\n`);
      },
      (dir, env, snapshot) => {
        const r = run(join(dir, 'routes.sh'), ['add'], env);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/without a prefix length/);
        const v4 = prefixes(dir, 'tunnel4.txt');
        expect(utunRoutes(snapshot(), utun)).toEqual([v4[0]]);
      },
    );
  });

  it('a missing tunnel file fails routes.sh, and pfctl refuses the anchor (nothing loaded)', { timeout: 120_000 }, () => {
    withCopy(
      (dir) => rmSync(join(dir, 'tunnel6.txt')),
      (dir, env, snapshot) => {
        const r = run(join(dir, 'routes.sh'), ['add'], env);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/tunnel6\.txt/);
        const before = snapshot();
        // As up.sh loads it: from the directory.
        const load = run(join(env['FAKE']!, 'bin', 'pfctl'), ['-q', '-a', plan.targets.macos.pfAnchor, '-f', 'pf.conf'], env, dir);
        expect(load.status).not.toBe(0);
        expect(load.stderr).toMatch(/cannot load "tunnel6\.txt"/);
        expect(snapshot()).toBe(before);
      },
    );
  });

  it('pf.conf loaded from another directory finds no table file (up.sh loads it from its own)', { timeout: 120_000 }, () => {
    withCopy(
      () => undefined,
      (dir, env) => {
        const load = (cwd: string): number => run(join(env['FAKE']!, 'bin', 'pfctl'), ['-q', '-a', plan.targets.macos.pfAnchor, '-f', join(dir, 'pf.conf')], env, cwd).status;
        expect(load(env['FAKE']!)).not.toBe(0);
        expect(load(dir)).toBe(0);
      },
    );
  });
});
