/**
 * The macOS pf anchor and scripts, read back: neighbour discovery passes pf on
 * the physical link whatever the tunnel tables hold; routes.sh looks up only the
 * default gateways it uses. (up.sh/down.sh twice: macos-apply.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { validFixtures } from '../helpers/fixtures.js';
import { readMacos, readPf } from '../readers/macos.js';

const fixtures = validFixtures()
  .map((fx) => ({ ...fx, plan: analyze(fx.source).plan!, macos: join(fx.dir, 'expected', 'macos') }))
  .filter((fx) => fx.plan.features.firewall);

/** A fixture's pf.conf read back with the files beside it (its tunnel tables load them). */
function pfOf(fx: (typeof fixtures)[number]): ReturnType<typeof readPf> {
  const files = new Map(readdirSync(fx.macos).map((n) => [n, readFileSync(join(fx.macos, n), 'utf8')]));
  return readPf(files.get('pf.conf')!, fx.plan.targets.macos.interface, files);
}

/** ICMPv6 types of neighbour discovery (133-137) and MLD (130-132, 143). */
const ND_MLD = [130, 131, 132, 133, 134, 135, 136, 137, 143];

describe('macOS pf.conf: IPv6 neighbour discovery and MLD', () => {
  it('has fixtures whose tunnel table holds link-scope multicast (the case that broke)', () => {
    const hit = fixtures.filter((fx) => pfOf(fx).blocked('ff02::1:ff00:1', 'en0'));
    expect(hit.map((f) => f.name)).toContain('corporate-exclude');
  });
  for (const fx of fixtures) {
    it(`${fx.name}: ND and MLD pass on the physical link to any destination; other traffic still follows the tables`, () => {
      const pf = pfOf(fx);
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

describe('macOS reader: the tunnel files are part of what it reads', () => {
  const fx = fixtures.find((f) => f.name === 'include-only')!;
  const files = new Map(readdirSync(fx.macos).map((n) => [n, readFileSync(join(fx.macos, n), 'utf8')]));
  const utun = fx.plan.targets.macos.interface;
  it('routes and pf tables hold exactly the lines of tunnel4.txt and tunnel6.txt', () => {
    const m = readMacos(files, utun);
    const lines = [...files.get('tunnel4.txt')!.split('\n'), ...files.get('tunnel6.txt')!.split('\n')].filter(Boolean);
    expect(m.tunnelRoutes).toBe(lines.length);
    for (const l of lines) {
      const addr = l.split('/')[0]!;
      expect(m.routes!.lookup(addr), l).toBe('tunnel');
      expect(m.blockedOffTunnel!(addr), l).toBe(true);
    }
    // A line added to a data file is a route more and a blocked destination more.
    const more = new Map(files).set('tunnel4.txt', `${files.get('tunnel4.txt')!}203.0.113.0/24\n`);
    const m2 = readMacos(more, utun);
    expect(m2.tunnelRoutes).toBe(lines.length + 1);
    expect(m2.routes!.lookup('203.0.113.9')).toBe('tunnel');
    expect(m2.blockedOffTunnel!('203.0.113.9')).toBe(true);
  });
  it('a missing data file or a last line without a newline is an error, as on the OS', () => {
    for (const name of ['tunnel4.txt', 'tunnel6.txt']) {
      const less = new Map(files);
      less.delete(name);
      expect(() => readMacos(less, utun)).toThrow(new RegExp(`${name.replace('.', '\\.')} is missing`));
    }
    const cut = new Map(files).set('tunnel6.txt', files.get('tunnel6.txt')!.trimEnd());
    expect(() => readMacos(cut, utun)).toThrow(/no newline/);
  });
});

describe("macOS pf tables past pf's default table-entries limit (macos declares it: capabilities.firewallTableLimit)", () => {
  /** A profile excluding `n` scattered /24s (the bench's generator). */
  const scattered = (n: number): string => {
    const l = ['version: 1', 'name: scale', 'split_tunnel:', '  mode: exclude', '  entries:'];
    for (let i = 0; i < n; i++) {
      const x = Math.imul(i, 2654435761) >>> 8;
      l.push(`    - address: ${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`);
    }
    return l.join('\n');
  };
  const macosOnly = TARGETS.filter((t) => t.name === 'macos');
  /** What pf.conf's tables hold: the lines of the tunnel files and the bypass addresses. */
  const entries = (r: ReturnType<typeof compile>): number => {
    const lines = (name: string): number => r.files.get(`macos/${name}`)!.text.split('\n').filter(Boolean).length;
    const pf = r.files.get('macos/pf.conf')!.text;
    const bypass = /table <warpc_bypass> const \{ \\\n((?:\t\S+ \\\n)*)\}/.exec(pf)![1]!.split('\n').filter(Boolean).length;
    return lines('tunnel4.txt') + lines('tunnel6.txt') + bypass;
  };
  it('warns (WARPC0116) with the count pf would hold, and only past 200,000', { timeout: 120_000 }, () => {
    const over = compile(scattered(25_000), macosOnly);
    const n = entries(over);
    expect(n).toBeGreaterThan(200_000);
    const w = over.diagnostics.filter((d) => d.code === 'WARPC0116');
    expect(w).toHaveLength(1);
    expect(w[0]!.severity).toBe('warning');
    expect(w[0]!.message).toContain(`hold ${n.toLocaleString('en')} addresses`);
    const under = compile(scattered(10_000), macosOnly);
    expect(entries(under)).toBeLessThanOrEqual(200_000);
    expect(under.diagnostics.filter((d) => d.code === 'WARPC0116')).toEqual([]);
  });
});
