/**
 * The macOS up.sh/down.sh (and routes.sh) of every fixture, run under a real sh
 * on a fake macOS (test/readers/macos-fake.ts: route, ifconfig, pfctl, scutil
 * keep state in files and refuse a duplicate add or a missing delete like the
 * real tools): up;up;down;down must succeed, the second up must change nothing,
 * and down must leave the system exactly as before, the utun's MTU included.
 * Hundreds of fake route calls per fixture: slow on a loaded machine, so its own
 * file with a longer timeout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { validFixtures } from '../helpers/fixtures.js';
import { fakeMacos } from '../readers/macos-fake.js';

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
