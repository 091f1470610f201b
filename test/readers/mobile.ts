/**
 * Reads iOS network-settings.json and Android vpn-service.json (file version 2: routes as
 * prefix strings) by the platforms' own rules, as the apps would turn them into API calls.
 */
import { addressValue, range, RouteTable, type TargetModel } from './model.js';

/**
 * What the app does with one prefix string: split it at the `/` into the address and length
 * the platform call takes. Android's Builder refuses host bits ("Bad address"); the reader
 * holds both files to that (the compiler writes canonical prefixes only).
 */
function routePrefix(app: string, text: unknown, family?: 4 | 6): { address: string; length: number } {
  if (typeof text !== 'string' || !/^[^/]+\/\d{1,3}$/.test(text)) throw new Error(`${app}: not a prefix: ${JSON.stringify(text)}`);
  const [address, length] = text.split('/') as [string, string];
  const r = range(text);
  if (family !== undefined && r.family !== family) throw new Error(`${app}: IPv${r.family} prefix ${text} in the IPv${family} settings`);
  if (addressValue(address).value !== r.lo) throw new Error(`${app}: host bits set in ${text}`);
  return { address, length: Number(length) };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export function readIos(text: string): TargetModel & { enforceRoutes: boolean } {
  const j = JSON.parse(text) as any;
  if (j.version !== 2) throw new Error(`ios: file version ${String(j.version)}, this reader knows 2`);
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
      for (const text of list as unknown[]) {
        // The app: NEIPv4Route(destinationAddress:subnetMask:) or NEIPv6Route(destinationAddress:networkPrefixLength:).
        const p = routePrefix('ios', text, fam);
        routes.add(`${p.address}/${p.length}`, via);
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

/**
 * Android: replays the Builder calls, each addRoutes/excludeRoutes batch as one
 * addRoute/excludeRoute per prefix in list order. API 33+: excludeRoute wins over
 * addRoute for its prefix (longest match); before 33 only addRoute.
 */
export function readAndroid(text: string, variant: 'calls' | 'callsBeforeApi33'): TargetModel & { addRoutes: number } {
  const j = JSON.parse(text) as any;
  const routes = new RouteTable();
  const servers: string[] = [];
  const search: string[] = [];
  let addRoutes = 0;
  let anyRoute = false;
  if (j.version !== 2) throw new Error(`android: file version ${String(j.version)}, this reader knows 2`);
  const order = ['addAddress', 'addRoute', 'excludeRoute', 'addDnsServer', 'addSearchDomain', 'setMtu'];
  // The batches the app expands: each prefix becomes one call of the single-route method.
  const batch: Record<string, string> = { addRoutes: 'addRoute', excludeRoutes: 'excludeRoute' };
  if (j[variant] === null) throw new Error(`android: ${variant} is null (left out past the route limit, WARPC0120)`);
  const expanded = (j[variant] as any[]).flatMap((c) => {
    if (c.method === 'addRoute' || c.method === 'excludeRoute') throw new Error(`android: a single ${c.method} call (version 2 has only batches)`);
    const method = batch[c.method as string];
    if (method === undefined) return [c];
    if (!Array.isArray(c.prefixes) || c.prefixes.length === 0) throw new Error(`android: ${c.method} without prefixes`);
    return (c.prefixes as unknown[]).map((text) => ({ method, ...routePrefix('android', text) }));
  });
  let last = 0;
  for (const c of expanded) {
    const k = order.indexOf(c.method);
    if (k < 0) throw new Error(`android: unknown call ${c.method}`);
    if (k < last) throw new Error(`android: ${c.method} out of order`);
    last = Math.max(last, k);
    if (c.method === 'addRoute') {
      routes.add(`${c.address}/${c.length}`, 'tunnel');
      addRoutes++;
      anyRoute = true;
    } else if (c.method === 'excludeRoute') {
      if (variant !== 'calls') throw new Error('android: excludeRoute before API 33');
      routes.add(`${c.address}/${c.length}`, 'direct');
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
