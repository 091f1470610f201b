/**
 * Plans too large for a target: Windows and macOS refuse more tunnel routes than they can
 * practically hold with RouteLimitExceeded (naming the count and the limit), Linux takes
 * the same plan (its artifacts list the direct set, which grows with the entries), and a target whose form runs out of string room ends in ArtifactTooLarge;
 * never an internal error.
 */
import { describe, expect, it } from 'vitest';
import { analyze, compile } from '../../src/compile.js';
import { targetDiagnostics } from '../../src/emit/capabilities.js';
import { count } from '../../src/emit/limits.js';
import { findTarget } from '../../src/emit/registry.js';
import type { TargetModule } from '../../src/emit/target.js';
import { MACOS_ROUTE_LIMIT } from '../../targets/macos/index.js';
import { WINDOWS_ROUTE_LIMIT } from '../../targets/windows/index.js';

/**
 * An exclude list of `n` IPv6 host addresses spread over the space: each gap between two
 * of them is covered by up to ~250 prefixes, so a few thousand entries make a tunnel set
 * of over a million routes (cheaply: the entries are few).
 */
function scatteredV6(n: number): string {
  const lines = ['version: 1', 'name: scattered', 'split_tunnel:', '  mode: exclude', '  entries:'];
  for (let i = 0; i < n; i++) {
    const x = (Math.imul(i + 1, 2654435761) >>> 0).toString(16);
    const y = (Math.imul(i + 7, 40503) & 0xffff).toString(16);
    lines.push(`    - address: 2${(i % 0xfff).toString(16).padStart(3, '0')}:${x.slice(0, 4) || '0'}:${y}::${(i % 0xffff).toString(16)}:1/128`);
  }
  return `${lines.join('\n')}\n`;
}

const target = (name: string): TargetModule => findTarget(name)!;

describe('route limits', () => {
  const source = scatteredV6(12_000);

  it('Windows and macOS refuse more than their route limit with a coded error; Linux does not', () => {
    const plan = analyze(source).plan!;
    expect(targetDiagnostics(target('linux'), plan).filter((d) => d.severity === 'error')).toEqual([]);
    const routes = plan.split.tunnel.v6.prefixCount() + plan.split.tunnel.v4.prefixCount();
    expect(routes).toBeGreaterThan(Math.max(WINDOWS_ROUTE_LIMIT.limit, MACOS_ROUTE_LIMIT.limit));

    for (const [name, limit] of [['windows', WINDOWS_ROUTE_LIMIT], ['macos', MACOS_ROUTE_LIMIT]] as const) {
      const r = compile(source, [target(name)]);
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      expect(errors.map((d) => d.code)).toEqual(['WARPC0075']);
      expect(errors[0]!.message).toContain(`target ${name}: the tunnel set is ${routes.toLocaleString('en')} prefixes`);
      expect(errors[0]!.message).toContain(`(${limit.limit.toLocaleString('en')}: `);
      expect(r.files.size).toBe(0);
    }
  }, 120_000);

  it('Linux takes a plan of millions of tunnel prefixes: its artifacts list the direct set, one line per excluded range', () => {
    const big = scatteredV6(30_000);
    const plan = analyze(big).plan!;
    const tunnel = plan.split.tunnel.v6.prefixCount() + plan.split.tunnel.v4.prefixCount();
    expect(tunnel).toBeGreaterThan(3_000_000);
    const r = compile(big, [target('linux')]);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const nft = r.files.get('linux/ruleset.nft')!.text;
    const direct6 = plan.split.direct.v6.prefixCount();
    expect(direct6).toBeLessThan(30_100);
    // One element line per direct prefix in the nft set, one throw route per direct prefix in the batch.
    expect(nft.split('\n').filter((l) => /^\t\t\t[0-9a-f:]+\/\d+,?$/.test(l)).length).toBe(direct6);
    expect(r.files.get('linux/routes6.batch')!.text.split('\n').filter((l) => l.startsWith('route add throw ')).length).toBe(direct6);
  }, 120_000);

  it('a target whose artifact cannot be built ends in ArtifactTooLarge, not an internal error', () => {
    const small = 'version: 1\nname: small\n';
    const huge: TargetModule = {
      ...target('linux'),
      emit() {
        return [{ path: 'x', text: 'x'.repeat(2 ** 30), mode: 0o644 }];
      },
    };
    const r = compile(small, [huge]);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['WARPC0076']);
    expect(r.files.size).toBe(0);
  });
});

describe('count', () => {
  it("writes what toLocaleString('en') writes for every integer", () => {
    const xs = [0, 1, 12, 999, 1000, 1001, 99_999, 100_000, 678_326, 1_000_000, 1_478_369, -1, -1234, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2000; i++) xs.push(Math.floor(Math.random() * 10 ** (i % 16)) * (i % 7 === 0 ? -1 : 1));
    for (const n of xs) expect(count(n)).toBe(n.toLocaleString('en'));
  });
});
