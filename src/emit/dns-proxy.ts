/** dns-proxy.json (src/contract/dns-proxy.ts) from the plan: the Linux, macOS and Windows targets write it. */
import { DNS_PROXY_CONFIG_VERSION, type DnsProxyConfig } from '../contract/dns-proxy.js';
import type { Plan } from '../plan/types.js';
import { DNS_PROXY_PORT } from '../profile/defaults.js';

/**
 * TTL of the answers the proxy makes itself (connectivity checks must not be
 * cached, so 0). Written into the config so a hand-run proxy can change it.
 */
export const LOCAL_ANSWER_TTL = 0;

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
    host_rules: plan.split.hosts.map((h) => ({ pattern: h.text, action: h.action })),
    local_answers: dns.localAnswers.map((a) => ({ name: a.name, addresses: [...a.addresses], ttl: LOCAL_ANSWER_TTL })),
  };
}
