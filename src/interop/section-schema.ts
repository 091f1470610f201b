/**
 * The schema fragments of the profile sections Cloudflare interop adds (`selector:`, `cloudflare:`,
 * `deployment:`), as `as const` data: src/profile/schema.ts spreads them into the profile schema,
 * and the raw profile type is derived from them. Imports nothing.
 */
const ENTRY = {
  type: 'object',
  additionalProperties: false,
  properties: { address: { type: 'string' }, host: { type: 'string' }, description: { type: 'string', maxLength: 1024 } },
} as const;

export const INTEROP_PROPERTIES = {
  selector: {
    description: "Which devices get this profile, as a Cloudflare custom profile: profiles are tried by ascending precedence and the first whose match holds applies. Absent: this is the account's default profile.",
    type: 'object',
    additionalProperties: false,
    required: ['policy_id'],
    properties: {
      policy_id: { description: "The custom profile's id in the account.", type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$' },
      name: { description: 'The name shown in the dashboard.', type: 'string', minLength: 1, maxLength: 256 },
      match: { description: 'The device selection expression (identity.email, identity.groups.name, os.name, network, …).', type: 'string', maxLength: 10000 },
      precedence: { description: 'Lower is tried first.', type: 'integer' },
      enabled: { type: 'boolean' },
      description: { type: 'string', maxLength: 1024 },
    },
  },
  cloudflare: {
    description: 'Fields of the Cloudflare device profile that warpc does not model yet, kept as they are so an export gives them back (API spelling).',
    type: 'object',
    additionalProperties: false,
    properties: {
      allow_mode_switch: { type: 'boolean' },
      allow_updates: { type: 'boolean' },
      allowed_to_leave: { type: 'boolean' },
      auto_connect: { type: 'number' },
      captive_portal: { type: 'number' },
      disable_auto_fallback: { type: 'boolean' },
      exclude_office_ips: { type: 'boolean' },
      gateway_unique_id: { type: 'string' },
      lan_allow_minutes: { type: 'number' },
      lan_allow_subnet_size: { type: 'number' },
      register_interface_ip_with_dns: { type: 'boolean' },
      sccm_vpn_boundary_support: { type: 'boolean' },
      support_url: { type: 'string' },
      switch_locked: { type: 'boolean' },
      target_tests: { type: 'array', items: { type: 'object' } },
      tunnel_protocol: { enum: ['wireguard', 'masque'] },
      dns_search_suffixes: { type: 'array', items: { type: 'object' } },
      virtual_networks: { type: 'object' },
      profile_type: { type: 'string' },
      uninstall_protection: { type: 'boolean' },
      proxy_port: { description: 'service_mode_v2.port: the local proxy port in service mode proxy.', type: 'integer' },
      exclude: { description: 'The exclude list while split_tunnel is in include mode (the API keeps both lists).', type: 'array', items: ENTRY },
      include: { description: 'The include list while split_tunnel is in exclude mode: empty, or the account would be in include mode.', type: 'array', items: ENTRY },
      other: { description: 'Fields warpc does not know at all, as the API returned them.', type: 'object' },
    },
  },
  deployment: {
    description: "Cloudflare One Agent MDM keys (organization, auto_connect, configs, …): compile --target mdm writes each OS's MDM file from them. auth_client_secret only as env: NAME or file: PATH.",
    type: 'object',
  },
} as const;

