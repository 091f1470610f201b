/**
 * Reading a contract file: JSON, checked against its schema under schema/, then
 * against what a schema cannot say. Every failure is a ContractError that names
 * the file and the JSON pointer (RFC 6901) of the value at fault, so an admin
 * who hand-edited a file knows where to look; nothing is changed by a reader.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { schemaValidator as validatorOf } from '../schemas.js';

/** One thing wrong in a contract file: where (a JSON pointer; '' is the whole document) and what. */
export interface ContractProblem {
  readonly pointer: string;
  readonly detail: string;
}

export class ContractError extends Error {
  constructor(
    /** The file as the reader was told it (a path, or a bare name). */
    readonly file: string,
    /** Every problem found, in document order as the checks met them; never empty. */
    readonly problems: readonly ContractProblem[],
  ) {
    super(`${file}: ${problems.length === 1 ? '' : 'invalid:\n  - '}${problems.map((p) => `${p.pointer === '' ? '(document)' : p.pointer}: ${p.detail}`).join('\n  - ')}`);
    this.name = 'ContractError';
  }

  /** The first problem's pointer. */
  get pointer(): string {
    return this.problems[0]?.pointer ?? '';
  }
}

/** Deterministic JSON: keys in insertion order as built by a serializer, 2-space indent, final newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The validator of schema/<name>: precompiled at build time when it can be (src/schemas.ts), else compiled once on first use. */
export function schemaValidator<T>(name: string): ValidateFunction<T> {
  return validatorOf(name) as ValidateFunction<T>;
}

/** RFC 6901: `~` and `/` inside a key are escaped. */
export function pointerOf(path: readonly (string | number)[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function describe(e: ErrorObject): ContractProblem {
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    return { pointer: `${e.instancePath}${pointerOf([key])}`, detail: 'unknown key: this file has no such property' };
  }
  if (e.keyword === 'required') {
    return { pointer: e.instancePath, detail: `missing key "${String((e.params as { missingProperty: string }).missingProperty)}"` };
  }
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = e.keyword === 'enum' ? (e.params as { allowedValues: unknown[] }).allowedValues : [(e.params as { allowedValue: unknown }).allowedValue];
    return { pointer: e.instancePath, detail: allowed.length === 1 ? `must be ${JSON.stringify(allowed[0])}` : `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` };
  }
  // A `not` says nothing by itself: the schema's description of it says what is wrong.
  const description = (e.parentSchema as { description?: unknown } | undefined)?.description;
  if (e.keyword === 'not' && typeof description === 'string') return { pointer: e.instancePath, detail: description };
  return { pointer: e.instancePath, detail: e.message ?? e.keyword };
}

/**
 * Parse `text` as JSON, validate it against schema/<schemaName>, then run `more`
 * (the checks a schema cannot express) on the typed value. Throws ContractError
 * with every problem found.
 */
export function parseContract<T>(file: string, text: string, schemaName: string, more: (value: T, problems: ContractProblem[]) => void = () => {}): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ContractError(file, [{ pointer: '', detail: `not JSON (${(err as Error).message}); was it truncated or edited by hand?` }]);
  }
  const validate = schemaValidator<T>(schemaName);
  if (!validate(value)) {
    // An `if` keyword error only repeats the `then` error that follows it.
    const problems = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describe);
    throw new ContractError(file, problems.length > 0 ? problems : [{ pointer: '', detail: 'does not match its schema' }]);
  }
  const problems: ContractProblem[] = [];
  more(value, problems);
  if (problems.length > 0) throw new ContractError(file, problems);
  return value;
}
