/**
 * `terraform show -json` of a state (`values.root_module`) or a plan (`planned_values.root_module`),
 * child modules included, for every provider era of cloudflare-formats.md §3:
 *   v5        cloudflare_zero_trust_device_default_profile / _custom_profile (inline exclude/include,
 *             service_mode_v2 = {mode, port}), …_default_profile_local_domain_fallback /
 *             …_custom_profile_local_domain_fallback (domains, policy_id)
 *   v4 late   cloudflare_zero_trust_device_profiles, cloudflare_zero_trust_split_tunnel,
 *             cloudflare_zero_trust_local_fallback_domain
 *   v4        cloudflare_device_settings_policy, cloudflare_split_tunnel (mode, tunnels),
 *             cloudflare_fallback_domain (domains)
 * v4 profiles spell the service mode flat (service_mode_v2_mode, service_mode_v2_port); both eras
 * become the API's service_mode_v2 {mode, port}. A list resource without policy_id belongs to the
 * default profile. Other resource types are noted and skipped.
 */
import { diag } from '../diagnostics/diagnostic.js';
import type { JsonDocument } from './json.js';
import { profileLabel, type ListName } from './model.js';
import { at, checkSelectorFields, readEntries, readFallback, type Collector, type Site } from './read.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const PROFILE_TYPES: Record<string, 'v5-default' | 'v5-custom' | 'v4'> = {
  cloudflare_zero_trust_device_default_profile: 'v5-default',
  cloudflare_zero_trust_device_custom_profile: 'v5-custom',
  cloudflare_zero_trust_device_profiles: 'v4',
  cloudflare_device_settings_policy: 'v4',
};
const FALLBACK_TYPES = new Set([
  'cloudflare_zero_trust_device_default_profile_local_domain_fallback',
  'cloudflare_zero_trust_device_custom_profile_local_domain_fallback',
  'cloudflare_zero_trust_local_fallback_domain',
  'cloudflare_fallback_domain',
]);
const SPLIT_TYPES = new Set(['cloudflare_zero_trust_split_tunnel', 'cloudflare_split_tunnel']);

/** Terraform-only attributes that are not profile settings. */
const TF_ONLY = new Set(['account_id', 'id', 'policy_id', 'default', 'service_mode_v2_mode', 'service_mode_v2_port', 'exclude', 'include', 'fallback_domains']);

export function readTerraform(file: string, doc: JsonDocument, c: Collector): void {
  const root = doc.value as Obj;
  const top = isObj(root['planned_values']) ? 'planned_values' : 'values';
  const tree = root[top];
  if (!isObj(tree) || !isObj(tree['root_module'])) {
    if (tree !== undefined && tree !== null) c.diagnostics.push({ ...diag('ImportShape', { what: `${top}`, expected: 'an object with root_module' }, at({ file, doc, path: [top] })), file });
    return; // an empty state has no values: nothing to read
  }
  const walk = (mod: Obj, path: (string | number)[]): void => {
    const resources = mod['resources'];
    if (Array.isArray(resources)) resources.forEach((r, i) => resource(r, { file, doc, path: [...path, 'resources', i] }, c));
    const children = mod['child_modules'];
    if (Array.isArray(children)) children.forEach((m, i) => isObj(m) && walk(m, [...path, 'child_modules', i]));
  };
  walk(tree['root_module'], [top, 'root_module']);
}

function resource(r: unknown, site: Site, c: Collector): void {
  if (!isObj(r)) return;
  const type = String(r['type'] ?? '');
  const address = String(r['address'] ?? type);
  if (r['mode'] === 'data') return; // data sources read, they do not configure
  const values = r['values'];
  const vsite: Site = { ...site, path: [...site.path, 'values'] };
  const origin = `${site.file} (${address})`;
  if (!isObj(values)) {
    if (type in PROFILE_TYPES || FALLBACK_TYPES.has(type) || SPLIT_TYPES.has(type)) c.diagnostics.push({ ...diag('ImportShape', { what: `values of ${address}`, expected: 'an object' }, { ...at(site), path: site.path }), file: site.file });
    else c.diagnostics.push({ ...diag('ImportUnknownResource', { address, type }, at(site, ['type'])), file: site.file });
    return;
  }
  const str = (k: string): string | null => (typeof values[k] === 'string' && values[k] !== '' ? (values[k] as string) : null);
  const era = PROFILE_TYPES[type];
  if (era) {
    const isDefault = era === 'v5-default' || (era === 'v4' && values['default'] === true);
    const policyId = isDefault ? null : (str('policy_id') ?? str('id'));
    if (!isDefault && policyId === null) {
      c.diagnostics.push({ ...diag('ImportShape', { what: `${address}`, expected: 'a resource with a known policy_id (a plan that creates the profile does not know it yet: apply it first, or import the state)' }, at(site)), file: site.file });
      return;
    }
    const settings: Obj = {};
    for (const [k, v] of Object.entries(values)) {
      if (v === null || TF_ONLY.has(k)) continue;
      settings[k] = v;
    }
    if (era === 'v4' && (values['service_mode_v2_mode'] != null || values['service_mode_v2_port'] != null)) {
      const sm: Obj = {};
      if (values['service_mode_v2_mode'] != null) sm['mode'] = values['service_mode_v2_mode'];
      if (values['service_mode_v2_port'] != null && values['service_mode_v2_port'] !== 0) sm['port'] = values['service_mode_v2_port'];
      settings['service_mode_v2'] = sm;
    }
    if (isObj(settings['service_mode_v2'])) {
      const sm = settings['service_mode_v2'];
      settings['service_mode_v2'] = Object.fromEntries(Object.entries(sm).filter(([, v]) => v !== null));
    }
    const label = profileLabel({ policyId, settings });
    const lists: Partial<Record<ListName, { entries: never[]; site: Site }>> = {};
    for (const l of ['exclude', 'include', 'fallback_domains'] as const) {
      const v = values[l];
      if (v === null || v === undefined) continue;
      const lsite = { ...vsite, path: [...vsite.path, l] };
      const entries = l === 'fallback_domains' ? readFallback(v, lsite, label, c) : readEntries(v, lsite, l, label, c);
      if (entries) (lists as Record<string, unknown>)[l] = { entries, site: lsite };
    }
    if (policyId !== null) checkSelectorFields(settings, vsite, label, c);
    c.profile({ policyId, settings, lists, origin, site: vsite });
    return;
  }
  if (FALLBACK_TYPES.has(type)) {
    const policyId = type.includes('default_profile') ? null : str('policy_id');
    const label = policyId === null ? 'the default profile' : `policy_id ${policyId}`;
    const lsite = { ...vsite, path: [...vsite.path, 'domains'] };
    const entries = readFallback(values['domains'] ?? [], lsite, label, c);
    if (entries) c.list({ policyId, list: 'fallback_domains', entries, origin, site: lsite });
    return;
  }
  if (SPLIT_TYPES.has(type)) {
    const policyId = str('policy_id');
    const mode = values['mode'];
    if (mode !== 'exclude' && mode !== 'include') {
      c.diagnostics.push({ ...diag('ImportShape', { what: `mode of ${address}`, expected: '"exclude" or "include"' }, at(vsite, ['mode'])), file: site.file });
      return;
    }
    const label = policyId === null ? 'the default profile' : `policy_id ${policyId}`;
    const lsite = { ...vsite, path: [...vsite.path, 'tunnels'] };
    const entries = readEntries(values['tunnels'] ?? [], lsite, mode, label, c);
    if (entries) c.list({ policyId, list: mode, entries, origin, site: lsite });
    return;
  }
  c.diagnostics.push({ ...diag('ImportUnknownResource', { address, type }, at(site, ['type'])), file: site.file });
}
