/**
 * Every target, read back by its independent reader, sends every probe address
 * the way the plan does, and sets the plan's DNS. Random valid profiles × probes
 * at the edges of every prefix of the plan and at random.
 */
import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { DualSet } from '../../src/net/prefix-set.js';
import { parseAddress } from '../../src/net/ip.js';
import type { Plan } from '../../src/plan/types.js';
import { validProfile } from '../helpers/arbitraries.js';
import { readMacos } from '../readers/macos.js';
import { readAndroid, readIos } from '../readers/mobile.js';
import type { TargetModel } from '../readers/model.js';
import { readApplyNetsh, readApplyPs1 } from '../readers/windows.js';

const PROFILES = Number(process.env['WARPC_EQ_PROFILES'] ?? 200);
const PROBES = 50;

/** Random profiles, plus what the shared arbitrary leaves out: an IPv6 interface address and search domains. */
export const profileArb = fc
  .tuple(validProfile, fc.boolean(), fc.array(fc.constantFrom('corp.example.com', 'example.net', 'a.b.c'), { maxLength: 2 }))
  .map(([p, v6, search]) => {
    const out: Record<string, unknown> = { ...p };
    if (v6) out['interface'] = { ipv6: '2606:4700:110:8a2e::2' };
    if (search.length) out['dns'] = { ...(p['dns'] as object), search: [...new Set(search)] };
    return out;
  });

/** Edges of every range of the plan's sets (first, last, just outside), from ip-cidr, not from the compiler. */
function edges(plan: Plan): string[] {
  const out: string[] = [];
  for (const set of [plan.split.tunnel.v4, plan.split.tunnel.v6, plan.split.direct.v4, plan.split.direct.v6]) {
    for (const c of set.toCidrs()) {
      const r = new IPCIDR(c);
      out.push(r.start(), r.end());
      const fam = c.includes(':') ? 6 : 4;
      const lo = r.start({ type: 'bigInteger' }) as unknown as bigint;
      const hi = r.end({ type: 'bigInteger' }) as unknown as bigint;
      const max = fam === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
      if (lo > 0n) out.push(fromBig(fam, lo - 1n));
      if (hi < max) out.push(fromBig(fam, hi + 1n));
    }
  }
  for (const b of plan.split.bypass) out.push(b.address);
  return out;
}

function fromBig(fam: 4 | 6, v: bigint): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return g.join(':');
}

const randomV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const randomV6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));

export function compileAll(profile: Record<string, unknown>): { plan: Plan; files: Map<string, Map<string, string>>; warnings: string[] } {
  const r = compile(stringify(profile), TARGETS);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r.plan) throw new Error(`compile failed: ${errors.map((d) => d.message).join('; ')}`);
  const files = new Map<string, Map<string, string>>();
  for (const [path, f] of r.files) {
    const [target, ...rest] = path.split('/');
    if (rest.length === 0) continue;
    if (!files.has(target!)) files.set(target!, new Map());
    files.get(target!)!.set(rest.join('/'), f.text);
  }
  return { plan: r.plan, files, warnings: r.diagnostics.map((d) => d.message) };
}

export function models(plan: Plan, files: Map<string, Map<string, string>>): Record<string, TargetModel> {
  const mac = files.get('macos') ?? new Map<string, string>();
  const win = files.get('windows') ?? new Map<string, string>();
  const out: Record<string, TargetModel> = {
    macos: readMacos(mac, plan.targets.macos.interface),
    ios: readIos(files.get('ios')!.get('network-settings.json')!),
    android33: readAndroid(files.get('android')!.get('vpn-service.json')!, 'calls'),
    android: readAndroid(files.get('android')!.get('vpn-service.json')!, 'callsBeforeApi33'),
  };
  if (win.has('apply.ps1')) {
    out['windows.ps1'] = readApplyPs1(win.get('apply.ps1')!);
    out['windows.netsh'] = readApplyNetsh(win.get('apply.netsh.cmd')!);
  }
  return out;
}

function expectedServers(plan: Plan, target: string): string[] {
  if (!plan.dns) return [];
  if (target.startsWith('windows')) return [...plan.dns.listen.v4, '::ffff:7f00:202'];
  return [...plan.dns.listen.v4, ...plan.dns.listen.v6];
}

describe('every target agrees with the plan', () => {
  it(`${PROFILES} random profiles × ${PROBES} probes: routes, firewall and DNS`, () => {
    let checked = 0;
    fc.assert(
      fc.property(profileArb, fc.array(fc.oneof(randomV4, randomV6), { minLength: PROBES, maxLength: PROBES }), fc.array(fc.nat(), { minLength: PROBES, maxLength: PROBES }), (profile, randoms, picks) => {
        const { plan, files } = compileAll(profile);
        const ms = models(plan, files);
        const edge = edges(plan);
        // Half the probes at edges, half random.
        const probes = randoms.map((r, i) => (i % 2 === 0 && edge.length ? edge[picks[i]! % edge.length]! : r));
        for (const [name, m] of Object.entries(ms)) {
          // Routes: present exactly when the plan routes; then every probe goes the plan's way.
          if (!plan.features.routes) {
            expect(m.routes === null || m.routes.size === 0, `${name}: routes in mode ${plan.serviceMode}`).toBe(true);
          } else {
            expect(m.routes, `${name}: no routes`).not.toBeNull();
            for (const p of probes) {
              const want = DualSet.contains(plan.split.tunnel, parseAddress(p)!) ? 'tunnel' : 'direct';
              expect(m.routes!.lookup(p), `${name}: route for ${p}`).toBe(want);
            }
          }
          // Firewall: blocks off the tunnel exactly the tunnel-bound probes (netsh has none, and says so).
          if (plan.features.firewall && name !== 'windows.netsh') {
            expect(m.blockedOffTunnel, `${name}: no firewall`).not.toBeNull();
            for (const p of probes) {
              const want = DualSet.contains(plan.split.tunnel, parseAddress(p)!);
              expect(m.blockedOffTunnel!(p), `${name}: firewall for ${p}`).toBe(want);
            }
          } else if (!plan.features.firewall) {
            expect(m.blockedOffTunnel, `${name}: firewall in mode ${plan.serviceMode}`).toBeNull();
          }
          // DNS.
          if (!plan.dns) {
            expect(m.dns, `${name}: DNS in mode ${plan.serviceMode}`).toBeNull();
          } else {
            expect(m.dns, `${name}: no DNS`).not.toBeNull();
            expect([...m.dns!.servers], `${name}: DNS servers`).toEqual(expectedServers(plan, name));
            if (name !== 'windows.netsh') expect([...m.dns!.search], `${name}: search`).toEqual([...plan.dns.search]);
            expect([...m.dns!.matchDomains], `${name}: match`).toEqual(['']);
          }
          // Fallback servers travel the way the plan says, by the target's own routes.
          if (plan.dns && plan.features.routes && m.routes) {
            for (const r of plan.dns.fallback) for (const s of r.servers) if (s.path === 'tunnel' || !/^127\.|^::1$/.test(s.address)) expect(m.routes.lookup(s.address), `${name}: fallback ${s.address}`).toBe(s.path);
          }
        }
        // macOS lists the fallback suffixes as supplemental match domains for the proxy.
        if (plan.dns) expect((ms['macos'] as ReturnType<typeof readMacos>).matchDomains).toEqual(plan.dns.fallback.map((r) => r.suffix));
        // Mobile targets list host entries for resolution at tunnel start; macOS and Windows resolve the exact names at apply time.
        const hosts = plan.split.hosts.map((h) => h.text);
        expect(ms['ios']!.hosts).toEqual(hosts);
        expect(ms['android']!.hosts).toEqual(hosts);
        if (plan.features.routes) expect(ms['macos']!.hosts).toEqual(plan.split.hosts.filter((h) => !h.pattern.wildcard).map((h) => h.text));
        if (ms['windows.ps1']) expect(ms['windows.ps1'].hosts).toEqual(plan.split.hosts.filter((h) => !h.pattern.wildcard && h.action === 'tunnel').map((h) => h.text));
        checked++;
      }),
      { numRuns: PROFILES },
    );
    expect(checked).toBe(PROFILES);
  });
});
