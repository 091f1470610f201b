/**
 * Evaluating `match` expressions against a device, and choosing a device's profile.
 *
 * Decides: whether an expression holds for a device, and which profile applies (profiles tried by
 * ascending precedence, disabled ones skipped, the first whose match holds; else the default).
 * Must not touch: files or the CLI; it is given the device and the profiles' selectors.
 *
 * A field the device does not have (no --email, say) is absent: `==`, `in` and `any` are false
 * for it and `!=` is true. Strings compare exactly, except e-mail addresses and os.name, which
 * compare without regard to case (the dashboard lowercases them).
 */
import { formatMatch, parseMatch, type MatchExpr, type MultiSelector, type SingleSelector } from './parse.js';

export const OS_NAMES = ['linux', 'windows', 'mac', 'ios', 'android', 'chromeos'] as const;
export type OsName = (typeof OS_NAMES)[number];

/** What is known about a device. Each `groups` value is compared with a group's id, name and e-mail. */
export interface Device {
  readonly email?: string;
  readonly groups?: readonly string[];
  readonly samlAttributes?: readonly string[];
  readonly serviceTokenUuid?: string;
  readonly network?: string;
  readonly os?: OsName;
  readonly osVersion?: string;
  /** What an orchestrated device last reported (warpc orchestrator): its client version, and `true`/`false` for its firewall and disk encryption. */
  readonly clientVersion?: string;
  readonly firewall?: 'true' | 'false';
  readonly diskEncryption?: 'true' | 'false';
}

const CASELESS = new Set<string>(['identity.email', 'identity.groups.email', 'os.name']);
const norm = (selector: string, v: string): string => (CASELESS.has(selector) ? v.toLowerCase() : v);

function single(device: Device, s: SingleSelector): string | undefined {
  switch (s) {
    case 'identity.email':
      return device.email;
    case 'identity.service_token_uuid':
      return device.serviceTokenUuid;
    case 'network':
      return device.network;
    case 'os.name':
      return device.os;
    case 'os.version':
      return device.osVersion;
    case 'client.version':
      return device.clientVersion;
    case 'posture.firewall':
      return device.firewall;
    case 'posture.disk_encryption':
      return device.diskEncryption;
  }
}

function multi(device: Device, s: MultiSelector): readonly string[] {
  return s === 'identity.saml_attributes' ? (device.samlAttributes ?? []) : (device.groups ?? []);
}

/** One comparison of the expression and its outcome, in the order evaluation met them. */
export interface Step {
  readonly text: string;
  readonly holds: boolean;
  /** The device's value(s) the comparison read, for the explanation. */
  readonly saw: string;
}

/** Whether `e` holds for `device`; `trace` collects each comparison evaluated (short-circuit, like the client). */
export function evaluate(e: MatchExpr, device: Device, trace: Step[] = []): boolean {
  switch (e.kind) {
    case 'or':
      return evaluate(e.left, device, trace) || evaluate(e.right, device, trace);
    case 'and':
      return evaluate(e.left, device, trace) && evaluate(e.right, device, trace);
    case 'not': {
      const before = trace.length;
      const holds = !evaluate(e.operand, device, trace);
      const only = trace.length === before + 1 ? trace[before]! : null;
      // One comparison under `not`: show it negated; a larger operand: its steps, then the negation.
      if (only && e.operand.kind !== 'and' && e.operand.kind !== 'or' && e.operand.kind !== 'not') trace[before] = { text: formatMatch(e), holds, saw: only.saw };
      else trace.push({ text: formatMatch(e), holds, saw: 'the negation of the steps above' });
      return holds;
    }
    case 'compare':
    case 'in': {
      const v = single(device, e.selector);
      const values = e.kind === 'compare' ? [e.value] : e.values;
      const found = v !== undefined && values.some((x) => norm(e.selector, x) === norm(e.selector, v));
      const holds = e.kind === 'compare' && e.op === '!=' ? !found : found;
      trace.push({ text: formatMatch(e), holds, saw: v === undefined ? `${e.selector} not given` : `${e.selector} is "${v}"` });
      return holds;
    }
    case 'any': {
      const vs = multi(device, e.selector);
      const set = new Set(e.values.map((x) => norm(e.selector, x)));
      const holds = vs.some((v) => set.has(norm(e.selector, v)));
      const what = e.selector === 'identity.saml_attributes' ? 'SAML attributes' : 'groups';
      trace.push({ text: formatMatch(e), holds, saw: vs.length === 0 ? `no ${what} given` : `${what} ${vs.map((v) => `"${v}"`).join(', ')}` });
      return holds;
    }
  }
}

/** What selection needs of a profile. The default profile has no selector. */
export interface Candidate {
  readonly name: string;
  readonly file?: string;
  readonly policyId: string;
  readonly precedence: number;
  readonly enabled: boolean;
  readonly match: string;
}

export interface Tried {
  readonly candidate: Candidate;
  /** `disabled`: skipped; `invalid`: its match does not parse (never applies). */
  readonly outcome: 'matched' | 'not-matched' | 'disabled' | 'invalid';
  readonly steps: readonly Step[];
}

export interface Selection {
  /** null: the default profile applies. */
  readonly chosen: Candidate | null;
  readonly tried: readonly Tried[];
}

/** Profiles in the order the client tries them: ascending precedence, then policy_id (a stable tie-break). */
export function precedenceOrder<C extends Pick<Candidate, 'precedence' | 'policyId'>>(cs: readonly C[]): C[] {
  return [...cs].sort((a, b) => a.precedence - b.precedence || (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0));
}

/** The profile a device gets, and every profile tried before it with why it did or did not apply. */
export function selectProfile(candidates: readonly Candidate[], device: Device): Selection {
  const tried: Tried[] = [];
  for (const c of precedenceOrder(candidates)) {
    if (!c.enabled) {
      tried.push({ candidate: c, outcome: 'disabled', steps: [] });
      continue;
    }
    const parsed = parseMatch(c.match);
    if (!parsed.ok) {
      tried.push({ candidate: c, outcome: 'invalid', steps: [] });
      continue;
    }
    const steps: Step[] = [];
    const holds = evaluate(parsed.expr, device, steps);
    tried.push({ candidate: c, outcome: holds ? 'matched' : 'not-matched', steps });
    if (holds) return { chosen: c, tried };
  }
  return { chosen: null, tried };
}
