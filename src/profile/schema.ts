/**
 * The profile schema, assembled: the shared sections live here (as `as const` data, so
 * the raw profile type is derived from them), and each target's options fragment comes
 * from its own module (targets/<os>/options.ts, reached through the registry row's
 * `options`). schema/profile.schema.json is this assembly for the registry's targets,
 * committed for editors and users, and kept equal to it by test/docs/profile-schema.test.ts
 * (`npm run goldens:update` rewrites it). This module only builds the schema; validation
 * is src/profile/validate.ts, and it must not import targets/ (the registry hands the
 * fragments in).
 */
import { INTEROP_PROPERTIES } from '../interop/section-schema.js';
import type { FromSchema } from './schema-type.js';

const DEFINITIONS = {
  description: { description: 'Free text for humans; written to artifacts only through each language\'s quoting.', type: 'string', maxLength: 256 },
  splitEntry: {
    type: 'object',
    additionalProperties: false,
    properties: {
      address: { description: 'An IPv4 or IPv6 prefix (CIDR) or address.', type: 'string' },
      host: { description: 'A host name, or *.name for every name below it.', type: 'string' },
      description: { $ref: '#/definitions/description' },
    },
  },
} as const;

/** The longest description the schema takes, in code points (as ajv counts maxLength). */
export const DESCRIPTION_MAX_LENGTH = DEFINITIONS.description.maxLength;

/** Every section but `targets`, in the order the schema lists them. */
const SHARED_PROPERTIES = {
  version: { description: 'Profile format version.', type: 'integer' },
  name: {
    description: "A short identifier for the profile (letters, digits, '.', '_', '-').",
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  },
  service_mode: {
    description: 'What the client does on the device (service_mode_v2.mode).',
    enum: ['warp', '1dot1', 'warp_tunnel_only', 'proxy', 'posture_only'],
  },
  split_tunnel: {
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: { description: 'exclude: everything is tunnelled except the entries; include: only the entries are.', enum: ['exclude', 'include'] },
      entries: {
        description: 'Omitted: the 16 default exclude entries.',
        type: 'array',
        items: { $ref: '#/definitions/splitEntry' },
      },
    },
  },
  fallback_domains: {
    description: "Local Domain Fallback. Omitted: the 14 default suffixes with the system's resolvers.",
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['suffix'],
      properties: {
        suffix: { type: 'string', minLength: 1 },
        dns_server: { type: 'array', items: { type: 'string' } },
        description: { $ref: '#/definitions/description' },
      },
    },
  },
  always_tunnel: {
    description: 'Prefixes always routed into the tunnel, whatever the split tunnel list says.',
    type: 'array',
    items: { type: 'string' },
  },
  interface: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ipv4: { description: "The tunnel interface's IPv4 address (a /32).", type: 'string' },
      ipv6: { description: "The tunnel interface's IPv6 address (a /128).", type: 'string' },
      mtu: { type: 'integer' },
    },
  },
  tunnel: {
    type: 'object',
    additionalProperties: false,
    properties: {
      protocol: { description: 'wireguard (UDP), or masque: CONNECT-IP over HTTP/2 over TLS 1.3 on TCP, run by warpc\'s Linux runtime.', enum: ['wireguard', 'masque'] },
      endpoint: { description: 'ADDRESS:PORT or [IPv6]:PORT of the WireGuard peer or MASQUE server (default 162.159.193.1:2408, or 162.159.198.1:443 for masque).', type: 'string' },
      peer_public_key: {
        description: "WireGuard: the peer's public key (base64). MASQUE: the server's pinned key, its P-256 public key as base64 DER (the PEM body on one line) or the SHA-256 of its SubjectPublicKeyInfo as sha256/BASE64.",
        type: 'string',
      },
      sni: { description: 'MASQUE: the TLS server name (default zt-masque.cloudflareclient.com).', type: 'string' },
    },
  },
  dns: {
    type: 'object',
    additionalProperties: false,
    properties: {
      doh_url: { description: "The Gateway's DNS over HTTPS URL (https).", type: 'string' },
      doh_addresses: { description: 'Bootstrap addresses of the DoH host, so no DNS lookup is needed to reach it.', type: 'array', items: { type: 'string' } },
      doh_via: { description: 'Whether DoH travels inside the tunnel or directly.', enum: ['tunnel', 'direct'] },
      search: { type: 'array', items: { type: 'string' } },
    },
  },
  orchestration: {
    type: 'object',
    additionalProperties: false,
    properties: {
      url: { type: 'string' },
      addresses: { type: 'array', items: { type: 'string' } },
    },
  },
  ...INTEROP_PROPERTIES,
} as const;

const SHARED = { type: 'object', required: ['version'], properties: SHARED_PROPERTIES } as const;

/**
 * The schema-valid document, as the validator sees it after ajv: the shared sections'
 * types come from the schema above; each target's options are typed by its own fragment
 * (TargetOptions in src/profile/target-options.ts).
 */
export type RawProfile = FromSchema<typeof SHARED, typeof DEFINITIONS> & { targets?: Readonly<Record<string, unknown>> };

/** A target's contribution: its name (the key under `targets:`) and its options' schema. */
export interface OptionsFragment {
  readonly name: string;
  readonly schema: object;
}

/** The whole profile schema: shared sections, then `targets` with one property per fragment, in registry order. */
export function assembleProfileSchema(fragments: readonly OptionsFragment[]): object {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/warpc/warpc/schema/profile.schema.json',
    title: 'warpc profile',
    description:
      "A WARP device profile. Field names follow Cloudflare's device-policy API where one exists. Every omitted field takes the reference client's default (see README). Generated from src/profile/schema.ts and targets/*/options.ts: edit those, then npm run goldens:update.",
    type: 'object',
    additionalProperties: false,
    required: SHARED.required,
    properties: {
      ...SHARED_PROPERTIES,
      targets: {
        description: "Each target's own options (targets/<os>/options.ts); options of targets not compiled are still checked.",
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(fragments.map((f) => [f.name, f.schema])),
      },
    },
    definitions: DEFINITIONS,
  };
}

/** schema/profile.schema.json's text for these fragments (two-space JSON and a final newline). */
export function profileSchemaText(fragments: readonly OptionsFragment[]): string {
  return `${JSON.stringify(assembleProfileSchema(fragments), null, 2)}\n`;
}
