/**
 * The Windows target: apply.ps1 / revert.ps1 (NetTCPIP, DnsClient and NetSecurity
 * cmdlets, -WhatIf, stop at the first error), the same with netsh for machines
 * without those modules, a WireGuard peer config for `wg.exe setconf`, and the DNS
 * proxy's configuration. Windows has no policy routing, so exclude mode routes
 * the plan's tunnel set itself (the minimal complement of the direct set) on
 * the adapter; the set is two route lists next to the scripts, which read them in a
 * loop. It translates the Plan; it decides nothing.
 */
import { diag, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { powershellQuote, RenderError } from '../../src/emit/quote.js';
import type { RouteLimit } from '../../src/emit/limits.js';
import { render } from '../../src/emit/render.js';
import { dnsServerList, dnsServers, ruleLines, wireguardPeerView, type RuleLineForm } from '../../src/emit/view.js';
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { parsePrefix } from '../../src/net/ip.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import type { Plan } from '../../src/plan/types.js';
import { DNS_PROXY_FILE, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { bytesArtifact, prefixSetBytes, renderWithPrefixLines } from '../../src/emit/prefix-list.js';
import { windowsOptions } from './options.js';

const NAME = 'windows';

/**
 * The data files of the tunnel set, next to the scripts: one canonical prefix per line
 * (ASCII, CRLF), read in a loop by apply.ps1 (routes and firewall rules) and
 * apply.netsh.cmd (routes), so a plan of hundreds of thousands of routes is not as many
 * script lines. Written whenever the plan routes or firewalls (empty when a family has
 * none), so the scripts always find them.
 */
export const WINDOWS_ROUTE_FILES = { v4: 'routes-ipv4.txt', v6: 'routes-ipv6.txt' } as const;

/**
 * The tunnel routes a Windows plan may have. apply.ps1 and apply.netsh.cmd add each
 * tunnel prefix of the route lists as a route of its own (one New-NetRoute or `netsh
 * interface ipv4/ipv6 add route` call, milliseconds each) and apply.ps1 puts it again in
 * the firewall's block rules; past a million that is hours of applying (a complement
 * of 100,000 IPv6 /64s is 1.5 million prefixes). A bound warpc chooses for
 * what can be applied in practice, not a maximum Windows documents.
 */
export const WINDOWS_ROUTE_LIMIT: RouteLimit = {
  os: 'Windows',
  limit: 1_000_000,
  reason: 'each route is one New-NetRoute or netsh call, and an address in a firewall rule: past a million, applying takes hours',
};

const WINDOWS_CAPABILITIES: TargetCapabilities = {
  policyRouting: false,
  excludeRoute: false,
  // apply.ps1 resolves exact names that go into the tunnel and blocks their addresses off the tunnel.
  hostEntries: { by: 'resolve-once', when: 'when apply.ps1 runs (apply.netsh.cmd does not resolve it)' },
  wildcardHosts: false,
  directHosts: { no: 'Windows Firewall block rules win over allow rules' },
  dnsServers: 'ipv4-mapped-v6',
  firewall: true,
  ipv6: true,
  masque: { no: 'apply.ps1 brings the tunnel up with WireGuard for Windows; warpc has no Windows MASQUE client' },
  localProxy: { runBy: 'the client application; nothing on the OS changes, so no files are written' },
  reducedVariant: {
    apply: 'apply.netsh.cmd',
    revert: 'revert.netsh.cmd',
    tool: 'netsh',
    fullApply: 'apply.ps1',
    fullRevert: 'revert.ps1',
    noFirewall: 'netsh advfirewall cannot limit a rule to the adapters other than the tunnel',
    noDnsSearch: 'netsh has no command for it',
    revertDnsToDhcp: true,
    revertFixedMetric: true,
  },
  maxRoutes: WINDOWS_ROUTE_LIMIT,
};

/** Remote addresses per firewall rule: Windows Firewall takes at most 1000. */
export const FIREWALL_CHUNK = 500;

/** The firewall rule group, shared by every rule apply.ps1 adds; revert.ps1 removes the group. */
export function windowsFirewallGroup(plan: Plan): string {
  return `warpc.${plan.name}`;
}

/** The DNS servers of the Windows adapter: the proxy's IPv4 addresses and its IPv4-mapped IPv6 one (decided by dnsServers from the capabilities). */
export function windowsDnsServers(plan: Plan): string[] {
  return dnsServerList(plan, WINDOWS_CAPABILITIES);
}

/** The plan as the DNS proxy's configuration on Windows sees it: listening where the adapter's DNS servers point. */
function windowsPlanForProxy(plan: Plan): Plan {
  if (!plan.dns) return plan;
  return { ...plan, dns: { ...plan.dns, listen: dnsServers(plan, WINDOWS_CAPABILITIES) } };
}

/**
 * Every Windows file is ASCII, so it reads the same in every ANSI code page
 * (Windows PowerShell 5.1 reads a BOM-less script in the ANSI code page; cmd.exe
 * has no BOM support at all): powershellQuote writes other characters as
 * [char] codes. Scripts (.ps1, .cmd) get CRLF line endings: cmd.exe finds
 * `goto` labels reliably only in CRLF files. What is returned is what is
 * written and hashed in the manifest. (The route lists do not come through here:
 * prefixSetBytes writes the sets' canonical text from their numbers with CRLF.)
 */
export function windowsText(path: string, text: string): string {
  const bad = /[^\x00-\x7f]/.exec(text);
  if (bad) throw new Error(`windows/${path}: non-ASCII character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${bad.index}`);
  if (/[\r]/.test(text)) throw new Error(`windows/${path}: carriage return in a template`);
  return /\.(ps1|cmd)$/.test(path) ? text.replace(/\n/g, '\r\n') : text;
}

/**
 * IPv6 link-local unicast and link-local multicast: neighbour discovery (ICMPv6
 * 133-137) and MLD (143) on the physical link use only these, and must always
 * pass. Windows Firewall block rules win over any allow rule, so they are
 * carved out of the block rules' remote addresses rather than allowed.
 */
export const LINK_SCOPE_V6 = ['fe80::/10', 'ff02::/16'] as const;

/**
 * How apply.ps1 makes the IPv6 block rules from routes-ipv6.txt: it leaves out `skip` (the
 * tunnel prefixes of every range of the tunnel set that touches the link scope) and adds
 * `rest` (those ranges without the link scope). So the rules block the tunnel set less
 * fe80::/10 and ff02::/16, as listed inline, without a second copy of the whole list.
 * Both lists are short: the ranges that touch two prefixes.
 */
export function linkScopeCarveOut(tunnel6: PrefixSet): { skip: string[]; rest: string[] } {
  const scope = linkScopeV6().ranges();
  const touching = tunnel6.ranges().filter(([lo, hi]) => scope.some(([slo, shi]) => lo <= shi && slo <= hi));
  const near = PrefixSet.fromRanges(6, touching);
  return { skip: near.toCidrs(), rest: near.subtract(linkScopeV6()).toCidrs() };
}

function linkScopeV6(): PrefixSet {
  return PrefixSet.fromPrefixes(
    6,
    LINK_SCOPE_V6.map((c) => {
      const r = parsePrefix(c);
      if (!r.ok) throw new Error(`bad built-in prefix ${c}`);
      return r.prefix;
    }),
  );
}

/** What only Windows knows: a description PowerShell cannot quote is left out (the rest follows from WINDOWS_CAPABILITIES). */
function check(plan: Plan): Diagnostic[] {
  const ds: Diagnostic[] = [];
  for (const r of plan.split.rules) {
    if (!r.description) continue;
    try {
      powershellQuote(r.description);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      ds.push(diag('DescriptionDropped', { target: NAME, line: r.pos.line, language: 'PowerShell', reason: err.message }, r.pos));
    }
  }
  return ds;
}

function psSafe(text: string): string {
  try {
    powershellQuote(text);
    return text;
  } catch (err) {
    if (err instanceof RenderError) return '';
    throw err;
  }
}

/**
 * apply.ps1's `$SplitTunnelEntries` rows, `,@('ACTION', 'PREFIX', 'DESCRIPTION')` with CRLF: a
 * description PowerShell cannot hold (a control character) is left out.
 */
export const ENTRY_LINES: RuleLineForm = {
  text: (r, action, h) => `    ,@(${h.ps(action)}, ${h.ps(r.cidr)}, ${h.ps(psSafe(r.description))})`,
  // A canonical prefix is printable ASCII without a quote: ps() writes it as itself in single quotes.
  fast: (action, h) => ({ head: `    ,@(${h.ps(action)}, '`, tail: `', ${h.ps('')})` }),
  eol: '\r\n',
};

function emit(plan: Plan, ctx: EmitContext): Artifact[] {
  const win = plan.targets.windows;
  const f = plan.features;
  const out: Artifact[] = [];
  const file = (path: string, text: string, mode = 0o644): void => {
    out.push({ path, text: windowsText(path, text), mode });
  };
  if (!(f.dns || f.tunnel || f.routes || f.firewall)) return out;

  const lists = f.routes || f.firewall;
  const group = windowsFirewallGroup(plan);
  const { skip: linkScopeRoutes, rest: linkScopeRest } = f.firewall ? linkScopeCarveOut(plan.split.tunnel.v6) : { skip: [], rest: [] };
  const dnsServers = windowsDnsServers(plan);
  const numbered = (xs: string[]): { address: string; index: number; first: boolean }[] => xs.map((address, i) => ({ address, index: i + 1, first: i === 0 }));
  const view = {
    version: ctx.compilerVersion,
    name: plan.name,
    mode: plan.serviceMode,
    ifname: win.interface,
    group,
    features: f,
    hasTunnel: plan.tunnel !== null,
    exclude: plan.split.mode === 'exclude',
    ipv4: plan.interface.ipv4,
    ipv6: plan.interface.ipv6,
    mtu: plan.interface.mtu,
    entries: ruleLines(plan, ENTRY_LINES),
    tunnelFiles: lists,
    routeFiles: WINDOWS_ROUTE_FILES,
    chunk: FIREWALL_CHUNK,
    ruleDescription: `warpc ${ctx.compilerVersion}, profile ${plan.name}: block IPv`,
    linkScopeRoutes,
    linkScopeRest,
    dnsServers,
    dns4: numbered(dnsServers.filter((a) => !a.includes(':'))),
    dns6: numbered(dnsServers.filter((a) => a.includes(':'))),
    search: plan.dns ? plan.dns.search : [],
    hostsTunnel: plan.split.hosts.filter((h) => !h.pattern.wildcard && h.action === 'tunnel').map((h) => h.text),
    hostRule: `${group}.hosts`,
    hostRuleDescription: `warpc ${ctx.compilerVersion}, profile ${plan.name}: block the resolved addresses of Split Tunnel host entries off ${win.interface}`,
  };
  if (lists) {
    // Not templates: the sets' canonical text written from their numbers with CRLF (ASCII, one prefix a line).
    out.push(bytesArtifact(WINDOWS_ROUTE_FILES.v4, prefixSetBytes(plan.split.tunnel.v4, '\r\n')));
    out.push(bytesArtifact(WINDOWS_ROUTE_FILES.v6, prefixSetBytes(plan.split.tunnel.v6, '\r\n')));
  }
  // The entries (100,000s of lines for a large profile) go in as the bytes ruleLines wrote, CRLF already.
  out.push(
    bytesArtifact(
      'apply.ps1',
      renderWithPrefixLines((lines) => windowsText('apply.ps1', render(NAME, 'apply.ps1.hbs', { ...view, entries: lines.bytes(view.entries) }))),
    ),
  );
  file('revert.ps1', render(NAME, 'revert.ps1.hbs', view));
  file('apply.netsh.cmd', render(NAME, 'apply.netsh.cmd.hbs', view));
  file('revert.netsh.cmd', render(NAME, 'revert.netsh.cmd.hbs', view));
  if (plan.tunnel) {
    file(
      'wireguard.conf',
      render(NAME, 'wireguard.conf.hbs', {
        version: ctx.compilerVersion,
        name: plan.name,
        ifname: win.interface,
        peer: wireguardPeerView(plan.tunnel),
      }),
    );
  }
  const cfg = dnsProxyConfigFromPlan(windowsPlanForProxy(plan));
  if (cfg) file(DNS_PROXY_FILE, serializeDnsProxyConfig(cfg));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export const windows: TargetModule = {
  name: NAME,
  description: 'Windows: PowerShell (and netsh) for the adapter, routes, firewall rules and DNS; WireGuard peer (wg.exe setconf)',
  options: windowsOptions,
  capabilities: WINDOWS_CAPABILITIES,
  check,
  emit,
};
