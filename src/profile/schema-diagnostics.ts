/**
 * ajv's errors on the profile schema as coded diagnostics with positions: `required` at
 * the parent, `additionalProperties` at the key (with a "did you mean"), the nearest
 * existing ancestor otherwise. Wording only; what is valid is the schema's business.
 */
import type { ErrorObject } from 'ajv';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { describePath } from './checker.js';
import type { LoadedDocument } from './load.js';

/** A JSON-pointer instancePath (`/split_tunnel/entries/0`) to a path array. */
function toPath(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'a mapping',
  array: 'a list',
  boolean: 'true or false',
};

export function schemaDiagnostics(errors: readonly ErrorObject[], doc: LoadedDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const path = toPath(e.instancePath);
    const what = describePath(path);
    switch (e.keyword) {
      case 'required': {
        const property = (e.params as { missingProperty: string }).missingProperty;
        out.push(diag('SchemaRequired', { property }, { ...doc.locate(path), path }));
        break;
      }
      case 'additionalProperties': {
        const property = (e.params as { additionalProperty: string }).additionalProperty;
        const keyPath = [...path, property];
        const known = Object.keys(knownProperties(e.parentSchema));
        const near = closest(property, known);
        const hint = near ? ` (did you mean "${near}"?)` : known.length ? `; expected one of: ${known.join(', ')}` : '';
        out.push(diag('SchemaUnknownProperty', { property, hint }, { ...doc.locate(keyPath, { key: true }), path: keyPath }));
        break;
      }
      case 'type': {
        const expected = String((e.params as { type: string }).type)
          .split(',')
          .map((t) => TYPE_WORDS[t] ?? t)
          .join(' or ');
        out.push(diag('SchemaType', { what, expected }, { ...doc.locate(path), path }));
        break;
      }
      case 'enum': {
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String).join(', ');
        out.push(diag('SchemaEnum', { what, allowed }, { ...doc.locate(path), path }));
        break;
      }
      default:
        out.push(diag('SchemaConstraint', { what, constraint: e.message ?? e.keyword }, { ...doc.locate(path), path }));
    }
  }
  return out;
}

function knownProperties(parentSchema: unknown): Record<string, unknown> {
  return ((parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
}

/** A known name within edit distance 2, for "did you mean". */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}
