/**
 * dns-proxy.json: what the local DNS proxy needs from the plan, and nothing else.
 *
 * `warpc compile` writes it into the Linux, macOS and Windows targets (dnsProxyConfigFromPlan +
 * serializeDnsProxyConfig, both pure); `warpc dns-proxy` and the Linux runtime
 * read it back with loadDnsProxyConfig, which validates it against
 * schema/dns-proxy.schema.json and then checks what the schema cannot
 * (address syntax, name grammar, URL shape).
 */
import { readFile } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { canonicalAddress } from '../../net/ip.js';
import { parseDomainName, parseHostPattern } from '../../net/names.js';
import type { Path, Plan } from '../../plan/types.js';
import { DNS_PROXY_PORT } from '../../profile/defaults.js';
import { schemaValidator as validatorOf } from '../../schemas.js';

export const DNS_PROXY_CONFIG_VERSION = 1;

/**
 * TTL of the answers the proxy makes itself (connectivity checks must not be
 * cached, so 0 by default). Written into the config so it can be overridden.
 */
export const LOCAL_ANSWER_TTL = 0;

export type HostAction = 'tunnel' | 'bypass';

/** The parsed dns-proxy.json (same keys as the file). */
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

/** The proxy's configuration from a plan; null when the plan leaves DNS to the OS. Pure. */
export function dnsProxyConfigFromPlan(plan: Plan): DnsProxyConfig | null {
  const dns = plan.dns;
  if (dns === null) return null;
  return {
    version: DNS_PROXY_CONFIG_VERSION,
    listen: [...dns.listen.v4, ...dns.listen.v6].map((address) => ({ address, port: DNS_PROXY_PORT })),
    doh: {
      url: dns.doh.url,
      addresses: dns.doh.addresses.map((a) => a.address),
      via: dns.doh.via,
      ...(dns.doh.via === 'mixed' ? { paths: dns.doh.addresses.map((a) => ({ address: a.address, path: a.path })) } : {}),
    },
    fallback: dns.fallback.map((r) => ({
      suffix: r.suffix,
      servers: r.servers.map((s) => ({ address: s.address, path: s.path })),
      use_system_resolvers: r.useSystemResolvers,
    })),
    search: [...dns.search],
    host_rules: plan.split.hosts.map((h) => ({ pattern: h.text, action: h.action === 'tunnel' ? 'tunnel' : 'bypass' })),
    local_answers: dns.localAnswers.map((a) => ({ name: a.name, addresses: [...a.addresses], ttl: LOCAL_ANSWER_TTL })),
  };
}

/** Stable text: fixed key order, 2-space JSON, trailing newline. */
export function serializeDnsProxyConfig(cfg: DnsProxyConfig): string {
  const ordered = {
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
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export class DnsProxyConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid DNS proxy configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DnsProxyConfigError';
  }
}

/** Precompiled at build time when it can be (src/schemas.ts), else compiled on first use: importing ajv is slow. */
const schemaValidator = () => validatorOf('dns-proxy.schema.json');

function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where}: unknown key ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
    case 'required':
      return `${where}: missing key ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`;
    case 'not':
      // The only "not" in the schema: paths without via: mixed.
      return `${where}: paths is only allowed with via "mixed"`;
    case 'enum':
      return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

/** Validate a parsed JSON value; returns the config or the list of problems. */
export function validateDnsProxyConfig(value: unknown): { ok: true; config: DnsProxyConfig } | { ok: false; problems: string[] } {
  const validate = schemaValidator();
  if (!validate(value)) return { ok: false, problems: (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describeAjvError) };
  const cfg = value as DnsProxyConfig;
  const problems: string[] = [];
  const addr = (where: string, a: string): void => {
    if (canonicalAddress(a) !== a) problems.push(`${where}: ${JSON.stringify(a)} is not a canonical IP address`);
  };
  cfg.listen.forEach((l, i) => addr(`/listen/${i}/address`, l.address));
  cfg.doh.addresses.forEach((a, i) => addr(`/doh/addresses/${i}`, a));
  if (cfg.doh.paths !== undefined) {
    const listed = cfg.doh.paths.map((x) => x.address);
    if (listed.length !== cfg.doh.addresses.length || listed.some((a, i) => a !== cfg.doh.addresses[i])) problems.push('/doh/paths: must list the addresses of /doh/addresses, in that order');
    if (cfg.doh.paths.every((x) => x.path === cfg.doh.paths![0]!.path)) problems.push(`/doh/paths: every address goes ${cfg.doh.paths[0]!.path}, so /doh/via must say ${cfg.doh.paths[0]!.path}, not mixed`);
  }
  let host = '';
  try {
    const u = new URL(cfg.doh.url);
    host = u.hostname;
    if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') problems.push('/doh/url: must be an https URL without credentials');
  } catch {
    problems.push(`/doh/url: ${JSON.stringify(cfg.doh.url)} is not a URL`);
  }
  if (host === '') problems.push('/doh/url: has no host');
  const seen = new Set<string>();
  cfg.fallback.forEach((r, i) => {
    if (!parseDomainName(r.suffix).ok) problems.push(`/fallback/${i}/suffix: ${JSON.stringify(r.suffix)} is not a domain name`);
    if (seen.has(r.suffix)) problems.push(`/fallback/${i}/suffix: ${JSON.stringify(r.suffix)} is listed twice`);
    seen.add(r.suffix);
    r.servers.forEach((s, j) => addr(`/fallback/${i}/servers/${j}/address`, s.address));
    if (r.use_system_resolvers && r.servers.length > 0) problems.push(`/fallback/${i}: use_system_resolvers with servers listed`);
    if (!r.use_system_resolvers && r.servers.length === 0) problems.push(`/fallback/${i}: no servers and use_system_resolvers is false`);
  });
  cfg.search.forEach((s, i) => {
    if (!parseDomainName(s).ok) problems.push(`/search/${i}: ${JSON.stringify(s)} is not a domain name`);
  });
  cfg.host_rules.forEach((h, i) => {
    if (!parseHostPattern(h.pattern).ok) problems.push(`/host_rules/${i}/pattern: ${JSON.stringify(h.pattern)} is not a host pattern`);
  });
  cfg.local_answers.forEach((a, i) => {
    if (!parseDomainName(a.name).ok) problems.push(`/local_answers/${i}/name: ${JSON.stringify(a.name)} is not a domain name`);
    a.addresses.forEach((x, j) => addr(`/local_answers/${i}/addresses/${j}`, x));
  });
  return problems.length === 0 ? { ok: true, config: cfg } : { ok: false, problems };
}

/** Read and validate dns-proxy.json; throws DnsProxyConfigError with every problem found. */
export async function loadDnsProxyConfig(path: string): Promise<DnsProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DnsProxyConfigError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DnsProxyConfigError(path, [`not JSON: ${(err as Error).message}`]);
  }
  const r = validateDnsProxyConfig(value);
  if (!r.ok) throw new DnsProxyConfigError(path, r.problems);
  return r.config;
}

/** For callers that already have the text (tests, the runtime). */
export function parseDnsProxyConfig(text: string, source = 'dns-proxy.json'): DnsProxyConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DnsProxyConfigError(source, [`not JSON: ${(err as Error).message}`]);
  }
  const r = validateDnsProxyConfig(value);
  if (!r.ok) throw new DnsProxyConfigError(source, r.problems);
  return r.config;
}
