/** Exit codes, the same for every command. */
export const EXIT = {
  /** Success; warnings allowed. */
  ok: 0,
  /** The profile (or compiled plan) has errors, or the operation failed. */
  failure: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** `warpc diff --exit-code`: the two sides differ (like `git diff --exit-code`'s 1, moved past warpc's own codes). */
  differences: 3,
} as const;

/** Thrown by commands to end with a given exit code after printing. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}
