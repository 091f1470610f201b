/**
 * A model of the Windows state the scripts change, with the documented
 * behaviour of the cmdlets and netsh commands warpc uses: adapters (IP
 * interfaces with MTU and metric, addresses, DNS servers static or from DHCP),
 * active-store routes, firewall rules, the DNS suffix search list, files next
 * to the script, and a resolver. Creating what exists and removing what does
 * not are errors, as on Windows. The PowerShell and cmd interpreters
 * (psrun.ts, cmdrun.ts) run the scripts against it.
 */

export interface IpInterface {
  mtu: number;
  /** The metric set by hand; used when `automatic` is false. */
  metric: number;
  automatic: boolean;
  /** What Windows picks when the metric is automatic. */
  automaticValue: number;
}

export interface Adapter {
  name: string;
  guid: string;
  index: number;
  /** False for a disabled adapter: it has no IP interface, so no addresses or DNS servers. */
  ip: boolean;
  v4: IpInterface;
  v6: IpInterface;
  addresses: string[];
  dns: { v4: string[]; v6: string[]; dhcp4: string[]; dhcp6: string[] };
}

export interface FirewallRule {
  name: string;
  group: string;
  description: string;
  direction: string;
  action: string;
  interfaces: string[];
  remote: string[];
}

export interface WinState {
  adapters: Adapter[];
  /** `alias|prefix` of active-store routes. */
  routes: Set<string>;
  rules: FirewallRule[];
  search: string[];
  /** Files in the script's folder, by name. */
  files: Record<string, string>;
  /** Name -> addresses, for Resolve-DnsName. */
  resolver: Record<string, string[]>;
}

export class WinError extends Error {}

export const SCRIPT_DIR = 'C:\\warpc\\windows';

export function fileName(path: string): string {
  if (!path.startsWith(`${SCRIPT_DIR}\\`)) throw new WinError(`outside the script folder: ${path}`);
  return path.slice(SCRIPT_DIR.length + 1);
}

export function adapter(s: WinState, nameOrIndex: string): Adapter {
  const a = s.adapters.find((x) => x.name.toLowerCase() === nameOrIndex.toLowerCase() || String(x.index) === nameOrIndex);
  if (!a) throw new WinError(`no adapter ${nameOrIndex}`);
  return a;
}

export function ipAdapter(s: WinState, name: string): Adapter {
  const a = adapter(s, name);
  if (!a.ip) throw new WinError(`adapter ${name} has no IP interface`);
  return a;
}

export function effectiveMetric(i: IpInterface): number {
  return i.automatic ? i.automaticValue : i.metric;
}

/** The DNS servers an adapter's queries go to: static ones, or else DHCP's, per family. */
export function effectiveDns(a: Adapter): string[] {
  return [...(a.dns.v4.length ? a.dns.v4 : a.dns.dhcp4), ...(a.dns.v6.length ? a.dns.v6 : a.dns.dhcp6)];
}

/** What the OS does with the state: compared before and after (the hand-set metric only counts when not automatic). */
export function observable(s: WinState): unknown {
  return {
    adapters: s.adapters.map((a) => ({
      name: a.name,
      v4: { mtu: a.v4.mtu, metric: effectiveMetric(a.v4), automatic: a.v4.automatic },
      v6: { mtu: a.v6.mtu, metric: effectiveMetric(a.v6), automatic: a.v6.automatic },
      addresses: [...a.addresses].sort(),
      dns: a.dns,
    })),
    routes: [...s.routes].sort(),
    rules: [...s.rules].sort((x, y) => (x.name < y.name ? -1 : 1)),
    search: s.search,
    files: s.files,
  };
}

function ipif(mtu: number, automaticValue: number): IpInterface {
  return { mtu, metric: automaticValue, automatic: true, automaticValue };
}

/**
 * A machine: the WireGuard adapter (no address yet, MTU 1420, automatic
 * metric, its on-link multicast and broadcast routes), Ethernet with DNS
 * from DHCP, a Wi-Fi adapter with a Polish name and static servers for both
 * families, and a disabled adapter.
 */
export function sampleState(tunnel: string): WinState {
  return {
    adapters: [
      { name: tunnel, guid: '{11111111-1111-1111-1111-111111111111}', index: 7, ip: true, v4: ipif(1420, 5), v6: ipif(1420, 5), addresses: [], dns: { v4: [], v6: [], dhcp4: [], dhcp6: [] } },
      { name: 'Ethernet', guid: '{22222222-2222-2222-2222-222222222222}', index: 4, ip: true, v4: ipif(1500, 25), v6: ipif(1500, 25), addresses: ['192.168.1.20', 'fe80::20'], dns: { v4: [], v6: [], dhcp4: ['192.168.1.1'], dhcp6: ['fe80::1'] } },
      { name: 'Połączenie Wi-Fi 2', guid: '{33333333-3333-3333-3333-333333333333}', index: 12, ip: true, v4: ipif(1500, 35), v6: { mtu: 1480, metric: 40, automatic: false, automaticValue: 35 }, addresses: ['10.9.0.5'], dns: { v4: ['1.1.1.1', '8.8.8.8'], v6: ['2001:db8::53'], dhcp4: ['10.9.0.1'], dhcp6: [] } },
      { name: 'Disabled', guid: '{44444444-4444-4444-4444-444444444444}', index: 9, ip: false, v4: ipif(1500, 25), v6: ipif(1500, 25), addresses: [], dns: { v4: [], v6: [], dhcp4: [], dhcp6: [] } },
    ],
    // The on-link routes Windows gives every adapter, the tunnel's too.
    routes: new Set(['ff00::/8', 'fe80::/64', '224.0.0.0/4', '255.255.255.255/32'].map((p) => `${tunnel}|${p}`)),
    rules: [],
    search: ['home.example'],
    files: {},
    resolver: {},
  };
}

export function clone(s: WinState): WinState {
  return structuredClone(s);
}
