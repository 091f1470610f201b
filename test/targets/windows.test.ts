/**
 * The Windows artifacts as Windows reads them: Windows PowerShell 5.1 reads a
 * script without a byte-order mark in the ANSI code page, cmd.exe always does,
 * so every file must lex the same decoded as cp1250/1251/1252 and as UTF-8.
 * Scripts have CRLF line endings. IPv6 neighbour discovery and MLD pass the
 * firewall. Run on a modelled machine, apply is idempotent, revert puts back
 * everything (MTU, metric, every adapter's DNS servers), and every adapter
 * asks the proxy.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { validFixtures } from '../helpers/fixtures.js';
import { compileAll } from '../equivalence/helpers.js';
import { tokenize } from '../readers/powershell.js';
import { runCmd } from '../readers/cmdrun.js';
import { runPs } from '../readers/psrun.js';
import { cmdWords, machineDnsServers, readApplyNetsh, readApplyPs1, requireCrlf } from '../readers/windows.js';
import { clone, effectiveDns, observable, sampleState, type WinState } from '../readers/winstate.js';

const CODE_PAGES = ['windows-1250', 'windows-1251', 'windows-1252'] as const;

/** What a reader of this kind of file sees: PowerShell tokens, cmd words per line, or the text itself. */
function lex(path: string, text: string): unknown {
  if (path.endsWith('.ps1')) return tokenize(text);
  if (path.endsWith('.cmd')) return text.split('\r\n').map((l) => cmdWords(l, null).words);
  return text;
}

/** Every Windows file lexes the same in UTF-8 and in each ANSI code page (or the difference, for the message). */
function expectSameInEveryCodePage(files: ReadonlyMap<string, string>): void {
  for (const [path, text] of files) {
    const bytes = Buffer.from(text, 'utf8');
    const utf8 = lex(path, new TextDecoder('utf-8').decode(bytes));
    for (const cp of CODE_PAGES) {
      let seen: unknown;
      try {
        seen = lex(path, new TextDecoder(cp).decode(bytes));
      } catch (err) {
        seen = `does not lex: ${String(err)}`;
      }
      expect(seen, `${path} read as ${cp}`).toEqual(utf8);
    }
  }
}

const INJECTION = 'ő) + (Write-Host INJECTED) + (ő';
const ORDINARY = ['Połączenie', 'Сеть', 'Ünïcödé ‚quotes‘ ’', '\u{1F600} emoji'];

function withDescriptions(descs: readonly string[]): Record<string, unknown> {
  return {
    version: 1,
    name: 'codepages',
    split_tunnel: { mode: 'exclude', entries: descs.map((d, i) => ({ address: `10.${i}.0.0/16`, description: d })) },
    tunnel: { peer_public_key: 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=' },
  };
}

describe('Windows files read the same in every code page', () => {
  it('the injection description and ordinary Polish and Russian ones', () => {
    const descs = [INJECTION, ...ORDINARY];
    const { files } = compileAll(withDescriptions(descs));
    const win = files.get('windows')!;
    expectSameInEveryCodePage(win);
    expect(readApplyPs1(win).texts.slice(0, descs.length)).toEqual(descs);
  });
  it('random descriptions', () => {
    const unit = fc.constantFrom("'", '‘', '’', '‚', '‛', '"', '`', '$', '(', ')', '+', ' ', 'a', 'ő', 'ł', 'т', 'С', 'é', 'ą', '€', '\u{1F600}', '中');
    fc.assert(
      fc.property(fc.array(fc.array(unit, { minLength: 1, maxLength: 10 }).map((u) => u.join('')), { minLength: 1, maxLength: 3 }), (descs) => {
        const { files } = compileAll(withDescriptions(descs));
        const win = files.get('windows')!;
        expectSameInEveryCodePage(win);
        expect(readApplyPs1(win).texts.slice(0, descs.length)).toEqual(descs);
      }),
      { numRuns: 40 },
    );
  });
  it('every fixture', () => {
    for (const fx of validFixtures()) {
      const r = compile(fx.source, TARGETS);
      const win = new Map([...r.files].filter(([p]) => p.startsWith('windows/')).map(([p, f]) => [p, f.text]));
      expectSameInEveryCodePage(win);
      for (const [p, t] of win) expect(t, p).toMatch(/^[\x00-\x7f]*$/);
    }
  });
});

describe('Windows scripts have CRLF line endings', () => {
  it('every .ps1 and .cmd of every fixture, and the readers insist', () => {
    let n = 0;
    for (const fx of validFixtures()) {
      for (const [p, f] of compile(fx.source, TARGETS).files) {
        if (!/^windows\/.*\.(ps1|cmd)$/.test(p)) continue;
        requireCrlf(f.text, p);
        n++;
      }
    }
    expect(n).toBeGreaterThan(8);
    expect(() => requireCrlf('a\r\nb\n', 'x')).toThrow(/line 2 ends in LF/);
    const { files } = compileAll(withDescriptions(['x']));
    const win = files.get('windows')!;
    expect(() => readApplyNetsh(new Map([...win, ['apply.netsh.cmd', win.get('apply.netsh.cmd')!.replace(/\r\n/g, '\n')]]))).toThrow(/CRLF/);
  });
});

describe('IPv6 neighbour discovery and MLD pass the Windows firewall', () => {
  // Solicited-node multicast (NS), all-nodes and all-routers (RA, RS), MLDv2 reports, a link-local neighbour.
  const NDP = ['ff02::1:ff00:1', 'ff02::1', 'ff02::2', 'ff02::16', 'fe80::1', 'fe80::abcd:1234'];
  it.each([
    ['include ::/0', { mode: 'include', entries: [{ address: '::/0' }] }],
    ['exclude without link-local', { mode: 'exclude', entries: [{ address: '10.0.0.0/8' }] }],
    ['include fe80::/10 and ff00::/8', { mode: 'include', entries: [{ address: 'fe80::/10' }, { address: 'ff00::/8' }] }],
  ])('%s: the tunnel set holds them, the firewall blocks none', (_, split) => {
    const { plan, files } = compileAll({ version: 1, name: 'ndp', split_tunnel: split, tunnel: { peer_public_key: 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=' } });
    const fw = readApplyPs1(files.get('windows')!);
    for (const a of NDP) {
      expect(fw.routes!.lookup(a), `${a} is tunnel-bound in this profile`).toBe('tunnel');
      expect(fw.blockedOffTunnel!(a), `${a} blocked off the tunnel`).toBe(false);
    }
    // The rest of the tunnel set stays blocked: the neighbours of fe80::/10 and ff02::/16.
    for (const a of ['fec0::1', 'ff03::1', 'ff01::1'].filter((x) => fw.routes!.lookup(x) === 'tunnel')) expect(fw.blockedOffTunnel!(a), a).toBe(true);
    expect(plan.features.firewall).toBe(true);
  });
});

const KEY = 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=';
const LIFECYCLE: [string, Record<string, unknown>][] = [
  ['warp, include, host, IPv6, search', { version: 1, name: 'life', split_tunnel: { mode: 'include', entries: [{ address: '10.0.0.0/8', description: 'Połączenie' }, { host: 'app.example.com' }] }, interface: { ipv6: '2606:4700:110:8a2e::2' }, dns: { search: ['corp.example.com'] }, tunnel: { peer_public_key: KEY } }],
  ['warp, default exclude list', { version: 1, name: 'life', tunnel: { peer_public_key: KEY } }],
  // Its tunnel set routes ff00::/8, which the adapter has as an on-link route already.
  ['warp, short exclude list', { version: 1, name: 'life', split_tunnel: { mode: 'exclude', entries: [{ address: '10.0.0.0/8' }, { address: '169.254.0.0/16' }, { address: 'fe80::/10' }] }, tunnel: { peer_public_key: KEY } }],
  ['1dot1 (DNS only)', { version: 1, name: 'life', service_mode: '1dot1' }],
  ['warp_tunnel_only', { version: 1, name: 'life', service_mode: 'warp_tunnel_only', tunnel: { peer_public_key: KEY } }],
];

/** The sample machine with the Windows folder as warpc writes it next to the scripts (the route lists they read). */
function machine(win: ReadonlyMap<string, string>): WinState {
  const s = sampleState('CloudflareWARP');
  s.resolver['app.example.com'] = ['192.0.2.7', '2001:db8::7'];
  s.files = Object.fromEntries(win);
  return s;
}

describe('apply twice, revert twice, on a modelled machine', () => {
  it.each(LIFECYCLE)('apply.ps1 / revert.ps1: %s', (_, profile) => {
    const { plan, files } = compileAll(profile);
    const win = files.get('windows')!;
    const start = machine(win);
    const once = clone(start);
    runPs(win.get('apply.ps1')!, once);
    const twice = clone(once);
    runPs(win.get('apply.ps1')!, twice);
    expect(observable(twice), 'apply twice = apply once').toEqual(observable(once));
    if (plan.dns) {
      // Every adapter with an IP interface asks the proxy, and only the proxy.
      for (const a of once.adapters.filter((x) => x.ip)) expect(effectiveDns(a), a.name).toEqual([...plan.dns.listen.v4, '::ffff:127.0.2.2']);
      expect(once.search).toEqual(plan.dns.search.length ? plan.dns.search : start.search);
    }
    if (plan.tunnel) {
      const t = once.adapters[0]!;
      expect([t.v4.mtu, t.v4.metric, t.v4.automatic]).toEqual([plan.interface.mtu, 1, false]);
      for (const c of [...plan.split.tunnel.v4.toCidrs(), ...plan.split.tunnel.v6.toCidrs()]) expect(once.routes.has(`CloudflareWARP|${c}`), c).toBe(true);
    }
    const reverted = clone(twice);
    runPs(win.get('revert.ps1')!, reverted);
    expect(observable(reverted), 'revert after apply;apply = the start').toEqual(observable(start));
    runPs(win.get('revert.ps1')!, reverted);
    expect(observable(reverted), 'revert twice = the start').toEqual(observable(start));
  });

  it('apply.ps1 run again after an adapter appears covers it too, and revert.ps1 restores it', () => {
    const { files } = compileAll(LIFECYCLE[0]![1]);
    const win = files.get('windows')!;
    const s = machine(win);
    runPs(win.get('apply.ps1')!, s);
    const added = { ...structuredClone(s.adapters[1]!), name: 'USB LAN', guid: '{55555555-5555-5555-5555-555555555555}', index: 21 };
    added.dns = { v4: ['9.9.9.9'], v6: [], dhcp4: ['192.168.8.1'], dhcp6: [] };
    s.adapters.push(added);
    const before = clone(s).adapters.at(-1)!;
    runPs(win.get('apply.ps1')!, s);
    expect(effectiveDns(s.adapters.at(-1)!)).toEqual(['127.0.2.2', '127.0.2.3', '::ffff:127.0.2.2']);
    for (const r of s.rules) expect(r.interfaces).toContain('USB LAN');
    runPs(win.get('revert.ps1')!, s);
    expect(s.adapters.at(-1)!.dns).toEqual(before.dns);
  });

  it.each(LIFECYCLE)('apply.netsh.cmd / revert.netsh.cmd: %s', (_, profile) => {
    const { plan, files } = compileAll(profile);
    const win = files.get('windows')!;
    // What netsh can restore (WARPC0111 and WARPC0112 say so): DNS from DHCP, metrics set by hand.
    const start = machine(win);
    for (const a of start.adapters) {
      a.dns.v4 = [];
      a.dns.v6 = [];
      for (const f of [a.v4, a.v6]) [f.metric, f.automatic] = [f.automatic ? f.automaticValue : f.metric, false];
    }
    const once = clone(start);
    expect(runCmd(win.get('apply.netsh.cmd')!, once).exitCode).toBe(0);
    const twice = clone(once);
    expect(runCmd(win.get('apply.netsh.cmd')!, twice).exitCode, 'apply twice').toBe(0);
    expect(observable(twice), 'apply twice = apply once').toEqual(observable(once));
    if (plan.dns) expect(machineDnsServers(once)).toEqual([...plan.dns.listen.v4, '::ffff:127.0.2.2']);
    const reverted = clone(twice);
    expect(runCmd(win.get('revert.netsh.cmd')!, reverted).exitCode).toBe(0);
    expect(observable(reverted), 'revert after apply;apply = the start').toEqual(observable(start));
    expect(runCmd(win.get('revert.netsh.cmd')!, reverted).exitCode).toBe(0);
    expect(observable(reverted), 'revert twice = the start').toEqual(observable(start));
  });

  it('apply.netsh.cmd with WARPC_WHATIF=1 changes nothing and prints the commands (an add-or-set prints the add)', () => {
    const { files } = compileAll(LIFECYCLE[0]![1]);
    const win = files.get('windows')!;
    const text = win.get('apply.netsh.cmd')!;
    const start = machine(win);
    const s = clone(start);
    const run = runCmd(text, s, [], { WARPC_WHATIF: '1' });
    expect(run.exitCode).toBe(0);
    expect(observable(s)).toEqual(observable(start));
    expect(run.stdout).toContain('netsh interface ipv4 add route prefix=10.0.0.0/8 interface=CloudflareWARP store=active');
    expect(run.stdout.some((l) => l.includes(' set route '))).toBe(false);
    expect(run.stdout.filter((l) => l.includes('dnsservers name=4 '))).toHaveLength(3);
  });

  it('the readers see every adapter: one left on its own servers shows up in the DNS model', () => {
    const { files } = compileAll(LIFECYCLE[1]![1]);
    const ps = readApplyPs1(files.get('windows')!);
    expect(ps.dns!.servers).toEqual(['127.0.2.2', '127.0.2.3', '::ffff:127.0.2.2']);
    // The same script with the loop over adapters cut down to the tunnel adapter leaks Ethernet's DHCP servers.
    const narrowed = files.get('windows')!.get('apply.ps1')!.replace('foreach ($Adapter in $Adapters) {\r\n    Set-DnsClientServerAddress -InterfaceAlias $Adapter.Name', 'foreach ($Adapter in @(Get-NetAdapter -Name $IfName)) {\r\n    Set-DnsClientServerAddress -InterfaceAlias $Adapter.Name');
    expect(narrowed).not.toBe(files.get('windows')!.get('apply.ps1')!);
    expect(readApplyPs1(new Map([...files.get('windows')!, ['apply.ps1', narrowed]])).dns!.servers).toContain('192.168.1.1');
  });
});

describe('the tunnel set as route lists next to the scripts', () => {
  /** 300 excluded /24s and 60 excluded IPv6 /48s (one inside fe80::/10): well over 500 prefixes a family, so several firewall rules each. */
  const big = {
    version: 1,
    name: 'big',
    split_tunnel: {
      mode: 'exclude',
      entries: [
        ...Array.from({ length: 300 }, (_, i) => ({ address: `${11 + (i % 80)}.${(i * 37) % 256}.${(i * 11) % 256}.0/24` })),
        ...Array.from({ length: 60 }, (_, i) => ({ address: `2001:db8:${(i * 97).toString(16)}::/48` })),
        { address: 'fe80:1::/32' },
      ],
    },
    tunnel: { peer_public_key: KEY },
  };

  it('routes-ipv4.txt and routes-ipv6.txt hold the tunnel set, one canonical prefix a CRLF line, in every fixture', () => {
    let n = 0;
    for (const fx of validFixtures()) {
      const r = compile(fx.source, TARGETS);
      const v4 = r.files.get('windows/routes-ipv4.txt');
      const v6 = r.files.get('windows/routes-ipv6.txt');
      if (!r.plan!.features.routes) {
        expect(v4, fx.name).toBeUndefined();
        continue;
      }
      const lines = (t: string): string[] => (t === '' ? [] : t.replace(/\r\n$/, '').split('\r\n'));
      expect(lines(v4!.text), fx.name).toEqual(r.plan!.split.tunnel.v4.toCidrs());
      expect(lines(v6!.text), fx.name).toEqual(r.plan!.split.tunnel.v6.toCidrs());
      expect(v4!.text + v6!.text).not.toMatch(/(^|[^\r])\n/);
      n++;
    }
    expect(n).toBeGreaterThan(4);
  });

  it('apply.ps1 makes the firewall rules from the lists: at most 500 addresses each, named and numbered as parts, blocking the tunnel set less the link scope', () => {
    const { plan, files } = compileAll(big);
    const win = files.get('windows')!;
    const s = machine(win);
    runPs(win.get('apply.ps1')!, s);
    const v4 = plan.split.tunnel.v4.toCidrs();
    const v6 = plan.split.tunnel.v6.subtract(PrefixSet.fromCidrs(6, ['fe80::/10', 'ff02::/16'])).toCidrs();
    expect(v4.length).toBeGreaterThan(500);
    expect(v6.length).toBeGreaterThan(500);
    for (const [family, cidrs] of [[4, v4], [6, v6]] as const) {
      const parts = Math.ceil(cidrs.length / 500);
      const rules = s.rules.filter((r) => r.name.startsWith(`warpc.big.tunnel${family}.`));
      expect(rules.map((r) => r.name)).toEqual(Array.from({ length: parts }, (_, i) => `warpc.big.tunnel${family}.${i + 1}`));
      for (const r of rules) expect(r.remote.length).toBeLessThanOrEqual(500);
      expect(PrefixSet.fromCidrs(family, rules.flatMap((r) => r.remote)).equals(PrefixSet.fromCidrs(family, cidrs))).toBe(true);
      expect(rules.flatMap((r) => r.remote)).toHaveLength(cidrs.length);
    }
    expect(s.rules.map((r) => r.description)).toContain(`warpc 0.1.0, profile big: block IPv6 destinations that belong in the tunnel off CloudflareWARP (part 2 of ${Math.ceil(v6.length / 500)})`);
    expect(s.rules.flatMap((r) => r.remote).some((c) => c.startsWith('fe80:') || c.startsWith('ff02:'))).toBe(false);
  });

  it.each(['apply.ps1', 'apply.netsh.cmd'])('%s without a route list stops before it changes anything', (script) => {
    const { files } = compileAll(big);
    for (const list of ['routes-ipv4.txt', 'routes-ipv6.txt']) {
      const win = new Map(files.get('windows')!);
      win.delete(list);
      const start = machine(win);
      const s = clone(start);
      if (script === 'apply.ps1') expect(() => runPs(win.get(script)!, s)).toThrow(/no file routes-ipv/);
      else expect(runCmd(win.get(script)!, s).exitCode).toBe(1);
      expect(observable(s), list).toEqual(observable(start));
    }
  });

  it.each(['apply.ps1', 'apply.netsh.cmd'])('%s stops at a route Windows refuses, in the loop: the routes after it are not added', (script) => {
    const { plan, files } = compileAll(big);
    const win = new Map(files.get('windows')!);
    const v4 = plan.split.tunnel.v4.toCidrs();
    win.set('routes-ipv4.txt', [...v4.slice(0, 10), '10.0.0.0/33', ...v4.slice(10)].map((c) => `${c}\r\n`).join(''));
    const s = machine(win);
    if (script === 'apply.ps1') expect(() => runPs(win.get(script)!, s)).toThrow(/DestinationPrefix 10.0.0.0\/33/);
    else {
      const run = runCmd(win.get(script)!, s);
      expect(run.exitCode).toBe(1);
      expect(run.stdout.at(-1)).toMatch(/stopped at the first error/);
    }
    for (const c of v4.slice(0, 10)) expect(s.routes.has(`CloudflareWARP|${c}`), c).toBe(true);
    expect(s.routes.has(`CloudflareWARP|${v4[10]!}`)).toBe(false);
    expect([...s.routes].some((r) => r.includes(':') && !/\|(ff00::\/8|fe80::\/64)$/.test(r))).toBe(false);
  });

  it('apply.netsh.cmd with WARPC_WHATIF=1 prints one add a line of the lists and changes nothing', () => {
    const { plan, files } = compileAll(big);
    const win = files.get('windows')!;
    const start = machine(win);
    const s = clone(start);
    const run = runCmd(win.get('apply.netsh.cmd')!, s, [], { WARPC_WHATIF: '1' });
    expect(run.exitCode).toBe(0);
    expect(observable(s)).toEqual(observable(start));
    const adds = run.stdout.filter((l) => / add route /.test(l));
    const all = [...plan.split.tunnel.v4.toCidrs(), ...plan.split.tunnel.v6.toCidrs()];
    expect(adds).toEqual(all.map((c) => `netsh interface ipv${c.includes(':') ? 6 : 4} add route prefix=${c} interface=CloudflareWARP store=active`));
  });
});
