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
    // Comment lines are half of a compiled batch: skip them before any string work.
    if (raw === '' || raw.charCodeAt(0) === 35 /* # */) continue;
    let line = raw.trim();
    if (line === '' || line.charCodeAt(0) === 35) continue;
    if (/\s\s|[^\S ]/.test(line)) line = line.replace(/\s+/g, ' ');
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
  // One pass over the words after the prefix: the first of each (hot on 10,000-route plans).
  let dev: string | null = null;
  let via: string | null = null;
  let table: string | null = null;
  let metric: string | null = null;
  for (let k = i + 1; k < w.length; k++) {
    const x = w[k];
    const v = w[k + 1] ?? '';
    if (dev === null && (x === 'dev' || x === 'oif')) dev = v;
    else if (via === null && x === 'via') via = v;
    else if (table === null && x === 'table') table = v;
    else if (metric === null && (x === 'metric' || x === 'preference' || x === 'priority')) metric = v;
  }
  return { type, prefix, dev, via, table: table || 'main', metric: metric || null };
}

/** `route add [TYPE] PREFIX … table T … metric M` → "PREFIX table T metric M"; null for other lines. */
export function routeKey(line: string): string | null {
  const f = routeFields(line);
  return f === null ? null : `${f.prefix} table ${f.table} metric ${f.metric ?? '0'}`;
}

/** An `ip -batch` file read once: its command lines, as a set, and each line's route key. */
export interface ParsedBatch {
  readonly lines: readonly string[];
  readonly set: ReadonlySet<string>;
  /** routeKey of each line (null for non-route lines), aligned with `lines`. */
  readonly keys: readonly (string | null)[];
  readonly routeKeys: ReadonlySet<string>;
}

/** Parse a batch file for batchDiff (the agent keeps the parse of the plan it runs). */
export function parseBatch(text: string): ParsedBatch {
  const lines = commands(text);
  const keys = lines.map((l) => (l.startsWith('route ') ? routeKey(l) : null));
  const routeKeys = new Set<string>();
  for (const k of keys) if (k !== null) routeKeys.add(k);
  return { lines, set: new Set(lines), keys, routeKeys };
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
export function batchDiff(oldText: string | ParsedBatch, newText: string | ParsedBatch): BatchDiff {
  const o = typeof oldText === 'string' ? parseBatch(oldText) : oldText;
  const n = typeof newText === 'string' ? parseBatch(newText) : newText;
  const adds: string[] = [];
  const replaces: string[] = [];
  const routeDels: string[] = [];
  const otherDels: string[] = [];
  let replaced = 0;
  n.lines.forEach((l, i) => {
    if (o.set.has(l)) return;
    const k = n.keys[i] ?? null;
    if (k !== null) {
      if (o.routeKeys.has(k)) replaced++;
      replaces.push(l.replace(/^route (add|append|replace) /, 'route replace '));
    } else adds.push(l);
  });
  o.lines.forEach((l, i) => {
    if (n.set.has(l)) return;
    const k = o.keys[i] ?? null;
    if (k !== null) {
      if (!n.routeKeys.has(k)) routeDels.push(l.replace(/^route (add|append|replace) /, 'route del '));
      return;
    }
    const w = l.split(' ');
    if (w[1] !== 'add') throw new Error(`cannot undo the batch line "${l}" (only "… add …" lines can be removed in place)`);
    otherDels.push([w[0], 'del', ...w.slice(2)].join(' '));
  });
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

/**
 * A compiled ruleset read for an in-place update: the elements of each named
 * set, and the rest of the text (comments and element lists removed) to tell
 * whether two rulesets differ in anything but set elements.
 */
export interface ParsedRuleset {
  readonly skeleton: string;
  readonly sets: ReadonlyMap<string, readonly string[]>;
}

const ELEMENT = /^[0-9a-fA-F:./-]+$/;

/** Null when the text holds something this reader does not understand (the caller swaps the table whole). */
export function parseRuleset(text: string): ParsedRuleset | null {
  const skeleton: string[] = [];
  const sets = new Map<string, string[]>();
  let set: string | null = null;
  let elems: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (elems !== null) {
      const end = line.indexOf('}');
      for (const e of (end >= 0 ? line.slice(0, end) : line).split(',')) {
        const v = e.trim();
        if (v === '') continue;
        if (!ELEMENT.test(v)) return null;
        elems.push(v);
      }
      if (end >= 0) {
        if (line.slice(end + 1).trim() !== '') return null;
        elems = null;
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const head = /^set (\S+) \{$/.exec(line);
    if (head) set = head[1]!;
    else if (line === '}') set = null;
    if (line.startsWith('elements = {')) {
      if (set === null || sets.has(set)) return null;
      elems = [];
      sets.set(set, elems);
      skeleton.push(`elements of ${set}`);
      const rest = line.slice('elements = {'.length);
      const end = rest.indexOf('}');
      for (const e of (end >= 0 ? rest.slice(0, end) : rest).split(',')) {
        const v = e.trim();
        if (v === '') continue;
        if (!ELEMENT.test(v)) return null;
        elems.push(v);
      }
      if (end >= 0) {
        if (rest.slice(end + 1).trim() !== '') return null;
        elems = null;
      }
      continue;
    }
    skeleton.push(line);
  }
  return elems === null ? { skeleton: skeleton.join('\n'), sets } : null;
}

/**
 * One `nft -f` input that turns the compiled sets of `from` into those of `to`
 * when the two rulesets differ only in set elements: each changed set is flushed
 * and refilled in the same transaction (the kernel swaps it atomically), and the
 * table, its chains and the runtime `host_*` sets stay as they are. Null when the
 * rulesets differ in more than elements (the table is then replaced whole).
 *
 * Not `delete element`/`add element` of the difference: nft (1.0.6) reads the
 * whole interval set back for every element it adds or deletes, measured at
 * 30–70 ms per element on a 10,000-element set; a refill costs one parse of
 * the new elements, about the same as a one-element delta (docs/benchmarks.md).
 */
export function nftSetsUpdateText(from: ParsedRuleset, to: ParsedRuleset, table: string): string | null {
  if (from.skeleton !== to.skeleton) return null;
  const lines: string[] = [];
  for (const [name, elems] of to.sets) {
    const old = from.sets.get(name);
    if (old !== undefined && old.length === elems.length && old.every((e, i) => e === elems[i])) continue;
    lines.push(`flush set inet ${table} ${name}`);
    if (elems.length > 0) lines.push(`add element inet ${table} ${name} { ${elems.join(', ')} }`);
  }
  return `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
}
