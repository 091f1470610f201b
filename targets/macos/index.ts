/**
 * The macOS target: routes on the utun with `route`, a pf anchor, DNS through
 * the dynamic store (`scutil`), a WireGuard peer config for `wg setconf`, the
 * DNS proxy's configuration, and up.sh/down.sh that apply and remove it all.
 * macOS has no policy routing, so exclude mode is the plan's tunnel set itself
 * (the minimal complement of the direct set), routed on the utun. It
 * translates the Plan; it decides nothing.
 */
import type { Artifact, EmitContext, TargetModule } from '../../src/emit/target.js';
import type { FirewallTableLimit, RouteLimit } from '../../src/emit/limits.js';
import { render } from '../../src/emit/render.js';
import { bytesArtifact, prefixListText, prefixSetBytes } from '../../src/emit/prefix-list.js';
import type { PrefixSet } from '../../src/net/prefix-set.js';
import { dnsServerList, entryCommentLines, wireguardPeerView } from '../../src/emit/view.js';
import type { Plan } from '../../src/plan/types.js';
import { DNS_PROXY_FILE, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { macosOptions } from './options.js';

const NAME = 'macos';

/** The dynamic-store service ID warpc's DNS dictionary lives under. */
export function macosServiceId(plan: Plan): string {
  return `warpc.${plan.name}`;
}

/**
 * The routes to install on the utun for one family, from the family's minimal prefix
 * list. A /0 is installed as its two /1 halves: the original default route must stay,
 * because the bypass host routes and the tunnel endpoint itself still leave through its
 * gateway. A minimal list holds a /0 only as its one prefix, so any other list is
 * returned as it is (no copy of a list of a million).
 */
export function macosRoutes(cidrs: readonly string[]): readonly string[] {
  if (cidrs.length !== 1) return cidrs;
  if (cidrs[0] === '0.0.0.0/0') return ['0.0.0.0/1', '128.0.0.0/1'];
  if (cidrs[0] === '::/0') return ['::/1', '8000::/1'];
  return cidrs;
}

/**
 * The data files of the tunnel set, one canonical prefix a line, next to the scripts:
 * routes.sh reads them in a `while read` loop (a route each) and pf.conf's tunnel tables
 * load them (`table ... file`). Both use the routes' form (a /0 as its two /1 halves),
 * which covers the same addresses, so one file per family serves both.
 */
export const TUNNEL_FILES = { v4: 'tunnel4.txt', v6: 'tunnel6.txt' } as const;

/** A tunnel file: the set's cover written from its numbers, or (a whole family) its two /1 halves. */
function tunnelFile(path: string, set: PrefixSet): Artifact {
  return set.prefixCount() === 1 ? { path, text: prefixListText(macosRoutes(set.toCidrs())), mode: 0o644 } : bytesArtifact(path, prefixSetBytes(set));
}

/** Host entries up.sh can resolve: exact names (a wildcard names no address). */
export function resolvable(plan: Plan): string[] {
  return plan.split.hosts.filter((h) => !h.pattern.wildcard).map((h) => h.text);
}

/**
 * The tunnel routes a macOS plan may have. routes.sh runs `route -n add` once per line of
 * the tunnel files (a process each) and pf loads every line again into its tables; past a
 * million that is hours of applying. A bound warpc chooses for what can be applied in
 * practice, not a maximum macOS documents.
 */
export const MACOS_ROUTE_LIMIT: RouteLimit = {
  os: 'macOS',
  limit: 1_000_000,
  reason: 'each route is one route(8) process, and an entry in a pf table: past a million, applying takes hours',
};

/**
 * pf's default `table-entries` limit (PFR_KENTRY_HIWAT): the addresses all tables together
 * hold unless the main ruleset sets `set limit table-entries`. Options are the main
 * ruleset's: an anchor cannot raise it, so up.sh cannot either without rewriting it.
 */
export const PF_TABLE_LIMIT: FirewallTableLimit = {
  firewall: "pf's table entries",
  limit: 200_000,
  raise: 'only the main ruleset can raise it, not warpc\'s anchor: add "set limit table-entries N", N above the count, to /etc/pf.conf and load it with pfctl -f /etc/pf.conf before up.sh',
};

function emit(plan: Plan, ctx: EmitContext): Artifact[] {
  const mac = plan.targets.macos;
  const f = plan.features;
  const base = { version: ctx.compilerVersion, name: plan.name, mode: plan.serviceMode, ifname: mac.interface, anchor: mac.pfAnchor };
  const out: Artifact[] = [];
  const file = (path: string, text: string, mode = 0o644): void => {
    out.push({ path, text, mode });
  };
  const bypass4 = plan.split.bypass.filter((b) => !b.address.includes(':'));
  const bypass6 = plan.split.bypass.filter((b) => b.address.includes(':'));
  const serviceId = macosServiceId(plan);

  const entries = entryCommentLines(plan);
  const hosts = resolvable(plan);
  if (f.routes || f.firewall) {
    out.push(tunnelFile(TUNNEL_FILES.v4, plan.split.tunnel.v4), tunnelFile(TUNNEL_FILES.v6, plan.split.tunnel.v6));
  }
  if (f.routes) {
    file(
      'routes.sh',
      render(NAME, 'routes.sh.hbs', {
        ...base,
        exclude: plan.split.mode === 'exclude',
        entries,
        bypass4,
        bypass6,
        tunnel4: TUNNEL_FILES.v4,
        tunnel6: TUNNEL_FILES.v6,
        hosts,
        hostsDirect: plan.split.mode === 'exclude',
        // The default gateway of a family is looked up only where something uses it (shellcheck SC2034).
        gw4: bypass4.length > 0 || hosts.length > 0,
        gw6: bypass6.length > 0 || hosts.length > 0,
      }),
      0o755,
    );
  }
  if (f.firewall) {
    file(
      'pf.conf',
      render(NAME, 'pf.conf.hbs', {
        ...base,
        // The entries are listed once (100,000 lines for a profile of 100,000): in routes.sh when there is one.
        entriesIn: f.routes ? 'routes.sh' : null,
        entries,
        bypass: plan.split.bypass.map((b) => b.address),
        tunnel4: TUNNEL_FILES.v4,
        tunnel6: TUNNEL_FILES.v6,
      }),
    );
  }
  if (plan.tunnel) {
    file(
      'wireguard.conf',
      render(NAME, 'wireguard.conf.hbs', {
        ...base,
        peer: wireguardPeerView(plan.tunnel),
      }),
    );
  }
  if (plan.dns) {
    file(
      'dns.scutil',
      render(NAME, 'dns.scutil.hbs', {
        ...base,
        serviceId,
        servers: dnsServerList(plan, macos.capabilities),
        search: plan.dns.search,
        match: plan.dns.fallback.map((r) => r.suffix),
      }),
    );
    const cfg = dnsProxyConfigFromPlan(plan);
    if (cfg) file(DNS_PROXY_FILE, serializeDnsProxyConfig(cfg));
  }
  if (f.dns || f.tunnel || f.routes || f.firewall) {
    const view = {
      ...base,
      features: f,
      serviceId,
      ipv4: plan.interface.ipv4,
      ipv6: plan.interface.ipv6,
      mtu: plan.interface.mtu,
      proxyV4: plan.dns ? plan.dns.listen.v4 : [],
      proxyV6: plan.dns ? plan.dns.listen.v6 : [],
      hasTunnel: plan.tunnel !== null,
      // up.sh adds address aliases (utun IPv6, loopback for the DNS proxy) only when missing.
      addsAliases: (plan.tunnel !== null && plan.interface.ipv6 !== null) || (plan.dns !== null && f.dns),
      hostTable: hosts.length === 0 ? null : plan.split.mode === 'exclude' ? 'warpc_host_bypass' : 'warpc_host_tunnel',
    };
    file('up.sh', render(NAME, 'up.sh.hbs', view), 0o755);
    file('down.sh', render(NAME, 'down.sh.hbs', view), 0o755);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export const macos: TargetModule = {
  name: NAME,
  description: 'macOS: routes on the utun (route), a pf anchor, DNS in the dynamic store (scutil), WireGuard peer (wg setconf)',
  options: macosOptions,
  capabilities: {
    policyRouting: false,
    excludeRoute: false,
    // up.sh resolves exact names and routes them (direct ones via the default gateway) and adds them to pf.
    hostEntries: { by: 'resolve-once', when: 'when up.sh runs (routes and pf)' },
    wildcardHosts: false,
    directHosts: true,
    dnsServers: 'proxy',
    firewall: true,
    ipv6: true,
    masque: { no: 'up.sh brings the tunnel up with wireguard-go; warpc has no macOS MASQUE client' },
    localProxy: { runBy: 'the client application; nothing on the OS changes, so no files are written' },
    maxRoutes: MACOS_ROUTE_LIMIT,
    firewallTableLimit: PF_TABLE_LIMIT,
  },
  emit,
};
