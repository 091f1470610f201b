/**
 * The `deployment:` section of a profile: the keys of Cloudflare's MDM parameter reference
 * (cloudflare-formats.md §4), checked rule by rule with a coded diagnostic each, and resolved into
 * the values the MDM files carry. Secrets are never in the profile: `auth_client_secret` is
 * `{env: NAME}` or `{file: PATH}`, resolved by a function the caller gives (the CLI reads the
 * environment or the file), or replaced by a placeholder with --redact. No secret value ever
 * enters a diagnostic.
 *
 * Decides: what a deployment section may say, and the typed values of the MDM files.
 * Must not touch: the file system or the environment (the resolver does), the network plan.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { parseAddress } from '../net/ip.js';

type Path = (string | number)[];
export type Locate = (path: Path) => { line: number; col: number; length?: number };

/** An MDM value: what plist/XML and the Intune JSON can hold. */
export type MdmValue = string | number | boolean | readonly MdmValue[] | MdmDict;
export interface MdmDict {
  readonly [key: string]: MdmValue;
}

export type SecretRef = { readonly env: string } | { readonly file: string };
/** Resolves a secret reference; returns the value, or an error reason that never contains it. */
export type SecretResolver = (ref: SecretRef) => { ok: true; value: string } | { ok: false; reason: string };

type Kind = 'string' | 'integer' | 'boolean' | 'secret';
/** Every key of one configuration, its type, and which files carry it (all: every OS). */
export const CONFIG_KEYS: Readonly<Record<string, { kind: Kind; only?: readonly ('windows' | 'mobile' | 'android')[] }>> = {
  organization: { kind: 'string' },
  display_name: { kind: 'string' },
  gateway_unique_id: { kind: 'string' },
  auth_client_id: { kind: 'string' },
  auth_client_secret: { kind: 'secret' },
  auto_connect: { kind: 'integer' },
  enabled: { kind: 'boolean' },
  switch_locked: { kind: 'boolean' },
  onboarding: { kind: 'boolean' },
  support_url: { kind: 'string' },
  service_mode: { kind: 'string' },
  proxy_port: { kind: 'integer' },
  warp_tunnel_protocol: { kind: 'string' },
  override_api_endpoint: { kind: 'string' },
  override_doh_endpoint: { kind: 'string' },
  override_warp_endpoint: { kind: 'string' },
  environment: { kind: 'string' },
  enable_pmtud: { kind: 'boolean' },
  enable_post_quantum: { kind: 'boolean' },
  enable_netbt: { kind: 'boolean', only: ['windows'] },
  unique_client_id: { kind: 'string', only: ['mobile'] },
  external_emergency_signal_url: { kind: 'string' },
  external_emergency_signal_fingerprint: { kind: 'string' },
  external_emergency_signal_interval: { kind: 'integer' },
};

/** MDM's spelling of warpc's (and the API's) service modes. */
export const MDM_SERVICE_MODE: Readonly<Record<string, string>> = { warp: 'warp', '1dot1': '1dot1', proxy: 'proxy', posture_only: 'postureonly', warp_tunnel_only: 'tunnelonly' };
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  service_mode: ['warp', '1dot1', 'proxy', 'postureonly', 'tunnelonly'],
  warp_tunnel_protocol: ['wireguard', 'masque'],
  environment: ['normal', 'fedramp_high'],
};
export const MAX_CONFIGS = 25;

/** One configuration, resolved: keys in the order of CONFIG_KEYS. */
export type MdmConfig = Readonly<Record<string, string | number | boolean>>;

export interface Deployment {
  /** The top-level configuration (empty when everything is in `configs`). */
  readonly top: MdmConfig;
  readonly configs: readonly MdmConfig[];
  readonly multiUser?: boolean;
  readonly preLogin?: MdmConfig;
  readonly tunneledApps: readonly { readonly app_identifier: string; readonly is_browser: boolean }[];
  /** Keys whose value is a secret (so writers and tests know what to keep out of logs). */
  readonly secrets: readonly string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** C0/C1 controls, DEL, line and bidi controls: no MDM file may carry them (XML 1.0 cannot even encode most). */
const HOSTILE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/;

export interface DeploymentInput {
  /** The raw `deployment:` value (after the YAML reader). */
  readonly value: unknown;
  /** The profile's service mode (API spelling), used when the section does not set service_mode. */
  readonly serviceMode?: string;
  readonly locate: Locate;
  readonly resolve: SecretResolver;
  readonly redact: boolean;
}

export function readDeployment(input: DeploymentInput): { deployment: Deployment | null; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const at = (path: Path): { line: number; col: number; length?: number; path: Path } => ({ ...input.locate(['deployment', ...path]), path: ['deployment', ...path] });
  const v = input.value;
  if (!isObj(v)) {
    ds.push(diag('MdmType', { key: 'deployment', expected: 'a mapping of MDM keys' }, at([])));
    return { deployment: null, diagnostics: ds };
  }
  const secrets: string[] = [];

  const config = (raw: Record<string, unknown>, path: Path, where: 'top' | 'config' | 'pre_login'): Record<string, string | number | boolean> => {
    const out: Record<string, string | number | boolean> = {};
    const allowed = where === 'pre_login' ? ['organization', 'auth_client_id', 'auth_client_secret'] : Object.keys(CONFIG_KEYS);
    for (const key of Object.keys(raw)) {
      if (where === 'top' && ['configs', 'multi_user', 'pre_login', 'tunneled_apps'].includes(key)) continue;
      if (!allowed.includes(key)) {
        ds.push(diag('MdmUnknownKey', { key, where: where === 'top' ? 'deployment' : where === 'pre_login' ? 'pre_login' : 'a configs entry', known: allowed.join(', ') }, { ...at([...path, key]) }));
      }
    }
    for (const key of allowed) {
      const val = raw[key];
      if (val === undefined) continue;
      const def = CONFIG_KEYS[key]!;
      const here = [...path, key];
      if (def.kind === 'secret') {
        if (typeof val === 'string') {
          // Never echo it: the value is the secret.
          ds.push({ ...diag('MdmLiteralSecret', { key }, at(here)), hideSource: true });
          continue;
        }
        const ref = isObj(val) && Object.keys(val).length === 1 && (typeof val['env'] === 'string' || typeof val['file'] === 'string') ? (val as SecretRef) : null;
        if (!ref) {
          ds.push(diag('MdmType', { key, expected: 'a reference, env: NAME or file: PATH (one of them)' }, at(here)));
          continue;
        }
        const label = 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
        if (input.redact) out[key] = `REDACTED(${label})`;
        else {
          const r = input.resolve(ref);
          if (!r.ok) {
            ds.push(diag('MdmSecretUnresolved', { key, reference: label, reason: r.reason }, at(here)));
            continue;
          }
          if (HOSTILE.test(r.value) || r.value === '') {
            ds.push(diag('MdmSecretUnresolved', { key, reference: label, reason: r.value === '' ? 'it is empty' : 'it holds a control character' }, at(here)));
            continue;
          }
          out[key] = r.value;
        }
        secrets.push(key);
        continue;
      }
      if (def.kind === 'string' && typeof val !== 'string') {
        ds.push(diag('MdmType', { key, expected: `a string${typeof val === 'number' ? ` (write "${val}")` : ''}` }, at(here)));
        continue;
      }
      if (def.kind === 'integer' && !(typeof val === 'number' && Number.isInteger(val))) {
        ds.push(diag('MdmType', { key, expected: `an integer${typeof val === 'string' && /^\d+$/.test(val) ? ` (write ${val} without quotes)` : ''}` }, at(here)));
        continue;
      }
      if (def.kind === 'boolean' && typeof val !== 'boolean') {
        ds.push(diag('MdmType', { key, expected: 'true or false' }, at(here)));
        continue;
      }
      if (typeof val === 'string') {
        const m = HOSTILE.exec(val);
        if (m) {
          ds.push(diag('MdmHostileString', { key, char: `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` }, at(here)));
          continue;
        }
        if (val === '') {
          ds.push(diag('MdmType', { key, expected: 'a non-empty string' }, at(here)));
          continue;
        }
      }
      out[key] = val as string | number | boolean;
    }
    // Rules of the MDM reference.
    const ac = out['auto_connect'];
    if (typeof ac === 'number' && (ac < 0 || ac > 1440)) ds.push(diag('MdmAutoConnectRange', { value: ac }, at([...path, 'auto_connect'])));
    if (raw['enabled'] !== undefined && raw['auto_connect'] !== undefined) ds.push(diag('MdmEnabledAndAutoConnect', {}, at([...path, 'enabled'])));
    for (const key of Object.keys(ENUMS)) {
      const x = out[key];
      if (typeof x === 'string' && !ENUMS[key]!.includes(x)) ds.push(diag('MdmEnum', { key, value: x, allowed: ENUMS[key]!.join(', ') }, at([...path, key])));
    }
    for (const key of ['override_api_endpoint', 'override_doh_endpoint'] as const) {
      const x = out[key];
      if (typeof x === 'string' && parseAddress(x) === null) ds.push(diag('MdmOverrideEndpoint', { key, value: x, expected: 'an IP address' }, at([...path, key])));
    }
    const we = out['override_warp_endpoint'];
    if (typeof we === 'string' && !validEndpoint(we)) ds.push(diag('MdmOverrideEndpoint', { key: 'override_warp_endpoint', value: we, expected: 'IP:port (IPv6 as [address]:port)' }, at([...path, 'override_warp_endpoint'])));
    const su = out['support_url'];
    if (typeof su === 'string' && !/^(https:\/\/[^\s/?#]+|mailto:[^\s@]+@[^\s@]+$)/.test(su)) ds.push(diag('MdmSupportUrl', { value: su }, at([...path, 'support_url'])));
    const ci = out['auth_client_id'];
    if (typeof ci === 'string' && !/^[A-Za-z0-9_-]+\.access$/.test(ci)) ds.push(diag('MdmAuthClientId', { value: ci }, at([...path, 'auth_client_id'])));
    if (raw['auth_client_id'] !== undefined && raw['auth_client_secret'] === undefined) ds.push(diag('MdmValue', { key: 'auth_client_id', reason: 'auth_client_secret is missing: a service token needs both' }, at([...path, 'auth_client_id'])));
    if (raw['auth_client_secret'] !== undefined && raw['auth_client_id'] === undefined) ds.push(diag('MdmValue', { key: 'auth_client_secret', reason: 'auth_client_id is missing: a service token needs both' }, at([...path, 'auth_client_secret'])));
    const pp = out['proxy_port'];
    if (typeof pp === 'number' && (pp < 1 || pp > 65535)) ds.push(diag('MdmValue', { key: 'proxy_port', reason: `${pp} is not a TCP port (1–65535)` }, at([...path, 'proxy_port'])));
    const eu = out['external_emergency_signal_url'];
    if (typeof eu === 'string') {
      const m = /^https:\/\/(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(?::\d{1,5})?(\/[^\s]*)?$/.exec(eu);
      if (!m || parseAddress(m[1]!.replace(/^\[|\]$/g, '')) === null) ds.push(diag('MdmValue', { key: 'external_emergency_signal_url', reason: 'it must be an https:// URL whose host is an IP address' }, at([...path, 'external_emergency_signal_url'])));
    }
    const ef = out['external_emergency_signal_fingerprint'];
    if (typeof ef === 'string' && !/^[0-9A-Fa-f]{64}$/.test(ef)) ds.push(diag('MdmValue', { key: 'external_emergency_signal_fingerprint', reason: 'it must be a SHA-256 fingerprint: 64 hex digits' }, at([...path, 'external_emergency_signal_fingerprint'])));
    const ei = out['external_emergency_signal_interval'];
    if (typeof ei === 'number' && ei < 30) ds.push(diag('MdmValue', { key: 'external_emergency_signal_interval', reason: `${ei} seconds is below the client's minimum of 30` }, at([...path, 'external_emergency_signal_interval'])));
    return out;
  };

  const top = config(v, [], 'top');
  if (top['service_mode'] === undefined && input.serviceMode !== undefined && MDM_SERVICE_MODE[input.serviceMode] !== undefined) top['service_mode'] = MDM_SERVICE_MODE[input.serviceMode]!;
  const configs: MdmConfig[] = [];
  if (v['configs'] !== undefined) {
    const cs = v['configs'];
    if (!Array.isArray(cs) || cs.length === 0) ds.push(diag('MdmType', { key: 'configs', expected: 'a non-empty list of configurations' }, at(['configs'])));
    else {
      if (cs.length > MAX_CONFIGS) ds.push(diag('MdmTooManyConfigs', { count: cs.length, max: MAX_CONFIGS }, at(['configs', MAX_CONFIGS])));
      cs.forEach((c, i) => {
        if (!isObj(c)) {
          ds.push(diag('MdmType', { key: `configs[${i}]`, expected: 'a mapping of MDM keys' }, at(['configs', i])));
          return;
        }
        const cfg = config(c, ['configs', i], 'config');
        if (cfg['display_name'] === undefined && c['display_name'] === undefined) ds.push(diag('MdmConfigDisplayName', { index: i }, at(['configs', i])));
        // A configuration takes the top-level keys it does not set itself (see the README).
        if (cfg['organization'] === undefined && c['organization'] === undefined && v['organization'] === undefined) ds.push(diag('MdmNoOrganization', { where: `configs[${i}]` }, at(['configs', i])));
        configs.push(cfg);
      });
    }
  } else if (top['organization'] === undefined && v['organization'] === undefined) ds.push(diag('MdmNoOrganization', { where: 'deployment' }, at([])));
  let multiUser: boolean | undefined;
  if (v['multi_user'] !== undefined) {
    if (typeof v['multi_user'] !== 'boolean') ds.push(diag('MdmType', { key: 'multi_user', expected: 'true or false' }, at(['multi_user'])));
    else multiUser = v['multi_user'];
  }
  let preLogin: MdmConfig | undefined;
  if (v['pre_login'] !== undefined) {
    if (!isObj(v['pre_login'])) ds.push(diag('MdmType', { key: 'pre_login', expected: 'a mapping with organization, auth_client_id, auth_client_secret' }, at(['pre_login'])));
    else preLogin = config(v['pre_login'], ['pre_login'], 'pre_login');
  }
  const tunneledApps: { app_identifier: string; is_browser: boolean }[] = [];
  if (v['tunneled_apps'] !== undefined) {
    const ta = v['tunneled_apps'];
    if (!Array.isArray(ta)) ds.push(diag('MdmType', { key: 'tunneled_apps', expected: 'a list of {app_identifier, is_browser}' }, at(['tunneled_apps'])));
    else
      ta.forEach((a, i) => {
        if (!isObj(a) || typeof a['app_identifier'] !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/.test(a['app_identifier']) || (a['is_browser'] !== undefined && typeof a['is_browser'] !== 'boolean')) {
          ds.push(diag('MdmType', { key: `tunneled_apps[${i}]`, expected: 'an Android package name (app_identifier, like com.example.app) and is_browser true or false' }, at(['tunneled_apps', i])));
        } else tunneledApps.push({ app_identifier: a['app_identifier'], is_browser: a['is_browser'] === true });
      });
  }
  if (ds.some((d) => d.severity === 'error')) return { deployment: null, diagnostics: ds };
  return { deployment: { top, configs, ...(multiUser !== undefined ? { multiUser } : {}), ...(preLogin ? { preLogin } : {}), tunneledApps, secrets: [...new Set(secrets)] }, diagnostics: ds };
}

function validEndpoint(s: string): boolean {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(s);
  if (!m) return false;
  const port = Number(m[3]);
  const a = parseAddress(m[1] ?? m[2]!);
  return a !== null && (m[1] === undefined) === (a.family === 4) && port >= 1 && port <= 65535;
}
