/**
 * The macOS pf anchor and scripts, read back: neighbour discovery passes pf on
 * the physical link whatever the tunnel tables hold.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
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
