/**
 * What a target module owns of the profile: its options under `targets.<name>` (the
 * schema fragment, the defaults, and the checks the schema cannot express), declared in
 * targets/<os>/options.ts and handed to the validator by the registry row. This module
 * is the contract between the two; it decides nothing about any one target, and must
 * not import targets/.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { CodeArgs, CodeName } from '../diagnostics/codes.js';
import type { FromSchema } from './schema-type.js';
import type { Pos } from './types.js';

/** A target's option checks report through this, with paths relative to `targets.<name>`. */
export interface OptionsChecker {
  /** Where `path` (e.g. ['table']) was written, or its nearest written ancestor. */
  at(path: readonly (string | number)[]): Pos & { length: number };
  /** Report diagnostic `name` at `path`. */
  report<N extends CodeName>(name: N, args: CodeArgs<N>, path: readonly (string | number)[]): void;
}

export interface TargetOptions<S extends object = object, V = unknown> {
  /** The key under `targets:` (the target's name). */
  readonly name: string;
  /** The JSON-schema fragment for `targets.<name>`, written `as const`: the raw type is derived from it. */
  readonly schema: S;
  /** The options' values, defaults filled in, checked; the profile carries it as `targets.<name>`. */
  validate(raw: FromSchema<S> | undefined, check: OptionsChecker): V;
}

/** The validated options type of a TargetOptions (for `TargetOptionsByName`, src/profile/types.ts). */
export type OptionsOf<T> = T extends TargetOptions<object, infer V> ? V : never;

/** Declares a target's options, tying the raw type to its schema fragment. */
export function defineTargetOptions<const S extends object, V>(options: TargetOptions<S, V>): TargetOptions<S, V> {
  return options;
}

/**
 * A target's validated options out of a profile's (or plan's) `targets`, typed by its
 * declaration: for a target whose row is not in TargetOptionsByName (a test's made-up one).
 */
export function optionsIn<V>(targets: object, options: TargetOptions<object, V>): V {
  return (targets as Readonly<Record<string, V>>)[options.name]!;
}

/** Interface names: what Linux accepts (≤15 bytes, no '/', no whitespace) narrowed to a safe set. Linux and Windows use it. */
export const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/** The shared check of a tunnel interface name (InvalidName). */
export function checkInterfaceName(check: OptionsChecker, value: string, path: readonly (string | number)[]): void {
  if (!IFNAME.test(value)) check.report('InvalidName', { value, what: 'interface name', reason: 'at most 15 letters, digits, "_", "." or "-", starting with a letter or digit' }, path);
}

/** Every target's options in registry order: values keyed by target name, diagnostics with positions. */
export function validateTargetOptions(
  all: readonly TargetOptions[],
  raw: Readonly<Record<string, unknown>> | undefined,
  locate: (path: (string | number)[]) => Pos & { length: number },
): { values: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const values: Record<string, unknown> = {};
  for (const o of all) {
    const at = (path: readonly (string | number)[]): Pos & { length: number } => locate(['targets', o.name, ...path]);
    const check: OptionsChecker = {
      at,
      report: (name, args, path) => {
        diagnostics.push(diag(name, args, at(path)));
      },
    };
    values[o.name] = o.validate(raw?.[o.name] as never, check);
  }
  return { values, diagnostics };
}
