/**
 * linux/settings.json: everything `warpc up` needs that is not in another
 * artifact — which features the service mode turns on, the interface, the
 * routing table and mark, the nft table, the DNS manager, host rules. The Linux
 * target builds it from the plan and writes it with serializeLinuxSettings; the
 * runtime reads it with parseLinuxSettings and nothing else.
 * Shape: schema/settings.schema.json.
 */
import { parseAddress } from '../net/ip.js';
import { parseDomainName, parseHostPattern } from '../net/names.js';
import { parseContract, stableJson, type ContractProblem } from './json-file.js';

export const SETTINGS_FILE = 'settings.json';
export const SETTINGS_SCHEMA = 'settings.schema.json';

export type ServiceModeName = 'warp' | '1dot1' | 'warp_tunnel_only' | 'proxy' | 'posture_only';
export type DnsManagerChoice = 'auto' | 'resolv.conf' | 'systemd-resolved';

export interface LinuxSettings {
  readonly version: 1;
  readonly service_mode: ServiceModeName;
  readonly features: { readonly dns: boolean; readonly tunnel: boolean; readonly routes: boolean; readonly firewall: boolean; readonly local_proxy: boolean };
  readonly interface: { readonly name: string; readonly ipv4: string; readonly ipv6: string | null; readonly mtu: number };
  readonly routing: { readonly table: number; readonly fwmark: number; readonly rule_priority: number };
  readonly nft_table: string;
  readonly dns_manager: DnsManagerChoice;
  readonly split_mode: 'exclude' | 'include';
  readonly dns: { readonly listen: readonly string[]; readonly search: readonly string[] } | null;
  readonly host_rules: readonly { readonly pattern: string; readonly action: 'tunnel' | 'direct' }[];
  readonly local_proxy: { readonly address: string; readonly port: number } | null;
}

/** The one writer of settings.json: fixed key order, 2-space JSON, final newline. */
export function serializeLinuxSettings(s: LinuxSettings): string {
  return stableJson({
    version: s.version,
    service_mode: s.service_mode,
    features: { dns: s.features.dns, tunnel: s.features.tunnel, routes: s.features.routes, firewall: s.features.firewall, local_proxy: s.features.local_proxy },
    interface: { name: s.interface.name, ipv4: s.interface.ipv4, ipv6: s.interface.ipv6, mtu: s.interface.mtu },
    routing: { table: s.routing.table, fwmark: s.routing.fwmark, rule_priority: s.routing.rule_priority },
    nft_table: s.nft_table,
    dns_manager: s.dns_manager,
    split_mode: s.split_mode,
    dns: s.dns ? { listen: [...s.dns.listen], search: [...s.dns.search] } : null,
    host_rules: s.host_rules.map((h) => ({ pattern: h.pattern, action: h.action })),
    local_proxy: s.local_proxy ? { address: s.local_proxy.address, port: s.local_proxy.port } : null,
  });
}

/**
 * The one reader of settings.json: the schema, then the values a schema cannot
 * check (addresses of the right family, names, patterns). Throws ContractError.
 */
export function parseLinuxSettings(text: string, file = SETTINGS_FILE): LinuxSettings {
  return parseContract<LinuxSettings>(file, text, SETTINGS_SCHEMA, (s, problems: ContractProblem[]) => {
    const address = (pointer: string, value: string, family?: 4 | 6): void => {
      const a = parseAddress(value);
      if (!a) problems.push({ pointer, detail: `${JSON.stringify(value)} is not an IP address` });
      else if (family && a.family !== family) problems.push({ pointer, detail: `${JSON.stringify(value)} is not an IPv${family} address` });
    };
    address('/interface/ipv4', s.interface.ipv4, 4);
    if (s.interface.ipv6 !== null) address('/interface/ipv6', s.interface.ipv6, 6);
    s.dns?.listen.forEach((a, i) => address(`/dns/listen/${i}`, a));
    s.dns?.search.forEach((n, i) => {
      if (!parseDomainName(n).ok) problems.push({ pointer: `/dns/search/${i}`, detail: `${JSON.stringify(n)} is not a domain name` });
    });
    s.host_rules.forEach((h, i) => {
      if (!parseHostPattern(h.pattern).ok) problems.push({ pointer: `/host_rules/${i}/pattern`, detail: `${JSON.stringify(h.pattern)} is not a host pattern` });
    });
    if (s.local_proxy) address('/local_proxy/address', s.local_proxy.address);
    if (s.features.dns !== (s.dns !== null)) problems.push({ pointer: '/dns', detail: s.features.dns ? 'is null although features.dns is true' : 'is set although features.dns is false' });
  });
}
