/** View-model pieces several targets render the same way. */
import { v4Length, v4Network } from '../net/canonical.js';
import { canonicalAddress } from '../net/ip.js';
import { asciiBytes, put, writeLength, writeV4 } from '../net/prefix-bytes.js';
import { PrefixSet } from '../net/prefix-set.js';
import type { AddressRule, Path, Plan, TunnelPlan } from '../plan/types.js';
import { DNS_PROXY_V6_WINDOWS } from '../profile/defaults.js';
import { Lines, QUOTE_HELPERS, VALUE_HELPERS, type LineHelpers } from './render.js';
import type { TargetCapabilities } from './target.js';

/**
 * How a target writes one line per address rule (the profile's address entries as written, then
 * always_tunnel: the plan's rules) into a long list, for comments next to what they became:
 * `text` writes any rule through the helpers (`action` is the mode, or `always`); `fast` gives
 * what comes before and after the prefix of an entry without a description (nearly every line
 * of a large list), whose prefix is then written from its numbers. The two must write the
 * same line for such an entry (test/emit/lines.test.ts holds every form to it).
 */
export interface RuleLineForm {
  text(rule: AddressRule, action: string, h: LineHelpers): string;
  fast(action: string, h: LineHelpers): { readonly head: string; readonly tail: string };
  readonly eol: '\n' | '\r\n';
}

/** `#   ACTION PREFIX  DESCRIPTION` comment lines: shell, nft and `ip -batch` comments alike. */
export const COMMENT_LINES: RuleLineForm = {
  text: (r, action, h) => `#   ${h.ident(action)} ${h.cidr(r.cidr)}${r.description ? `  ${h.comment(r.description)}` : ''}`,
  fast: (action, h) => ({ head: `#   ${h.ident(action)} `, tail: '' }),
  eol: '\n',
};

/**
 * The plan's address rules as lines of `form`, all of them or one family's, written as bytes
 * (Lines.written). Each list is written once per plan and form: a large profile has 100,000s of
 * entries, and a target may list them in several files.
 */
export function ruleLines(plan: Plan, form: RuleLineForm, family?: 4 | 6): Lines {
  let forms = RULE_LINES.get(plan);
  if (forms === undefined) RULE_LINES.set(plan, (forms = new Map()));
  let c = forms.get(form);
  if (c === undefined) {
    const rules = plan.split.rules;
    const isV6 = new Uint8Array(rules.length);
    let n6 = 0;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.v4 !== undefined ? r.v4 < 0 : r.cidr.includes(':')) {
        isV6[i] = 1;
        n6++;
      }
    }
    const { bytes, starts, ascii } = ruleBytes(rules, plan.split.mode, form);
    const all = Lines.written(bytes, ascii);
    // A family's lines are the lines of its rules, views of the runs of them; when the list holds one family only, that family's lines are all of them.
    const only = (v6: number): Lines => Lines.written(selectLines(bytes, starts, isV6, v6), ascii);
    c = { all, v4: n6 === 0 ? all : only(0), v6: n6 === rules.length ? all : only(1) };
    forms.set(form, c);
  }
  return family === undefined ? c.all : family === 4 ? c.v4 : c.v6;
}
const RULE_LINES = new WeakMap<Plan, Map<RuleLineForm, { all: Lines; v4: Lines; v6: Lines }>>();

/** The rules as comment lines (COMMENT_LINES): the Linux files and macOS's routes.sh list them. */
export function entryCommentLines(plan: Plan, family?: 4 | 6): Lines {
  return ruleLines(plan, COMMENT_LINES, family);
}

/**
 * The lines of `rules` in `form` as bytes, with where each line starts (and, last, where the
 * bytes end). `ascii`: no byte is above 0x7f.
 */
function ruleBytes(rules: readonly AddressRule[], mode: Plan['split']['mode'], form: RuleLineForm): { bytes: Buffer; starts: Uint32Array; ascii: boolean } {
  const h: LineHelpers = { ...VALUE_HELPERS, ...QUOTE_HELPERS };
  const { head: headText, tail: tailText } = form.fast(mode, h);
  const head = asciiBytes(headText, 'line head');
  const tail = asciiBytes(`${tailText}${form.eol}`, 'line tail');
  // An entry validation parsed: `v4` is its IPv4 number (written from it), or -1 for IPv6 (its canonical text is copied).
  const fast = (r: AddressRule): boolean => r.v4 !== undefined && r.source === 'entry' && r.description === '';
  // The text lines first (in order, with where they go), to size the buffer.
  const textAt: number[] = [];
  const texts: string[] = [];
  let size = 0;
  let ascii = true;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (fast(r))
      size += head.length + (r.v4! >= 0 ? 18 : 43) + tail.length; // the longest IPv4 and IPv6 prefixes
    else {
      const t = `${form.text(r, r.source === 'always_tunnel' ? 'always' : mode, h)}${form.eol}`;
      textAt.push(i);
      texts.push(t);
      const bytes = Buffer.byteLength(t);
      if (bytes !== t.length) ascii = false;
      size += bytes;
    }
  }
  const out = Buffer.allocUnsafe(size);
  const starts = new Uint32Array(rules.length + 1);
  let at = 0;
  let next = 0;
  for (let i = 0; i < rules.length; i++) {
    starts[i] = at;
    if (next < textAt.length && textAt[next] === i) {
      at += out.write(texts[next++]!, at, 'utf8');
      continue;
    }
    const r = rules[i]!;
    const v = r.v4!;
    at = put(out, at, head);
    if (v >= 0) {
      at = writeV4(out, at, v4Network(v));
      at = writeLength(out, at, v4Length(v));
    } else at += out.write(r.cidr, at, 'latin1'); // canonical, so ASCII: copying the text is three times faster than writing it from words
    at = put(out, at, tail);
  }
  starts[rules.length] = at;
  return { bytes: out.subarray(0, at), starts, ascii };
}

/**
 * The lines `i` of `bytes` (starting at `starts[i]`) whose `flags[i]` is `flag`, in order: a view
 * of each run of consecutive such lines, no copy (a family's lines are most of a large list).
 */
function selectLines(bytes: Buffer, starts: Uint32Array, flags: Uint8Array, flag: number): Buffer[] {
  const runs: Buffer[] = [];
  for (let i = 0; i < flags.length;) {
    if (flags[i] !== flag) {
      i++;
      continue;
    }
    let j = i;
    while (j < flags.length && flags[j] === flag) j++;
    runs.push(bytes.subarray(starts[i]!, starts[j]!));
    i = j;
  }
  return runs;
}

/**
 * The addresses a target points the OS resolver at (empty when the plan leaves DNS to
 * the OS), decided here from its capabilities, not by the target: the proxy's own, or
 * (`ipv4-mapped-v6`, Windows) its IPv4 addresses plus the IPv4-mapped IPv6 address the
 * proxy also answers on.
 */
export function dnsServers(plan: Plan, caps: TargetCapabilities): { readonly v4: readonly string[]; readonly v6: readonly string[] } {
  if (!plan.dns) return { v4: [], v6: [] };
  if (caps.dnsServers === 'proxy') return plan.dns.listen;
  return { v4: plan.dns.listen.v4, v6: DNS_PROXY_V6_WINDOWS.map(canonicalBuiltIn) };
}

/** The same as one list, IPv4 first: what a resolver setting names. */
export function dnsServerList(plan: Plan, caps: TargetCapabilities): string[] {
  const s = dnsServers(plan, caps);
  return [...s.v4, ...s.v6];
}

function canonicalBuiltIn(address: string): string {
  const c = canonicalAddress(address);
  if (c === null) throw new Error(`bad built-in address ${address}`);
  return c;
}

/** Whether a target's routes can take prefixes out of a wider tunnel route (policy routing's `throw`, or excludeRoute; `since` counts: the newest form can). */
export function canExcludeRoutes(caps: TargetCapabilities): boolean {
  return caps.policyRouting || caps.excludeRoute !== false;
}

/** The routes of one family: prefixes routed into the tunnel, and prefixes taken out of them. */
export interface FamilyRoutes {
  readonly included: string[];
  readonly excluded: string[];
}

/**
 * The route form of one family, the same for every target: with routes that can exclude,
 * exclude mode is the default route in and the direct set out (the longest match wins);
 * without, and in include mode, it is the tunnel set itself (its minimal cover). A family
 * with nothing in the tunnel has no routes.
 */
export function familyRoutes(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet, canExclude: boolean): FamilyRoutes {
  const r = familyRouteSets(mode, tunnel, direct, canExclude);
  return { included: r.included.toCidrs(), excluded: r.excluded.toCidrs() };
}

/** The same routes as sets (their minimal covers are the lists): for writers that write a cover from the set's numbers (src/emit/prefix-list.ts). */
export function familyRouteSets(mode: Plan['split']['mode'], tunnel: PrefixSet, direct: PrefixSet, canExclude: boolean): { readonly included: PrefixSet; readonly excluded: PrefixSet } {
  const none = PrefixSet.empty(tunnel.family);
  if (tunnel.isEmpty) return { included: none, excluded: none };
  // The default route (0.0.0.0/0, ::/0) is the cover of the whole family.
  if (mode === 'exclude' && canExclude) return { included: PrefixSet.all(tunnel.family), excluded: direct };
  return { included: tunnel, excluded: none };
}

/** A Local Domain Fallback rule as the mobile targets' JSON settings carry it. */
export interface FallbackDomainView {
  suffix: string;
  servers: { address: string; path: Path }[];
  useSystemResolvers: boolean;
}

/** The plan's fallback rules for the mobile targets' settings (none when DNS is not handled). */
export function fallbackDomainViews(plan: Plan): FallbackDomainView[] {
  return plan.dns ? plan.dns.fallback.map((r) => ({ suffix: r.suffix, servers: r.servers.map((s) => ({ address: s.address, path: s.path })), useSystemResolvers: r.useSystemResolvers })) : [];
}

/** The [Peer] section of a wireguard.conf (Linux, macOS, Windows): null until the profile names the peer's key. */
export interface WireguardPeerView {
  publicKey: string;
  host: string;
  port: number;
  /** The endpoint is an IPv6 address (written in brackets). */
  ipv6: boolean;
  allowedIps: readonly string[];
}

export function wireguardPeerView(t: TunnelPlan): WireguardPeerView | null {
  return t.protocol === 'wireguard' && t.peerPublicKey
    ? { publicKey: t.peerPublicKey, host: t.endpoint.host, port: t.endpoint.port, ipv6: t.endpoint.host.includes(':'), allowedIps: t.allowedIps }
    : null;
}
