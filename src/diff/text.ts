/** `warpc diff`'s text form, rendered from the JSON result. */
import { escapeForDisplay } from '../diagnostics/diagnostic.js';
import type { DiffResult, FallbackJson, ReasonJson, ResolverJson } from './diff.js';

function where(line: unknown, isDefault?: unknown): string {
  return isDefault === true || line === 0 ? 'default' : `line ${String(line)}`;
}

export function reasonText(r: ReasonJson): string {
  switch (r['kind']) {
    case 'entry':
      return `entry ${r['prefix']} (${where(r['line'], r['default'])}${r['description'] ? `: ${escapeForDisplay(String(r['description']))}` : ''})`;
    case 'always_tunnel':
      return `always_tunnel ${r['prefix']} (${where(r['line'], r['default'])})`;
    case 'bypass':
      return `bypass ${r['address']} (${String(r['bypass']).replace(/_/g, ' ')})`;
    case 'doh_tunnel':
      return `DoH address ${r['address']} via the tunnel`;
    case 'mode_default':
      return `${r['mode']} mode default`;
    case 'no_routing':
      return `service mode ${r['service_mode']} routes nothing`;
    default:
      return String(r['kind']);
  }
}

function fallbackText(f: FallbackJson): string {
  const servers = f.system_resolvers ? "the device's original resolvers" : f.servers.map((s) => `${s.address} via ${s.path}`).join(', ');
  return `"${f.suffix}" (${where(f.line)}) → ${servers}`;
}

function resolverText(r: ResolverJson): string {
  return r.kind === 'fallback' ? `fallback "${r.suffix}" (${where(r.line)})` : r.kind === 'doh' ? 'Gateway DoH' : 'the OS resolver';
}

function value(v: unknown): string {
  return v === null ? '(none)' : Array.isArray(v) ? `[${v.join(', ')}]` : escapeForDisplay(String(v));
}

/** The diff as text; empty sections are left out. */
export function diffText(d: DiffResult, unified: readonly string[] = []): string {
  const out: string[] = [];
  const section = (title: string, lines: string[]): void => {
    if (lines.length > 0) out.push(`${title}`, ...lines.map((l) => `  ${l}`), '');
  };
  const routing: string[] = [];
  for (const m of d.routing.moves) {
    routing.push(`IPv${m.family} ${m.from} → ${m.to}: ${m.cidrs.length <= 8 ? m.cidrs.join(' ') : `${m.cidrs.slice(0, 8).join(' ')} … (${m.cidrs.length} prefixes)`}`);
    routing.push(`    was ${reasonText(m.old)}; now ${reasonText(m.new)}`);
  }
  for (const r of d.routing.newly_redundant) routing.push(`entry ${r.prefix} (line ${r.line}) is now covered by ${r.covered_by} (${where(r.covered_by_line)}): it has no effect`);
  for (const r of d.routing.no_longer_redundant) routing.push(`entry ${r.prefix} (line ${r.line}) is no longer covered by ${r.covered_by}`);
  section('Routing', routing);
  section('Split Tunnel address entries', [
    ...d.entries.added.map((e) => `+ ${e.prefix} (${where(e.line)})${e.description ? ` ${escapeForDisplay(e.description)}` : ''}`),
    ...d.entries.removed.map((e) => `- ${e.prefix} (was ${where(e.line)})${e.description ? ` ${escapeForDisplay(e.description)}` : ''}`),
    ...d.entries.description_changed.map((e) => `~ ${e.prefix} (line ${e.new_line}) description "${escapeForDisplay(e.old)}" → "${escapeForDisplay(e.new)}"`),
  ]);
  section('Host entries', [
    ...d.hosts.added.map((h) => `+ ${h.pattern} (line ${h.line}) → ${h.action}`),
    ...d.hosts.removed.map((h) => `- ${h.pattern} (was line ${h.line}) → ${h.action}`),
    ...d.hosts.action_changed.map((h) => `~ ${h.pattern} (line ${h.new_line}) ${h.old} → ${h.new}`),
  ]);
  section('DNS', [
    ...d.dns.fallback_added.map((f) => `+ fallback ${fallbackText(f)}`),
    ...d.dns.fallback_removed.map((f) => `- fallback ${fallbackText(f)}`),
    ...d.dns.fallback_changed.map((f) => `~ fallback ${fallbackText(f.old)}  ⇒  ${fallbackText(f.new)}`),
    ...d.dns.resolver_changes.map((r) => `names under ${r.names}: ${resolverText(r.old)} → ${resolverText(r.new)} (${r.why})`),
    ...d.dns.doh.map((c) => `~ ${c.field}: ${value(c.old)} → ${value(c.new)}`),
    ...d.dns.search_added.map((s) => `+ search ${s}`),
    ...d.dns.search_removed.map((s) => `- search ${s}`),
  ]);
  section('Settings', d.settings.map((c) => `~ ${c.field}: ${value(c.old)} → ${value(c.new)}`));
  section(
    'Artifacts',
    d.artifacts.flatMap((t) => [
      ...(t.old_error !== t.new_error ? [`${t.target}: ${t.old_error ? `was not compiled (${t.old_error})` : 'compiled'} → ${t.new_error ? `not compiled (${t.new_error})` : 'compiled'}`] : []),
      ...t.files.map((f) => `${f.status === 'added' ? '+' : f.status === 'removed' ? '-' : '~'} ${t.target}/${f.path} (+${f.lines_added} -${f.lines_removed})`),
    ]),
  );
  if (out.length === 0) return 'no differences\n';
  return `${[...out, ...unified].join('\n').replace(/\n+$/, '')}\n`;
}
