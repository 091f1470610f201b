/**
 * The orchestrator's store: what it keeps (tokens, profiles, devices, the audit
 * log, the fleet's shared keys) and the one change feed every orchestrator
 * process follows. Two implementations behind this interface, with one test
 * suite run against both: SQLite (better-sqlite3, a file in --data, zero
 * set-up, one process) and PostgreSQL (pg, several processes on one database;
 * changes reach every process through LISTEN/NOTIFY).
 *
 * The store decides nothing about HTTP, tokens' plaintext, compilation or
 * signing: it stores hashes and JSON the server hands it, allocates addresses
 * and sequence numbers atomically, and says what changed. Every write that
 * changes what a device or gateway should see bumps the fleet sequence (`seq`)
 * in the same transaction and announces it through subscribe().
 */

export type TokenKind = 'admin' | 'enroll' | 'gateway';

/** Who a device belongs to, for `match` (`identity.email`, `identity.groups.name`): given to an enrollment token by the admin, inherited by every device enrolled with it. */
export interface Identity {
  readonly email?: string;
  readonly groups?: readonly string[];
}

export interface TokenRow {
  readonly id: string;
  readonly kind: TokenKind;
  /** SHA-256 (hex) of the token's bytes; the plaintext is never stored. */
  readonly hash: string;
  readonly label: string;
  readonly createdAt: number;
  /** Epoch ms; null: never. */
  readonly expiresAt: number | null;
  /** null: unlimited. */
  readonly maxUses: number | null;
  readonly uses: number;
  readonly revokedAt: number | null;
  /** Enrollment tokens only; null: devices enrolled with it have no identity (only `os.*` and posture select their profile). */
  readonly identity: Identity | null;
}

export interface ProfileRow {
  /** `default`, or a custom profile's policy_id (a UUID the store generates). */
  readonly id: string;
  /** The profile in Cloudflare's API shape (the settings object with its include/exclude/fallback_domains lists), as the server validated it. */
  readonly body: unknown;
  /** Custom profiles only (null for `default`). */
  readonly match: string | null;
  readonly precedence: number | null;
  readonly enabled: boolean;
  /** The fleet seq of the write that made this revision; strictly increasing across all profiles. */
  readonly revision: number;
  readonly updatedAt: number;
}

export interface DeviceRow {
  readonly id: string;
  readonly installId: string;
  readonly publicKey: string;
  /** The device's MASQUE key (base64 of its P-256 SPKI DER), beside the WireGuard one; null until it registers one. */
  readonly masqueKey: string | null;
  /** SHA-256 (hex) of the device's bearer token. */
  readonly tokenHash: string;
  readonly model: string;
  readonly osName: string;
  readonly osVersion: string;
  readonly serial: string;
  readonly addressV4: string;
  readonly addressV6: string;
  /** The enrollment token's id it registered with. */
  readonly enrolledWith: string;
  /** Copied from the enrollment token at registration. */
  readonly identity: Identity | null;
  readonly createdAt: number;
  readonly lastSeen: number | null;
  readonly posture: unknown | null;
  readonly postureAt: number | null;
  /** What the bundle endpoint last served: its selection key (`<profile id>@<revision>/<os>`) and the version it got. */
  readonly bundleKey: string | null;
  readonly bundleVersion: number;
  /** The version the device last said it applied (from its posture or bundle requests). */
  readonly appliedVersion: number | null;
}

export interface NewDevice {
  readonly installId: string;
  readonly publicKey: string;
  readonly tokenHash: string;
  readonly model: string;
  readonly osName: string;
  readonly osVersion: string;
  readonly serial: string;
  readonly enrolledWith: string;
}

/** Address pools the server configures; the store hands out the lowest free address of each, never one a living device holds. */
export interface AddressPools {
  /** e.g. `100.96.0.0/12`; the network and broadcast addresses and `reserved` are never handed out. */
  readonly v4: string;
  /** e.g. `fd01:5ca1:ab1e::/64`. */
  readonly v6: string;
  /** Addresses never handed out (the gateway's own). */
  readonly reserved: readonly string[];
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  /** Token id (and label) that made the change, or `system`. */
  readonly actor: string;
  /** e.g. `profile.update`, `device.revoke`, `token.create`. */
  readonly action: string;
  /** What it acted on (a profile id, device id, token id). */
  readonly subject: string;
  readonly detail: unknown;
}

/** One change, as every orchestrator process hears it. */
export interface Change {
  readonly seq: number;
  /** `posture`: what `match` sees of one device changed (its posture report, or its identity). */
  readonly kind: 'profile' | 'device' | 'posture' | 'token';
  /** The profile or device id. */
  readonly id: string;
}

/** A store-level refusal the server maps to an HTTP status. */
export class StoreConflict extends Error {
  constructor(
    readonly reason: 'install_id_taken' | 'pool_exhausted' | 'token_unusable' | 'key_changed' | 'not_found' | 'precedence_taken' | 'revision_changed',
    message: string,
  ) {
    super(message);
    this.name = 'StoreConflict';
  }
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Migrations run at open; a database newer than the code throws (the message names both versions). */
  readonly schemaVersion: number;
  close(): Promise<void>;

  /** The fleet's shared secrets (signing key, CA): the first process to ask creates it; every later one, on any host, reads the same value. */
  secret(name: string, create: () => string): Promise<string>;

  createToken(t: { kind: TokenKind; hash: string; label: string; expiresAt: number | null; maxUses: number | null; identity?: Identity | null }, actor: string): Promise<TokenRow>;
  tokenByHash(hash: string): Promise<TokenRow | undefined>;
  listTokens(): Promise<TokenRow[]>;
  revokeToken(id: string, actor: string): Promise<void>;

  /** The default profile always exists (created empty at first start by the server); custom ones are ordered by precedence. */
  profiles(): Promise<ProfileRow[]>;
  profile(id: string): Promise<ProfileRow | undefined>;
  /** Create (id undefined) or replace a profile; returns the new row with its new revision. `precedence_taken` when another custom profile holds that precedence; `revision_changed` when `ifRevision` is given and the stored revision differs (read-modify-write of the list endpoints from several processes). */
  putProfile(p: { id?: string; body: unknown; match: string | null; precedence: number | null; enabled: boolean }, actor: string, opts?: { ifRevision?: number }): Promise<ProfileRow>;
  deleteProfile(id: string, actor: string): Promise<void>;

  /**
   * Registers a device in one transaction: checks the enrollment token (unexpired, unrevoked, uses
   * left; else `token_unusable`) and counts the use, refuses a taken install id (`install_id_taken`),
   * allocates one address from each pool (`pool_exhausted`), inserts. Concurrent calls with one
   * install id: exactly one succeeds.
   */
  registerDevice(d: NewDevice, enrollTokenHash: string, pools: AddressPools, now: number): Promise<DeviceRow>;
  device(id: string): Promise<DeviceRow | undefined>;
  deviceByTokenHash(hash: string): Promise<DeviceRow | undefined>;
  devices(): Promise<DeviceRow[]>;
  /** Compare-and-set of the key: `key_changed` when the stored key is no longer `previousKey`. */
  rotateKey(id: string, previousKey: string, key: string): Promise<DeviceRow>;
  /**
   * Compare-and-set of the MASQUE key: `key_changed` when the stored one is not `previousKey` (null:
   * none is stored). Storing the key that is stored already changes nothing (no seq, no audit), whatever
   * `previousKey` says. A change is audited (`device.masque_key`) and announced as `device`.
   */
  setMasqueKey(id: string, previousKey: string | null, key: string): Promise<DeviceRow>;
  /** Deletes the device (its addresses become free); `actor` is the device itself or an admin token. */
  deleteDevice(id: string, actor: string): Promise<void>;
  touch(id: string, now: number, appliedVersion?: number): Promise<void>;
  setPosture(id: string, posture: unknown, now: number): Promise<DeviceRow>;
  /** Who the device belongs to from now on (an admin moving it to another user or group; null: nobody), in place of what its enrollment token gave it. A change of what `match` sees: announced as `posture`. */
  setIdentity(id: string, identity: Identity | null, actor: string): Promise<DeviceRow>;
  /** The version to serve for `key`: the stored one when the key is unchanged, else a new fleet seq, stored with the key. Strictly increasing per device. */
  bundleVersion(id: string, key: string): Promise<number>;
  /**
   * bundleVersion for many devices in one transaction (one fleet lock, one range of seqs): the
   * answers in the order of `pairs`, null for a device that does not exist. A device listed twice
   * keeps its first key.
   */
  bundleVersions(pairs: readonly { readonly id: string; readonly key: string }[]): Promise<(number | null)[]>;

  audit(opts?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]>;

  /** The highest fleet seq. */
  seq(): Promise<number>;
  /** Every committed change, from this process or (PostgreSQL) any other, in seq order per process; returns the unsubscribe. */
  subscribe(listener: (c: Change) => void): () => void;
}
