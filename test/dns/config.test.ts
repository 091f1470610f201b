import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { DNS_PROXY_SELF_NAMES, DNS_PROXY_V4, DNS_PROXY_V6 } from '../../src/profile/defaults.js';
import { loadProfileSource } from '../../src/profile/load.js';
import { validateProfile } from '../../src/profile/validate.js';
import { targetOptions } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { ContractError } from '../../src/contract/json-file.js';
import { parseDnsProxyConfig, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { loadDnsProxyConfig } from '../../src/runtime/dns/config.js';
import { Router } from '../../src/runtime/dns/router.js';

function planOf(yaml: string) {
  const { doc, diagnostics } = loadProfileSource(yaml);
  if (!doc) throw new Error(JSON.stringify(diagnostics));
  const v = validateProfile(doc, targetOptions(TARGETS));
  if (!v.profile) throw new Error(JSON.stringify(v.diagnostics));
  return buildPlan(v.profile).plan;
}

const PROFILE = `
version: 1
name: cfg
split_tunnel:
  mode: exclude
  entries:
    - { address: 10.0.0.0/8, description: LAN }
    - { host: "*.zoom.us", description: video }
    - { host: intranet.example.com, description: in }
fallback_domains:
  - { suffix: corp.example.com, dns_server: [10.0.0.53, "fd00::53"], description: AD }
  - { suffix: home.arpa, description: router }
dns:
  doh_url: "https://abc.gateway.example/dns-query"
  doh_addresses: [162.159.36.5]
  search: [corp.example.com]
`;

const dir = mkdtempSync(join(tmpdir(), 'warpc-dnscfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dns-proxy.json from the plan', () => {
  it('carries listeners, DoH, fallback rules with paths, search, host rules and local answers', () => {
    const cfg = dnsProxyConfigFromPlan(planOf(PROFILE))!;
    expect(cfg.listen).toEqual([...DNS_PROXY_V4, ...DNS_PROXY_V6].map((address) => ({ address, port: 53 })));
    expect(cfg.doh).toEqual({ url: 'https://abc.gateway.example/dns-query', addresses: ['162.159.36.5'], via: 'tunnel' });
    const corp = cfg.fallback.find((r) => r.suffix === 'corp.example.com')!;
    // 10.0.0.0/8 is excluded from the tunnel: its server is reached directly.
    expect(corp.servers).toContainEqual({ address: '10.0.0.53', path: 'direct' });
    expect(corp.use_system_resolvers).toBe(false);
    expect(cfg.fallback.find((r) => r.suffix === 'home.arpa')).toEqual({ suffix: 'home.arpa', servers: [], use_system_resolvers: true });
    expect(cfg.search).toEqual(['corp.example.com']);
    expect(cfg.host_rules).toEqual([
      { pattern: '*.zoom.us', action: 'direct' },
      { pattern: 'intranet.example.com', action: 'direct' },
    ]);
    expect(cfg.local_answers).toEqual(DNS_PROXY_SELF_NAMES.map((name) => ({ name, addresses: [...DNS_PROXY_V4], ttl: 0 })));
  });

  it('is null when the service mode leaves DNS to the OS', () => {
    expect(dnsProxyConfigFromPlan(planOf('version: 1\nservice_mode: warp_tunnel_only\n'))).toBeNull();
  });

  it('serializes deterministically (stable key order, 2 spaces, newline) and validates against its schema', () => {
    const cfg = dnsProxyConfigFromPlan(planOf(PROFILE))!;
    const text = serializeDnsProxyConfig(cfg);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "doh": {\n    "url"');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['version', 'listen', 'doh', 'fallback', 'search', 'host_rules', 'local_answers']);
    // Key order of the input object does not matter.
    const shuffled = JSON.parse(JSON.stringify({ local_answers: cfg.local_answers, host_rules: cfg.host_rules, search: cfg.search, fallback: cfg.fallback, doh: cfg.doh, listen: cfg.listen, version: 1 }));
    expect(serializeDnsProxyConfig(shuffled)).toBe(text);
    expect(dnsProxyConfigFromPlan(planOf(PROFILE))).toEqual(cfg);
    expect(parseDnsProxyConfig(text)).toEqual(cfg);
    // The default profile too.
    const def = serializeDnsProxyConfig(dnsProxyConfigFromPlan(planOf('version: 1\n'))!);
    expect(parseDnsProxyConfig(def).fallback).toHaveLength(14);
  });

  it('load reports every problem with its path, clearly', async () => {
    const good = JSON.parse(serializeDnsProxyConfig(dnsProxyConfigFromPlan(planOf(PROFILE))!)) as Record<string, unknown>;
    const bad = { ...good, extra: 1, doh: { url: 'http://x/dns-query', addresses: ['1.1.1.01'], via: 'sideways' } };
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const err = await loadDnsProxyConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractError);
    const msg = (err as Error).message;
    expect(msg).toContain(file);
    expect(msg).toMatch(/\/extra: unknown key/);
    expect((err as ContractError).problems.map((p) => p.pointer)).toContain('/doh/via');
    expect(msg).toMatch(/\/doh\/via: must be one of "tunnel", "direct"/);
    expect(msg).toMatch(/\/doh\/url/);
    const semantic = { ...good, doh: { url: 'https://gw.example/dns-query', addresses: ['1.1.1.01'], via: 'direct' } };
    writeFileSync(file, JSON.stringify(semantic));
    await expect(loadDnsProxyConfig(file)).rejects.toThrow(/\/doh\/addresses\/0: "1\.1\.1\.01" is not a canonical IP address/);
    writeFileSync(file, '{ not json');
    await expect(loadDnsProxyConfig(file)).rejects.toThrow(/not JSON/);
    await expect(loadDnsProxyConfig(join(dir, 'missing.json'))).rejects.toThrow(/cannot read: ENOENT/);
  });
});

describe('router', () => {
  const cfg = dnsProxyConfigFromPlan(
    planOf(`
version: 1
fallback_domains:
  - { suffix: example.com, dns_server: [10.0.0.1] }
  - { suffix: corp.example.com, dns_server: [10.0.0.2] }
  - { suffix: lan }
split_tunnel:
  entries:
    - { host: "*.example.net", description: a }
    - { host: "a.example.net", description: b }
`),
  )!;
  const router = new Router(cfg, [{ address: '192.168.1.1', port: 53 }]);

  it('takes the longest suffix on whole labels, case-insensitively (names arrive lowercased)', () => {
    expect(router.route('x.corp.example.com')).toMatchObject({ kind: 'fallback', suffix: 'corp.example.com', servers: [{ address: '10.0.0.2', port: 53 }] });
    expect(router.route('corp.example.com')).toMatchObject({ kind: 'fallback', suffix: 'corp.example.com' });
    expect(router.route('xcorp.example.com')).toMatchObject({ kind: 'fallback', suffix: 'example.com' });
    expect(router.route('example.com.evil')).toEqual({ kind: 'doh' });
    expect(router.route('printer.lan')).toMatchObject({ kind: 'fallback', servers: [{ address: '192.168.1.1', port: 53 }] });
    expect(router.route('')).toEqual({ kind: 'doh' });
    for (const name of DNS_PROXY_SELF_NAMES) expect(router.route(name)).toMatchObject({ kind: 'local' });
  });

  it('picks the most specific host rule: exact over wildcard, longer wildcard over shorter', () => {
    expect(router.hostAction('a.example.net')).toBe('direct');
    expect(router.hostAction('example.net')).toBeUndefined();
    // A hand-written config may mix actions (a profile cannot: one split mode).
    const mixed = new Router(
      { ...cfg, host_rules: [{ pattern: '*.example.net', action: 'tunnel' }, { pattern: 'a.example.net', action: 'direct' }, { pattern: '*.b.example.net', action: 'direct' }] },
      [],
    );
    expect(mixed.hostAction('a.example.net')).toBe('direct');
    expect(mixed.hostAction('x.a.example.net')).toBe('tunnel');
    expect(mixed.hostAction('deep.b.example.net')).toBe('direct');
    expect(mixed.hostAction('b.example.net')).toBe('tunnel');
    expect(mixed.hostAction('example.net')).toBeUndefined();
  });
});
