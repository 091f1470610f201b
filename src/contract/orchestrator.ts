/**
 * What an orchestrator and a device say to each other over HTTPS: the
 * registration (POST/GET/PATCH/DELETE /v0/reg…, shaped like the consumer
 * registration API of docs/cloudflare-formats.md §5), the posture report, the
 * signed bundle (GET /v0/reg/{id}/bundle) and the gateway's peer list
 * (GET /v0/gateway/peers). The orchestrator (src/orchestrator/) writes these;
 * the agent (`warpc enroll`, `warpc up` on a state directory) and the reference
 * gateway read them. Neither side's code lives here, only the shapes and the
 * exact bytes that are signed.
 *
 * The bundle's trust chain, which both sides must agree on byte for byte:
 *   statement (BundleStatement, serialized by serializeStatement) — signed with
 *   the orchestrator's Ed25519 key; it names the device, the OS, the version and
 *   the sha256 of manifest.json; manifest.json (src/contract/manifest.ts) names
 *   every file's sha256. So one signature covers every byte of the bundle, and a
 *   bundle for another device, an older version or with one flipped byte fails.
 */

/** Wire version of the statement; a reader refuses any other. */
export const BUNDLE_FORMAT = 1;

/** POST /v0/reg body (Authorization: Bearer <enrollment token>). */
export interface RegistrationRequest {
  /** The device's WireGuard public key, base64 of 32 bytes. The private key never leaves the device. */
  readonly key: string;
  readonly key_type: 'curve25519';
  readonly tunnel_type: 'wireguard';
  /** Stable per installation (a UUID the agent generates once); a second registration with it replaces nothing: 409. */
  readonly install_id: string;
  readonly model: string;
  /** `linux`, `macos`, `windows`, `ios`, `android`: the OS the device's bundles are compiled for. */
  readonly os_name: string;
  readonly os_version: string;
  readonly serial_number: string;
}

/**
 * A gateway as the device sees it. A WireGuard peer (no `tunnel_type`, or `wireguard`): its
 * Curve25519 public key and UDP endpoint. The gateway's MASQUE side (`tunnel_type: masque`, from
 * `serve --gateway-masque-endpoint/--gateway-masque-pin`): `public_key` is the pin of its P-256
 * server key (`sha256/BASE64`, what masque.json's server_pin holds) and `endpoint` its TCP
 * `ip:port` — as Cloudflare pins its MASQUE server to `config.peers[…].public_key`
 * (docs/cloudflare-formats.md §6). WireGuard peers come first, so a reader that takes
 * `peers[0]` for WireGuard keeps working.
 */
export interface RegistrationPeer {
  readonly tunnel_type?: 'wireguard' | 'masque';
  readonly public_key: string;
  /** `host:port` forms, v4 and v6 as configured; at least one is present. */
  readonly endpoint: { readonly v4?: string; readonly v6?: string; readonly host?: string };
}

/** Response of POST /v0/reg (201) and GET /v0/reg/{id} (200). `token` is present only in the POST response. */
export interface Registration {
  readonly id: string;
  /** The device's own bearer token (256-bit random, base64url); shown once. */
  readonly token?: string;
  readonly config: {
    readonly peers: readonly RegistrationPeer[];
    /** The device's own tunnel addresses from the orchestrator's pools, never reused while the device exists. They take the place of the profile's interface address. */
    readonly interface: { readonly addresses: { readonly v4: string; readonly v6: string } };
  };
  /** SHA-256 (base64) of the orchestrator's Ed25519 bundle-signing public key in SPKI DER form, and the key itself (PEM), so the agent can pin it on first use. */
  readonly bundle_key: { readonly spki_sha256: string; readonly pem: string };
}

/** PATCH /v0/reg/{id} body: key rotation. `previous_key` must equal the stored key, so of two racing rotations one wins and the other gets 409. */
export interface KeyRotation {
  readonly key: string;
  readonly previous_key: string;
}

/**
 * PATCH /v0/reg/{id} body enrolling the device's MASQUE key, as the public API does
 * (docs/cloudflare-formats.md §5): it is stored beside the WireGuard key, which stays. `key` is the
 * base64 of the P-256 public key's SubjectPublicKeyInfo DER. `previous_key` is the MASQUE key
 * registered now (absent when there is none), so of two racing registrations one wins and the
 * other gets 409 key_changed; sending the key that is registered already changes nothing (200).
 */
export interface MasqueKeyRegistration {
  readonly key: string;
  readonly key_type: 'secp256r1';
  readonly tunnel_type: 'masque';
  readonly previous_key?: string;
}

/** POST /v0/reg/{id}/posture body. Stored as reported; `match` sees it as `os.version`, `client.version`, `posture.firewall`, `posture.disk_encryption`, `posture.checks.<name>`. */
export interface PostureReport {
  readonly os_version: string;
  readonly client_version: string;
  readonly firewall: boolean;
  readonly disk_encryption: boolean;
  /** Free-form checks: name → boolean or short string. */
  readonly checks?: Readonly<Record<string, boolean | string>>;
}

/** What the orchestrator signs for one bundle served to one device. */
export interface BundleStatement {
  readonly format: typeof BUNDLE_FORMAT;
  readonly device_id: string;
  readonly os: string;
  /** Per device, strictly increasing: the agent refuses a version lower than the one it runs (rollback) and treats an equal one as unchanged. */
  readonly version: number;
  /** The profile the device's identity and posture selected: `default` or a custom profile's policy_id, and its revision. */
  readonly profile: { readonly id: string; readonly revision: number };
  /** sha256 (hex) of the exact bytes of manifest.json in `files`. */
  readonly manifest_sha256: string;
  /** RFC 3339, UTC; informative (agents do not trust clocks for ordering: `version` does that). */
  readonly issued_at: string;
}

/**
 * GET /v0/reg/{id}/bundle?os=<os>[&wait=<seconds>] response (200; 304 when the
 * If-None-Match ETag, `"<version>"`, is still current after `wait`).
 * `files` is the compiled output folder exactly as `warpc compile --target <os>`
 * writes it: manifest.json plus `<os>/…`, each file's bytes base64.
 */
export interface BundleResponse {
  /** serializeStatement(statement), base64: the exact signed bytes. */
  readonly statement: string;
  /** Ed25519 signature over the statement bytes, base64. */
  readonly signature: string;
  readonly files: Readonly<Record<string, string>>;
}

/** GET /v0/gateway/peers (Authorization: Bearer <gateway token>): every registered, unrevoked device. */
export interface GatewayPeers {
  /** Strictly increasing with every change to the list, for If-None-Match / long-poll the same way as bundles. */
  readonly version: number;
  readonly peers: readonly {
    readonly device_id: string;
    readonly public_key: string;
    readonly allowed_ips: readonly string[];
    /** `sha256/BASE64` of the device's registered MASQUE key (SPKI), when it has one: the MASQUE server accepts that key for these allowed_ips. */
    readonly masque_pin?: string;
  }[];
}

/** The one serializer of the signed statement: fixed key order, no whitespace, no trailing newline. */
export function serializeStatement(s: BundleStatement): string {
  return JSON.stringify({
    format: s.format,
    device_id: s.device_id,
    os: s.os,
    version: s.version,
    profile: { id: s.profile.id, revision: s.profile.revision },
    manifest_sha256: s.manifest_sha256,
    issued_at: s.issued_at,
  });
}

/** Every error body of the orchestrator's APIs (4xx and 5xx): a stable code, a sentence, and the JSON pointer of the field at fault when there is one. */
export interface ApiError {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}
