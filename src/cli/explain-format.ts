/** `warpc explain`'s output: an explanation as a line of text or as JSON. Loaded when the command runs. */
import type { AddressExplanation, NameExplanation } from '../plan/explain.js';
import { BYPASS_WHY, DOH_TUNNEL_WHY } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';

function where(pos: { line: number }): string {
  return pos.line > 0 ? `line ${pos.line}` : 'default';
}

function reasonText(plan: Plan, r: AddressExplanation['reason']): string {
  let why: string;
  switch (r.kind) {
    case 'no_routing':
      why = `service mode ${r.serviceMode} routes nothing`;
      break;
    case 'bypass':
      why = BYPASS_WHY[r.bypass.reason];
      break;
    case 'always_tunnel':
      why = `always_tunnel ${r.rule.cidr} (${where(r.rule.pos)})`;
      break;
    case 'entry':
      why = `split tunnel ${plan.split.mode} entry ${r.rule.cidr} (${r.rule.isDefault ? 'a default entry' : where(r.rule.pos)}${r.rule.description ? `: ${r.rule.description}` : ''})`;
      break;
    case 'doh_tunnel':
      why = DOH_TUNNEL_WHY;
      break;
    case 'mode_default':
      why = r.mode === 'exclude' ? 'no exclude entry matches, so it goes into the tunnel' : 'no include entry matches, so it stays outside the tunnel';
      break;
    case 'loopback':
      why = 'a loopback address: its queries never leave the device';
      break;
  }
  return why;
}

export function addressText(plan: Plan, e: AddressExplanation): string {
  return `${e.address}: ${e.path} — ${reasonText(plan, e.reason)}`;
}

export function nameText(plan: Plan, e: NameExplanation): string {
  const lines: string[] = [];
  const r = e.resolver;
  switch (r.kind) {
    case 'os':
      lines.push(`${e.name}: resolved by the OS resolver (${r.why})`);
      break;
    case 'local':
      lines.push(`${e.name}: answered by the local DNS proxy itself (${r.addresses.join(', ')})`);
      break;
    case 'fallback': {
      const rule = r.rule;
      const via = rule.useSystemResolvers ? "the device's original resolvers" : rule.servers.map((s) => `${s.address} via ${s.path}`).join(', ');
      lines.push(`${e.name}: Local Domain Fallback "${rule.suffix}" (${where(rule.pos)}) → ${via}; plain DNS, skips Gateway policy`);
      break;
    }
    case 'doh':
      lines.push(`${e.name}: Gateway DNS over HTTPS ${r.url} via ${r.path === 'mixed' ? 'a different path per address' : r.path}`);
      // Say which address goes where, and why, whenever that is not simply what dns.doh_via asks.
      if (r.path !== plan.dns?.doh.requestedVia) for (const a of r.addresses) lines.push(`  DoH address ${addressText(plan, a)}`);
      break;
  }
  if (e.hostRule) {
    lines.push(`  its addresses go ${e.hostRule.action} (host entry ${e.hostRule.text}, ${where(e.hostRule.pos)}), once the local proxy sees the lookup`);
  } else if (plan.features.routes) {
    lines.push('  its addresses are routed by the address rules (explain each address)');
  }
  return lines.join('\n');
}

function reasonJson(r: AddressExplanation['reason']): Record<string, unknown> {
  const reason: Record<string, unknown> = { kind: r.kind };
  if (r.kind === 'bypass') reason['bypass'] = r.bypass.reason;
  if (r.kind === 'entry' || r.kind === 'always_tunnel') Object.assign(reason, { prefix: r.rule.cidr, line: r.rule.pos.line, description: r.rule.description, default: r.rule.isDefault });
  if (r.kind === 'mode_default') reason['mode'] = r.mode;
  if (r.kind === 'no_routing') reason['service_mode'] = r.serviceMode;
  return reason;
}

export function addressJson(e: AddressExplanation): Record<string, unknown> {
  return { query: e.address, type: 'address', path: e.path, reason: reasonJson(e.reason) };
}

export function nameJson(e: NameExplanation): Record<string, unknown> {
  const r = e.resolver;
  let resolver: Record<string, unknown>;
  switch (r.kind) {
    case 'os':
      resolver = { kind: 'os', why: r.why };
      break;
    case 'local':
      resolver = { kind: 'local', addresses: r.addresses };
      break;
    case 'fallback':
      resolver = {
        kind: 'fallback',
        suffix: r.rule.suffix,
        line: r.rule.pos.line,
        system_resolvers: r.rule.useSystemResolvers,
        servers: r.rule.servers.map((s) => ({ address: s.address, path: s.path })),
      };
      break;
    case 'doh':
      resolver = { kind: 'doh', url: r.url, path: r.path, addresses: r.addresses.map((a) => ({ address: a.address, path: a.path, reason: reasonJson(a.reason) })) };
      break;
  }
  return { query: e.name, type: 'name', resolver, host_rule: e.hostRule ? { pattern: e.hostRule.text, action: e.hostRule.action, line: e.hostRule.pos.line } : null };
}
