/**
 * Device settings profiles as the admin API speaks them (Cloudflare's API shape,
 * docs/cloudflare-formats.md §1) and as the compiler needs them, through the
 * interop mapping that `warpc import` uses (src/interop/): a stored row → the
 * API object → the account model → one warpc profile YAML per profile, byte for
 * byte what `warpc import` of the API's responses writes. Every write is checked
 * the way `warpc import` + `warpc check` would check it, on the whole account as
 * it would be after the write.
 *
 * Decides: the API objects, what a write must hold, profile YAML per row. Must
 * not touch: HTTP, the store (it is given rows).
 */
import { analyze } from '../compile.js';
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { renderFile } from '../interop/import.js';
import { byPrecedence, LIST_NAMES, type Account, type CfProfile, type ListName } from '../interop/model.js';
import { readAccount } from '../interop/read.js';
import { accountToProfiles } from '../interop/to-profile.js';
import type { Candidate } from '../match/eval.js';
import type { ProfileRow } from './store/types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const DEFAULT_ID = 'default';

/** What a stored body is: the settings (API spelling, in order) and the lists the profile states. */
export interface ProfileBody {
  readonly settings: Obj;
  readonly lists: { [K in ListName]?: unknown[] };
}

export function bodyOf(row: Pick<ProfileRow, 'body'> | undefined): ProfileBody {
  const b = isObj(row?.body) ? row.body : {};
  const settings: Obj = {};
  const lists: { [K in ListName]?: unknown[] } = {};
  for (const [k, v] of Object.entries(b)) {
    if ((LIST_NAMES as readonly string[]).includes(k)) {
      if (Array.isArray(v)) lists[k as ListName] = v;
    } else if (k !== 'policy_id' && k !== 'default' && v !== null) settings[k] = v;
  }
  return { settings, lists };
}

export function storedBody(b: ProfileBody): Obj {
  return { ...b.settings, ...b.lists };
}

/** The profile as the API returns it: settings, its lists, and `policy_id` or `default: true`. */
export function apiObject(row: Pick<ProfileRow, 'id' | 'body'>): Obj {
  const b = bodyOf(row);
  return row.id === DEFAULT_ID ? { ...b.settings, ...b.lists, default: true } : { ...b.settings, ...b.lists, policy_id: row.id, default: false };
}

function cfProfileOf(row: Pick<ProfileRow, 'id' | 'body'>): CfProfile {
  const b = bodyOf(row);
  return { ...(b.lists as Pick<CfProfile, ListName>), policyId: row.id === DEFAULT_ID ? null : row.id, settings: b.settings, origin: row.id };
}

export function accountOf(rows: readonly Pick<ProfileRow, 'id' | 'body'>[]): Account {
  const def = rows.find((r) => r.id === DEFAULT_ID);
  return { defaultProfile: def ? cfProfileOf(def) : null, custom: byPrecedence(rows.filter((r) => r.id !== DEFAULT_ID).map(cfProfileOf)) };
}

/** The gateway's MASQUE side as the orchestrator was told it (`serve --gateway-masque-endpoint/--gateway-masque-pin`). */
export interface MasqueGateway {
  /** `ip:port` or `[v6]:port`. */
  readonly endpoint: string;
  /** `sha256/BASE64` of the server's SPKI. */
  readonly pin: string;
}

/**
 * Every profile's warpc YAML and name, keyed by profile id: exactly what `warpc import` of the API
 * responses writes — except that, when the orchestrator knows its gateway's MASQUE side, a profile
 * whose `tunnel_protocol` is `masque` gets `tunnel: {protocol: masque, endpoint, peer_public_key}`
 * naming that gateway (an export does not carry the MASQUE server's key, so `warpc import` keeps
 * WireGuard and says so, WARPC0170; the orchestrator has the key).
 */
export function profileSources(rows: readonly Pick<ProfileRow, 'id' | 'body'>[], masque?: MasqueGateway | null): Map<string, { name: string; text: string }> {
  const out = new Map<string, { name: string; text: string }>();
  for (const f of accountToProfiles(accountOf(rows)).files) {
    const doc = masque && f.profile.settings['tunnel_protocol'] === 'masque' ? { ...f.document, tunnel: { protocol: 'masque', endpoint: masque.endpoint, peer_public_key: masque.pin } } : f.document;
    out.set(f.profile.policyId ?? DEFAULT_ID, { name: f.base, text: renderFile(doc, 'yaml') });
  }
  return out;
}

/** match's view of the custom profiles. */
export function candidatesOf(rows: readonly ProfileRow[], names: ReadonlyMap<string, { name: string }>): Candidate[] {
  return rows
    .filter((r) => r.id !== DEFAULT_ID)
    .map((r) => ({ name: names.get(r.id)?.name ?? r.id, policyId: r.id, precedence: r.precedence ?? Number.MAX_SAFE_INTEGER, enabled: r.enabled, match: r.match ?? '' }));
}

export interface Checked {
  readonly ok: boolean;
  readonly diagnostics: Diagnostic[];
}

/**
 * Whether the account is acceptable with `candidate` in place of the stored row of the same id:
 * the profile's API object read as `warpc import` reads it (shapes, match syntax), then its warpc
 * profile checked as `warpc check` would. Diagnostics name the profile as `<id>.yaml`.
 */
export function checkWrite(rows: readonly ProfileRow[], candidate: Pick<ProfileRow, 'id' | 'body'>): Checked {
  const label = candidate.id === DEFAULT_ID ? 'default' : candidate.id;
  const read = readAccount([{ name: label, text: JSON.stringify(apiObject(candidate)) }]);
  const diagnostics = read.diagnostics.filter((d) => d.code !== 'WARPC0168'); // one profile alone has no default: not this write's concern
  if (hasErrors(diagnostics)) return { ok: false, diagnostics };
  const all = [...rows.filter((r) => r.id !== candidate.id), candidate];
  const src = profileSources(all).get(candidate.id)!;
  // No profile stored here names a tunnel peer (Cloudflare's profiles have no such field): each device
  // gets the gateway as its peer from its registration, so "no peer until the device adds one" is
  // every write's and no write's concern.
  const checked = analyze(src.text)
    .diagnostics.filter((d) => d.code !== 'WARPC0052')
    .map((d) => ({ ...d, file: `${src.name}.yaml` }));
  diagnostics.push(...checked);
  return { ok: !hasErrors(diagnostics), diagnostics };
}

/** The selector columns of a custom profile, from its settings. */
export function selectorOf(b: ProfileBody): { match: string | null; precedence: number | null; enabled: boolean } {
  const s = b.settings;
  return {
    match: typeof s['match'] === 'string' ? s['match'] : null,
    precedence: typeof s['precedence'] === 'number' ? s['precedence'] : null,
    enabled: s['enabled'] !== false,
  };
}
