/**
 * explain, the plan and dns-proxy.json tell one story about DoH addresses:
 * the path each takes and why, from the plan's own decision.
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { parseAddress } from '../../src/net/ip.js';
import { explainAddress, explainName } from '../../src/plan/explain.js';
import type { Plan } from '../../src/plan/types.js';
import { parseDnsProxyConfig, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';

function planOf(yaml: string): Plan {
  const r = analyze(yaml);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.plan!;
}
const addr = (s: string) => parseAddress(s)!;

describe('DoH addresses', () => {
  it('include mode, doh_via tunnel: the DoH address goes into the tunnel because it is a DoH address', () => {
    const plan = planOf('version: 1\nsplit_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\ndns: { doh_addresses: [162.159.36.5], doh_via: tunnel }\n');
    expect(explainAddress(plan, addr('162.159.36.5'))).toEqual({ address: '162.159.36.5', path: 'tunnel', reason: { kind: 'doh_tunnel' } });
    // Any other address no entry lists stays outside.
    expect(explainAddress(plan, addr('162.159.36.6'))).toMatchObject({ path: 'direct', reason: { kind: 'mode_default', mode: 'include' } });
    expect(explainName(plan, 'www.example.com').resolver).toMatchObject({ kind: 'doh', path: 'tunnel' });
    expect(dnsProxyConfigFromPlan(plan)!.doh).toEqual({ url: plan.dns!.doh.url, addresses: ['162.159.36.5'], via: 'tunnel' });
  });

  it('exclude mode: a DoH address an exclude entry holds is direct for the address, for names and in dns-proxy.json', () => {
    const plan = planOf('version: 1\nsplit_tunnel: { mode: exclude, entries: [{ address: 162.159.0.0/16 }] }\ndns: { doh_addresses: [162.159.36.5], doh_via: tunnel }\n');
    expect(explainAddress(plan, addr('162.159.36.5'))).toMatchObject({ path: 'direct', reason: { kind: 'entry', rule: { cidr: '162.159.0.0/16' } } });
    expect(explainName(plan, 'www.example.com').resolver).toMatchObject({ kind: 'doh', path: 'direct' });
    expect(plan.dns!.doh.addresses).toEqual([explainAddress(plan, addr('162.159.36.5'))]);
    expect(dnsProxyConfigFromPlan(plan)!.doh.via).toBe('direct');
  });

  it('some DoH addresses held direct, some in the tunnel: mixed, with the path of each, and the config still loads', () => {
    const plan = planOf('version: 1\nsplit_tunnel: { mode: exclude, entries: [{ address: 162.159.36.0/24 }] }\ndns: { doh_addresses: [162.159.36.5, 172.64.36.1], doh_via: tunnel }\n');
    expect(plan.dns!.doh.via).toBe('mixed');
    const name = explainName(plan, 'www.example.com').resolver;
    expect(name).toMatchObject({ kind: 'doh', path: 'mixed', addresses: [{ address: '162.159.36.5', path: 'direct' }, { address: '172.64.36.1', path: 'tunnel' }] });
    const cfg = dnsProxyConfigFromPlan(plan)!;
    expect(cfg.doh).toEqual({
      url: plan.dns!.doh.url,
      addresses: ['162.159.36.5', '172.64.36.1'],
      via: 'mixed',
      paths: [
        { address: '162.159.36.5', path: 'direct' },
        { address: '172.64.36.1', path: 'tunnel' },
      ],
    });
    const text = serializeDnsProxyConfig(cfg);
    expect(parseDnsProxyConfig(text)).toEqual(cfg);
    // paths must match the addresses and really be mixed.
    const bad = JSON.parse(text) as { doh: { paths: { address: string; path: string }[]; via: string } };
    bad.doh.paths[1]!.path = 'direct';
    expect(() => parseDnsProxyConfig(JSON.stringify(bad))).toThrow(/\/doh\/paths: every address goes direct/);
    bad.doh.via = 'direct';
    expect(() => parseDnsProxyConfig(JSON.stringify(bad))).toThrow(/\/doh: paths is only allowed with via "mixed"/);
    delete (bad.doh as { paths?: unknown }).paths;
    bad.doh.via = 'mixed';
    expect(() => parseDnsProxyConfig(JSON.stringify(bad))).toThrow(/\/doh: missing key "paths"/);
  });

  it('doh_via direct: bypass, for the address and for names', () => {
    const plan = planOf('version: 1\nsplit_tunnel: { mode: include, entries: [{ address: 162.159.0.0/16 }] }\ndns: { doh_addresses: [162.159.36.5], doh_via: direct }\n');
    expect(explainAddress(plan, addr('162.159.36.5'))).toMatchObject({ path: 'direct', reason: { kind: 'bypass', bypass: { reason: 'doh_direct' } } });
    expect(explainName(plan, 'www.example.com').resolver).toMatchObject({ kind: 'doh', path: 'direct' });
  });
});
