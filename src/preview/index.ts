/**
 * `warpc preview`: one self-contained HTML page of what a profile does — summary and
 * diagnostics, the Split Tunnel table, a map of the IPv4 space, the DNS flow, the
 * artifacts per target, an optional diff, and a "test a destination" box that answers
 * in the page from the embedded plan (page-script.ts), as `warpc explain` does.
 *
 * Decides nothing: it renders the plan, the diagnostics and the artifacts it is given.
 * The page loads nothing: its Content-Security-Policy allows only its own inline style
 * and script (by sha256), no request of any kind, so it works from file://.
 * Every profile string reaches the page HTML-escaped, or inside the JSON data block
 * with `<` escaped, never as markup.
 */
import { createHash } from 'node:crypto';
import { formatText, type Diagnostic } from '../diagnostics/diagnostic.js';
import { PrefixSet } from '../net/prefix-set.js';
import { planSegments } from '../diff/segments.js';
import type { AddressReason, Plan } from '../plan/types.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';

export interface PreviewInput {
  readonly file: string;
  readonly source: string;
  readonly plan: Plan;
  readonly diagnostics: readonly Diagnostic[];
  /** Target → files (path → text), or an error summary. */
  readonly artifacts: ReadonlyMap<string, ReadonlyMap<string, string> | { readonly error: string }>;
  /** The text of `warpc diff` against --against, if given. */
  readonly diffText?: string;
  readonly againstFile?: string;
}

/** Lines of one artifact shown in the page; the rest is counted (the page of a 100k-entry profile stays under 10 MB). */
export const ARTIFACT_LINES = 2000;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside <script type="application/json">: no `<` (so no `</script>`), no U+2028/2029. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');

/** For each rule (by index), the CIDRs it decides when that differs from its own prefix. */
function effective(plan: Plan): { effective: Record<number, string[]>; shadow: Record<number, [string, number]> } {
  const eff: Record<number, string[]> = {};
  const index = new Map(plan.split.rules.map((r, i) => [r, i]));
  if (plan.features.routes) {
    for (const family of [4, 6] as const) {
      const s = planSegments(plan, family);
      const ranges = new Map<number, [bigint, bigint][]>();
      for (let i = 0; i < s.labels.length; i++) {
        const r = s.reasons[s.labels[i]!]!;
        if (r.kind !== 'entry' && r.kind !== 'always_tunnel') continue;
        const at = index.get(r.rule)!;
        const end = i + 1 < s.starts.length ? BigInt(s.starts[i + 1]!) - 1n : family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
        let list = ranges.get(at);
        if (!list) ranges.set(at, (list = []));
        list.push([BigInt(s.starts[i]!), end]);
      }
      plan.split.rules.forEach((r, i) => {
        if (r.cidr.includes(':') !== (family === 6)) return;
        const cidrs = ranges.has(i) ? PrefixSet.fromRanges(family, ranges.get(i)!).toCidrs() : [];
        if (cidrs.length !== 1 || cidrs[0] !== r.cidr) eff[i] = cidrs;
      });
    }
  }
  // What shadows an entry: the closest other entry that covers it.
  const shadow: Record<number, [string, number]> = {};
  const sorted = plan.split.rules
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.source === 'entry')
    .map(({ r, i }) => {
      const [addr, len] = r.cidr.split('/');
      return { r, i, fam: addr!.includes(':') ? 6 : 4, p: PrefixSet.fromCidrs(addr!.includes(':') ? 6 : 4, [r.cidr]).ranges()[0]!, len: Number(len) };
    })
    .sort((a, b) => a.fam - b.fam || (a.p[0] < b.p[0] ? -1 : a.p[0] > b.p[0] ? 1 : 0) || a.len - b.len || a.i - b.i);
  const stack: typeof sorted = [];
  for (const x of sorted) {
    while (stack.length > 0 && (stack[stack.length - 1]!.fam !== x.fam || stack[stack.length - 1]!.p[1] < x.p[0])) stack.pop();
    const top = stack[stack.length - 1];
    if (top) shadow[x.i] = [top.r.cidr, top.r.pos.line];
    if (!top || top.len !== x.len) stack.push(x);
  }
  return { effective: eff, shadow };
}

/** The embedded plan: what the page's script needs, compact. */
export function pageData(plan: Plan): Record<string, unknown> {
  const { effective: eff, shadow } = effective(plan);
  return {
    name: plan.name,
    serviceMode: plan.serviceMode,
    routes: plan.features.routes,
    mode: plan.split.mode,
    rules: plan.split.rules.map((r) => [r.cidr, r.source === 'entry' ? 'e' : 'a', r.pos.line, r.description, r.isDefault ? 1 : 0]),
    bypass: plan.split.bypass.map((b) => [b.address, b.reason]),
    dohTunnel: plan.split.dohTunnel,
    hosts: plan.split.hosts.map((h) => [h.text, h.pattern.wildcard ? 1 : 0, h.pattern.name, h.action, h.pos.line]),
    dns: plan.dns
      ? {
          doh: {
            url: plan.dns.doh.url,
            via: plan.dns.doh.via,
            addresses: plan.dns.doh.addresses.map((a) => [a.address, a.path, explainReason(a.reason)]),
          },
          fallback: plan.dns.fallback.map((f) => [f.suffix, f.pos.line, f.useSystemResolvers ? 1 : 0, f.servers.map((s) => [s.address, s.path])]),
          local: plan.dns.localAnswers.map((l) => [l.name, l.addresses]),
        }
      : null,
    effective: eff,
    shadow,
  };
}

/** The reason as `warpc explain --format json` writes it (src/cli/explain-format.ts). */
function explainReason(r: AddressReason): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: r.kind };
  if (r.kind === 'bypass') out['bypass'] = r.bypass.reason;
  if (r.kind === 'entry' || r.kind === 'always_tunnel') Object.assign(out, { prefix: r.rule.cidr, line: r.rule.pos.line, description: r.rule.description, default: r.rule.isDefault });
  if (r.kind === 'mode_default') out['mode'] = r.mode;
  if (r.kind === 'no_routing') out['service_mode'] = r.serviceMode;
  return out;
}

/** The 256 /8s of IPv4: tunnel, direct or mixed, and whether a bypass address lies in it. */
function ipv4Map(plan: Plan): string {
  const cells: string[] = [];
  const bypass8 = new Set(plan.split.bypass.filter((b) => !b.address.includes(':')).map((b) => Number(b.address.split('.')[0])));
  for (let i = 0; i < 256; i++) {
    const block = PrefixSet.fromCidrs(4, [`${i}.0.0.0/8`]);
    const t = plan.split.tunnel.v4.intersect(block);
    const kind = t.isEmpty ? 'direct' : t.equals(block) ? 'tunnel' : 'mixed';
    const title = `${i}.0.0.0/8: ${kind}${bypass8.has(i) ? ' (bypass address inside)' : ''}`;
    cells.push(`<div class="cell ${kind}${bypass8.has(i) ? ' bypass' : ''}" title="${escapeHtml(title)}">${i}</div>`);
  }
  return `<div class="map" role="img" aria-label="IPv4 space by /8: tunnel, direct or mixed">${cells.join('')}</div>`;
}

function highlight(line: string): string {
  const e = escapeHtml(line);
  return /^\s*(#|\/\/|::|REM\b|rem\b|;)/.test(line) ? `<span class="c">${e}</span>` : e;
}

export function buildPreview(input: PreviewInput): string {
  const { plan } = input;
  const t = plan.split.tunnel;
  const d = plan.split.direct;
  const errors = input.diagnostics.filter((x) => x.severity === 'error').length;
  const diags = input.diagnostics.map((x) => `<pre class="diag ${x.severity}">${escapeHtml(formatText(x, input.source))}</pre>`).join('\n');
  const dns = plan.dns;
  const dnsHtml = dns
    ? `<div class="flow"><div class="box">application request</div><div class="arrow">→</div><div class="box">local DNS proxy ${escapeHtml([...dns.listen.v4, ...dns.listen.v6].join(', '))}</div><div class="arrow">→</div>
<div class="branches"><div class="box fallback"><h3>Local Domain Fallback (plain DNS, skips Gateway)</h3><table><thead><tr><th>suffix</th><th>servers (path)</th><th>line</th></tr></thead><tbody>${dns.fallback
        .map((f) => `<tr><td>${escapeHtml(f.suffix)}</td><td>${f.useSystemResolvers ? "device's original resolvers" : escapeHtml(f.servers.map((s) => `${s.address} (${s.path})`).join(', '))}</td><td>${f.pos.line || 'default'}</td></tr>`)
        .join('')}</tbody></table></div>
<div class="box gateway"><h3>everything else: Gateway DNS over HTTPS</h3><p>${escapeHtml(dns.doh.url)} via ${dns.doh.via}</p><p>bootstrap addresses: ${escapeHtml(dns.doh.addresses.map((a) => `${a.address} (${a.path})`).join(', '))}</p>${
        dns.search.length > 0 ? `<p>search domains: ${escapeHtml(dns.search.join(', '))}</p>` : ''
      }</div></div></div>`
    : `<p>service mode ${escapeHtml(plan.serviceMode)} leaves DNS with the OS.</p>`;
  let pre = 0;
  const artifacts = [...input.artifacts]
    .map(([target, files]) => {
      if ('error' in files) return `<section class="target"><h3>${escapeHtml(target)}</h3><p>not compiled: ${escapeHtml(String(files.error))}</p></section>`;
      const parts = [...(files as ReadonlyMap<string, string>)].map(([path, text]) => {
        const lines = text.split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        const shown = lines.slice(0, ARTIFACT_LINES);
        const id = `art-${pre++}`;
        const more = lines.length > shown.length ? `<p class="note">first ${ARTIFACT_LINES} of ${lines.length} lines; warpc compile writes the whole file</p>` : '';
        return `<details><summary>${escapeHtml(`${target}/${path}`)} (${lines.length} lines)</summary><button type="button" class="copy" data-for="${id}">copy</button><pre id="${id}"><code>${shown.map(highlight).join('\n')}</code></pre>${more}</details>`;
      });
      return `<section class="target"><h3>${escapeHtml(target)}</h3>${parts.join('\n')}</section>`;
    })
    .join('\n');
  const v6direct = d.v6.toCidrs().slice(0, 40);
  const body = `<header><h1>warpc preview: ${escapeHtml(plan.name)}</h1><p>${escapeHtml(input.file)}</p></header>
<main>
<section id="test"><h2>Test a destination</h2>
<form id="probe-form" autocomplete="off"><label for="probe">address or name</label> <input id="probe" name="probe" type="text" spellcheck="false" placeholder="10.1.2.3 or intranet.example.com"> <button type="submit">test</button></form>
<p id="probe-answer" class="answer" aria-live="polite"></p><pre id="probe-json" hidden></pre></section>
<section id="summary"><h2>Summary</h2><ul>
<li>service mode <b>${escapeHtml(plan.serviceMode)}</b>, split tunnel <b>${plan.split.mode}</b></li>
<li>tunnel: ${t.v4.prefixCount()} IPv4 + ${t.v6.prefixCount()} IPv6 prefixes; direct: ${d.v4.prefixCount()} IPv4 + ${d.v6.prefixCount()} IPv6 prefixes</li>
<li>${plan.split.rules.filter((r) => r.source === 'entry').length} address entries, ${plan.split.hosts.length} host entries, ${plan.dns?.fallback.length ?? 0} fallback suffixes</li>
<li>bypass: ${escapeHtml(plan.split.bypass.map((b) => `${b.address} (${b.reason.replace(/_/g, ' ')})`).join(', ') || 'none')}</li>
<li>${errors} errors, ${input.diagnostics.length - errors} warnings</li></ul>${diags}</section>
${input.diffText !== undefined ? `<section id="diff"><h2>Changes against ${escapeHtml(input.againstFile ?? '')}</h2><pre>${escapeHtml(input.diffText)}</pre></section>` : ''}
<section id="entries"><h2>Split Tunnel</h2><table><thead><tr><th>prefix</th><th>kind</th><th>line</th><th>effective CIDRs (what this entry decides)</th><th>shadowed by</th><th>description</th></tr></thead><tbody id="entries-body"></tbody></table><button type="button" id="entries-more" hidden>show all</button>
<h3>Host entries</h3><ul>${plan.split.hosts.map((h) => `<li>${escapeHtml(h.text)} → ${h.action} (line ${h.pos.line})${h.description ? ` — ${escapeHtml(h.description)}` : ''}</li>`).join('') || '<li>none</li>'}</ul></section>
<section id="space"><h2>Address space</h2><p class="legend"><span class="cell tunnel">tunnel</span> <span class="cell direct">direct</span> <span class="cell mixed">mixed</span> <span class="cell bypass">bypass inside</span></p>${ipv4Map(plan)}
<h3>IPv6</h3><p>${t.v6.isEmpty ? 'no IPv6 goes into the tunnel' : d.v6.isEmpty ? 'all IPv6 goes into the tunnel' : `direct IPv6 (${d.v6.prefixCount()} prefixes): ${escapeHtml(v6direct.join(' '))}${d.v6.prefixCount() > v6direct.length ? ' …' : ''}`}</p></section>
<section id="dns"><h2>DNS</h2>${dnsHtml}</section>
<section id="artifacts"><h2>Artifacts</h2>${artifacts}</section>
</main>
<script type="application/json" id="plan-data">${jsonForScript(pageData(plan))}</script>
<script>${PAGE_SCRIPT}</script>`;
  const csp = `default-src 'none'; style-src 'sha256-${sha256(PAGE_STYLE)}'; script-src 'sha256-${sha256(PAGE_SCRIPT)}'; img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1"><title>warpc preview: ${escapeHtml(plan.name)}</title><style>${PAGE_STYLE}</style></head>
<body>${body}</body></html>
`;
}
