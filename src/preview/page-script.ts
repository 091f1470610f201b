/**
 * The preview page's only script, as text (inlined, allowed by its sha256 in the page's CSP).
 * It reads the plan embedded as JSON and answers the "test a destination" box the way
 * `warpc explain --format json` does (src/plan/explain.ts, src/cli/explain-format.ts): the
 * same precedence, the same JSON, which the browser tests compare probe by probe.
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var D = JSON.parse(document.getElementById('plan-data').textContent);
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

/* Addresses: parse to BigInt, format canonically (RFC 5952 for IPv6). */
function parseV4(t) {
  var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t); if (!m) return null;
  var v = 0n;
  for (var i = 1; i <= 4; i++) { if (m[i].length > 1 && m[i][0] === '0') return null; var n = Number(m[i]); if (n > 255) return null; v = (v << 8n) | BigInt(n); }
  return v;
}
function parseV6(t) {
  if (!/^[0-9a-fA-F:.]+$/.test(t) || t.length > 45) return null;
  if (t.indexOf('.') >= 0) {
    var c = t.lastIndexOf(':'); var v4 = parseV4(t.slice(c + 1)); if (v4 === null) return null;
    t = t.slice(0, c + 1) + (v4 >> 16n).toString(16) + ':' + (v4 & 0xffffn).toString(16);
  }
  var halves = t.split('::'); if (halves.length > 2) return null;
  var parse = function (s) { if (s === '') return []; var g = s.split(':'); for (var i = 0; i < g.length; i++) if (!/^[0-9a-fA-F]{1,4}$/.test(g[i])) return null; return g.map(function (x) { return parseInt(x, 16); }); };
  var a = parse(halves[0]); var b = halves.length === 2 ? parse(halves[1]) : []; if (a === null || b === null) return null;
  var n = a.length + b.length; if (halves.length === 1 ? n !== 8 : n > 7) return null;
  var groups = a.concat(new Array(8 - n).fill(0), b); var v = 0n;
  for (var k = 0; k < 8; k++) v = (v << 16n) | BigInt(groups[k]);
  return v;
}
function parseAddr(t) { var v = parseV4(t); if (v !== null) return { f: 4, v: v }; if (t.indexOf(':') >= 0) { v = parseV6(t); if (v !== null) return { f: 6, v: v }; } return null; }
function fmt(f, v) {
  if (f === 4) return [24n, 16n, 8n, 0n].map(function (s) { return String((v >> s) & 255n); }).join('.');
  var g = []; for (var s = 112n; s >= 0n; s -= 16n) g.push(Number((v >> s) & 0xffffn));
  var best = -1, len = 0;
  for (var i = 0; i < 8; ) { if (g[i] !== 0) { i++; continue; } var j = i; while (j < 8 && g[j] === 0) j++; if (j - i > len && j - i > 1) { best = i; len = j - i; } i = j; }
  var h = g.map(function (x) { return x.toString(16); });
  if (best < 0) return h.join(':');
  return h.slice(0, best).join(':') + '::' + h.slice(best + len).join(':');
}
function parsePrefix(c) { var i = c.indexOf('/'); var a = parseAddr(c.slice(0, i)); var l = Number(c.slice(i + 1)); var bits = a.f === 4 ? 32 : 128; var size = 1n << BigInt(bits - l); return { f: a.f, lo: a.v, hi: a.v + size - 1n, len: l }; }
var RULES = D.rules.map(function (r) { var p = parsePrefix(r[0]); return { cidr: r[0], src: r[1], line: r[2], desc: r[3], def: r[4] === 1, f: p.f, lo: p.lo, hi: p.hi, len: p.len }; });
var BYPASS = D.bypass.map(function (b) { var a = parseAddr(b[0]); return { address: b[0], reason: b[1], f: a.f, v: a.v }; });
var DOHT = D.dohTunnel.map(function (t) { var a = parseAddr(t); return { f: a.f, v: a.v }; });

function decide(a) {
  var reason, path;
  if (!D.routes) return { path: 'direct', reason: { kind: 'no_routing', service_mode: D.serviceMode } };
  var b = BYPASS.filter(function (x) { return x.f === a.f && x.v === a.v; })[0];
  if (b) return { path: 'direct', reason: { kind: 'bypass', bypass: b.reason } };
  var best = function (src) { var out = null; for (var i = 0; i < RULES.length; i++) { var r = RULES[i]; if (r.src === src && r.f === a.f && r.lo <= a.v && a.v <= r.hi && (out === null || r.len > out.len)) out = r; } return out; };
  var rr = function (r) { return { prefix: r.cidr, line: r.line, description: r.desc, default: r.def }; };
  var al = best('a');
  if (al) { reason = Object.assign({ kind: 'always_tunnel' }, rr(al)); return { path: 'tunnel', reason: reason }; }
  var en = best('e');
  if (en) { reason = Object.assign({ kind: 'entry' }, rr(en)); return { path: D.mode === 'exclude' ? 'direct' : 'tunnel', reason: reason }; }
  if (DOHT.some(function (x) { return x.f === a.f && x.v === a.v; })) return { path: 'tunnel', reason: { kind: 'doh_tunnel' } };
  return { path: D.mode === 'exclude' ? 'tunnel' : 'direct', reason: { kind: 'mode_default', mode: D.mode } };
}

/* Names. */
function sub(n, s) { return s === '' || n === s || (n.length > s.length && n.endsWith(s) && n[n.length - s.length - 1] === '.'); }
function validName(n) {
  if (n.length === 0 || n.length > 253) return false;
  return n.split('.').every(function (l) { return l.length >= 1 && l.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(l); });
}
function explainName(n) {
  var host = D.hosts.filter(function (h) { return h[1] === 1 ? n !== h[2] && sub(n, h[2]) : n === h[2]; })[0];
  var hostRule = host ? { pattern: host[0], action: host[3], line: host[4] } : null;
  var resolver;
  if (!D.dns) resolver = { kind: 'os', why: 'service mode ' + D.serviceMode + ' leaves DNS with the OS' };
  else {
    var local = D.dns.local.filter(function (l) { return l[0] === n; })[0];
    if (local) resolver = { kind: 'local', addresses: local[1] };
    else {
      var f = null;
      D.dns.fallback.forEach(function (r) { if (sub(n, r[0]) && (f === null || r[0].length > f[0].length)) f = r; });
      if (f) resolver = { kind: 'fallback', suffix: f[0], line: f[1], system_resolvers: f[2] === 1, servers: f[3].map(function (s) { return { address: s[0], path: s[1] }; }) };
      else resolver = { kind: 'doh', url: D.dns.doh.url, path: D.dns.doh.via, addresses: D.dns.doh.addresses.map(function (x) { return { address: x[0], path: x[1], reason: x[2] }; }) };
    }
  }
  return { query: n, type: 'name', resolver: resolver, host_rule: hostRule };
}

function explain(q) {
  q = q.trim();
  var a = parseAddr(q);
  if (a) {
    var mapped = null;
    if (a.f === 6 && (a.v >> 32n) === 0xffffn) { mapped = q; a = { f: 4, v: a.v & 0xffffffffn }; }
    var d = decide(a);
    var out = { query: fmt(a.f, a.v), type: 'address', path: d.path, reason: d.reason };
    if (mapped) out.ipv4_mapped_from = mapped;
    return out;
  }
  var n = q.toLowerCase(); if (n.endsWith('.')) n = n.slice(0, -1);
  if (!validName(n)) return null;
  return explainName(n);
}

function reasonText(r) {
  switch (r.kind) {
    case 'no_routing': return 'service mode ' + r.service_mode + ' routes nothing';
    case 'bypass': return 'bypass: ' + r.bypass.replace(/_/g, ' ');
    case 'always_tunnel': return 'always_tunnel ' + r.prefix + ' (' + (r.default ? 'default' : 'line ' + r.line) + ')';
    case 'entry': return 'split tunnel ' + D.mode + ' entry ' + r.prefix + ' (' + (r.default ? 'a default entry' : 'line ' + r.line) + (r.description ? ': ' + r.description : '') + ')';
    case 'doh_tunnel': return 'a DoH address, and dns.doh_via is tunnel';
    case 'mode_default': return r.mode === 'exclude' ? 'no exclude entry matches, so it goes into the tunnel' : 'no include entry matches, so it stays outside the tunnel';
  }
  return r.kind;
}
function answerText(e) {
  if (e.type === 'address') return e.query + ': ' + e.path + ' \u2014 ' + reasonText(e.reason);
  var r = e.resolver, t;
  if (r.kind === 'os') t = 'resolved by the OS resolver (' + r.why + ')';
  else if (r.kind === 'local') t = 'answered by the local DNS proxy itself';
  else if (r.kind === 'fallback') t = 'Local Domain Fallback "' + r.suffix + '" (line ' + r.line + ') \u2192 ' + (r.system_resolvers ? "the device's original resolvers" : r.servers.map(function (s) { return s.address + ' via ' + s.path; }).join(', '));
  else t = 'Gateway DNS over HTTPS ' + r.url + ' via ' + r.path;
  return e.query + ': ' + t + (e.host_rule ? '; its addresses go ' + e.host_rule.action + ' (host entry ' + e.host_rule.pattern + ', line ' + e.host_rule.line + ')' : '');
}

var input = document.getElementById('probe');
var out = document.getElementById('probe-answer');
var json = document.getElementById('probe-json');
function run() {
  var e = explain(input.value);
  if (e === null) { out.textContent = input.value.trim() === '' ? '' : '"' + input.value.trim() + '" is neither an IP address nor a domain name'; out.className = 'answer bad'; json.textContent = ''; return; }
  out.textContent = answerText(e);
  out.className = 'answer ' + (e.type === 'address' ? e.path : 'name');
  json.textContent = JSON.stringify(e);
}
document.getElementById('probe-form').addEventListener('submit', function (ev) { ev.preventDefault(); run(); });
input.addEventListener('input', run);

/* The Split Tunnel table, built from the data (every entry; the first 500 at once). */
var tbody = document.getElementById('entries-body');
var shown = 0;
function addRows(upTo) {
  var frag = document.createDocumentFragment();
  for (; shown < Math.min(upTo, D.rules.length); shown++) {
    var r = D.rules[shown]; var tr = el('tr');
    tr.appendChild(el('td', '', r[0]));
    tr.appendChild(el('td', '', r[1] === 'a' ? 'always_tunnel' : D.mode));
    tr.appendChild(el('td', '', r[4] === 1 ? 'default' : String(r[2])));
    var eff = D.effective[shown]; tr.appendChild(el('td', 'cidrs', eff === undefined ? r[0] : eff.length === 0 ? '(none)' : eff.join(' ')));
    var sh = D.shadow[shown]; tr.appendChild(el('td', '', sh ? sh[0] + ' (line ' + sh[1] + ')' : ''));
    tr.appendChild(el('td', '', r[3]));
    frag.appendChild(tr);
  }
  tbody.appendChild(frag);
  var more = document.getElementById('entries-more');
  more.hidden = shown >= D.rules.length;
  more.textContent = 'show all ' + D.rules.length + ' entries';
}
addRows(500);
document.getElementById('entries-more').addEventListener('click', function () { addRows(D.rules.length); });

/* Copy buttons. */
Array.prototype.forEach.call(document.querySelectorAll('button.copy'), function (b) {
  b.addEventListener('click', function () {
    var pre = document.getElementById(b.getAttribute('data-for'));
    var text = pre.textContent;
    var done = function () { b.textContent = 'copied'; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
    else { var r = document.createRange(); r.selectNodeContents(pre); var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); try { document.execCommand('copy'); done(); } catch (e) { /* selected for the user */ } }
  });
});
window.warpcExplain = explain;
document.body.setAttribute('data-ready', '1');
})();
`;
