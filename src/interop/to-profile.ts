/**
 * The mapping between a Cloudflare device settings profile (the account model) and a warpc
 * profile document (the YAML contract, snake_case), both ways, so that
 * profileToCf(cfToProfile(x)) = x for every profile read, and cfToProfile(profileToCf(p)) = p.
 *
 *   a non-empty include → split_tunnel include mode with those entries; else exclude mode with the
 *     exclude entries (order and descriptions exact); the list not in use → cloudflare.<list>
 *   service_mode_v2.mode → service_mode; its port → cloudflare.proxy_port
 *   fallback_domains → fallback_domains; dns_search_suffixes → dns.search (and, with their
 *     descriptions, cloudflare.dns_search_suffixes)
 *   name, match, precedence, enabled, description, policy_id → selector (custom profiles)
 *   every other field → cloudflare (typed fields by name; unknown ones under cloudflare.other)
 *
 * Decides: file names and profile names (deterministic). Must not touch: files, the compiler.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { PASS_THROUGH_TYPES, profileLabel, SELECTOR_FIELDS, type Account, type CfEntry, type CfFallback, type CfProfile } from './model.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A profile name from a Cloudflare name: lowercase letters, digits and '-', at most 64 characters. */
export function slugOf(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 56)
    .replace(/-+$/, '');
  return s === '' ? 'profile' : s;
}

const entryOut = (e: CfEntry): Obj => ({ ...(e.address !== undefined ? { address: e.address } : {}), ...(e.host !== undefined ? { host: e.host } : {}), ...(e.description !== undefined ? { description: e.description } : {}) });
const fallbackOut = (f: CfFallback): Obj => ({ suffix: f.suffix, ...(f.dns_server !== undefined ? { dns_server: [...f.dns_server] } : {}), ...(f.description !== undefined ? { description: f.description } : {}) });

/** One Cloudflare profile as a warpc profile document (keys in the README's order). */
export function cfToProfile(p: CfProfile, name: string): Obj {
  const out: Obj = { version: 1, name };
  const s = p.settings;
  const sm = isObj(s['service_mode_v2']) ? s['service_mode_v2'] : null;
  if (sm && typeof sm['mode'] === 'string') out['service_mode'] = sm['mode'];
  const includeMode = (p.include?.length ?? 0) > 0;
  const active = includeMode ? 'include' : 'exclude';
  const cloudflare: Obj = {};
  if (includeMode) out['split_tunnel'] = { mode: 'include', entries: p.include!.map(entryOut) };
  else if (p.exclude !== undefined) out['split_tunnel'] = { mode: 'exclude', entries: p.exclude.map(entryOut) };
  if (p.fallback_domains !== undefined) out['fallback_domains'] = p.fallback_domains.map(fallbackOut);
  const suffixes = s['dns_search_suffixes'];
  if (Array.isArray(suffixes) && suffixes.every((x) => isObj(x) && typeof x['suffix'] === 'string')) out['dns'] = { search: suffixes.map((x) => (x as Obj)['suffix']) };
  if (p.policyId !== null) {
    const sel: Obj = { policy_id: p.policyId };
    for (const f of SELECTOR_FIELDS) if (s[f] !== undefined) sel[f] = s[f];
    out['selector'] = sel;
  }
  if (sm && sm['port'] !== undefined) cloudflare['proxy_port'] = sm['port'];
  if (sm && Object.keys(sm).some((k) => k !== 'mode' && k !== 'port')) cloudflare['other'] = { service_mode_v2: sm };
  for (const l of ['exclude', 'include'] as const) if (l !== active && p[l] !== undefined) cloudflare[l] = p[l].map(entryOut);
  const other: Obj = isObj(cloudflare['other']) ? { ...cloudflare['other'] } : {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'service_mode_v2' || (p.policyId !== null && (SELECTOR_FIELDS as readonly string[]).includes(k))) continue;
    // Search suffixes live in dns.search; the pass-through copy only when it says more (descriptions).
    if (k === 'dns_search_suffixes' && out['dns'] !== undefined && (v as Obj[]).every((x) => Object.keys(x).length === 1)) continue;
    if (k in PASS_THROUGH_TYPES && typeMatches(v, PASS_THROUGH_TYPES[k]!)) cloudflare[k] = v;
    else other[k] = v;
  }
  if (Object.keys(other).length > 0) cloudflare['other'] = other;
  else delete cloudflare['other'];
  if (Object.keys(cloudflare).length > 0) out['cloudflare'] = sortKeys(cloudflare);
  return out;
}

function typeMatches(v: unknown, t: string): boolean {
  return t === 'array' ? Array.isArray(v) : t === 'object' ? isObj(v) : typeof v === t;
}

function sortKeys(o: Obj): Obj {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** A warpc profile document (already valid) back to the Cloudflare profile it describes. */
export function profileToCf(doc: Obj): CfProfile {
  const sel = isObj(doc['selector']) ? doc['selector'] : null;
  const cf = isObj(doc['cloudflare']) ? doc['cloudflare'] : {};
  const policyId = sel && typeof sel['policy_id'] === 'string' ? sel['policy_id'] : null;
  const settings: Obj = {};
  if (sel) for (const f of SELECTOR_FIELDS) if (sel[f] !== undefined) settings[f] = sel[f];
  const other = isObj(cf['other']) ? cf['other'] : {};
  const smOther = isObj(other['service_mode_v2']) ? other['service_mode_v2'] : null;
  if (doc['service_mode'] !== undefined || cf['proxy_port'] !== undefined || smOther) {
    const sm: Obj = { ...(smOther ?? {}) };
    if (doc['service_mode'] !== undefined) sm['mode'] = doc['service_mode'];
    if (cf['proxy_port'] !== undefined) sm['port'] = cf['proxy_port'];
    settings['service_mode_v2'] = sm;
  }
  for (const [k, v] of Object.entries(cf)) {
    if (k === 'other' || k === 'proxy_port' || k === 'exclude' || k === 'include') continue;
    settings[k] = v;
  }
  for (const [k, v] of Object.entries(other)) if (k !== 'service_mode_v2') settings[k] = v;
  // dns.search is the device-side truth; the pass-through copy keeps descriptions when it still agrees.
  const dns = isObj(doc['dns']) ? doc['dns'] : {};
  if (Array.isArray(dns['search'])) {
    const search = dns['search'] as string[];
    const kept = Array.isArray(cf['dns_search_suffixes']) ? (cf['dns_search_suffixes'] as Obj[]) : null;
    const agrees = kept !== null && kept.length === search.length && kept.every((x, i) => x['suffix'] === search[i]);
    settings['dns_search_suffixes'] = agrees ? kept : search.map((suffix) => ({ suffix }));
  }
  const entries = (v: unknown): CfEntry[] => (v as Obj[]).map((e) => ({ ...(e['address'] !== undefined ? { address: e['address'] as string } : {}), ...(e['host'] !== undefined ? { host: e['host'] as string } : {}), ...(e['description'] !== undefined ? { description: e['description'] as string } : {}) }));
  const out: { -readonly [K in keyof CfProfile]: CfProfile[K] } = { policyId, settings, origin: '' };
  const st = isObj(doc['split_tunnel']) ? doc['split_tunnel'] : null;
  if (st && Array.isArray(st['entries'])) out[st['mode'] === 'include' ? 'include' : 'exclude'] = entries(st['entries']);
  for (const l of ['exclude', 'include'] as const) if (Array.isArray(cf[l])) out[l] = entries(cf[l]);
  if (Array.isArray(doc['fallback_domains'])) {
    out.fallback_domains = (doc['fallback_domains'] as Obj[]).map((f) => ({
      suffix: f['suffix'] as string,
      ...(f['description'] !== undefined ? { description: f['description'] as string } : {}),
      ...(f['dns_server'] !== undefined ? { dns_server: [...(f['dns_server'] as string[])] } : {}),
    }));
  }
  return out;
}

export interface ImportedFile {
  /** File name in the output folder, without the extension. */
  readonly base: string;
  readonly document: Obj;
  readonly profile: CfProfile;
}

/** Every profile of an account as a warpc profile, with deterministic names, and the notes the mapping makes. */
export function accountToProfiles(account: Account): { files: ImportedFile[]; diagnostics: Diagnostic[] } {
  const used = new Set<string>(['default', 'index']);
  const files: ImportedFile[] = [];
  for (const p of account.custom) {
    const name = typeof p.settings['name'] === 'string' ? (p.settings['name'] as string) : (p.policyId ?? 'profile');
    const slug = slugOf(name);
    let base = slug;
    for (let n = 2; used.has(base); n++) base = `${slug}-${n}`;
    used.add(base);
    files.push({ base, document: cfToProfile(p, base), profile: p });
  }
  const def: CfProfile = account.defaultProfile ?? { policyId: null, settings: {}, origin: '' };
  files.push({ base: 'default', document: cfToProfile(def, 'default'), profile: def });

  const diagnostics: Diagnostic[] = [];
  const unmodelled = new Map<string, string[]>();
  for (const f of files) {
    const label = profileLabel(f.profile);
    const cf = isObj(f.document['cloudflare']) ? f.document['cloudflare'] : {};
    for (const k of Object.keys(cf)) {
      if (k === 'exclude' || k === 'include' || k === 'dns_search_suffixes') continue; // the inactive list is not a setting; suffixes have their own note
      const keys = k === 'other' ? Object.keys(cf['other'] as Obj).map((x) => `${x} (unknown to warpc)`) : [k];
      for (const key of keys) unmodelled.set(key, [...(unmodelled.get(key) ?? []), label]);
    }
    const s = f.profile.settings;
    if (s['tunnel_protocol'] === 'masque') diagnostics.push(diag('ImportMasque', { profile: label }));
    if (Array.isArray(s['dns_search_suffixes']) && isObj(f.document['dns'])) diagnostics.push(diag('ImportSearchSuffixes', { profile: label, count: (s['dns_search_suffixes'] as unknown[]).length }));
  }
  for (const [field, profiles] of [...unmodelled.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const who = profiles.length === files.length && files.length > 1 ? 'every profile' : profiles.join(', ');
    diagnostics.push(diag('ImportUnmodelled', { profile: who, field }));
  }
  return { files, diagnostics };
}
