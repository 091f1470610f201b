/** The agent's refusals: one coded error (WARPC0230–0249, WARPC0265–0274, src/diagnostics/codes.ts) each, rendered as `WARPCnnnn: message`. */
import { CODES, type CodeArgs, type CodeName } from '../diagnostics/codes.js';
import { diag } from '../diagnostics/diagnostic.js';

export class AgentError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** An AgentError of a code from the table, its message filled from `args`. */
export function agentError<N extends CodeName>(name: N, args: CodeArgs<N>): AgentError {
  const d = diag(name, args);
  return new AgentError(d.code, d.message);
}

/** The same text for a warning that is logged, not thrown. */
export function agentMessage<N extends CodeName>(name: N, args: CodeArgs<N>): string {
  const d = diag(name, args);
  return `${d.code}: ${d.message}`;
}

/** Is `err` the AgentError of one of these codes (by name, not by number)? */
export function isAgentError(err: unknown, ...names: CodeName[]): boolean {
  return err instanceof AgentError && names.some((n) => CODES[n].code === err.code);
}
