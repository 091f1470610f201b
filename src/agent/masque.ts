/**
 * The enrolled device's MASQUE key: before the agent runs a MASQUE plan (a
 * bundle with masque.json), the key the runtime will present
 * (src/runtime/masque/cert.ts, `<state dir>/masque.key`, made here when absent)
 * must be the one the orchestrator holds, so the gateway accepts it. It is
 * registered once (PATCH /v0/reg/{id}, `key_type: secp256r1, tunnel_type:
 * masque`, src/contract/orchestrator.ts MasqueKeyRegistration) and remembered
 * in registration.json with the gateway peers the answer names.
 *
 * Decides: when to register the MASQUE key. Must not touch: the plan, the network.
 */
import { createPublicKey } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { MASQUE_FILE } from '../contract/masque.js';
import type { MasqueKeyRegistration, Registration } from '../contract/orchestrator.js';
import { loadOrCreateIdentity } from '../runtime/masque/cert.js';
import { agentError } from './errors.js';
import type { Log } from './enroll.js';
import { apiErrorDetail, orchestratorRequest } from './http.js';
import { writeRegistration, type RegistrationFile } from './state.js';

/** Whether a compiled OS folder is a MASQUE plan (its manifest-listed masque.json is checked when it is loaded). */
export async function isMasquePlan(dir: string): Promise<boolean> {
  return access(join(dir, MASQUE_FILE)).then(
    () => true,
    () => false,
  );
}

export type MasqueKeyResult = { readonly reg: RegistrationFile } | { readonly revoked: number };

/**
 * Makes sure the orchestrator holds this device's MASQUE key: nothing to do when registration.json
 * says it was registered; else PATCH it (naming the one registered before, if any) and store the
 * answer's peers and the key. 401/404: revoked. 409: another key is registered (AgentMasqueKeyConflict,
 * thrown: the agent does not replace a key it does not know, and does not retry in a loop).
 */
export async function ensureMasqueKey(reg: RegistrationFile, stateDir: string, log: Log, signal?: AbortSignal): Promise<MasqueKeyResult> {
  const id = await loadOrCreateIdentity(stateDir, { usage: 'client' });
  if (id.created === 'key') log(`created the device's MASQUE key ${join(stateDir, 'masque.key')} (0600, P-256; only its public half leaves the device)`);
  const key = (createPublicKey(id.keyPem).export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
  if (reg.masque_key === key) return { reg };
  const body: MasqueKeyRegistration = { key, key_type: 'secp256r1', tunnel_type: 'masque', ...(reg.masque_key !== undefined ? { previous_key: reg.masque_key } : {}) };
  const r = await orchestratorRequest(new URL(reg.orchestrator), reg.tls, { method: 'PATCH', path: `/v0/reg/${encodeURIComponent(reg.id)}`, token: reg.token, body, ...(signal ? { signal } : {}) });
  if (r.status === 401 || r.status === 404) return { revoked: r.status };
  if (r.status === 409) throw agentError('AgentMasqueKeyConflict', { url: reg.orchestrator, id: reg.id, detail: apiErrorDetail(r), pin: id.pin, file: join(stateDir, 'masque.key') });
  if (r.status !== 200) throw agentError('AgentRequestRefused', { what: 'the MASQUE key registration', status: r.status, detail: apiErrorDetail(r) });
  let peers = reg.peers;
  try {
    const answer = JSON.parse(r.body.toString('utf8')) as Registration;
    if (Array.isArray(answer.config?.peers) && answer.config.peers.every((p) => typeof p?.public_key === 'string' && typeof p.endpoint === 'object' && p.endpoint !== null)) peers = answer.config.peers;
  } catch {
    /* the key is registered; the peers stay as enrolled */
  }
  const next: RegistrationFile = { ...reg, peers, masque_key: key };
  await writeRegistration(stateDir, next);
  log(`registered the device's MASQUE key sha256/${id.pin} with ${reg.orchestrator}${peers.some((p) => p.tunnel_type === 'masque') ? '' : ' (its registration names no MASQUE gateway: the plan\'s masque.json endpoint and pin are used)'}`);
  return { reg: next };
}
