/**
 * The macOS pf anchor and scripts, read back: neighbour discovery passes pf on
 * the physical link whatever the tunnel tables hold; routes.sh looks up only the
 * default gateways it uses. (up.sh/down.sh twice: macos-apply.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { validFixtures } from '../helpers/fixtures.js';
import { readPf } from '../readers/macos.js';

const fixtures = validFixtures()
  .map((fx) => ({ ...fx, plan: analyze(fx.source).plan!, macos: join(fx.dir, 'expected', 'macos') }))
  .filter((fx) => fx.plan.features.firewall);

/** ICMPv6 types of neighbour discovery (133-137) and MLD (130-132, 143). */
const ND_MLD = [130, 131, 132, 133, 134, 135, 136, 137, 143];

describe('macOS pf.conf: IPv6 neighbour discovery and MLD', () => {
  it('has fixtures whose tunnel table holds link-scope multicast (the case that broke)', () => {
    const hit = fixtures.filter((fx) => readPf(readFileSync(join(fx.macos, 'pf.conf'), 'utf8'), fx.plan.targets.macos.interface).blocked('ff02::1:ff00:1', 'en0'));
    expect(hit.map((f) => f.name)).toContain('corporate-exclude');
  });
  for (const fx of fixtures) {
    it(`${fx.name}: ND and MLD pass on the physical link to any destination; other traffic still follows the tables`, () => {
      const pf = readPf(readFileSync(join(fx.macos, 'pf.conf'), 'utf8'), fx.plan.targets.macos.interface);
      // Solicited-node multicast, all-routers, MLDv2 reporters, a link-local neighbour, a global on-link neighbour.
      for (const dst of ['ff02::1:ff00:1', 'ff02::2', 'ff02::16', 'fe80::1', '2001:db8:ffff:1::1']) {
        for (const type of ND_MLD) expect(pf.blocked(dst, 'en0', type), `icmp6 type ${type} to ${dst}`).toBe(false);
      }
      // An echo request (128) or any other packet to a tunnel-bound address is still blocked off the tunnel.
      const tunnelBound = fx.plan.split.tunnel.v6.toCidrs()[0];
      if (tunnelBound) {
        const addr = tunnelBound.split('/')[0]!;
        expect(pf.blocked(addr, 'en0', 128)).toBe(true);
        expect(pf.blocked(addr, 'en0')).toBe(true);
      }
    });
  }
});

describe('macOS routes.sh: default gateways', () => {
  // fixtures/bypass-ipv4-only covers IPv4-only bypass addresses (through the shellcheck test over every fixture); this is the mirror case.
  it('with IPv6-only bypass addresses, gw4 is neither looked up nor left unused (shellcheck-clean)', () => {
    const source = [
      'version: 1',
      'name: bypass-v6',
      'tunnel: { endpoint: "[2606:4700:d0::a29f:c001]:2408" }',
      'orchestration: { addresses: ["2606:4700:7::a29f:8969"] }',
      'dns: { doh_via: tunnel }',
    ].join('\n');
    const r = compile(source, TARGETS);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const text = r.files.get('macos/routes.sh')!.text;
    expect(text).not.toContain('gw4=');
    expect(text).toContain('gw6=');
    const dir = mkdtempSync(join(tmpdir(), 'warpc-gw-'));
    try {
      writeFileSync(join(dir, 'routes.sh'), text);
      execFileSync('shellcheck', ['-s', 'sh', join(dir, 'routes.sh')], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
