/**
 * The macOS, Windows, iOS and Android targets: structured outputs validate
 * against their schemas, exclude-mode route counts are minimal (computed here
 * independently with cidr-tools and ip-cidr), hostile descriptions read back
 * exactly, every shell artifact is shellcheck-clean, and the readers' tokenizers
 * catch a broken quote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { excludeCidr, mergeCidr } from 'cidr-tools';
import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { powershellQuote } from '../../src/emit/quote.js';
import { validProfile } from '../helpers/arbitraries.js';
import { validFixtures } from '../helpers/fixtures.js';
import { compileAll, profileArb } from '../equivalence/helpers.js';
import { readMacos } from '../readers/macos.js';
import { readAndroid } from '../readers/mobile.js';
import { parseValue, tokenize } from '../readers/powershell.js';
import { cmdWords, readApplyNetsh, readApplyPs1 } from '../readers/windows.js';
import { shWords } from '../readers/sh.js';

const ROOT = join(import.meta.dirname, '..', '..');
const schema = (name: string): object => JSON.parse(readFileSync(join(ROOT, 'schema', 'targets', name), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: true });
const validateIos = ajv.compile(schema('ios.network-settings.schema.json'));
const validateAndroid = ajv.compile(schema('android.vpn-service.schema.json'));

describe('structured outputs', () => {
  it('iOS and Android JSON validate against their schemas for random profiles', () => {
    fc.assert(
      fc.property(profileArb, (p) => {
        const { files } = compileAll(p);
        const ios = JSON.parse(files.get('ios')!.get('network-settings.json')!) as unknown;
        const android = JSON.parse(files.get('android')!.get('vpn-service.json')!) as unknown;
        expect(validateIos(ios), JSON.stringify(validateIos.errors)).toBe(true);
        expect(validateAndroid(android), JSON.stringify(validateAndroid.errors)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
  it('the schemas reject a wrong shape', () => {
    expect(validateIos({ version: 1 })).toBe(false);
    expect(validateAndroid({ version: 1, calls: [{ method: 'protect' }] })).toBe(false);
  });
});

/** Minimal CIDR count of a set of prefixes, by merging ranges and splitting greedily (no compiler code). */
function minimalCount(cidrs: string[]): number {
  const byFam = new Map<number, [bigint, bigint][]>();
  for (const c of cidrs) {
    const r = new IPCIDR(c);
    const fam = c.includes(':') ? 6 : 4;
    if (!byFam.has(fam)) byFam.set(fam, []);
    byFam.get(fam)!.push([r.start({ type: 'bigInteger' }) as unknown as bigint, r.end({ type: 'bigInteger' }) as unknown as bigint]);
  }
  let n = 0;
  for (const [fam, rs] of byFam) {
    rs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const r of rs) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
      else merged.push([r[0], r[1]]);
    }
    const bits = fam === 4 ? 32 : 128;
    for (const [lo0, hi] of merged) {
      let lo = lo0;
      while (lo <= hi) {
        let size = 0;
        while (size < bits && lo % (1n << BigInt(size + 1)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
        n++;
        lo += 1n << BigInt(size);
      }
    }
  }
  return n;
}

describe('minimality in exclude mode', () => {
  it('routes.sh, apply.ps1, apply.netsh.cmd and Android < 33 install exactly the minimal complement', () => {
    const arb = validProfile
      .filter((p) => p['service_mode'] === 'warp' || p['service_mode'] === 'warp_tunnel_only')
      .map((p): Record<string, unknown> => ({ ...p, split_tunnel: { ...(p['split_tunnel'] as object), mode: 'exclude' } }));
    fc.assert(
      fc.property(arb, (p) => {
        const entries = ((p['split_tunnel'] as unknown as { entries: { address?: string }[] }).entries).flatMap((e) => (e.address ? [e.address] : []));
        const always = (p['always_tunnel'] as string[] | undefined) ?? ['172.64.128.0/20', '2606:4700:cf1::/48'];
        const dns = p['dns'] as { doh_addresses: string[]; doh_via: string };
        const host = (a: string): string => `${a}/${a.includes(':') ? 128 : 32}`;
        const bypass = [(p['tunnel'] as { endpoint: string }).endpoint.replace(/:\d+$/, ''), ...(p['orchestration'] as { addresses: string[] }).addresses, ...(dns.doh_via === 'direct' ? dns.doh_addresses : [])].map(host);
        const complement = excludeCidr(['0.0.0.0/0', '::/0'], entries.length ? entries : ['0.0.0.0/32']).concat(entries.length ? [] : ['0.0.0.0/32']);
        const tunnel = bypass.length ? excludeCidr(mergeCidr([...complement, ...always]), bypass) : mergeCidr([...complement, ...always]);
        const expected = minimalCount(tunnel);
        const whole = tunnel.filter((c) => c === '0.0.0.0/0' || c === '::/0').length;

        const { files } = compileAll(p);
        const mac = readMacos(files.get('macos')!, 'utun3');
        // macOS installs a /0 as its two /1 halves, so the default route stays for the bypass host routes.
        expect(mac.tunnelRoutes).toBe(expected + whole);
        expect(readApplyPs1(files.get('windows')!).tunnelRoutes).toBe(expected);
        expect(readApplyNetsh(files.get('windows')!).tunnelRoutes).toBe(expected);
        expect(readAndroid(files.get('android')!.get('vpn-service.json')!, 'callsBeforeApi33').addRoutes).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });
});

const hostileUnit = fc.constantFrom("'", '\u2018', '\u2019', '\u201a', '\u201b', '"', '\u201c', '\u201d', '`', '$', '$(x)', '#', '\\', ';', '|', '&', '%', '%x%', '^', '@(', ')', '{', 'a', ' ', '<#', '#>', 'é', '\u{1F600}');
const hostile = fc.array(hostileUnit, { minLength: 1, maxLength: 12 }).map((xs) => xs.join(''));

describe('hostile strings read back exactly', () => {
  it('PowerShell single quotes survive the tokenizer, including curly quotes', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const toks = tokenize(`$x = ${powershellQuote(s)}\n`);
        expect(parseValue(toks, 2, new Map())).toEqual([s, toks.length - 1]);
      }),
      { numRuns: 500 },
    );
  });
  it('descriptions in apply.ps1 and in the macOS comments are exactly the profile text', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 4 }), (descs) => {
        const profile = { version: 1, name: 'hostile', split_tunnel: { mode: 'exclude', entries: descs.map((d, i) => ({ address: `10.${i}.0.0/16`, description: d })) } };
        const { files } = compileAll(profile);
        const ps = readApplyPs1(files.get('windows')!);
        expect(ps.texts.slice(0, descs.length)).toEqual(descs);
        const mac = readMacos(files.get('macos')!, 'utun3');
        expect(mac.texts.slice(0, descs.length)).toEqual(descs);
      }),
      { numRuns: 100 },
    );
  });
  it('the tokenizers catch a broken quote', () => {
    expect(() => tokenize("$x = 'it's'\n")).toThrow(/unterminated/);
    expect(() => tokenize("$x = 'a\u2019\u2019\n")).toThrow(/unterminated/);
    expect(() => cmdWords('netsh interface ipv4 set address name="CloudflareWARP', {})).toThrow(/unterminated/);
    expect(() => shWords("ifname='utun3", {})).toThrow(/unterminated/);
    // A quoting function that forgot the curly quotes would not read back.
    const naive = (s: string): string => `'${s.replace(/'/g, "''")}'`;
    const readBack = (s: string): unknown => {
      try {
        return tokenize(`$x = ${naive(s)}\n`)[2];
      } catch {
        return 'broken';
      }
    };
    expect(readBack('a\u2019b')).not.toEqual({ t: 'str', v: 'a\u2019b' });
    expect(readBack("a'b")).toEqual({ t: 'str', v: "a'b" });
  });
});

describe('shell artifacts', () => {
  it('every macOS script is shellcheck-clean in every service mode and fixture', () => {
    const sources = [
      ...validFixtures().map((f) => f.source),
      ...['warp', '1dot1', 'warp_tunnel_only', 'proxy', 'posture_only'].flatMap((m) => [
        stringify({ version: 1, name: `m-${m.replace(/_/g, '-')}`, service_mode: m }),
        stringify({ version: 1, name: 'hosts', service_mode: m, ...(m === 'warp' ? { split_tunnel: { mode: 'include', entries: [{ host: 'a.example.com' }, { address: '10.0.0.0/8' }] } } : {}), interface: { ipv6: '2606:4700:110:8a2e::2' }, dns: { search: ['corp.example.com'] } }),
      ]),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'warpc-sc-'));
    try {
      let n = 0;
      for (const src of sources) {
        const r = compile(src, TARGETS);
        expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        for (const [path, f] of r.files) {
          if (!path.startsWith('macos/') || !path.endsWith('.sh')) continue;
          const file = join(dir, `${n++}.sh`);
          writeFileSync(file, f.text);
          try {
            execFileSync('shellcheck', ['-s', 'sh', file], { stdio: 'pipe' });
          } catch (err) {
            throw new Error(`shellcheck ${path}:\n${String((err as { stdout?: Buffer }).stdout ?? (err as Error).message)}`);
          }
        }
      }
      expect(n).toBeGreaterThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
