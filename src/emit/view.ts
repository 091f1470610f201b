/** View-model pieces several targets render the same way. */
import type { Plan } from '../plan/types.js';

export interface EntryRow {
  /** `exclude` or `include` (the list's mode), or `always` for always_tunnel. */
  readonly action: string;
  readonly cidr: string;
  readonly description: string;
}

/** The profile's address entries as written (with always_tunnel), for comments next to what they became. */
export function splitEntryRows(plan: Plan): EntryRow[] {
  return plan.split.rules.map((r) => ({ action: r.source === 'always_tunnel' ? 'always' : plan.split.mode, cidr: r.cidr, description: r.description }));
}
