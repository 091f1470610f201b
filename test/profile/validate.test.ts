/** Semantic checks that the error fixtures do not show, and YAML 1.2 pinning. */
import { describe, expect, it } from 'vitest';
import { analyze, compile, resolveTargets } from '../../src/compile.js';
import { formatText } from '../../src/diagnostics/diagnostic.js';
import { decodeProfileBytes, firstInvalidUtf8 } from '../../src/profile/load.js';

/** Diagnostics other than the ever-present "no peer key" warning. */
// Pitfall warnings (WARPC0130–0149) have their own tests (test/pitfalls).
const relevant = (src: string) => analyze(src).diagnostics.filter((d) => d.code !== 'WARPC0052' && !(d.code >= 'WARPC0130' && d.code <= 'WARPC0149'));
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
    // An IPv6 endpoint: only the IPv6 entry that holds it (block style: the fast reader's entries, their prefixes as words).
    const v6 = ['version: 1', 'split_tunnel:', '  mode: include', '  entries:', '    - address: 2606:4700:d0::/48', '    - address: 2606:4700:d1::/48', '    - address: 10.0.0.0/8'];
    const v6Tunnel = 'tunnel: { endpoint: "[2606:4700:d0::a29f:c001]:2408", peer_public_key: "bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=" }';
    expect(codes(`${[...v6, v6Tunnel].join('\n')}\n`)).toEqual(['WARPC0039@5']);
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
    expect(codes('version: 1\ninterface: { mtu: 500 }\n')).toEqual(['WARPC0051@2']);
    expect(codes('version: 1\ninterface: { mtu: 1000, ipv6: "2606:4700::2" }\n')).toEqual(['WARPC0054@2']);
    expect(codes('version: 1\nservice_mode: 1dot1\ninterface: { mtu: 1000 }\n')).toEqual([]);
    expect(codes('version: 1\ndns: { doh_addresses: [] }\n')).toEqual(['WARPC0042@2']);
    expect(codes('version: 1\ninterface: { ipv4: "2001:db8::1", ipv6: 10.0.0.1 }\n')).toEqual(['WARPC0029@2', 'WARPC0029@2']);
  });
  it('an MTU below 1280 only when no IPv6 is routed into the tunnel (the plan\'s IPv6 tunnel set is empty)', () => {
    const mtu = 'interface: { mtu: 1000 }\n';
    // Exclude mode tunnels all IPv6 that is not excluded; include mode tunnels always_tunnel's 2606:4700:cf1::/48 and IPv6 DoH addresses.
    expect(codes(`version: 1\n${mtu}`)).toEqual(['WARPC0054@2']);
    expect(codes(`version: 1\n${mtu}split_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\n`)).toEqual(['WARPC0054@2']);
    expect(analyze(`version: 1\n${mtu}`).plan).toBeNull();
    // No IPv6 left in the tunnel: excluded entirely, or include mode with IPv4 only (DoH over IPv4, IPv4 always_tunnel).
    const v4only = `version: 1\n${mtu}split_tunnel: { entries: [{ address: "::/0" }] }\nalways_tunnel: [172.64.128.0/20]\ndns: { doh_addresses: [1.1.1.1] }\n`;
    expect(codes(v4only)).toEqual([]);
    expect(analyze(v4only).plan!.split.tunnel.v6.isEmpty).toBe(true);
    const inc = `version: 1\n${mtu}split_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\nalways_tunnel: []\ndns: { doh_addresses: [1.1.1.1] }\n`;
    expect(codes(inc).filter((c) => c.startsWith('WARPC0054'))).toEqual([]);
    // One more IPv6 address in the tunnel is enough to refuse.
    expect(codes(inc.replace('[1.1.1.1]', '[1.1.1.1, "2606:4700:4700::1111"]'))).toEqual(['WARPC0054@2']);
    // The message points at the value and says why and what to do.
    const d = relevant(`version: 1\n${mtu}`)[0]!;
    expect(d.message).toMatch(/below 1280.*RFC 8200.*the tunnel carries IPv6 \(::\/3 and \d+ more IPv6 prefixes\).*raise mtu to 1280 or more, or route no IPv6 into the tunnel/);
    expect([d.line, d.col]).toEqual([2, 19]);
  });
  it('a host entry that is an address or prefix suggests address:', () => {
    const host = (h: string): string[] => relevant(`version: 1\nsplit_tunnel: { entries: [{ host: "${h}" }] }\n`).map((d) => `${d.code} ${d.message}`);
    expect(host('10.0.0.1')).toEqual(['WARPC0090 host entry "10.0.0.1" is an IP address, not a name, so it would match nothing: did you mean address: 10.0.0.1/32?']);
    expect(host('10.0.0.1.')[0]).toMatch(/^WARPC0090 .*did you mean address: 10\.0\.0\.1\/32\?$/);
    expect(host('2001:DB8::1')[0]).toMatch(/did you mean address: 2001:db8::1\/128\?$/);
    expect(host('10.1.2.3/8')[0]).toMatch(/did you mean address: 10\.0\.0\.0\/8\?$/);
    expect(host('10.0.0.256')[0]).toMatch(/^WARPC0023 .*looks like an IP address/);
    // Numeric labels are still fine in names that are not dotted quads.
    expect(host('1.2.3.example')).toEqual([]);
    expect(host('10.1')).toEqual([]);
  });
  it('IPv4-mapped IPv6 addresses are refused wherever an address is read, with the IPv4 form', () => {
    const v = (yaml: string): string[] => relevant(`version: 1\n${yaml}\n`).map((d) => `${d.code} ${d.message.replace(/.*write the IPv4 form /, '')}`);
    expect(v('tunnel: { endpoint: "[::ffff:162.159.193.1]:2408" }')).toEqual(['WARPC0091 162.159.193.1:2408']);
    expect(v('dns: { doh_addresses: ["::ffff:0101:0101"] }')).toEqual(['WARPC0091 1.1.1.1']);
    expect(v('orchestration: { addresses: ["::FFFF:1.2.3.4"] }')).toEqual(['WARPC0091 1.2.3.4']);
    expect(v('fallback_domains: [{ suffix: corp.example.com, dns_server: ["::ffff:a00:35"] }]')).toEqual(['WARPC0091 10.0.0.53']);
    expect(v('interface: { ipv6: "::ffff:10.0.0.1" }')).toEqual(['WARPC0091 10.0.0.1']);
    expect(v('always_tunnel: ["::ffff:10.0.0.0/104"]')).toEqual(['WARPC0091 10.0.0.0/8']);
    expect(v('split_tunnel: { entries: [{ address: "::ffff:10.1.2.3" }] }')).toEqual(['WARPC0091 10.1.2.3/32']);
    // The whole mapped range (and anything wider) is an IPv6 range like any other.
    expect(v('split_tunnel: { entries: [{ address: "::ffff:0:0/96" }] }')).toEqual([]);
    expect(v('always_tunnel: ["::/64"]')).toEqual([]);
  });
  it('unusable endpoints and interface addresses', () => {
    const v = (yaml: string): string[] => relevant(`version: 1\n${yaml}\n`).map((d) => d.code);
    for (const ep of ['0.0.0.0:2408', '127.0.0.1:2408', '127.8.9.10:51820', '224.0.0.1:2408', '239.1.1.1:2408', '255.255.255.255:2408', '[::]:2408', '[::1]:2408', '[ff02::1]:2408', '[ff0e::1]:2408']) {
      expect(v(`tunnel: { endpoint: "${ep}" }`), ep).toEqual(['WARPC0055']);
    }
    expect(v('tunnel: { endpoint: "172.16.0.2:2408" }')).toEqual(['WARPC0056']);
    expect(v('interface: { ipv6: "2606:4700:110::2" }\ntunnel: { endpoint: "[2606:4700:110::2]:2408" }')).toEqual(['WARPC0056']);
    for (const a of ['0.0.0.0', '255.255.255.255', '127.0.0.1', '224.0.0.5']) expect(v(`interface: { ipv4: ${a} }`), a).toEqual(['WARPC0057']);
    for (const a of ['::', '::1', 'ff02::2']) expect(v(`interface: { ipv6: "${a}" }`), a).toEqual(['WARPC0057']);
    // Ordinary addresses stay fine, including 240/4 and link-local (the defaults' neighbours).
    expect(v('interface: { ipv4: 100.96.0.2, ipv6: "fd00::2" }\ntunnel: { endpoint: "198.51.100.7:2408" }')).toEqual([]);
  });
  it('Linux interface names of the kernel and of physical NICs are refused; the defaults and tunnel-like names are not', () => {
    const v = (name: string): string[] => relevant(`version: 1\ntargets: { linux: { interface: "${name}" } }\n`).map((d) => d.code);
    for (const n of ['all', 'default', 'lo', 'eth0', 'eth12', 'wlan0', 'wwan0', 'eno1', 'ens33', 'enp3s0', 'enp0s31f6', 'enx00e04c680001', 'wlp2s0', 'wlo1', 'wwp0s20f3u2', 'ibp4s0']) {
      expect(v(n), n).toEqual(['WARPC0058']);
    }
    for (const n of ['CloudflareWARP', 'warp0', 'wg0', 'tun0', 'ethX', 'eth', 'enterprise', 'lo0', 'allx', 'Default']) expect(v(n), n).toEqual([]);
  });
  it('names: a trailing dot is the same name; Unicode names get their A-label', () => {
    const src = 'version: 1\nsplit_tunnel: { entries: [{ host: "*.Zoom.US." }, { host: "intranet.example." }] }\nfallback_domains: [{ suffix: "corp.example.com." }]\ndns: { search: ["corp.example.com."] }\n';
    const p = analyze(src).profile!;
    expect(relevant(src)).toEqual([]);
    expect(p.splitTunnel.entries.map((e) => (e.kind === 'host' ? e.host : e.address))).toEqual(['*.zoom.us', 'intranet.example']);
    expect(p.fallbackDomains.map((f) => f.suffix)).toEqual(['corp.example.com']);
    expect(p.dns.search).toEqual(['corp.example.com']);
    // "x." and "x" are one suffix.
    expect(codes('version: 1\nfallback_domains: [{ suffix: corp.example }, { suffix: corp.example. }]\n')).toEqual(['WARPC0041@2']);
    // Only one dot goes; "." alone and ".." stay errors.
    expect(codes('version: 1\ndns: { search: [".", "a..", "a.b.."] }\n')).toEqual(['WARPC0024@2', 'WARPC0024@2', 'WARPC0024@2']);
    const u = relevant('version: 1\nsplit_tunnel: { entries: [{ host: "*.bücher.example." }] }\n');
    expect(u.map((d) => `${d.code} ${d.message}`)).toEqual(['WARPC0045 "*.bücher.example." is not a valid host pattern: DNS names are ASCII; use the A-label "*.xn--bcher-kva.example"']);
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
  it('anchors and tags on scalars are refused like those on collections, pointing at the anchor or tag', () => {
    const at = (src: string): string[] => relevant(src).map((d) => `${d.code}@${d.line}:${d.col}+${d.length}`);
    expect(at('version: !!int 1\n')).toEqual(['WARPC0006@1:10+5']);
    expect(at('version: 1\nname: &n office\n')).toEqual(['WARPC0006@2:7+2']);
    expect(at('version: 1\nname: !!str office\n')).toEqual(['WARPC0006@2:7+5']);
    expect(at('version: 1\nname: !custom office\n')).toEqual(['WARPC0006@2:7+7']);
    expect(at('version: 1\n!!str name: office\n')).toEqual(['WARPC0006@2:1+5']);
    expect(at('version: 1\nalways_tunnel: [&a 10.0.0.0/8]\n')).toEqual(['WARPC0006@2:17+2']);
    expect(at('version: 1\nname: !<tag:yaml.org,2002:str> x\n')).toEqual(['WARPC0006@2:7+24']);
  });
  it('bytes that are not UTF-8 are refused at the first bad byte, never turned into U+FFFD', () => {
    const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
    const latin1 = Buffer.concat([enc('version: 1\nname: caf'), Buffer.from([0xe9]), enc('\n')]);
    expect(decodeProfileBytes(latin1)).toEqual({ source: null, diagnostics: [expect.objectContaining({ code: 'WARPC0016', line: 2, col: 10, message: expect.stringContaining('byte 0xE9') })] });
    // Columns count characters: a valid "ü" before the bad byte is one column.
    const after = Buffer.concat([enc('version: 1\nname: "ü'), Buffer.from([0xc0, 0xaf]), enc('"\n')]);
    expect(decodeProfileBytes(after).diagnostics.map((d) => [d.line, d.col])).toEqual([[2, 9]]);
    for (const bad of [[0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xff]]) {
      expect(firstInvalidUtf8(Buffer.concat([enc('ab'), Buffer.from(bad)])), bad.join(',')).toBe(2);
    }
    const good = enc('\ufeffversion: 1\nname: "bücher 😀 \uFFFD"\n');
    expect(firstInvalidUtf8(good)).toBe(good.length);
    expect(decodeProfileBytes(good)).toEqual({ source: good.toString('utf8'), diagnostics: [] });
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
