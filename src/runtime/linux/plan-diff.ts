/**
 * The difference between two compiled plans, as the commands that turn the
 * running one into the new one (`warpc apply`), generic over the artifacts'
 * form: an `ip -batch` file is a set of lines (a route is keyed by its
 * destination, table and metric, so a changed route is one `route replace`,
 * never a delete and an add), and an nft ruleset is replaced whole in one
 * transaction that also carries the runtime-filled `host_*` set elements over.
 * Pure functions: no commands are run here.
 */

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'nat', 'anycast']);

function commands(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/\s+/g, ' ');
    if (line === '' || line.startsWith('#')) continue;
    out.push(line);
  }
  return out;
}

/** The fields of one batch line `route add|replace|append [TYPE] PREFIX [dev D] [via G] [table T] [metric M]`. */
export interface RouteFields {
  readonly type: string;
  readonly prefix: string;
  readonly dev: string | null;
  readonly via: string | null;
  /** 'main' when the line names no table. */
  readonly table: string;
  /** null when the line names no metric (the kernel's default applies). */
  readonly metric: string | null;
}

/** Parse a batch route line (whitespace already collapsed); null for other lines. */
export function routeFields(line: string): RouteFields | null {
  const w = line.split(' ');
  if (w[0] !== 'route' || (w[1] !== 'add' && w[1] !== 'replace' && w[1] !== 'append')) return null;
  let i = 2;
  const type = ROUTE_TYPES.has(w[i] ?? '') ? (w[i++] as string) : 'unicast';
  const prefix = w[i] ?? '';
  const after = (names: string[]): string | null => {
    const j = w.findIndex((x, k) => k > i && names.includes(x));
    return j >= 0 ? (w[j + 1] ?? '') : null;
  };
  return { type, prefix, dev: after(['dev', 'oif']), via: after(['via']), table: after(['table']) || 'main', metric: after(['metric', 'preference', 'priority']) || null };
}

/** `route add [TYPE] PREFIX … table T … metric M` → "PREFIX table T metric M"; null for other lines. */
export function routeKey(line: string): string | null {
  const f = routeFields(line);
  return f === null ? null : `${f.prefix} table ${f.table} metric ${f.metric ?? '0'}`;
}

export interface BatchDiff {
  /** The `ip -batch` input that turns the old file's state into the new one ('' when equal). */
  readonly apply: string;
  readonly added: number;
  readonly removed: number;
  readonly replaced: number;
}

/**
 * Diff two `ip -batch` files. Lines present in both are left alone. New routes
 * and routes whose line changed become `route replace` (the kernel swaps them
 * atomically), then routes only in the old file are deleted; rules only in the
 * new file are added before anything is deleted, so a packet always finds a rule.
 * Any other `X add …` line is added or deleted as a whole.
 */
export function batchDiff(oldText: string, newText: string): BatchDiff {
  const oldLines = commands(oldText);
  const newLines = commands(newText);
  const oldSet = new Set(oldLines);
  const newSet = new Set(newLines);
  const newRouteKeys = new Set<string>();
  for (const l of newLines) {
    const k = routeKey(l);
    if (k !== null) newRouteKeys.add(k);
  }
  const oldRouteKeys = new Set<string>();
  for (const l of oldLines) {
    const k = routeKey(l);
    if (k !== null) oldRouteKeys.add(k);
  }
  const adds: string[] = [];
  const replaces: string[] = [];
  const routeDels: string[] = [];
  const otherDels: string[] = [];
  let replaced = 0;
  for (const l of newLines) {
    if (oldSet.has(l)) continue;
    const k = routeKey(l);
    if (k !== null) {
      if (oldRouteKeys.has(k)) replaced++;
      replaces.push(l.replace(/^route (add|append|replace) /, 'route replace '));
    } else adds.push(l);
  }
  for (const l of oldLines) {
    if (newSet.has(l)) continue;
    const k = routeKey(l);
    if (k !== null) {
      if (!newRouteKeys.has(k)) routeDels.push(l.replace(/^route (add|append|replace) /, 'route del '));
      continue;
    }
    const w = l.split(' ');
    if (w[1] !== 'add') throw new Error(`cannot undo the batch line "${l}" (only "… add …" lines can be removed in place)`);
    otherDels.push([w[0], 'del', ...w.slice(2)].join(' '));
  }
  const all = [...adds, ...replaces, ...routeDels, ...otherDels];
  return { apply: all.length === 0 ? '' : `${all.join('\n')}\n`, added: adds.length + replaces.length - replaced, removed: routeDels.length + otherDels.length, replaced };
}

export interface SetElement {
  readonly set: string;
  readonly value: string;
  /** Seconds left before it expires (runtime host entries carry a timeout). */
  readonly expiresSeconds: number | null;
}

/** Elements of the `host_*` sets (filled at run time from DNS answers) in `nft -j list table` output. */
export function hostElements(nftJson: string): SetElement[] {
  const out: SetElement[] = [];
  let doc: { nftables?: { set?: { name?: string; elem?: unknown[] } }[] };
  try {
    doc = JSON.parse(nftJson) as typeof doc;
  } catch {
    return out;
  }
  for (const item of doc.nftables ?? []) {
    const set = item.set;
    if (!set?.name || !set.name.startsWith('host_') || !Array.isArray(set.elem)) continue;
    for (const e of set.elem) {
      if (typeof e === 'string') out.push({ set: set.name, value: e, expiresSeconds: null });
      else if (e && typeof e === 'object' && 'elem' in e) {
        const inner = (e as { elem: { val?: unknown; expires?: number; timeout?: number } }).elem;
        if (typeof inner.val === 'string') out.push({ set: set.name, value: inner.val, expiresSeconds: typeof inner.expires === 'number' ? inner.expires : (inner.timeout ?? null) });
      }
    }
  }
  return out;
}

/**
 * One `nft -f` input: the compiled ruleset (which replaces the table atomically)
 * followed by the runtime host elements of sets the new ruleset still declares,
 * with the time they had left, so the whole swap is one transaction.
 */
export function nftSwapText(ruleset: string, table: string, elements: readonly SetElement[]): string {
  const lines = [ruleset.endsWith('\n') ? ruleset.slice(0, -1) : ruleset];
  for (const e of elements) {
    if (!new RegExp(`\\bset ${e.set} \\{`).test(ruleset)) continue;
    if (!/^[0-9a-fA-F:.]+$/.test(e.value)) continue;
    const timeout = e.expiresSeconds !== null ? ` timeout ${Math.max(1, Math.ceil(e.expiresSeconds))}s` : '';
    lines.push(`add element inet ${table} ${e.set} { ${e.value}${timeout} }`);
  }
  return `${lines.join('\n')}\n`;
}
