/**
 * Bundle verification, pure: a BundleResponse (src/contract/orchestrator.ts)
 * is accepted only when the statement's Ed25519 signature verifies with the
 * pinned bundle key, it names this device and this OS, its version is newer
 * than the one running (equal: unchanged; lower: rollback, refused), manifest.json
 * hashes to the statement's manifest_sha256, and every file is exactly the
 * manifest's (present, same sha256 and size, none extra, safe paths). Any other
 * outcome is a coded AgentError; nothing here touches the disk.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ContractError } from '../contract/json-file.js';
import { MANIFEST_FILE, parseManifest, type Manifest } from '../contract/manifest.js';
import { BUNDLE_FORMAT, serializeStatement, type BundleStatement } from '../contract/orchestrator.js';
import { agentError } from './errors.js';

export interface VerifyContext {
  /** The pinned Ed25519 public key (PEM, SPKI) and its pin, for messages. */
  readonly bundleKeyPem: string;
  readonly bundleKeyPin: string;
  readonly deviceId: string;
  readonly os: string;
  /** The version this device runs; null before the first bundle. */
  readonly runningVersion: number | null;
}

export type Verified =
  | { readonly kind: 'unchanged'; readonly version: number }
  | { readonly kind: 'new'; readonly statement: BundleStatement; readonly statementBytes: Buffer; readonly signature: Buffer; readonly manifest: Manifest; readonly files: ReadonlyMap<string, Buffer> };

const sha256hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Strict base64: what re-encodes to the same text (no junk a lax decoder would skip). */
function b64(text: unknown, what: string): Buffer {
  if (typeof text !== 'string') throw agentError('AgentBundleFormat', { reason: `${what} is not a string` });
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) throw agentError('AgentBundleFormat', { reason: `${what} is not canonical base64` });
  return buf;
}

function publicKey(pem: string, pin: string): KeyObject {
  try {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
    return k;
  } catch {
    throw agentError('AgentBundleSignature', { pin });
  }
}

/** Check the signature and the statement alone (also used on a stored bundle at start). */
export function verifyStatement(statementBytes: Buffer, signature: Buffer, ctx: VerifyContext): BundleStatement {
  if (signature.length !== 64 || !verify(null, statementBytes, publicKey(ctx.bundleKeyPem, ctx.bundleKeyPin), signature)) throw agentError('AgentBundleSignature', { pin: ctx.bundleKeyPin });
  let st: BundleStatement;
  try {
    st = JSON.parse(statementBytes.toString('utf8')) as BundleStatement;
  } catch {
    throw agentError('AgentBundleFormat', { reason: 'the signed statement is not JSON' });
  }
  if (typeof st !== 'object' || st === null || st.format !== BUNDLE_FORMAT) throw agentError('AgentBundleFormat', { reason: `statement format ${JSON.stringify((st as { format?: unknown } | null)?.format)} is not ${BUNDLE_FORMAT}` });
  const ok =
    typeof st.device_id === 'string' &&
    typeof st.os === 'string' &&
    Number.isSafeInteger(st.version) &&
    st.version >= 1 &&
    typeof st.profile === 'object' &&
    st.profile !== null &&
    typeof st.profile.id === 'string' &&
    Number.isSafeInteger(st.profile.revision) &&
    typeof st.manifest_sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(st.manifest_sha256) &&
    typeof st.issued_at === 'string';
  if (!ok || serializeStatement(st) !== statementBytes.toString('utf8')) throw agentError('AgentBundleFormat', { reason: 'the signed statement is not in the one serialized form (serializeStatement)' });
  if (st.device_id !== ctx.deviceId) throw agentError('AgentBundleDevice', { got: st.device_id, want: ctx.deviceId });
  if (st.os !== ctx.os) throw agentError('AgentBundleOs', { got: st.os, want: ctx.os });
  return st;
}

/** Check a whole bundle against the pinned key and this device's state. */
export function verifyBundle(response: unknown, ctx: VerifyContext): Verified {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) throw agentError('AgentBundleFormat', { reason: 'the response is not a JSON object' });
  const r = response as Record<string, unknown>;
  const statementBytes = b64(r['statement'], 'statement');
  const signature = b64(r['signature'], 'signature');
  const st = verifyStatement(statementBytes, signature, ctx);
  if (ctx.runningVersion !== null && st.version < ctx.runningVersion) throw agentError('AgentBundleRollback', { got: st.version, running: ctx.runningVersion });
  if (ctx.runningVersion !== null && st.version === ctx.runningVersion) return { kind: 'unchanged', version: st.version };

  const rawFiles = r['files'];
  if (typeof rawFiles !== 'object' || rawFiles === null || Array.isArray(rawFiles)) throw agentError('AgentBundleFormat', { reason: 'files is not an object' });
  const files = new Map<string, Buffer>();
  for (const [path, text] of Object.entries(rawFiles as Record<string, unknown>)) files.set(path, b64(text, `files[${JSON.stringify(path)}]`));
  const manifestBytes = files.get(MANIFEST_FILE);
  if (!manifestBytes) throw agentError('AgentBundleManifest', { reason: 'is missing' });
  const got = sha256hex(manifestBytes);
  if (got !== st.manifest_sha256) throw agentError('AgentBundleManifest', { reason: `has sha256 ${got}, and the signed statement says ${st.manifest_sha256}` });
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestBytes.toString('utf8'), MANIFEST_FILE);
  } catch (err) {
    if (err instanceof ContractError) throw agentError('AgentBundleManifest', { reason: `is not valid: ${err.message}` });
    throw err;
  }
  if (!manifest.targets.includes(ctx.os)) throw agentError('AgentBundleManifest', { reason: `names targets ${manifest.targets.join(', ')}, not ${ctx.os}` });
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const bytes = files.get(f.path);
    if (!bytes) throw agentError('AgentBundleFile', { path: f.path, reason: 'listed in the manifest but not in the bundle' });
    if (bytes.length !== f.size) throw agentError('AgentBundleFile', { path: f.path, reason: `${bytes.length} bytes, the manifest says ${f.size}` });
    const sha = sha256hex(bytes);
    if (sha !== f.sha256) throw agentError('AgentBundleFile', { path: f.path, reason: `sha256 ${sha} does not match the manifest (${f.sha256})` });
  }
  for (const path of files.keys()) {
    if (path !== MANIFEST_FILE && !listed.has(path)) throw agentError('AgentBundleFile', { path, reason: 'not listed in the manifest' });
  }
  return { kind: 'new', statement: st, statementBytes, signature, manifest, files };
}
