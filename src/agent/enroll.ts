/**
 * `warpc enroll` and `warpc unenroll`: register this device with an
 * orchestrator (POST /v0/reg) and keep what it answered in the state
 * directory; or delete the registration on both sides. The WireGuard private
 * key is made here (runtime/tunnel/keys.ts, 0600) and only its public half is
 * sent.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import type { Registration, RegistrationRequest } from '../contract/orchestrator.js';
import { loadOrCreateKey, publicKeyOf } from '../runtime/tunnel/keys.js';
import { spkiSha256 } from '../runtime/masque/cert.js';
import { agentError, agentMessage, AgentError } from './errors.js';
import { apiErrorDetail, openChecked, orchestratorRequest, parseOrchestratorUrl, parsePinArg, type Trust } from './http.js';
import { ensureStateDir, readRegistration, removeEnrollment, writeRegistration, type RegistrationFile } from './state.js';

export type Log = (msg: string) => void;

export interface EnrollOptions {
  readonly url: string;
  readonly token: string;
  readonly stateDir: string;
  readonly pin?: string;
  /** Path of a PEM CA file. */
  readonly ca?: string;
  readonly os?: string;
  readonly log: Log;
}

export async function osVersion(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const m = /^VERSION_ID="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] || release();
}

function validRegistration(v: unknown): v is Registration {
  const r = v as Registration;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    /^[A-Za-z0-9_-]{1,128}$/.test(r.id) &&
    typeof r.token === 'string' &&
    typeof r.config?.interface?.addresses?.v4 === 'string' &&
    typeof r.config.interface.addresses.v6 === 'string' &&
    Array.isArray(r.config.peers) &&
    r.config.peers.length > 0 &&
    r.config.peers.every((p) => typeof p?.public_key === 'string' && typeof p.endpoint === 'object' && p.endpoint !== null) &&
    typeof r.bundle_key?.pem === 'string' &&
    typeof r.bundle_key.spki_sha256 === 'string'
  );
}

export async function enroll(o: EnrollOptions): Promise<RegistrationFile> {
  const url = parseOrchestratorUrl(o.url);
  const existing = await readRegistration(o.stateDir);
  if (existing) throw agentError('AgentAlreadyEnrolled', { dir: o.stateDir, url: existing.orchestrator, id: existing.id });
  let ca: string | null = null;
  if (o.ca) {
    try {
      ca = await readFile(o.ca, 'utf8');
    } catch (err) {
      throw agentError('AgentStateDir', { dir: o.ca, reason: `cannot read the --ca file: ${(err as Error).message}` });
    }
  }
  const pinArg = o.pin !== undefined ? parsePinArg(o.pin) : null;
  // Trust: exactly the --pin, or the --ca chain, or the key presented now (trust on first use).
  let trust: Trust;
  if (pinArg !== null || ca !== null) trust = { pin: pinArg, ca };
  else {
    const first = await openChecked(url, { pin: null, ca: null });
    first.socket.destroy();
    trust = { pin: first.pin, ca: null };
    o.log(`trusting the orchestrator's certificate on first use: key sha256/${first.pin} (compare it with what warpc orchestrator serve printed; --pin makes this exact)`);
  }
  await ensureStateDir(o.stateDir);
  const key = await loadOrCreateKey(join(o.stateDir, 'private.key'));
  if (key.created) o.log(`created the device's WireGuard key ${join(o.stateDir, 'private.key')} (0600; only its public half leaves the device)`);
  const os = o.os ?? 'linux';
  const body: RegistrationRequest = {
    key: publicKeyOf(key.privateKey),
    key_type: 'curve25519',
    tunnel_type: 'wireguard',
    install_id: randomUUID(),
    model: 'warpc',
    os_name: os,
    os_version: await osVersion(),
    serial_number: '',
  };
  const r = await orchestratorRequest(url, trust, { method: 'POST', path: '/v0/reg', token: o.token, body });
  if (r.status !== 201 && r.status !== 200) throw agentError('AgentRequestRefused', { what: 'the enrollment', status: r.status, detail: apiErrorDetail(r) });
  let reg: unknown;
  try {
    reg = JSON.parse(r.body.toString('utf8'));
  } catch {
    reg = null;
  }
  if (!validRegistration(reg)) throw agentError('AgentRequestRefused', { what: 'the enrollment', status: r.status, detail: ': the answer is not a registration (id, token, config.peers, config.interface.addresses, bundle_key)' });
  // The bundle key must be what its pin says; it is pinned from here on.
  let keyPin: string;
  try {
    const k = createPublicKey(reg.bundle_key.pem);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    keyPin = spkiSha256(k);
  } catch (err) {
    throw agentError('AgentRequestRefused', { what: 'the enrollment', status: r.status, detail: `: the bundle key is unusable (${(err as Error).message})` });
  }
  if (keyPin !== reg.bundle_key.spki_sha256) throw agentError('AgentRequestRefused', { what: 'the enrollment', status: r.status, detail: `: the bundle key hashes to sha256/${keyPin}, not the sha256/${reg.bundle_key.spki_sha256} it claims` });
  const file: RegistrationFile = {
    version: 1,
    orchestrator: url.origin,
    id: reg.id,
    token: reg.token as string,
    install_id: body.install_id,
    os,
    addresses: { v4: reg.config.interface.addresses.v4, v6: reg.config.interface.addresses.v6 },
    peers: reg.config.peers,
    tls: trust,
    bundle_key: { spki_sha256: keyPin, pem: reg.bundle_key.pem },
    enrolled_at: new Date().toISOString(),
  };
  await writeRegistration(o.stateDir, file);
  o.log(`enrolled with ${url.origin} as device ${reg.id}: addresses ${file.addresses.v4}, ${file.addresses.v6}; bundle key sha256/${keyPin} pinned; state in ${o.stateDir}`);
  return file;
}

export interface UnenrollResult {
  readonly serverDeleted: boolean;
  readonly removed: readonly string[];
}

/** DELETE the registration on the server, then remove the local state (also when the server cannot be reached: it says so). */
export async function unenroll(stateDir: string, log: Log): Promise<UnenrollResult> {
  const reg = await readRegistration(stateDir);
  if (!reg) throw agentError('AgentNotEnrolled', { dir: stateDir });
  let serverDeleted = false;
  try {
    const r = await orchestratorRequest(new URL(reg.orchestrator), reg.tls, { method: 'DELETE', path: `/v0/reg/${encodeURIComponent(reg.id)}`, token: reg.token });
    if (r.status === 200 || r.status === 204) {
      serverDeleted = true;
      log(`the orchestrator at ${reg.orchestrator} deleted registration ${reg.id}`);
    } else if (r.status === 401 || r.status === 404) {
      log(`the orchestrator at ${reg.orchestrator} no longer knows registration ${reg.id} (HTTP ${r.status}): nothing to delete there`);
      serverDeleted = true;
    } else {
      log(agentMessage('AgentUnenrollOffline', { url: reg.orchestrator, reason: `HTTP ${r.status}${apiErrorDetail(r)}`, id: reg.id }));
    }
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    log(agentMessage('AgentUnenrollOffline', { url: reg.orchestrator, reason: err.detail, id: reg.id }));
  }
  const removed = await removeEnrollment(stateDir);
  log(`removed from ${stateDir}: ${removed.join(', ') || 'nothing'}`);
  return { serverDeleted, removed };
}
