/**
 * The account model: what an export of a Cloudflare account's device settings profiles says, in the
 * API's own spelling, whatever it was read from (API responses, or Terraform JSON of any provider
 * era). Readers (read-api.ts, read-terraform.ts) fill it; the mapping (to-profile.ts) and the
 * writers (export-api.ts, export-terraform.ts) read it.
 *
 * Decides: the shape shared by import and export. Must not touch: files, the CLI, the compiler.
 */

/** A split tunnel entry as the API writes it: address or host, and an optional description. */
export interface CfEntry {
  readonly address?: string;
  readonly host?: string;
  readonly description?: string;
}

/** A Local Domain Fallback entry. */
export interface CfFallback {
  readonly suffix: string;
  readonly description?: string;
  readonly dns_server?: readonly string[];
}

export type CfLists = {
  exclude?: readonly CfEntry[];
  include?: readonly CfEntry[];
  fallback_domains?: readonly CfFallback[];
};

export const LIST_NAMES = ['exclude', 'include', 'fallback_domains'] as const;
export type ListName = (typeof LIST_NAMES)[number];

/** One device settings profile. */
export interface CfProfile extends CfLists {
  /** null for the default profile. */
  readonly policyId: string | null;
  /**
   * Every other field in API spelling and order of first appearance (name, match, precedence,
   * enabled, description, service_mode_v2, and the fields warpc does not model), nulls dropped.
   * Never policy_id, default, or the three lists.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Where it was read, for diagnostics: "file" or "file (resource address)". */
  readonly origin: string;
}

export interface Account {
  readonly defaultProfile: CfProfile | null;
  /** In precedence order (ascending precedence, then policy_id). */
  readonly custom: readonly CfProfile[];
}

/** Fields the API returns but does not accept in an update; kept on import, never exported. */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set(['gateway_unique_id', 'target_tests', 'created_at', 'updated_at', 'profile_type']);

/** Fields of a custom profile that say who gets it: they go to the profile's `selector:` section. */
export const SELECTOR_FIELDS = ['name', 'match', 'precedence', 'enabled', 'description'] as const;

/** The unmodelled fields warpc knows the types of (the API reference); each goes to the `cloudflare:` section. */
export const PASS_THROUGH_TYPES: Readonly<Record<string, 'boolean' | 'number' | 'string' | 'array' | 'object'>> = {
  allow_mode_switch: 'boolean',
  allow_updates: 'boolean',
  allowed_to_leave: 'boolean',
  auto_connect: 'number',
  captive_portal: 'number',
  disable_auto_fallback: 'boolean',
  exclude_office_ips: 'boolean',
  gateway_unique_id: 'string',
  lan_allow_minutes: 'number',
  lan_allow_subnet_size: 'number',
  register_interface_ip_with_dns: 'boolean',
  sccm_vpn_boundary_support: 'boolean',
  support_url: 'string',
  switch_locked: 'boolean',
  target_tests: 'array',
  tunnel_protocol: 'string',
  dns_search_suffixes: 'array',
  virtual_networks: 'object',
  profile_type: 'string',
  uninstall_protection: 'boolean',
};

/** The display name of a profile in messages. */
export function profileLabel(p: Pick<CfProfile, 'policyId' | 'settings'>): string {
  if (p.policyId === null) return 'the default profile';
  const name = p.settings['name'];
  return typeof name === 'string' ? `profile "${name}"` : `profile ${p.policyId}`;
}

/** Profiles in the order devices try them: ascending precedence, then policy_id. */
export function byPrecedence(ps: readonly CfProfile[]): CfProfile[] {
  const prec = (p: CfProfile): number => (typeof p.settings['precedence'] === 'number' ? (p.settings['precedence'] as number) : Number.MAX_SAFE_INTEGER);
  return [...ps].sort((a, b) => prec(a) - prec(b) || (a.policyId! < b.policyId! ? -1 : a.policyId! > b.policyId! ? 1 : 0));
}
