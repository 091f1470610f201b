/**
 * The Linux target: policy routing with `ip -batch`, an nftables table, a
 * WireGuard config for `wg setconf`, resolv.conf or systemd-resolved, the DNS
 * proxy's configuration, a settings file for `warpc up`, and up.sh/down.sh for
 * admins who apply by hand. It translates the Plan; it decides nothing.
 */
import type { Artifact, EmitContext, TargetModule } from '../../src/emit/target.js';
import { render } from '../../src/emit/render.js';
import { SETTINGS_FILE, serializeLinuxSettings, type LinuxSettings } from '../../src/contract/settings.js';
import { dnsServerList, splitEntryRows, wireguardPeerView } from '../../src/emit/view.js';
import type { RouteLimit } from '../../src/emit/limits.js';
import type { Plan } from '../../src/plan/types.js';
import { RESOLV_CONF_OPTIONS } from '../../src/profile/defaults.js';
import { DNS_PROXY_FILE, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { linuxOptions } from './options.js';

/**
 * Linux routes by policy, so its routing table holds only the direct set; but ruleset.nft
 * lists every tunnel-bound prefix in an nft interval set, built in memory as one text.
 * bench/compile: 100,000 excluded IPv6 /64s (1.48M tunnel prefixes) compile in 1.1 GB;
 * 1,000,000 of them (14.8M prefixes) ran the compiler's heap out (exit 134). A bound
 * warpc chooses so such a plan ends in a coded error, not a crash.
 */
export const LINUX_TUNNEL_PREFIX_LIMIT: RouteLimit = {
  os: 'Linux',
  limit: 3_000_000,
  reason: 'ruleset.nft lists every tunnel-bound prefix in an nft set, and past three million the compiler runs out of memory building it',
};

/** settings.json (src/contract/settings.ts) from the plan. */
export function linuxSettings(plan: Plan): LinuxSettings {
  const lx = plan.targets.linux;
  const f = plan.features;
  return {
    version: 1,
    service_mode: plan.serviceMode,
    features: { dns: f.dns, tunnel: f.tunnel, routes: f.routes, firewall: f.firewall, local_proxy: f.localProxy },
    interface: { name: lx.interface, ipv4: plan.interface.ipv4, ipv6: plan.interface.ipv6, mtu: plan.interface.mtu },
    routing: { table: lx.table, fwmark: lx.fwmark, rule_priority: lx.rulePriority },
    nft_table: lx.nftTable,
    dns_manager: lx.dnsManager,
    split_mode: plan.split.mode,
    dns: plan.dns ? { listen: [...plan.dns.listen.v4, ...plan.dns.listen.v6], search: [...plan.dns.search] } : null,
    host_rules: plan.split.hosts.map((h) => ({ pattern: h.text, action: h.action })),
    local_proxy: plan.localProxy ? { ...plan.localProxy } : null,
  };
}

function emit(plan: Plan, ctx: EmitContext): Artifact[] {
  const lx = plan.targets.linux;
  const f = plan.features;
  const base = { version: ctx.compilerVersion, name: plan.name, mode: plan.serviceMode };
  const out: Artifact[] = [];
  const file = (path: string, text: string, mode = 0o644): void => {
    out.push({ path, text, mode });
  };

  file(SETTINGS_FILE, serializeLinuxSettings(linuxSettings(plan)));

  if (f.routes) {
    for (const family of [4, 6] as const) {
      const key = family === 4 ? 'v4' : 'v6';
      const tunnel = plan.split.tunnel[key].toCidrs();
      const direct = plan.split.direct[key].toCidrs();
      file(
        `routes${family}.batch`,
        render('linux', 'routes.batch.hbs', {
          ...base,
          family,
          fwmark: lx.fwmark,
          table: lx.table,
          priority: lx.rulePriority,
          ifname: lx.interface,
          exclude: plan.split.mode === 'exclude',
          entries: splitEntryRows(plan).filter((e) => e.cidr.includes(':') === (family === 6)),
          direct,
          tunnel,
          directCount: direct.length,
          tunnelCount: tunnel.length,
        }),
      );
    }
  }

  if (f.firewall) {
    file(
      'ruleset.nft',
      render('linux', 'ruleset.nft.hbs', {
        ...base,
        table: lx.nftTable,
        ifname: lx.interface,
        fwmark: lx.fwmark,
        entries: splitEntryRows(plan),
        tunnel4: plan.split.tunnel.v4.toCidrs(),
        tunnel6: plan.split.tunnel.v6.toCidrs(),
      }),
    );
  }

  if (plan.tunnel) {
    file(
      'wireguard.conf',
      render('linux', 'wireguard.conf.hbs', {
        ...base,
        ifname: lx.interface,
        fwmark: lx.fwmark,
        peer: wireguardPeerView(plan.tunnel),
      }),
    );
  }

  if (plan.dns) {
    const nameservers = dnsServerList(plan, linux.capabilities);
    file('resolv.conf', render('linux', 'resolv.conf.hbs', { ...base, nameservers, search: plan.dns.search, options: RESOLV_CONF_OPTIONS }));
    file(
      'resolved.sh',
      render('linux', 'resolved.sh.hbs', { ...base, nameservers, search: plan.dns.search, defaultLink: f.tunnel ? lx.interface : null }),
      0o755,
    );
    const cfg = dnsProxyConfigFromPlan(plan);
    if (cfg) file(DNS_PROXY_FILE, serializeDnsProxyConfig(cfg));
  }

  if (f.dns || f.tunnel || f.routes || f.firewall) {
    const view = {
      ...base,
      features: f,
      ifname: lx.interface,
      ipv4: plan.interface.ipv4,
      ipv6: plan.interface.ipv6,
      mtu: plan.interface.mtu,
      nftTable: lx.nftTable,
      fwmark: lx.fwmark,
      table: lx.table,
      priority: lx.rulePriority,
      dnsManager: lx.dnsManager,
      proxyV6: plan.dns ? plan.dns.listen.v6 : [],
    };
    file('up.sh', render('linux', 'up.sh.hbs', view), 0o755);
    file('down.sh', render('linux', 'down.sh.hbs', view), 0o755);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export const linux: TargetModule = {
  name: 'linux',
  description: 'Linux: ip policy routing, nftables, WireGuard (wg setconf), resolv.conf or systemd-resolved, the DNS proxy',
  options: linuxOptions,
  capabilities: {
    policyRouting: true,
    excludeRoute: false,
    hostEntries: { by: 'dns-answer' },
    wildcardHosts: true,
    directHosts: true,
    dnsServers: 'proxy',
    firewall: true,
    ipv6: true,
    localProxy: true,
    maxRoutes: LINUX_TUNNEL_PREFIX_LIMIT,
  },
  emit,
};
