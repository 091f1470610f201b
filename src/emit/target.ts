/**
 * The contract between the core and a target (one OS).
 *
 * A target declares what it can express (`capabilities`); the core refuses a
 * plan that needs something a target lacks, with a coded diagnostic, before
 * anything is rendered. `emit` is pure: Plan in, files out.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Plan } from '../plan/types.js';

export interface Artifact {
  /** Relative to the target's output folder, `/`-separated. */
  readonly path: string;
  readonly text: string;
  /** 0o755 for scripts an admin runs; 0o644 otherwise. */
  readonly mode: number;
}

export interface TargetCapabilities {
  /** How Split Tunnel host entries are enforced: per DNS answer, once at tunnel start, or not at all. */
  readonly hostRules: 'dns-answer' | 'tunnel-start' | 'none';
  /** Policy routing (a rule that skips the tunnel for the client's own marked packets). */
  readonly policyRouting: boolean;
  readonly firewall: boolean;
  readonly ipv6: boolean;
}

export interface EmitContext {
  /** warpc's version, for headers. */
  readonly compilerVersion: string;
}

export interface TargetModule {
  readonly name: string;
  readonly description: string;
  readonly capabilities: TargetCapabilities;
  /** Features of the plan this target cannot express: errors refuse, warnings inform. */
  check(plan: Plan): Diagnostic[];
  emit(plan: Plan, ctx: EmitContext): Artifact[];
}
