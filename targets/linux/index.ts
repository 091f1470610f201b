/**
 * The Linux target: policy routing with `ip -batch`, an nftables table, a
 * WireGuard config for `wg setconf`, resolv.conf or systemd-resolved, the DNS
 * proxy's configuration, a settings file for `warpc up`, and up.sh/down.sh for
 * admins who apply by hand. It translates the Plan; it decides nothing.
 */
import { MASQUE_FILE, serializeMasque } from '../../src/contract/masque.js';
import type { Artifact, EmitContext, FileBytes, TargetModule } from '../../src/emit/target.js';
import { render, VALUE_HELPERS, type Lines } from '../../src/emit/render.js';
import { bytesArtifact, renderWithPrefixLines, type PrefixLines } from '../../src/emit/prefix-list.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { SETTINGS_FILE, serializeLinuxSettings, type LinuxSettings } from '../../src/contract/settings.js';
import { dnsServerList, entryCommentLines, wireguardPeerView } from '../../src/emit/view.js';
import type { Plan } from '../../src/plan/types.js';
import { RESOLV_CONF_OPTIONS } from '../../src/profile/defaults.js';
import { DNS_PROXY_FILE, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { linuxOptions } from './options.js';

/** HTTP/2 PING interval of the MASQUE session: a dead TCP path is noticed within two of them. */
const MASQUE_KEEPALIVE_SECONDS = 5;

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

/** The elements of an nft interval set, one per line, comma-separated (written from the set's numbers). */
function setElements(lines: PrefixLines, set: PrefixSet): Lines {
  return lines(set, '\t\t\t', '', ',\n');
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

  // The prefix lists are written from the sets' numbers into the rendered text (src/emit/prefix-list.ts).
  const bytesFile = (path: string, bytes: FileBytes): void => {
    out.push(bytesArtifact(path, bytes));
  };
  if (f.routes) {
    for (const family of [4, 6] as const) {
      const key = family === 4 ? 'v4' : 'v6';
      // Exclude mode routes by default and throws the direct set; include mode routes the tunnel set.
      // Only the list a mode renders is written (the other one is its complement, in exclude mode millions of IPv6 prefixes).
      const exclude = plan.split.mode === 'exclude';
      const none = PrefixSet.empty(family);
      const table = ` table ${VALUE_HELPERS.int(lx.table)}`;
      bytesFile(
        `routes${family}.batch`,
        renderWithPrefixLines((lines) =>
          render('linux', 'routes.batch.hbs', {
            ...base,
            family,
            fwmark: lx.fwmark,
            table: lx.table,
            priority: lx.rulePriority,
            ifname: lx.interface,
            exclude,
            entries: lines.bytes(entryCommentLines(plan, family)),
            direct: lines(exclude ? plan.split.direct[key] : none, 'route add throw ', table, '\n'),
            tunnel: lines(exclude ? none : plan.split.tunnel[key], 'route add ', ` dev ${VALUE_HELPERS.ident(lx.interface)}${table}`, '\n'),
            directCount: plan.split.direct[key].prefixCount(),
            tunnelCount: plan.split.tunnel[key].prefixCount(),
          }),
        ),
      );
    }
  }

  if (f.firewall) {
    const exclude = plan.split.mode === 'exclude';
    const { direct, tunnel } = plan.split;
    bytesFile(
      'ruleset.nft',
      renderWithPrefixLines((lines) =>
        render('linux', 'ruleset.nft.hbs', {
          ...base,
          table: lx.nftTable,
          ifname: lx.interface,
          fwmark: lx.fwmark,
          entries: lines.bytes(entryCommentLines(plan)),
          // Exclude mode lists the direct set, the smaller side (what the profile excluded), and
          // rejects every address outside it; include mode lists the tunnel set.
          exclude,
          direct4: setElements(lines, exclude ? direct.v4 : PrefixSet.empty(4)),
          direct6: setElements(lines, exclude ? direct.v6 : PrefixSet.empty(6)),
          tunnel4: setElements(lines, exclude ? PrefixSet.empty(4) : tunnel.v4),
          tunnel6: setElements(lines, exclude ? PrefixSet.empty(6) : tunnel.v6),
        }),
      ),
    );
  }

  if (plan.tunnel?.masque) {
    // MASQUE: warpc up runs the client (src/runtime/masque); there is no OS tool to hand this to.
    const m = plan.tunnel.masque;
    file(
      MASQUE_FILE,
      serializeMasque({ version: 1, transport: 'h2', endpoint: plan.tunnel.endpoint, sni: m.sni, server_pin: m.serverPin, authority: m.authority, keepalive_seconds: MASQUE_KEEPALIVE_SECONDS }),
    );
  } else if (plan.tunnel) {
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
    file('resolved.sh', render('linux', 'resolved.sh.hbs', { ...base, nameservers, search: plan.dns.search, defaultLink: f.tunnel ? lx.interface : null }), 0o755);
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
      masque: plan.tunnel?.protocol === 'masque',
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
    masque: true,
    localProxy: true,
  },
  emit,
};
