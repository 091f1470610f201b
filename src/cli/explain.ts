/** `warpc explain <profile> <address|name>…`: which path, and which rule decided. */
import type { Command } from 'commander';
import { diag, hasErrors, withFile } from '../diagnostics/diagnostic.js';
import { analyze } from '../compile.js';
import { explainAddress, explainName, parseQuery, type AddressExplanation, type NameExplanation } from '../plan/explain.js';
import { mappedIPv4, parseAddress } from '../net/ip.js';
import { BYPASS_WHY, DOH_TUNNEL_WHY } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { CliExit, EXIT } from './exit.js';
import { diagnosticsJson, formatOption, printDiagnostics, readProfile, writeJson, type Format } from './common.js';

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

function addressText(plan: Plan, e: AddressExplanation): string {
  return `${e.address}: ${e.path} — ${reasonText(plan, e.reason)}`;
}

function nameText(plan: Plan, e: NameExplanation): string {
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
      const via = rule.useSystemResolvers
        ? "the device's original resolvers"
        : rule.servers.map((s) => `${s.address} via ${s.path}`).join(', ');
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

function addressJson(e: AddressExplanation): Record<string, unknown> {
  return { query: e.address, type: 'address', path: e.path, reason: reasonJson(e.reason) };
}

function nameJson(e: NameExplanation): Record<string, unknown> {
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
      resolver = { kind: 'fallback', suffix: r.rule.suffix, line: r.rule.pos.line, system_resolvers: r.rule.useSystemResolvers, servers: r.rule.servers.map((s) => ({ address: s.address, path: s.path })) };
      break;
    case 'doh':
      resolver = { kind: 'doh', url: r.url, path: r.path, addresses: r.addresses.map((a) => ({ address: a.address, path: a.path, reason: reasonJson(a.reason) })) };
      break;
  }
  return { query: e.name, type: 'name', resolver, host_rule: e.hostRule ? { pattern: e.hostRule.text, action: e.hostRule.action, line: e.hostRule.pos.line } : null };
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('say whether addresses go through the tunnel, and how names resolve, and which rule decided')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .argument('<query...>', 'IP addresses and domain names')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc explain profile.yaml 10.1.2.3 1.1.1.1\n  $ warpc explain profile.yaml intranet.corp.example.com --format json')
    .action((profilePath: string, queries: string[], opts: { format: Format }) => {
      const { source, diagnostics: readDiags, file } = readProfile(profilePath);
      let diagnostics = readDiags;
      let plan: Plan | null = null;
      if (source !== null) {
        const result = analyze(source);
        diagnostics = withFile(result.diagnostics, file);
        plan = result.plan;
      }
      // An IPv4-mapped address (::ffff:10.1.2.3) is explained as the IPv4 address it stands for, as validation reads addresses.
      const parsed = queries.map((q) => {
        const a = parseAddress(q);
        const v4 = a === null ? null : mappedIPv4(a);
        return { q, parsed: parseQuery(v4 ?? q), mappedFrom: v4 === null ? null : q };
      });
      const bad = parsed.filter((p) => p.parsed === null).map((p) => diag('ExplainBadQuery', { value: p.q }));
      if (bad.length > 0) {
        printDiagnostics(withFile(bad, file), null);
        throw new CliExit(EXIT.usage);
      }
      if (!plan || hasErrors(diagnostics)) {
        if (opts.format === 'json') writeJson({ ok: false, diagnostics: diagnosticsJson(diagnostics), results: [] });
        else printDiagnostics(diagnostics, source);
        throw new CliExit(EXIT.failure);
      }
      const results = parsed.map(({ parsed: q, mappedFrom }) =>
        q!.kind === 'address' ? { kind: 'address' as const, e: explainAddress(plan!, q!.address), mappedFrom } : { kind: 'name' as const, e: explainName(plan!, q!.name), mappedFrom },
      );
      if (opts.format === 'json') {
        writeJson({
          ok: true,
          diagnostics: diagnosticsJson(diagnostics),
          results: results.map((r) => (r.kind === 'address' ? { ...addressJson(r.e), ...(r.mappedFrom ? { ipv4_mapped_from: r.mappedFrom } : {}) } : nameJson(r.e))),
        });
      } else {
        printDiagnostics(diagnostics.filter((d) => d.severity === 'error'), source);
        for (const r of results) {
          const text = r.kind === 'address' ? addressText(plan, r.e) : nameText(plan, r.e);
          process.stdout.write(`${r.mappedFrom ? `${r.mappedFrom} (IPv4-mapped) = ${text}` : text}\n`);
        }
      }
    });
}

