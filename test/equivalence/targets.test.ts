/**
 * Every target, read back by its independent reader, sends every probe address
 * the way the plan does, and sets the plan's DNS. Random valid profiles × probes
 * at the edges of every prefix of the plan and at random.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DualSet } from '../../src/net/prefix-set.js';
import { parseAddress } from '../../src/net/ip.js';
import { findTarget } from '../../src/emit/registry.js';
import type { ReducedVariant, TargetCapabilities } from '../../src/emit/target.js';
import { dnsServers } from '../../src/emit/view.js';
import type { readMacos } from '../readers/macos.js';
import { compileAll, edges, models, profileArb, randomV4, randomV6 } from './helpers.js';

const PROFILES = Number(process.env['WARPC_EQ_PROFILES'] ?? 200);
const PROBES = 50;

/**
 * Which registered target each reader's model belongs to, and whether it reads the
 * target's reduced variant (capabilities.reducedVariant). What a model must show
 * follows from that target's capabilities, never from its name.
 */
const MODEL_OF: Record<string, { target: string; reduced: boolean }> = {
  macos: { target: 'macos', reduced: false },
  ios: { target: 'ios', reduced: false },
  android33: { target: 'android', reduced: false },
  android: { target: 'android', reduced: false },
  'windows.ps1': { target: 'windows', reduced: false },
  'windows.netsh': { target: 'windows', reduced: true },
};

function capabilitiesOf(model: string): { caps: TargetCapabilities; lacks: ReducedVariant | null } {
  const m = MODEL_OF[model];
  const t = m && findTarget(m.target);
  if (!m || !t) throw new Error(`no registered target for model ${model}`);
  return { caps: t.capabilities, lacks: m.reduced ? t.capabilities.reducedVariant ?? null : null };
}

/** Every target, read back, agrees with the plan for `probes` (see the property below). */
function checkTargets(profile: Record<string, unknown>, randoms: string[], picks: number[]): void {
  const { plan, files } = compileAll(profile);
  const ms = models(plan, files);
  const edge = edges(plan);
  // Half the probes at edges, half random.
  const probes = randoms.map((r, i) => (i % 2 === 0 && edge.length ? edge[picks[i]! % edge.length]! : r));
  for (const [name, m] of Object.entries(ms)) {
    const { caps, lacks } = capabilitiesOf(name);
    // Routes: none unless the plan routes (a target may still read as an empty table); then every probe goes the plan's way.
    if (!plan.features.routes) {
      expect(m.routes === null || m.routes.size === 0, `${name}: routes in mode ${plan.serviceMode}`).toBe(true);
    } else {
      expect(m.routes, `${name}: no routes`).not.toBeNull();
      for (const p of probes) {
        const want = DualSet.contains(plan.split.tunnel, parseAddress(p)!) ? 'tunnel' : 'direct';
        expect(m.routes!.lookup(p), `${name}: route for ${p}`).toBe(want);
      }
    }
    // Firewall: blocks off the tunnel exactly the tunnel-bound probes (a reduced variant without one says so: WARPC0109).
    if (plan.features.firewall && lacks?.noFirewall === undefined) {
      expect(m.blockedOffTunnel, `${name}: no firewall`).not.toBeNull();
      for (const p of probes) {
        // Windows carves IPv6 link-local unicast and multicast (neighbour discovery, MLD) out of its block rules.
        const linkScope = name.startsWith('windows') && /^(fe[89ab][0-9a-f]|ff02):/.test(p);
        const want = DualSet.contains(plan.split.tunnel, parseAddress(p)!) && !linkScope;
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
      const servers = dnsServers(plan, caps);
      expect([...m.dns!.servers], `${name}: DNS servers`).toEqual([...servers.v4, ...servers.v6]);
      if (lacks?.noDnsSearch === undefined) expect([...m.dns!.search], `${name}: search`).toEqual([...plan.dns.search]);
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
  // Those that resolve at apply time list what their capabilities can route: no wildcard without wildcardHosts, no direct entry where directHosts says no.
  const applyTimeHosts = (caps: TargetCapabilities): string[] =>
    plan.split.hosts.filter((h) => (!h.pattern.wildcard || caps.wildcardHosts) && (h.action === 'tunnel' || typeof caps.directHosts !== 'object')).map((h) => h.text);
  if (plan.features.routes) expect(ms['macos']!.hosts).toEqual(applyTimeHosts(capabilitiesOf('macos').caps));
  if (ms['windows.ps1']) expect(ms['windows.ps1'].hosts).toEqual(applyTimeHosts(capabilitiesOf('windows.ps1').caps));
}

describe('every target agrees with the plan', () => {
  it(`${PROFILES} random profiles × ${PROBES} probes: routes, firewall and DNS`, () => {
    let checked = 0;
    fc.assert(
      fc.property(profileArb, fc.array(fc.oneof(randomV4, randomV6), { minLength: PROBES, maxLength: PROBES }), fc.array(fc.nat(), { minLength: PROBES, maxLength: PROBES }), (profile, randoms, picks) => {
        checkTargets(profile, randoms, picks);
        checked++;
      }),
      { numRuns: PROFILES },
    );
    expect(checked).toBe(PROFILES);
  });

  // Found by the property (seeds -2044994147 and 2033183272): readers took "no route lines" or "no firewall rule" for "cannot".
  it.each(['a', '*.a'])('a routed profile whose tunnel set is empty (include mode, host %s only): every target routes and blocks nothing', (host) => {
    // The one DoH address is the tunnel endpoint, which bypasses; an exact host is resolved at apply time, a wildcard is not.
    const profile = {
      version: 1,
      name: 'random',
      service_mode: 'warp',
      split_tunnel: { mode: 'include', entries: [{ host }] },
      tunnel: { endpoint: '10.0.0.1:2408' },
      orchestration: { addresses: [] },
      dns: { doh_addresses: ['10.0.0.1'], doh_via: 'tunnel' },
      always_tunnel: [],
    };
    const { plan } = compileAll(profile);
    expect(plan.features.routes && plan.features.firewall).toBe(true);
    expect(plan.split.tunnel.v4.toCidrs().length + plan.split.tunnel.v6.toCidrs().length).toBe(0);
    checkTargets(profile, ['10.0.0.1', '0.0.0.0', '255.255.255.255', '::', '2606:4700::1'], [0, 1, 2, 3, 4]);
  });
});
