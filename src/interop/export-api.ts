/**
 * The Cloudflare API requests that make an account match a set of profiles: one PATCH of each
 * profile's settings (`…/devices/policy` for the default, `…/devices/policy/{policy_id}` for a
 * custom profile) and one PUT of each of its lists (exclude, include, fallback_domains) that the
 * profile states — a PUT replaces the whole list, so no list is ever wiped by leaving it out of a
 * partial update, and a list the profile does not state is not touched.
 *
 * Decides: the request bodies (API spelling, read-only fields left out). Must not touch: files.
 */
import { READ_ONLY_FIELDS, type CfProfile, type ListName } from './model.js';

export interface ApiRequest {
  readonly method: 'PATCH' | 'PUT';
  /** Below https://api.cloudflare.com/client/v4/accounts/{account_id}. */
  readonly path: string;
  readonly body: unknown;
}

export const API_BASE = 'https://api.cloudflare.com/client/v4/accounts/{account_id}';

/** What a PATCH carries: every setting but the read-only ones. */
export function patchBody(p: CfProfile): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p.settings).filter(([k]) => !READ_ONLY_FIELDS.has(k)));
}

export function apiRequests(profiles: readonly CfProfile[]): ApiRequest[] {
  const out: ApiRequest[] = [];
  for (const p of profiles) {
    const base = p.policyId === null ? '/devices/policy' : `/devices/policy/${encodeURIComponent(p.policyId)}`;
    out.push({ method: 'PATCH', path: base, body: patchBody(p) });
    for (const l of ['exclude', 'include', 'fallback_domains'] as const satisfies readonly ListName[]) {
      const list = p[l];
      if (list !== undefined) out.push({ method: 'PUT', path: `${base}/${l}`, body: list });
    }
  }
  return out;
}

/** The export file: the base URL and the requests in order (apply them top to bottom). */
export function apiExportJson(profiles: readonly CfProfile[]): string {
  return `${JSON.stringify({ base: API_BASE, requests: apiRequests(profiles) }, null, 2)}\n`;
}
