/**
 * Reading a Cloudflare account export — API v4 responses (envelopes or bare results) and
 * `terraform show -json` of a state or a plan, mixed freely — into the account model.
 * Each input is recognised by its content; only the per-list API responses (whose content cannot
 * say which list they are) are named by their file name (README: "Exporting an account").
 *
 * Decides: what each input is, how lists join their profile (policy_id; none: the default
 * profile), and every bad-input diagnostic. Must not touch: the file system (it is given texts),
 * profiles or output.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { matchDiagnostic } from '../match/diagnose.js';
import { parseMatch } from '../match/parse.js';
import { parseJson, type JsonDocument } from './json.js';
import { byPrecedence, LIST_NAMES, profileLabel, type Account, type CfEntry, type CfFallback, type CfProfile, type ListName } from './model.js';
import { readTerraform } from './read-terraform.js';

export interface InputFile {
  /** The path as the user gave it (or found in a folder), for diagnostics. */
  readonly name: string;
  readonly text: string;
}

type Path = (string | number)[];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a value came from, so a diagnostic can point at it. */
export interface Site {
  readonly file: string;
  readonly doc: JsonDocument;
  readonly path: Path;
}

export function at(site: Site, extra: Path = []): { line: number; col: number; length: number; path: Path } {
  const path = [...site.path, ...extra];
  return { ...site.doc.locate(path), path };
}

/** A profile or list read from one input, before joining. */
export interface ReadProfile {
  readonly policyId: string | null;
  readonly settings: Obj;
  readonly lists: Partial<Record<ListName, { entries: CfEntry[] | CfFallback[]; site: Site }>>;
  readonly origin: string;
  readonly site: Site;
}
export interface ReadList {
  readonly policyId: string | null;
  readonly list: ListName;
  readonly entries: CfEntry[] | CfFallback[];
  readonly origin: string;
  readonly site: Site;
}

/** The collector each reader adds to. */
export interface Collector {
  readonly diagnostics: Diagnostic[];
  profile(p: ReadProfile): void;
  list(l: ReadList): void;
  page(p: { file: string; page: number; perPage: number; totalCount: number; count: number }): void;
}

/** Checks and copies a split tunnel list; null after reporting when it is malformed. */
export function readEntries(value: unknown, site: Site, what: string, profile: string, c: Collector): CfEntry[] | null {
  if (!Array.isArray(value)) {
    c.diagnostics.push({ ...diag('ImportShape', { what: `the ${what} list of ${profile}`, expected: 'an array of entries' }, at(site)), file: site.file });
    return null;
  }
  const out: CfEntry[] = [];
  let ok = true;
  value.forEach((e, i) => {
    const here: Site = { ...site, path: [...site.path, i] };
    if (!isObj(e)) {
      c.diagnostics.push({ ...diag('ImportShape', { what: `${what} entry ${i + 1} of ${profile}`, expected: 'an object with address or host' }, at(here)), file: site.file });
      ok = false;
      return;
    }
    const entry: { address?: string; host?: string; description?: string } = {};
    for (const k of ['address', 'host', 'description'] as const) {
      const v = e[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') {
        c.diagnostics.push({ ...diag('ImportShape', { what: `${k} of ${what} entry ${i + 1} of ${profile}`, expected: 'a string' }, at(here, [k])), file: site.file });
        ok = false;
        return;
      }
      entry[k] = v;
    }
    if (entry.address !== undefined && entry.host !== undefined) {
      c.diagnostics.push({ ...diag('ImportEntryBothAddressHost', { list: what, index: i + 1, profile, address: entry.address, host: entry.host }, at(here, ['host'])), file: site.file });
      ok = false;
      return;
    }
    if (entry.address === undefined && entry.host === undefined) {
      c.diagnostics.push({ ...diag('ImportShape', { what: `${what} entry ${i + 1} of ${profile}`, expected: 'an object with address or host' }, at(here)), file: site.file });
      ok = false;
      return;
    }
    out.push(entry);
  });
  return ok ? out : null;
}

/** Checks and copies a Local Domain Fallback list. */
export function readFallback(value: unknown, site: Site, profile: string, c: Collector): CfFallback[] | null {
  const bad = (path: Path, what: string, expected: string): null => {
    c.diagnostics.push({ ...diag('ImportShape', { what, expected }, at(site, path)), file: site.file });
    return null;
  };
  if (!Array.isArray(value)) return bad([], `the fallback_domains list of ${profile}`, 'an array of {suffix, description, dns_server}');
  const out: CfFallback[] = [];
  for (let i = 0; i < value.length; i++) {
    const e = value[i];
    const what = `fallback_domains entry ${i + 1} of ${profile}`;
    if (!isObj(e) || typeof e['suffix'] !== 'string') return bad([i], what, 'an object with a suffix string');
    const f: { suffix: string; description?: string; dns_server?: string[] } = { suffix: e['suffix'] };
    if (e['description'] !== undefined && e['description'] !== null) {
      if (typeof e['description'] !== 'string') return bad([i, 'description'], `description of ${what}`, 'a string');
      f.description = e['description'];
    }
    if (e['dns_server'] !== undefined && e['dns_server'] !== null) {
      const ds = e['dns_server'];
      if (!Array.isArray(ds) || !ds.every((s) => typeof s === 'string')) return bad([i, 'dns_server'], `dns_server of ${what}`, 'an array of IP addresses');
      f.dns_server = [...(ds as string[])];
    }
    out.push(f);
  }
  return out;
}

/** Checks a profile's `match` (at its position: the column after the opening quote) and types of the selector fields. */
export function checkSelectorFields(settings: Obj, site: Site, profile: string, c: Collector, pathOf: (field: string) => Path = (f) => [f]): void {
  const m = settings['match'];
  if (m !== undefined) {
    if (typeof m !== 'string') c.diagnostics.push({ ...diag('ImportShape', { what: `match of ${profile}`, expected: 'a string' }, at(site, pathOf('match'))), file: site.file });
    else {
      const r = parseMatch(m);
      if (!r.ok) {
        // The column of the offending character in the file, escapes (\") counted as written.
        const path = [...site.path, ...pathOf('match')];
        const start = site.doc.locateInString(path, r.error.offset);
        const d = matchDiagnostic(r.error, { line: start.line, col: start.col, path });
        c.diagnostics.push({ ...d, col: start.col, length: Math.max(1, site.doc.locateInString(path, r.error.offset + r.error.length).col - start.col), file: site.file });
      }
    }
  }
  const p = settings['precedence'];
  if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p))) c.diagnostics.push({ ...diag('ImportShape', { what: `precedence of ${profile}`, expected: 'an integer' }, at(site, pathOf('precedence'))), file: site.file });
  const e = settings['enabled'];
  if (e !== undefined && typeof e !== 'boolean') c.diagnostics.push({ ...diag('ImportShape', { what: `enabled of ${profile}`, expected: 'true or false' }, at(site, pathOf('enabled'))), file: site.file });
}

/* ---------------- API responses ---------------- */

/** Fields only a device settings profile has (a generic `name` is not one). */
const PROFILE_HINTS = ['policy_id', 'match', 'precedence', 'service_mode_v2', 'exclude', 'include', 'fallback_domains', 'default', 'allow_mode_switch', 'captive_portal', 'switch_locked', 'gateway_unique_id', 'tunnel_protocol'];
const looksLikeProfile = (v: unknown): v is Obj => isObj(v) && PROFILE_HINTS.some((k) => k in v) && !('suffix' in v) && !('address' in v) && !('host' in v);

/** Which list a per-list response is, and of which profile, from its file name (see README). */
export function listFromName(file: string): { list: ListName; policyId: string | null } | null {
  const base = file.replace(/^.*[\\/]/, '');
  const m = /^(?:(?:.*[._-])?policy[._-]([A-Za-z0-9-]+)[._-])?(?:.*[._-])?(exclude|include|fallback_domains)\.json$/.exec(base);
  if (!m) return null;
  return { list: m[2] as ListName, policyId: m[1] ?? null };
}

function readApi(file: string, doc: JsonDocument, c: Collector): void {
  const root = doc.value;
  let result: unknown = root;
  let resultPath: Path = [];
  let resultInfo: Obj | null = null;
  if (isObj(root) && typeof root['success'] === 'boolean' && ('result' in root || 'errors' in root)) {
    if (root['success'] === false) {
      const errs = Array.isArray(root['errors']) ? root['errors'] : [];
      const text = errs.length === 0 ? 'no error given' : errs.map((e) => (isObj(e) ? `${String(e['code'] ?? '?')} ${String(e['message'] ?? '')}`.trim() : String(e))).join('; ');
      c.diagnostics.push({ ...diag('ImportApiFailure', { errors: text }, at({ file, doc, path: ['success'] })), file });
      return;
    }
    result = root['result'];
    resultPath = ['result'];
    if (isObj(root['result_info'])) resultInfo = root['result_info'];
  }
  const site: Site = { file, doc, path: resultPath };
  const named = listFromName(file);
  if (Array.isArray(result)) {
    const kind = result.length === 0 ? (named ? 'list' : resultInfo ? 'profiles' : null) : result.every(looksLikeProfile) ? 'profiles' : named ? 'list' : null;
    if (kind === 'profiles') {
      result.forEach((p, i) => apiProfile(p as Obj, { ...site, path: [...resultPath, i] }, c));
      if (resultInfo) {
        const n = (k: string): number => (typeof resultInfo![k] === 'number' ? (resultInfo![k] as number) : NaN);
        c.page({ file, page: n('page'), perPage: n('per_page'), totalCount: n('total_count'), count: result.length });
      }
      return;
    }
    if (kind === 'list' && named) {
      const label = named.policyId === null ? 'the default profile' : `policy_id ${named.policyId}`;
      const entries = named.list === 'fallback_domains' ? readFallback(result, site, label, c) : readEntries(result, site, named.list, label, c);
      if (entries) c.list({ policyId: named.policyId, list: named.list, entries, origin: file, site });
      return;
    }
    const splitish = result.every((e) => isObj(e) && ('address' in e || 'host' in e));
    if (splitish) c.diagnostics.push({ ...diag('ImportListFileName', { file }, at(site)), file });
    else if (result.every((e) => isObj(e) && 'suffix' in e)) c.diagnostics.push({ ...diag('ImportListFileName', { file }, at(site)), file });
    else c.diagnostics.push({ ...diag('ImportUnrecognized', { file, reason: 'its result is an array of something other than profiles or list entries' }, at(site)), file });
    return;
  }
  if (looksLikeProfile(result)) {
    apiProfile(result, site, c);
    return;
  }
  c.diagnostics.push({ ...diag('ImportUnrecognized', { file, reason: isObj(root) ? 'it has neither an API envelope (success, result) nor device profile fields, nor format_version with values or planned_values' : 'it is not a JSON object or array' }, at(site)), file });
}

function apiProfile(p: Obj, site: Site, c: Collector): void {
  const isDefault = p['default'] === true || (p['policy_id'] === undefined && p['match'] === undefined && p['precedence'] === undefined);
  const policyId = isDefault ? null : p['policy_id'];
  if (policyId !== null && typeof policyId !== 'string') {
    c.diagnostics.push({ ...diag('ImportShape', { what: 'policy_id of a custom profile', expected: 'a string' }, at(site, ['policy_id'])), file: site.file });
    return;
  }
  const settings: Obj = {};
  const lists: ReadProfile['lists'] = {};
  const label = profileLabel({ policyId, settings: p });
  for (const [k, v] of Object.entries(p)) {
    if (v === null || k === 'policy_id' || k === 'default') continue;
    if ((LIST_NAMES as readonly string[]).includes(k)) {
      const lsite = { ...site, path: [...site.path, k] };
      const entries = k === 'fallback_domains' ? readFallback(v, lsite, label, c) : readEntries(v, lsite, k, label, c);
      if (entries) lists[k as ListName] = { entries, site: lsite };
      continue;
    }
    settings[k] = v;
  }
  if (policyId !== null) checkSelectorFields(settings, site, label, c);
  c.profile({ policyId, settings, lists, origin: site.file, site });
}

/* ---------------- joining ---------------- */

/** Read every input and join them into one account. Any error: account null. */
export function readAccount(files: readonly InputFile[]): { account: Account | null; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const profiles: ReadProfile[] = [];
  const lists: ReadList[] = [];
  const pages: { file: string; page: number; perPage: number; totalCount: number; count: number }[] = [];
  const c: Collector = { diagnostics, profile: (p) => profiles.push(p), list: (l) => lists.push(l), page: (p) => pages.push(p) };
  for (const f of files) {
    const parsed = parseJson(f.text);
    if (!parsed.ok) {
      diagnostics.push({ ...diag('ImportJsonSyntax', { detail: parsed.detail }, { line: parsed.line, col: parsed.col }), file: f.name });
      continue;
    }
    const v = parsed.doc.value;
    if (isObj(v) && 'format_version' in v && ('values' in v || 'planned_values' in v)) readTerraform(f.name, parsed.doc, c);
    else readApi(f.name, parsed.doc, c);
  }

  // Pages of the custom profile list: every profile the list says there are must be here.
  if (pages.length > 0) {
    const total = Math.max(...pages.map((p) => p.totalCount).filter((n) => Number.isFinite(n)), 0);
    const listed = pages.reduce((n, p) => n + p.count, 0);
    if (total > listed) {
      const perPage = pages.find((p) => Number.isFinite(p.perPage) && p.perPage > 0)?.perPage ?? listed;
      const have = [...new Set(pages.map((p) => p.page))].sort((a, b) => a - b);
      const need = Math.ceil(total / Math.max(1, perPage));
      const first = pages[0]!;
      diagnostics.push({
        ...diag('ImportMissingPages', { total, count: listed, pages: `have page${have.length === 1 ? '' : 's'} ${have.join(', ')} of ${need}` }, { line: 0, col: 0 }),
        file: first.file,
      });
    }
  }

  // One profile per policy_id, one default.
  const byId = new Map<string | null, ReadProfile>();
  for (const p of profiles) {
    const prev = byId.get(p.policyId);
    if (prev) {
      const loc = at(p.site);
      diagnostics.push({
        ...diag('ImportDuplicatePolicy', { policyId: p.policyId ?? '(default profile)', first: `${prev.origin}:${at(prev.site).line}`, second: `${p.origin}:${loc.line}` }, loc),
        file: p.site.file,
      });
      continue;
    }
    byId.set(p.policyId, p);
  }

  // Per-list inputs join their profile.
  const joined = new Map<string | null, { [K in ListName]?: { entries: CfEntry[] | CfFallback[]; origin: string } }>();
  for (const l of lists) {
    const target = byId.get(l.policyId);
    if (!target && l.policyId !== null) {
      diagnostics.push({ ...diag('ImportUnknownPolicy', { what: `this ${l.list} list`, policyId: l.policyId }, at(l.site)), file: l.site.file });
      continue;
    }
    const slot = joined.get(l.policyId) ?? {};
    const prev = slot[l.list];
    if (prev) {
      diagnostics.push({
        ...diag('ImportDuplicateList', { list: l.list, profile: l.policyId === null ? 'the default profile' : `policy_id ${l.policyId}`, first: prev.origin, second: l.origin }, at(l.site)),
        file: l.site.file,
      });
      continue;
    }
    slot[l.list] = { entries: l.entries, origin: l.origin };
    joined.set(l.policyId, slot);
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { account: null, diagnostics };

  if (profiles.length === 0 && lists.length === 0) {
    // Nothing read at all (only skipped resources, say): there is no account here.
    diagnostics.push({ ...diag('ImportNothing', { files: files.map((f) => f.name).join(', ') }), file: files[0]?.name ?? '' });
    return { account: null, diagnostics };
  }

  const build = (id: string | null, p: ReadProfile | undefined): CfProfile => {
    const own = p?.lists ?? {};
    const extra = joined.get(id) ?? {};
    const out: { policyId: string | null; settings: Obj; origin: string } & { -readonly [K in ListName]?: unknown } = { policyId: id, settings: p?.settings ?? {}, origin: p?.origin ?? 'the per-list responses' };
    for (const l of LIST_NAMES) {
      const v = extra[l]?.entries ?? own[l]?.entries;
      if (v !== undefined) out[l] = v;
    }
    return out as CfProfile;
  };
  if (!byId.has(null)) diagnostics.push(diag('ImportNoDefault', {}));
  const defaultProfile = byId.has(null) || joined.has(null) ? build(null, byId.get(null)) : null;
  const custom = byPrecedence([...byId.entries()].filter(([id]) => id !== null).map(([id, p]) => build(id, p)));
  return { account: { defaultProfile, custom }, diagnostics };
}
