/**
 * dns-proxy.json: what the local DNS proxy needs from the plan, and nothing else.
 * The compiler builds it (src/emit/dns-proxy.ts) and writes it with
 * serializeDnsProxyConfig into the Linux, macOS and Windows targets; `warpc
 * dns-proxy` and the Linux runtime read it with parseDnsProxyConfig, which checks
 * schema/dns-proxy.schema.json and then what a schema cannot (canonical
 * addresses, name grammar, URL shape, DoH paths that agree with the addresses).
 */
import { canonicalAddress } from '../net/ip.js';
import { parseDomainName, parseHostPattern } from '../net/names.js';
import { parseContract, stableJson, type ContractProblem } from './json-file.js';

export const DNS_PROXY_FILE = 'dns-proxy.json';
export const DNS_PROXY_SCHEMA = 'dns-proxy.schema.json';
export const DNS_PROXY_CONFIG_VERSION = 1;

/** The path traffic to an address takes. */
export type Path = 'tunnel' | 'direct';
/** Where addresses resolved for a host rule's names go (the same words as settings.json). */
export type HostAction = Path;

export interface DnsProxyConfig {
  readonly version: 1;
  readonly listen: readonly { readonly address: string; readonly port: number }[];
  /**
   * `via` is the path DoH traffic actually takes, as the plan decided it per
   * address; `mixed` (addresses differ) comes with `paths`, one per address.
   * Informational for the proxy, whose sockets carry no mark: routes send each
   * address its way.
   */
  readonly doh: { readonly url: string; readonly addresses: readonly string[]; readonly via: Path | 'mixed'; readonly paths?: readonly { readonly address: string; readonly path: Path }[] };
  readonly fallback: readonly {
    readonly suffix: string;
    readonly servers: readonly { readonly address: string; readonly path: Path }[];
    readonly use_system_resolvers: boolean;
  }[];
  readonly search: readonly string[];
  readonly host_rules: readonly { readonly pattern: string; readonly action: HostAction }[];
  readonly local_answers: readonly { readonly name: string; readonly addresses: readonly string[]; readonly ttl: number }[];
}

/** The one writer of dns-proxy.json: fixed key order, 2-space JSON, final newline. */
export function serializeDnsProxyConfig(cfg: DnsProxyConfig): string {
  return stableJson({
    version: cfg.version,
    listen: cfg.listen.map((l) => ({ address: l.address, port: l.port })),
    doh: {
      url: cfg.doh.url,
      addresses: [...cfg.doh.addresses],
      via: cfg.doh.via,
      ...(cfg.doh.paths !== undefined ? { paths: cfg.doh.paths.map((x) => ({ address: x.address, path: x.path })) } : {}),
    },
    fallback: cfg.fallback.map((r) => ({
      suffix: r.suffix,
      servers: r.servers.map((s) => ({ address: s.address, path: s.path })),
      use_system_resolvers: r.use_system_resolvers,
    })),
    search: [...cfg.search],
    host_rules: cfg.host_rules.map((h) => ({ pattern: h.pattern, action: h.action })),
    local_answers: cfg.local_answers.map((a) => ({ name: a.name, addresses: [...a.addresses], ttl: a.ttl })),
  });
}

function semanticChecks(cfg: DnsProxyConfig, problems: ContractProblem[]): void {
  const p = (pointer: string, detail: string): void => {
    problems.push({ pointer, detail });
  };
  const addr = (pointer: string, a: string): void => {
    if (canonicalAddress(a) !== a) p(pointer, `${JSON.stringify(a)} is not a canonical IP address`);
  };
  const name = (pointer: string, n: string): void => {
    if (!parseDomainName(n).ok) p(pointer, `${JSON.stringify(n)} is not a domain name`);
  };
  cfg.listen.forEach((l, i) => addr(`/listen/${i}/address`, l.address));
  cfg.doh.addresses.forEach((a, i) => addr(`/doh/addresses/${i}`, a));
  if (cfg.doh.paths !== undefined) {
    const listed = cfg.doh.paths.map((x) => x.address);
    if (listed.length !== cfg.doh.addresses.length || listed.some((a, i) => a !== cfg.doh.addresses[i])) p('/doh/paths', 'must list the addresses of /doh/addresses, in that order');
    const first = cfg.doh.paths[0]?.path;
    if (first !== undefined && cfg.doh.paths.every((x) => x.path === first)) p('/doh/paths', `every address goes ${first}, so /doh/via must say ${first}, not mixed`);
  }
  let host = '';
  try {
    const u = new URL(cfg.doh.url);
    host = u.hostname;
    if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') p('/doh/url', 'must be an https URL without credentials');
  } catch {
    p('/doh/url', `${JSON.stringify(cfg.doh.url)} is not a URL`);
  }
  if (host === '') p('/doh/url', 'has no host');
  const seen = new Set<string>();
  cfg.fallback.forEach((r, i) => {
    name(`/fallback/${i}/suffix`, r.suffix);
    if (seen.has(r.suffix)) p(`/fallback/${i}/suffix`, `${JSON.stringify(r.suffix)} is listed twice`);
    seen.add(r.suffix);
    r.servers.forEach((s, j) => addr(`/fallback/${i}/servers/${j}/address`, s.address));
    if (r.use_system_resolvers && r.servers.length > 0) p(`/fallback/${i}`, 'use_system_resolvers with servers listed');
    if (!r.use_system_resolvers && r.servers.length === 0) p(`/fallback/${i}`, 'no servers and use_system_resolvers is false');
  });
  cfg.search.forEach((s, i) => name(`/search/${i}`, s));
  cfg.host_rules.forEach((h, i) => {
    if (!parseHostPattern(h.pattern).ok) p(`/host_rules/${i}/pattern`, `${JSON.stringify(h.pattern)} is not a host pattern`);
  });
  cfg.local_answers.forEach((a, i) => {
    name(`/local_answers/${i}/name`, a.name);
    a.addresses.forEach((x, j) => addr(`/local_answers/${i}/addresses/${j}`, x));
  });
}

/** The one reader of dns-proxy.json; throws ContractError with every problem and its JSON pointer. */
export function parseDnsProxyConfig(text: string, file = DNS_PROXY_FILE): DnsProxyConfig {
  return parseContract<DnsProxyConfig>(file, text, DNS_PROXY_SCHEMA, semanticChecks);
}
