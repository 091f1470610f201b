/**
 * `warpc diff`: what changes between two analyzed profiles, section by section.
 *
 * Decides nothing about routing itself: paths come from each side's plan (its
 * tunnel set), and the deciding rules from the plan's precedence painted over the
 * address space (segments.ts). It must not touch the profile reader, the plan or
 * the targets beyond their public functions, and it writes nothing.
 *
 * The result is the JSON shape of schema/diff.schema.json (snake_case), and the
 * text form is rendered from it (text.ts).
 */
import { parsePrefix, prefixLast, type Family } from '../net/ip.js';
import { PrefixSet } from '../net/prefix-set.js';
import { longestSuffixMatch } from '../net/names.js';
import type { FallbackRule, Plan } from '../plan/types.js';
import type { Profile } from '../profile/types.js';
import { nextBound, planSegments, segmentEnd, topOf, type Bound, type SegmentReason } from './segments.js';

export interface DiffSide {
  readonly profile: Profile;
  readonly plan: Plan;
}

export type ReasonJson = Record<string, string | number | boolean>;

export interface RoutingMove {
  readonly family: 4 | 6;
  readonly from: 'tunnel' | 'direct';
  readonly to: 'tunnel' | 'direct';
  readonly cidrs: string[];
  readonly old: ReasonJson;
  readonly new: ReasonJson;
}

export interface RedundantEntry {
  readonly prefix: string;
  readonly line: number;
  readonly covered_by: string;
  readonly covered_by_line: number;
}

export interface DiffResult {
  readonly routing: {
    readonly ipv4: { readonly tunnel_to_direct: string[]; readonly direct_to_tunnel: string[] };
    readonly ipv6: { readonly tunnel_to_direct: string[]; readonly direct_to_tunnel: string[] };
    readonly moves: RoutingMove[];
    readonly newly_redundant: RedundantEntry[];
    readonly no_longer_redundant: RedundantEntry[];
  };
  readonly entries: {
    readonly added: { prefix: string; line: number; description: string }[];
    readonly removed: { prefix: string; line: number; description: string }[];
    readonly description_changed: { prefix: string; old_line: number; new_line: number; old: string; new: string }[];
  };
  readonly hosts: {
    readonly added: { pattern: string; line: number; action: string }[];
    readonly removed: { pattern: string; line: number; action: string }[];
    readonly action_changed: { pattern: string; old_line: number; new_line: number; old: string; new: string }[];
  };
  readonly dns: {
    readonly fallback_added: FallbackJson[];
    readonly fallback_removed: FallbackJson[];
    readonly fallback_changed: { suffix: string; old: FallbackJson; new: FallbackJson }[];
    readonly resolver_changes: { names: string; old: ResolverJson; new: ResolverJson; why: string }[];
    readonly doh: FieldChange[];
    readonly search_added: string[];
    readonly search_removed: string[];
  };
  readonly settings: FieldChange[];
  readonly artifacts: ArtifactTargetDiff[];
}

export interface FallbackJson {
  readonly suffix: string;
  readonly line: number;
  readonly system_resolvers: boolean;
  readonly servers: { address: string; path: string }[];
}

export type ResolverJson = { kind: 'fallback'; suffix: string; line: number } | { kind: 'doh' } | { kind: 'os' };

export interface FieldChange {
  readonly field: string;
  readonly old: string | number | boolean | null | string[];
  readonly new: string | number | boolean | null | string[];
}

export interface ArtifactFileDiff {
  readonly path: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly lines_added: number;
  readonly lines_removed: number;
}

export interface ArtifactTargetDiff {
  readonly target: string;
  /** Why a side has no artifacts for this target (its target checks failed), or null. */
  readonly old_error: string | null;
  readonly new_error: string | null;
  readonly files: ArtifactFileDiff[];
}

export function reasonJson(r: SegmentReason): ReasonJson {
  switch (r.kind) {
    case 'no_routing':
      return { kind: r.kind, service_mode: r.serviceMode };
    case 'bypass':
      return { kind: r.kind, bypass: r.bypass.reason, address: r.bypass.address };
    case 'always_tunnel':
    case 'entry':
      return { kind: r.kind, prefix: r.rule.cidr, line: r.rule.pos.line, description: r.rule.description, default: r.rule.isDefault };
    case 'doh_tunnel':
      return { kind: r.kind, address: r.address };
    case 'mode_default':
      return { kind: r.kind, mode: r.mode };
  }
}

/** Address ranges whose path differs, grouped by (direction, old rule, new rule). */
function familyMoves(a: DiffSide, b: DiffSide, family: Family): RoutingMove[] {
  const sa = planSegments(a.plan, family);
  const sb = planSegments(b.plan, family);
  const ta = family === 4 ? a.plan.split.tunnel.v4 : a.plan.split.tunnel.v6;
  const tb = family === 4 ? b.plan.split.tunnel.v4 : b.plan.split.tunnel.v6;
  const pathA = sa.labels.map((_, i) => ta.contains(BigInt(sa.starts[i]!)));
  const pathB = sb.labels.map((_, i) => tb.contains(BigInt(sb.starts[i]!)));
  const groups = new Map<string, { from: boolean; la: number; lb: number; ranges: [bigint, bigint][] }>();
  const top = topOf(family);
  let i = 0;
  let j = 0;
  let pos: Bound = sa.starts[0]!;
  for (;;) {
    const endA = segmentEnd(sa, i);
    const endB = segmentEnd(sb, j);
    const end = endA < endB ? endA : endB;
    if (pathA[i] !== pathB[j]) {
      const key = `${pathA[i] ? 1 : 0}:${sa.labels[i]}:${sb.labels[j]}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { from: pathA[i]!, la: sa.labels[i]!, lb: sb.labels[j]!, ranges: [] }));
      const last = g.ranges[g.ranges.length - 1];
      const lo = BigInt(pos);
      if (last && last[1] + 1n === lo) last[1] = BigInt(end);
      else g.ranges.push([lo, BigInt(end)]);
    }
    if (end === top) break;
    pos = nextBound(end);
    if (endA === end) i++;
    if (endB === end) j++;
  }
  const moves: { first: bigint; move: RoutingMove }[] = [];
  for (const g of groups.values()) {
    const move: RoutingMove = {
      family,
      from: g.from ? 'tunnel' : 'direct',
      to: g.from ? 'direct' : 'tunnel',
      cidrs: PrefixSet.fromRanges(family, g.ranges).toCidrs(),
      old: reasonJson(sa.reasons[g.la]!),
      new: reasonJson(sb.reasons[g.lb]!),
    };
    moves.push({ first: g.ranges[0]![0], move });
  }
  // Address order, as a reader scans the space.
  return moves.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0)).map((m) => m.move);
}

/** For every address entry covered by another entry: the closest cover (as validation's ShadowedEntry warns). */
function redundantEntries(side: DiffSide): Map<string, RedundantEntry> {
  const items = side.plan.split.rules
    // The built-in defaults overlap on purpose (255.255.255.255/32 inside 240.0.0.0/4); validation does not warn about them either.
    .filter((r) => r.source === 'entry' && !r.isDefault)
    .map((r, order) => {
      const p = parsePrefix(r.cidr);
      if (!p.ok) throw new Error(`plan rule ${r.cidr} is not a prefix`);
      return { r, p: p.prefix, hi: prefixLast(p.prefix), order };
    })
    .sort((x, y) => x.p.family - y.p.family || (x.p.network < y.p.network ? -1 : x.p.network > y.p.network ? 1 : 0) || x.p.length - y.p.length || x.order - y.order);
  const out = new Map<string, RedundantEntry>();
  const stack: typeof items = [];
  for (const x of items) {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.p.family === x.p.family && top.hi >= x.p.network) break;
      stack.pop();
    }
    const top = stack[stack.length - 1];
    if (top) {
      if (!out.has(x.r.cidr)) out.set(x.r.cidr, { prefix: x.r.cidr, line: x.r.pos.line, covered_by: top.r.cidr, covered_by_line: top.r.pos.line });
      if (top.p.length === x.p.length) continue;
    }
    stack.push(x);
  }
  return out;
}

function fallbackJson(f: FallbackRule): FallbackJson {
  return { suffix: f.suffix, line: f.pos.line, system_resolvers: f.useSystemResolvers, servers: f.servers.map((s) => ({ address: s.address, path: s.path })) };
}

function resolverOf(plan: Plan, name: string): ResolverJson {
  if (!plan.dns) return { kind: 'os' };
  const rule = longestSuffixMatch(plan.dns.fallback, name);
  return rule ? { kind: 'fallback', suffix: rule.suffix, line: rule.pos.line } : { kind: 'doh' };
}

function sameJson(x: unknown, y: unknown): boolean {
  return JSON.stringify(x) === JSON.stringify(y);
}

function dnsDiff(a: Plan, b: Plan): DiffResult['dns'] {
  const fa = new Map((a.dns?.fallback ?? []).map((f) => [f.suffix, f]));
  const fb = new Map((b.dns?.fallback ?? []).map((f) => [f.suffix, f]));
  const added = [...fb.values()].filter((f) => !fa.has(f.suffix));
  const removed = [...fa.values()].filter((f) => !fb.has(f.suffix));
  const changed: DiffResult['dns']['fallback_changed'] = [];
  for (const [suffix, f] of fb) {
    const o = fa.get(suffix);
    if (!o) continue;
    const oj = fallbackJson(o);
    const nj = fallbackJson(f);
    if (!sameJson({ ...oj, line: 0 }, { ...nj, line: 0 })) changed.push({ suffix, old: oj, new: nj });
  }
  // Names under an added or removed suffix change resolver: a longer suffix now wins, or no longer does.
  const resolverChanges: DiffResult['dns']['resolver_changes'] = [];
  for (const f of added) {
    const was = resolverOf(a, f.suffix);
    resolverChanges.push({ names: f.suffix, old: was, new: resolverOf(b, f.suffix), why: was.kind === 'fallback' ? `"${f.suffix}" is longer than "${was.suffix}", so it wins` : `"${f.suffix}" is a new fallback suffix` });
  }
  for (const f of removed) {
    const now = resolverOf(b, f.suffix);
    resolverChanges.push({ names: f.suffix, old: resolverOf(a, f.suffix), new: now, why: now.kind === 'fallback' ? `"${f.suffix}" is gone, so the shorter "${now.suffix}" answers` : `"${f.suffix}" is gone` });
  }
  resolverChanges.sort((x, y) => (x.names < y.names ? -1 : x.names > y.names ? 1 : 0));
  const doh: FieldChange[] = [];
  const field = (name: string, x: FieldChange['old'], y: FieldChange['new']): void => {
    if (!sameJson(x, y)) doh.push({ field: name, old: x, new: y });
  };
  field('dns.doh_url', a.dns?.doh.url ?? null, b.dns?.doh.url ?? null);
  field('dns.doh_addresses', a.dns?.doh.addresses.map((d) => `${d.address} via ${d.path}`) ?? null, b.dns?.doh.addresses.map((d) => `${d.address} via ${d.path}`) ?? null);
  field('dns.doh_via', a.dns?.doh.requestedVia ?? null, b.dns?.doh.requestedVia ?? null);
  field('dns.doh_path', a.dns?.doh.via ?? null, b.dns?.doh.via ?? null);
  const sa = a.dns?.search ?? [];
  const sb = b.dns?.search ?? [];
  return {
    fallback_added: added.map(fallbackJson),
    fallback_removed: removed.map(fallbackJson),
    fallback_changed: changed,
    resolver_changes: resolverChanges,
    doh,
    search_added: sb.filter((s) => !sa.includes(s)),
    search_removed: sa.filter((s) => !sb.includes(s)),
  };
}

/** Every setting outside the lists, as dotted profile field names. */
function settingsOf(p: Profile): [string, FieldChange['old']][] {
  return [
    ['name', p.name],
    ['service_mode', p.serviceMode],
    ['split_tunnel.mode', p.splitTunnel.mode],
    ['always_tunnel', p.alwaysTunnel.map((a) => a.address)],
    ['interface.ipv4', p.interface.ipv4],
    ['interface.ipv6', p.interface.ipv6],
    ['interface.mtu', p.interface.mtu],
    ['tunnel.endpoint', `${p.tunnel.endpoint.host.includes(':') ? `[${p.tunnel.endpoint.host}]` : p.tunnel.endpoint.host}:${p.tunnel.endpoint.port}`],
    ['tunnel.peer_public_key', p.tunnel.peerPublicKey],
    ['orchestration.url', p.orchestration.url],
    ['orchestration.addresses', [...p.orchestration.addresses]],
    ...Object.entries(p.targets).flatMap(([target, opts]) => Object.entries(opts as Record<string, string | number>).map(([k, v]) => [`targets.${target}.${snake(k)}`, v] as [string, FieldChange['old']])),
  ];
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export interface ArtifactSide {
  /** Target name → files (path → text), or an error summary when the target's checks failed. */
  readonly files: ReadonlyMap<string, ReadonlyMap<string, string> | { readonly error: string }>;
}

export function diffProfiles(a: DiffSide, b: DiffSide, artifacts: DiffResult['artifacts'] = []): DiffResult {
  const moves = [...familyMoves(a, b, 4), ...familyMoves(a, b, 6)];
  const dir = (fam: 'v4' | 'v6'): { tunnel_to_direct: string[]; direct_to_tunnel: string[] } => ({
    tunnel_to_direct: a.plan.split.tunnel[fam].subtract(b.plan.split.tunnel[fam]).toCidrs(),
    direct_to_tunnel: b.plan.split.tunnel[fam].subtract(a.plan.split.tunnel[fam]).toCidrs(),
  });
  const ra = redundantEntries(a);
  const rb = redundantEntries(b);
  const newlyRedundant = [...rb.values()].filter((r) => !sameJson(ra.get(r.prefix)?.covered_by, r.covered_by));
  const noLonger = [...ra.values()].filter((r) => !rb.has(r.prefix));

  const ea = new Map(a.plan.split.rules.filter((r) => r.source === 'entry').map((r) => [r.cidr, r]));
  const eb = new Map(b.plan.split.rules.filter((r) => r.source === 'entry').map((r) => [r.cidr, r]));
  const entryJson = (r: { cidr: string; pos: { line: number }; description: string }): { prefix: string; line: number; description: string } => ({ prefix: r.cidr, line: r.pos.line, description: r.description });

  const ha = new Map(a.profile.splitTunnel.entries.flatMap((e) => (e.kind === 'host' ? [[e.host, e] as const] : [])));
  const hb = new Map(b.profile.splitTunnel.entries.flatMap((e) => (e.kind === 'host' ? [[e.host, e] as const] : [])));
  const hostAction = (p: Profile): string => (p.splitTunnel.mode === 'exclude' ? 'direct' : 'tunnel');

  const settingsA = new Map(settingsOf(a.profile));
  const settings: FieldChange[] = [];
  for (const [field, value] of settingsOf(b.profile)) {
    const old = settingsA.has(field) ? settingsA.get(field)! : null;
    if (!sameJson(old, value)) settings.push({ field, old, new: value });
  }

  return {
    routing: {
      ipv4: dir('v4'),
      ipv6: dir('v6'),
      moves,
      newly_redundant: newlyRedundant,
      no_longer_redundant: noLonger,
    },
    entries: {
      added: [...eb.values()].filter((r) => !ea.has(r.cidr)).map(entryJson),
      removed: [...ea.values()].filter((r) => !eb.has(r.cidr)).map(entryJson),
      description_changed: [...eb.values()].flatMap((r) => {
        const o = ea.get(r.cidr);
        return o && o.description !== r.description ? [{ prefix: r.cidr, old_line: o.pos.line, new_line: r.pos.line, old: o.description, new: r.description }] : [];
      }),
    },
    hosts: {
      added: [...hb.values()].filter((h) => !ha.has(h.host)).map((h) => ({ pattern: h.host, line: h.pos.line, action: hostAction(b.profile) })),
      removed: [...ha.values()].filter((h) => !hb.has(h.host)).map((h) => ({ pattern: h.host, line: h.pos.line, action: hostAction(a.profile) })),
      action_changed: [...hb.values()].flatMap((h) => {
        const o = ha.get(h.host);
        return o && hostAction(a.profile) !== hostAction(b.profile) ? [{ pattern: h.host, old_line: o.pos.line, new_line: h.pos.line, old: hostAction(a.profile), new: hostAction(b.profile) }] : [];
      }),
    },
    dns: dnsDiff(a.plan, b.plan),
    settings,
    artifacts,
  };
}

/** Compare two sides' artifacts, target by target. */
export function diffArtifacts(targets: readonly string[], a: ArtifactSide, b: ArtifactSide, countLines: (x: string, y: string) => { added: number; removed: number }): ArtifactTargetDiff[] {
  const out: ArtifactTargetDiff[] = [];
  for (const target of targets) {
    const fa = a.files.get(target);
    const fb = b.files.get(target);
    const errA = fa && 'error' in fa ? (fa.error as string) : null;
    const errB = fb && 'error' in fb ? (fb.error as string) : null;
    const ma = fa && !('error' in fa) ? (fa as ReadonlyMap<string, string>) : new Map<string, string>();
    const mb = fb && !('error' in fb) ? (fb as ReadonlyMap<string, string>) : new Map<string, string>();
    const files: ArtifactFileDiff[] = [];
    for (const path of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const x = ma.get(path);
      const y = mb.get(path);
      if (x === y) continue;
      const c = countLines(x ?? '', y ?? '');
      files.push({ path, status: x === undefined ? 'added' : y === undefined ? 'removed' : 'changed', lines_added: c.added, lines_removed: c.removed });
    }
    if (files.length > 0 || errA !== errB) out.push({ target, old_error: errA, new_error: errB, files });
  }
  return out;
}

/** Is there any difference at all? */
export function hasDifferences(d: DiffResult): boolean {
  const r = d.routing;
  return (
    r.moves.length > 0 ||
    r.newly_redundant.length > 0 ||
    r.no_longer_redundant.length > 0 ||
    d.entries.added.length + d.entries.removed.length + d.entries.description_changed.length > 0 ||
    d.hosts.added.length + d.hosts.removed.length + d.hosts.action_changed.length > 0 ||
    Object.values(d.dns).some((v) => (v as unknown[]).length > 0) ||
    d.settings.length > 0 ||
    d.artifacts.length > 0
  );
}
