/**
 * The plan's prefix algebra against an independent, address-by-address reading
 * of the rules; and explain against the plan's sets.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { formatAddress, parseAddress, parsePrefix, prefixContains, prefixLast, type Address } from '../../src/net/ip.js';
import { explainAddress, explainName } from '../../src/plan/explain.js';
import { parseDnsProxyConfig, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import type { Plan } from '../../src/plan/types.js';
import { validProfile, type RandomProfile } from '../helpers/arbitraries.js';

/** The rules read literally, one address at a time. */
function reference(p: RandomProfile, addr: Address): 'tunnel' | 'direct' {
  const mode = (p['service_mode'] as string) ?? 'warp';
  if (!['warp', 'warp_tunnel_only'].includes(mode)) return 'direct';
  const inAny = (cidrs: readonly string[]): boolean =>
    cidrs.some((c) => {
      const r = parsePrefix(c);
      return r.ok && prefixContains(r.prefix, addr);
    });
  const same = (a: string): boolean => {
    const x = parseAddress(a)!;
    return x.family === addr.family && x.value === addr.value;
  };
  const endpoint = ((p['tunnel'] as { endpoint: string }).endpoint).replace(/:\d+$/, '');
  const orch = (p['orchestration'] as { addresses: string[] }).addresses;
  const dns = p['dns'] as { doh_addresses: string[]; doh_via: string };
  if (same(endpoint) || orch.some(same) || (dns.doh_via === 'direct' && dns.doh_addresses.some(same))) return 'direct';
  const always = (p['always_tunnel'] as string[] | undefined) ?? ['172.64.128.0/20', '2606:4700:cf1::/48'];
  if (inAny(always)) return 'tunnel';
  const st = p['split_tunnel'] as { mode: string; entries: { address?: string }[] };
  const listed = st.entries.filter((e) => e.address).map((e) => e.address!);
  if (st.mode === 'exclude') return inAny(listed) ? 'direct' : 'tunnel';
  const dohIn = dns.doh_via === 'tunnel' && mode === 'warp' && dns.doh_addresses.some(same);
  return inAny(listed) || dohIn ? 'tunnel' : 'direct';
}

/** Probe addresses: the edges of every listed and computed prefix, their neighbours, and random ones. */
function probesFor(plan: Plan, p: RandomProfile, random: bigint[]): Address[] {
  const out: Address[] = [];
  const cidrs = [
    ...plan.split.tunnel.v4.toCidrs(),
    ...plan.split.tunnel.v6.toCidrs(),
    ...((p['split_tunnel'] as { entries: { address?: string }[] } | undefined)?.entries ?? []).filter((e) => e.address).map((e) => e.address!),
  ];
  for (const c of cidrs.slice(0, 40)) {
    const r = parsePrefix(c);
    if (!r.ok) continue;
    const max = r.prefix.family === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
    for (const v of [r.prefix.network - 1n, r.prefix.network, prefixLast(r.prefix), prefixLast(r.prefix) + 1n]) {
      if (v >= 0n && v <= max) out.push({ family: r.prefix.family, value: v });
    }
  }
  for (const v of random) {
    out.push({ family: 4, value: v & 0xffffffffn });
    out.push({ family: 6, value: v });
  }
  return out;
}

describe('plan', () => {
  it('routes every probe as the rules read literally say, and explain agrees with the sets', () => {
    fc.assert(
      fc.property(validProfile, fc.array(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), { minLength: 20, maxLength: 20 }), (p, random) => {
        const result = analyze(stringify(p));
        expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const plan = result.plan!;
        for (const a of probesFor(plan, p, random)) {
          const inTunnel = (a.family === 4 ? plan.split.tunnel.v4 : plan.split.tunnel.v6).contains(a);
          const inDirect = (a.family === 4 ? plan.split.direct.v4 : plan.split.direct.v6).contains(a);
          const text = formatAddress(a.family, a.value);
          expect(inTunnel !== inDirect, `${text} is in exactly one of tunnel/direct`).toBe(true);
          expect(inTunnel ? 'tunnel' : 'direct', text).toBe(reference(p, a));
          const e = explainAddress(plan, a);
          expect(e.path).toBe(inTunnel ? 'tunnel' : 'direct');
          if (e.reason.kind === 'entry' || e.reason.kind === 'always_tunnel') {
            const r = parsePrefix(e.reason.rule.cidr);
            expect(r.ok && prefixContains(r.prefix, a), `${text}: the deciding rule ${e.reason.rule.cidr} contains it`).toBe(true);
          }
          if (e.reason.kind === 'entry') expect(e.path).toBe(plan.split.mode === 'exclude' ? 'direct' : 'tunnel');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('every address the plan records (DoH, fallback servers) is explained exactly as recorded, and DoH\'s via is their actual path', () => {
    fc.assert(
      fc.property(validProfile, (p) => {
        const plan = analyze(stringify(p)).plan!;
        if (!plan.dns) return;
        const recorded = [...plan.dns.doh.addresses, ...plan.dns.fallback.flatMap((r) => r.servers).filter((s) => s.reason.kind !== 'loopback')];
        for (const d of recorded) {
          const a = parseAddress(d.address)!;
          expect(explainAddress(plan, a), d.address).toEqual({ ...d, address: formatAddress(a.family, a.value) });
          expect(d.path, d.address).toBe(reference(p, a));
          // A reason never contradicts its path.
          if (d.reason.kind === 'mode_default') expect(d.path).toBe(d.reason.mode === 'exclude' ? 'tunnel' : 'direct');
          if (d.reason.kind === 'bypass') expect(d.path).toBe('direct');
          if (d.reason.kind === 'always_tunnel' || d.reason.kind === 'doh_tunnel') expect(d.path).toBe('tunnel');
        }
        const paths = new Set(plan.dns.doh.addresses.map((d) => d.path));
        expect(plan.dns.doh.via).toBe(paths.size === 2 ? 'mixed' : [...paths][0]);
        const name = explainName(plan, 'some-name-no-rule-matches.invalid');
        if (name.resolver.kind === 'doh') expect(name.resolver.path).toBe(plan.dns.doh.via);
        const cfg = dnsProxyConfigFromPlan(plan)!;
        expect(cfg.doh.via).toBe(plan.dns.doh.via);
        expect(cfg.doh.paths ?? null).toEqual(plan.dns.doh.via === 'mixed' ? plan.dns.doh.addresses.map((d) => ({ address: d.address, path: d.path })) : null);
        expect(parseDnsProxyConfig(serializeDnsProxyConfig(cfg))).toEqual(cfg);
      }),
      { numRuns: 150 },
    );
  });

  it('fallback servers carry the path of their address', () => {
    fc.assert(
      fc.property(validProfile, (p) => {
        const plan = analyze(stringify(p)).plan!;
        for (const rule of plan.dns?.fallback ?? []) {
          for (const s of rule.servers) {
            const a = parseAddress(s.address)!;
            const loopback = a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
            const expected = loopback ? 'direct' : reference(p, a);
            expect(s.path, `${rule.suffix} → ${s.address}`).toBe(expected);
          }
          expect(rule.useSystemResolvers).toBe(rule.servers.length === 0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('service modes turn features on and off as warp-behavior.md says', () => {
    const f = (mode: string): Plan['features'] => analyze(`version: 1\nservice_mode: ${mode}\n`).plan!.features;
    expect(f('warp')).toEqual({ dns: true, tunnel: true, routes: true, firewall: true, localProxy: false });
    expect(f('1dot1')).toEqual({ dns: true, tunnel: false, routes: false, firewall: false, localProxy: false });
    expect(f('warp_tunnel_only')).toEqual({ dns: false, tunnel: true, routes: true, firewall: true, localProxy: false });
    expect(f('proxy')).toEqual({ dns: false, tunnel: false, routes: false, firewall: false, localProxy: true });
    expect(f('posture_only')).toEqual({ dns: false, tunnel: false, routes: false, firewall: false, localProxy: false });
  });

  it('defaults: a profile with only version: 1 has every documented default', () => {
    const plan = analyze('version: 1\n').plan!;
    expect(plan.split.rules.filter((r) => r.source === 'entry')).toHaveLength(16);
    expect(plan.dns!.fallback.map((f) => f.suffix)).toHaveLength(14);
    expect(plan.dns!.fallback.every((f) => f.useSystemResolvers)).toBe(true);
    expect(plan.interface).toEqual({ ipv4: '172.16.0.2', ipv6: null, mtu: 1280 });
    expect(plan.dns!.listen).toEqual({ v4: ['127.0.2.2', '127.0.2.3'], v6: ['fd01:db8:1111::2', 'fd01:db8:1111::3'] });
    expect(plan.targets.linux).toEqual({ interface: 'CloudflareWARP', table: 65743, fwmark: 0x100cf, rulePriority: 32000, nftTable: 'cloudflare-warp', dnsManager: 'auto' });
    // always_tunnel wins over an excluded entry, the endpoint always bypasses.
    const p = analyze('version: 1\nsplit_tunnel: { entries: [{ address: 172.64.0.0/16 }] }\nalways_tunnel: [172.64.128.0/20]\ntunnel: { endpoint: "172.64.128.1:2408" }\n');
    const plan2 = p.plan!;
    expect(plan2.split.tunnel.v4.contains(parseAddress('172.64.129.1')!)).toBe(true);
    expect(plan2.split.tunnel.v4.contains(parseAddress('172.64.1.1')!)).toBe(false);
    expect(plan2.split.tunnel.v4.contains(parseAddress('172.64.128.1')!)).toBe(false);
    expect(p.diagnostics.map((d) => d.code)).toContain('WARPC0037');
  });
});
