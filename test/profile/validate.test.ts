/** Semantic checks that the error fixtures do not show, and YAML 1.2 pinning. */
import { describe, expect, it } from 'vitest';
import { analyze, compile, resolveTargets } from '../../src/compile.js';
import { formatText } from '../../src/diagnostics/diagnostic.js';

/** Diagnostics other than the ever-present "no peer key" warning. */
const relevant = (src: string) => analyze(src).diagnostics.filter((d) => d.code !== 'WARPC0052');
const codes = (src: string): string[] => relevant(src).map((d) => `${d.code}@${d.line}`);

describe('warnings', () => {
  it('duplicate and shadowed addresses name both lines, in either order', () => {
    const src = ['version: 1', 'split_tunnel:', '  entries:', '    - address: 10.1.0.0/16', '    - address: 10.0.0.0/8', '    - address: 10.0.0.0/8', '    - address: 10.1.2.0/24', '    - address: 192.168.0.0/16', ''].join('\n');
    expect(analyze(src).plan).not.toBeNull();
    expect(relevant(src).map((d) => formatText(d).split('\n')[0])).toEqual([
      '<profile>:4:16: warning WARPC0033: address "10.1.0.0/16" is already covered by "10.0.0.0/8" at line 5; it has no effect',
      '<profile>:6:16: warning WARPC0032: address "10.0.0.0/8" is listed twice (first at line 5); the second has no effect',
      '<profile>:7:16: warning WARPC0033: address "10.1.2.0/24" is already covered by "10.1.0.0/16" at line 4; it has no effect',
    ]);
  });
  it('host patterns: duplicates, and *.parent covering names and deeper wildcards', () => {
    const src = ['version: 1', 'split_tunnel:', '  entries:', '    - host: a.zoom.us', '    - host: "*.zoom.us"', '    - host: "*.eu.zoom.us"', '    - host: zoom.us', '    - host: A.ZOOM.US', ''].join('\n');
    expect(codes(src)).toEqual(['WARPC0033@4', 'WARPC0033@6', 'WARPC0032@8']);
  });
  it('a private fallback server whose queries go into the tunnel', () => {
    const src = 'version: 1\nsplit_tunnel: { entries: [{ address: 192.168.0.0/16 }] }\nfallback_domains:\n  - { suffix: corp.example.com, dns_server: [10.0.0.53, 192.168.1.1, 127.0.0.53] }\n';
    const r = analyze(src);
    expect(relevant(src).map((d) => d.code)).toEqual(['WARPC0040', 'WARPC0043']);
    expect(relevant(src)[0]!.message).toContain('10.0.0.53');
    expect(r.plan!.dns!.fallback[0]!.servers).toMatchObject([
      { address: '10.0.0.53', path: 'tunnel' },
      { address: '192.168.1.1', path: 'direct' },
      { address: '127.0.0.53', path: 'direct' },
    ]);
  });
  it('split tunnel in a mode that routes nothing; include entries containing the endpoint; always_tunnel over a bypass', () => {
    expect(codes('version: 1\nservice_mode: 1dot1\nsplit_tunnel: { entries: [{ address: 10.0.0.0/8 }] }\n')).toEqual(['WARPC0038@3']);
    expect(codes('version: 1\nsplit_tunnel: { mode: include, entries: [{ address: 162.159.192.0/22 }] }\ntunnel: { peer_public_key: "bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=" }\n')).toEqual(['WARPC0039@2']);
    expect(codes('version: 1\nalways_tunnel: [162.159.137.0/24]\ntunnel: { peer_public_key: "bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=" }\n')).toEqual(['WARPC0037@2']);
  });
  it('a DoH address that cannot go into the tunnel although dns.doh_via is tunnel', () => {
    const key = 'tunnel: { endpoint: "10.9.9.9:2408", peer_public_key: "bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=" }\n';
    // The endpoint and an orchestration address bypass the tunnel; a default exclude entry (10.0.0.0/8) keeps another out.
    const dns = 'dns:\n  doh_addresses:\n    - 10.9.9.9\n    - 192.0.2.7\n    - 10.1.2.3\n    - 162.159.36.5\norchestration: { addresses: [192.0.2.7] }\n';
    expect(codes(`version: 1\n${key}${dns}`)).toEqual(['WARPC0044@5', 'WARPC0044@6', 'WARPC0044@7']);
    const messages = relevant(`version: 1\n${key}${dns}`).map((d) => d.message);
    expect(messages).toEqual([
      'DoH address 10.9.9.9 goes direct although dns.doh_via is tunnel: it is the tunnel endpoint, which always bypasses the tunnel',
      'DoH address 192.0.2.7 goes direct although dns.doh_via is tunnel: it is a device orchestration address, which never follows Split Tunnel rules',
      'DoH address 10.1.2.3 goes direct although dns.doh_via is tunnel: split tunnel exclude entry 10.0.0.0/8 (a default entry) contains it',
    ]);
    // Include mode puts DoH addresses into the tunnel: only a bypass keeps one out. A profile's own entry is named by line.
    expect(codes(`version: 1\nsplit_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\n${key}${dns}`)).toEqual(['WARPC0039@2', 'WARPC0044@6', 'WARPC0044@7']);
    expect(relevant(`version: 1\nsplit_tunnel: { entries: [{ address: 162.159.0.0/16 }] }\n${key}${dns}`).map((d) => d.message).at(-1)).toBe(
      'DoH address 162.159.36.5 goes direct although dns.doh_via is tunnel: split tunnel exclude entry 162.159.0.0/16 (line 2) contains it',
    );
    // Nothing to say when DoH is meant to go direct, or when nothing is routed.
    expect(codes(`version: 1\n${key}${dns.replace('dns:\n', 'dns:\n  doh_via: direct\n')}`)).toEqual([]);
    expect(codes(`version: 1\nservice_mode: 1dot1\n${key}${dns}`)).toEqual([]);
  });
});

describe('errors', () => {
  it('MTU bounds depend on IPv6; an empty doh_addresses; interface address families', () => {
    expect(codes('version: 1\ninterface: { mtu: 1000, ipv6: "2606:4700::2" }\n')).toEqual(['WARPC0051@2']);
    expect(codes('version: 1\ninterface: { mtu: 1000 }\n')).toEqual([]);
    expect(codes('version: 1\ndns: { doh_addresses: [] }\n')).toEqual(['WARPC0042@2']);
    expect(codes('version: 1\ninterface: { ipv4: "2001:db8::1", ipv6: 10.0.0.1 }\n')).toEqual(['WARPC0029@2', 'WARPC0029@2']);
  });
  it('IPv6 endpoints need brackets; a port is required', () => {
    expect(codes('version: 1\ntunnel: { endpoint: "[2606:4700::1]:2408" }\n').filter((c) => c.startsWith('WARPC0025'))).toEqual([]);
    expect(codes('version: 1\ntunnel: { endpoint: "2606:4700::1:2408" }\n')).toEqual(['WARPC0025@2']);
    expect(codes('version: 1\ntunnel: { endpoint: "[10.0.0.1]:2408" }\n')).toEqual(['WARPC0025@2']);
    expect(codes('version: 1\ntunnel: { endpoint: "10.0.0.1:70000" }\n')).toEqual(['WARPC0025@2']);
  });
  it('unknown targets are coded diagnostics', () => {
    expect(resolveTargets('linux,plan9').diagnostics.map((d) => d.code)).toEqual(['WARPC0060']);
    expect(resolveTargets('all').targets.map((t) => t.name)[0]).toBe('linux');
  });
});

describe('YAML 1.2, nothing coerced', () => {
  it('0x100cf is an integer, 0777 is decimal, yes/on stay strings, a BOM is fine', () => {
    const plan = analyze('\ufeffversion: 1\nname: yes\ntargets:\n  linux: { fwmark: 0x100cf, table: 0777 }\n').plan!;
    expect(plan.name).toBe('yes');
    expect(plan.targets.linux.fwmark).toBe(65743);
    expect(plan.targets.linux.table).toBe(777);
  });
  it('a quoted number is a string, not a number', () => {
    expect(codes('version: "1"\n')).toEqual(['WARPC0012@1']);
  });
  it('empty files and non-mappings are errors, not crashes', () => {
    expect(codes('')).toEqual(['WARPC0004@1']);
    expect(codes('- version: 1\n')).toEqual(['WARPC0004@1']);
    expect(codes('just text\n')).toEqual(['WARPC0004@1']);
  });
  it('control characters in raw text or in decoded values', () => {
    expect(codes('version: 1\nname: "a\\u0007b"\n')).toEqual(['WARPC0007@2']);
    expect(codes('version: 1\nname: a\u0000b\n')).toEqual(['WARPC0007@2']);
    expect(codes('version: 1\nname: "a\u202eb"\n')).toEqual(['WARPC0007@2']);
  });
});

describe('scale', () => {
  it('100k split tunnel entries compile for Linux (a complexity bound, not a stopwatch)', () => {
    const lines = ['version: 1', 'split_tunnel:', '  entries:'];
    let x = 0x0b000000; // 11.0.0.0 upwards: disjoint /30s, adjacent pairs merge
    for (let i = 0; i < 100_000; i++) {
      lines.push(`    - address: ${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}/30`);
      x += i % 3 === 0 ? 8 : 4;
    }
    const r = compile(lines.join('\n'), resolveTargets('linux').targets);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const batch = r.files.get('linux/routes4.batch')!.text;
    const throws = batch.split('\n').filter((l) => l.startsWith('route add throw')).length;
    expect(throws).toBe(r.plan!.split.direct.v4.prefixCount());
    expect(throws).toBeLessThan(100_000);
  });
});
