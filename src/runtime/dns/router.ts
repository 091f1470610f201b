/**
 * Where a query goes: a local answer, the fallback servers of the longest
 * matching suffix (plain DNS), or the Gateway (DoH). Also which host rule, if
 * any, an answer's name falls under.
 *
 * A name under a fallback suffix never goes to DoH: a rule with no servers
 * (and no system resolvers known) yields an empty server list, which the
 * proxy answers with SERVFAIL.
 */
import { parseAddress } from '../../net/ip.js';
import { longestSuffixMatch, matchHostPattern, normalizeName, parseHostPattern, type HostPattern } from '../../net/names.js';
import type { DnsProxyConfig, HostAction } from './config.js';
import type { PlainServer } from './plain.js';

export type Route =
  | { readonly kind: 'local'; readonly name: string; readonly v4: readonly Uint8Array[]; readonly v6: readonly Uint8Array[]; readonly ttl: number }
  | { readonly kind: 'fallback'; readonly suffix: string; readonly servers: readonly PlainServer[] }
  | { readonly kind: 'doh' };

interface CompiledFallback {
  readonly suffix: string;
  readonly servers: readonly PlainServer[];
}

const DOH: Route = { kind: 'doh' };

export class Router {
  private readonly fallback: CompiledFallback[];
  private readonly local = new Map<string, Route>();
  private readonly hostRules: { pattern: HostPattern; action: HostAction }[];

  constructor(cfg: DnsProxyConfig, systemResolvers: readonly PlainServer[], plainPort = 53) {
    this.fallback = cfg.fallback.map((r) => ({
      suffix: normalizeName(r.suffix),
      servers: r.use_system_resolvers ? [...systemResolvers] : r.servers.map((s) => ({ address: s.address, port: plainPort })),
    }));
    for (const a of cfg.local_answers) {
      const v4: Uint8Array[] = [];
      const v6: Uint8Array[] = [];
      for (const text of a.addresses) {
        const addr = parseAddress(text);
        if (addr === null) continue;
        const bytes = new Uint8Array(addr.family === 4 ? 4 : 16);
        let v = addr.value;
        for (let i = bytes.length - 1; i >= 0; i--) {
          bytes[i] = Number(v & 0xffn);
          v >>= 8n;
        }
        (addr.family === 4 ? v4 : v6).push(bytes);
      }
      const name = normalizeName(a.name);
      this.local.set(name, { kind: 'local', name, v4, v6, ttl: a.ttl });
    }
    this.hostRules = [];
    for (const h of cfg.host_rules) {
      const p = parseHostPattern(h.pattern);
      if (p.ok) this.hostRules.push({ pattern: p.pattern, action: h.action });
    }
  }

  get hasHostRules(): boolean {
    return this.hostRules.length > 0;
  }

  /** `name` is lowercased without the trailing dot (wire.questionName). */
  route(name: string): Route {
    const local = this.local.get(name);
    if (local !== undefined) return local;
    const rule = longestSuffixMatch(this.fallback, name);
    if (rule !== undefined) return { kind: 'fallback', suffix: rule.suffix, servers: rule.servers };
    return DOH;
  }

  /**
   * The action of the most specific host rule matching `name`, if any: an
   * exact name beats a wildcard, a longer wildcard beats a shorter one, and
   * the first listed wins a tie.
   */
  hostAction(name: string): HostAction | undefined {
    let best: { pattern: HostPattern; action: HostAction } | undefined;
    for (const r of this.hostRules) {
      if (!matchHostPattern(r.pattern, name)) continue;
      if (!r.pattern.wildcard) return r.action;
      if (best === undefined || r.pattern.name.length > best.pattern.name.length) best = r;
    }
    return best?.action;
  }
}
