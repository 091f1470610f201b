/** What `warpc status` adds on an enrolled state dir: read from registration.json and orchestration.json, nothing else. */
import { readAgentStatus, readRegistration } from './state.js';

export interface OrchestrationStatus {
  orchestrator: string;
  registration_id: string;
  addresses: { v4: string; v6: string };
  bundle_version: number | null;
  profile: { id: string; revision: number } | null;
  last_checked: string | null;
  last_error: string | null;
  /** Set when the orchestrator answered 401/404 on this registration: the device was brought down. */
  revoked: { at: string; status: number } | null;
}

export async function orchestrationStatus(stateDir: string): Promise<OrchestrationStatus | null> {
  const reg = await readRegistration(stateDir).catch(() => null);
  if (!reg) return null;
  const s = await readAgentStatus(stateDir);
  return {
    orchestrator: reg.orchestrator,
    registration_id: reg.id,
    addresses: reg.addresses,
    bundle_version: s?.bundle_version ?? null,
    profile: s?.profile ?? null,
    last_checked: s?.last_checked ?? null,
    last_error: s?.last_error ?? null,
    revoked: s?.revoked ?? null,
  };
}

export function formatOrchestration(o: OrchestrationStatus): string {
  const rows: [string, string][] = [
    ['orchestrator', o.orchestrator],
    ['registration', `${o.registration_id} (${o.addresses.v4}, ${o.addresses.v6})`],
    ['bundle', o.bundle_version === null ? 'none yet' : `version ${o.bundle_version}${o.profile ? ` (profile ${o.profile.id} revision ${o.profile.revision})` : ''}`],
    ['last checked', o.last_checked ?? 'never'],
  ];
  if (o.revoked) rows.push(['revoked', `at ${o.revoked.at} (HTTP ${o.revoked.status}): the device was brought down and restored; enroll again to come back`]);
  if (o.last_error && !o.revoked) rows.push(['last error', o.last_error]);
  const w = Math.max(...rows.map(([k]) => k.length), 16);
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join('');
}
