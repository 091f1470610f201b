/**
 * Pitfall warnings: traps real WARP deployments hit that a valid profile can still
 * walk into (docs: cloudflare-formats.md, section 7). Each is a warning with the
 * position of the value at fault and a one-line why.
 *
 * Decides nothing: it reads the validated profile and the plan, and only reports.
 * It must not change either, nor repeat what validation already reports. Called
 * once, from analyze() in src/compile.ts, after validation and planning.
 */
import { parseDomainName, isSubdomainOrSelf } from '../net/names.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatPrefix, parseAddress, parsePrefix, prefixContains, type Prefix } from '../net/ip.js';
import { DualSet, PrefixSet } from '../net/prefix-set.js';
import { tunnelRouteCounts } from '../emit/limits.js';
import type { Plan } from '../plan/types.js';
import type { LoadedDocument } from '../profile/load.js';
import type { Profile } from '../profile/types.js';
import { publicSuffixKind } from './psl.js';

function prefix(text: string): Prefix {
  const r = parsePrefix(text);
  if (!r.ok) throw new Error(`bad built-in prefix ${text}`);
  return r.prefix;
}

/** Private ranges whose reverse lookups need a fallback suffix, with the reverse zones that cover them. */
const REVERSE_ZONES: readonly { range: string; zones: readonly string[] }[] = [
  { range: '10.0.0.0/8', zones: ['10.in-addr.arpa'] },
  { range: '172.16.0.0/12', zones: Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`) },
  { range: '192.168.0.0/16', zones: ['168.192.in-addr.arpa'] },
  { range: '100.64.0.0/10', zones: Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`) },
  { range: 'fc00::/7', zones: ['c.f.ip6.arpa', 'd.f.ip6.arpa'] },
];

/** WARP's device-to-device (virtual IP) range, inside the default CGNAT exclude 100.64.0.0/10. */
const DEVICE_RANGE = prefix('100.96.0.0/12');

/** Docker's default bridge and its default address pools (172.17–31.0.0/16, 192.168.0.0/16 in /20s). */
const DOCKER = PrefixSet.fromCidrs(4, ['172.17.0.0/16', '172.18.0.0/15', '172.20.0.0/14', '172.24.0.0/13', '192.168.0.0/16']);

/** Development suffixes that never exist in public DNS (RFC 6761) and that local tools answer. */
const DEV_SUFFIXES = ['localhost', 'test'] as const;

/** Above this many tunnel routes, macOS and Windows (one route per prefix) slow down well before the hard limit (WARPC0075). */
export const MANY_ROUTES = 10_000;

function list(items: readonly string[], max = 4): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function pitfallWarnings(doc: LoadedDocument, profile: Profile, plan: Plan): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: readonly (string | number)[]): { line: number; col: number; length: number; path: readonly (string | number)[] } => ({ ...doc.locate(path), path });
  const fallbackPath = (i: number): (string | number)[] => ['fallback_domains', i];

  /* Fallback suffixes that are public suffixes or shared platforms. */
  profile.fallbackDomains.forEach((f, i) => {
    if (f.isDefault) return;
    const kind = publicSuffixKind(f.suffix);
    if (kind === null) return;
    const servers = f.dnsServers.length > 0 ? f.dnsServers.join(', ') : "the device's original resolvers";
    out.push(diag('FallbackPublicSuffix', { value: f.suffix, kind, servers }, at([...fallbackPath(i), 'suffix'])));
  });

  /* Private fallback servers without a reverse zone: PTR lookups of that range go to Gateway. */
  if (plan.dns) {
    const suffixes = profile.fallbackDomains.map((f) => f.suffix);
    const reported = new Set<string>();
    profile.fallbackDomains.forEach((f, i) => {
      f.dnsServers.forEach((server, j) => {
        const a = parseAddress(server);
        if (!a) return;
        for (const r of REVERSE_ZONES) {
          if (reported.has(r.range) || !prefixContains(prefix(r.range), a)) continue;
          const covered = r.zones.some((z) => suffixes.some((s) => isSubdomainOrSelf(z, s) || isSubdomainOrSelf(s, z)));
          if (covered) continue;
          reported.add(r.range);
          const zone = r.zones.length === 1 ? r.zones[0]! : a.family === 4 ? reverseZoneOf(server) : r.zones[0]!;
          out.push(diag('ReverseZoneMissing', { server, suffix: f.suffix, range: r.range, zone }, at([...fallbackPath(i), 'dns_server', j])));
        }
      });
    });
  }

  /* The device's own address, when the profile sets it, inside an excluded range: the CGNAT trap. */
  if (plan.features.routes && plan.split.mode === 'exclude') {
    const written = (doc.valueAt(['interface']) ?? {}) as Record<string, unknown>;
    for (const field of ['ipv4', 'ipv6'] as const) {
      if (written[field] === undefined) continue;
      const text = profile.interface[field];
      const a = text === null ? null : parseAddress(text);
      if (!a) continue;
      // The most specific exclude entry containing the address decides it.
      let best: { cidr: string; p: Prefix; line: number; isDefault: boolean } | null = null;
      for (const r of plan.split.rules) {
        if (r.source !== 'entry') continue;
        const p = parsePrefix(r.cidr);
        if (p.ok && prefixContains(p.prefix, a) && (best === null || p.prefix.length > best.p.length)) best = { cidr: r.cidr, p: p.prefix, line: r.pos.line, isDefault: r.isDefault };
      }
      if (!best || !DualSet.contains(plan.split.direct, a)) continue;
      const carve = prefixContains(DEVICE_RANGE, a) && best.p.length <= DEVICE_RANGE.length ? DEVICE_RANGE : { family: a.family, network: a.value, length: a.family === 4 ? 32 : 128 };
      const fix = PrefixSet.fromPrefixes(a.family, [best.p]).subtract(PrefixSet.fromPrefixes(a.family, [carve])).toCidrs();
      out.push(
        diag(
          'InterfaceAddressExcluded',
          { field: `interface.${field}`, address: text!, entry: best.cidr, where: best.isDefault ? 'a default entry' : `line ${best.line}`, range: formatPrefix(carve), fix: fix.join(', ') },
          at(['interface', field]),
        ),
      );
    }
  }

  /* Host entries whose names a fallback suffix resolves: the route and the resolver disagree. */
  if (plan.dns) {
    for (const h of plan.split.hosts) {
      const f = [...plan.dns.fallback].filter((r) => isSubdomainOrSelf(h.pattern.name, r.suffix)).sort((x, y) => y.suffix.length - x.suffix.length)[0];
      if (!f) continue;
      const servers = f.useSystemResolvers ? "the device's original resolvers" : f.servers.map((s) => s.address).join(', ');
      out.push(diag('HostUnderFallback', { host: h.text, suffix: f.suffix, line: f.pos.line > 0 ? `line ${f.pos.line}` : 'a default suffix', servers, action: h.action }, at(h.pos.path)));
    }
  }

  /* Container and development ranges that a hand-written exclude list sends into the tunnel. */
  if (plan.features.routes && plan.split.mode === 'exclude' && !profile.splitTunnel.entriesAreDefault) {
    const tunnelled = plan.split.tunnel.v4.intersect(DOCKER);
    if (!tunnelled.isEmpty) out.push(diag('ContainerRangesTunnelled', { ranges: list(tunnelled.toCidrs()) }, { ...doc.locate(['split_tunnel', 'entries'], { key: true }), path: ['split_tunnel', 'entries'] }));
  }
  if (plan.dns && plan.features.routes && plan.split.mode === 'exclude' && !profile.fallbackDomainsAreDefault) {
    const missing = DEV_SUFFIXES.filter((d) => !profile.fallbackDomains.some((f) => isSubdomainOrSelf(d, f.suffix)));
    if (missing.length > 0) out.push(diag('DevSuffixesToGateway', { suffixes: missing.map((m) => `*.${m}`).join(', ') }, { ...doc.locate(['fallback_domains'], { key: true }), path: ['fallback_domains'] }));
  }

  /* Route counts macOS and Windows handle badly. */
  const routes = tunnelRouteCounts(plan);
  if (routes.total > MANY_ROUTES) out.push(diag('ManyRoutes', { count: routes.total, v4: routes.v4, v6: routes.v6, limit: MANY_ROUTES }, { ...doc.locate(['split_tunnel', 'entries'], { key: true }), path: ['split_tunnel', 'entries'] }));
  return out;
}

/** The /16 reverse zone of an IPv4 address (`172.20.1.1` → `20.172.in-addr.arpa`). */
function reverseZoneOf(address: string): string {
  const [a, b] = address.split('.');
  const zone = `${b}.${a}.in-addr.arpa`;
  return parseDomainName(zone).ok ? zone : 'in-addr.arpa';
}
