/** Reads iOS network-settings.json and Android vpn-service.json by the platforms' own rules. */
import { RouteTable, type TargetModel } from './model.js';

function maskLength(mask: string): number {
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  if (!/^1*0*$/.test(bits) || bits.length !== 32) throw new Error(`ios: not a contiguous mask ${mask}`);
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export function readIos(text: string): TargetModel & { enforceRoutes: boolean } {
  const j = JSON.parse(text) as any;
  let routes: RouteTable | null = null;
  // NEPacketTunnelNetworkSettings: included routes go into the tunnel, excluded ones not; the longest match decides.
  for (const [settings, fam] of [
    [j.ipv4Settings, 4],
    [j.ipv6Settings, 6],
  ] as const) {
    if (!settings) continue;
    routes ??= new RouteTable();
    for (const [list, via] of [
      [settings.includedRoutes, 'tunnel'],
      [settings.excludedRoutes, 'direct'],
    ] as const) {
      for (const r of list as any[]) {
        const len = fam === 4 ? maskLength(r.subnetMask) : r.networkPrefixLength;
        routes.add(`${r.destinationAddress}/${len}`, via);
      }
    }
  }
  return {
    routes,
    blockedOffTunnel: j.enforceRoutes && routes ? (a) => routes!.lookup(a) === 'tunnel' : null,
    dns: j.dnsSettings ? { servers: j.dnsSettings.servers, search: j.dnsSettings.searchDomains, matchDomains: j.dnsSettings.matchDomains } : null,
    texts: [],
    hosts: (j.hostEntries as any[]).map((h) => h.host),
    enforceRoutes: j.enforceRoutes,
  };
}

/** Android: replays the Builder calls. API 33+: excludeRoute wins over addRoute for its prefix (longest match); before 33 only addRoute. */
export function readAndroid(text: string, variant: 'calls' | 'callsBeforeApi33'): TargetModel & { addRoutes: number } {
  const j = JSON.parse(text) as any;
  const routes = new RouteTable();
  const servers: string[] = [];
  const search: string[] = [];
  let addRoutes = 0;
  let anyRoute = false;
  const order = ['addAddress', 'addRoute', 'excludeRoute', 'addDnsServer', 'addSearchDomain', 'setMtu'];
  let last = 0;
  for (const c of j[variant] as any[]) {
    const k = order.indexOf(c.method);
    if (k < 0) throw new Error(`android: unknown call ${c.method}`);
    if (k < last) throw new Error(`android: ${c.method} out of order`);
    last = Math.max(last, k);
    if (c.method === 'addRoute') {
      routes.add(`${c.address}/${c.prefixLength}`, 'tunnel');
      addRoutes++;
      anyRoute = true;
    } else if (c.method === 'excludeRoute') {
      if (variant !== 'calls') throw new Error('android: excludeRoute before API 33');
      routes.add(`${c.address}/${c.prefixLength}`, 'direct');
    } else if (c.method === 'addDnsServer') servers.push(c.address);
    else if (c.method === 'addSearchDomain') search.push(c.domain);
  }
  return {
    routes: anyRoute || j.establish ? routes : null,
    // Android: without allowBypass() and with lockdown, apps cannot reach tunnel-bound destinations another way.
    blockedOffTunnel: j.lockdown ? (a) => routes.lookup(a) === 'tunnel' : null,
    dns: servers.length ? { servers, search, matchDomains: [''] } : null,
    texts: [],
    hosts: (j.hostEntries as any[]).map((h) => h.host),
    addRoutes,
  };
}
