/** A `match` parse error as a coded diagnostic, placed at its column inside the expression's own position in a file. */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { MULTI_SELECTORS, SINGLE_SELECTORS, type MatchError } from './parse.js';

/**
 * `at` is where the expression's first character is (1-based line and column; for a JSON or YAML
 * string, the character after the opening quote). The error's offset is added to the column.
 */
export function matchDiagnostic(e: MatchError, at: { line: number; col: number; path?: readonly (string | number)[] } = { line: 1, col: 1 }): Diagnostic {
  const loc = { line: at.line, col: at.col + e.offset, length: e.length, path: at.path ?? [] };
  switch (e.kind) {
    case 'syntax':
      return diag('MatchSyntax', { detail: `${e.detail} (column ${e.offset + 1} of the expression)` }, loc);
    case 'unknown-selector':
      return diag('MatchUnknownSelector', { selector: e.selector, known: [...SINGLE_SELECTORS, ...MULTI_SELECTORS].join(', ') }, loc);
    case 'multi-valued':
      return diag('MatchMultiValued', { selector: e.selector }, loc);
    case 'single-valued':
      return diag('MatchSingleValued', { selector: e.selector }, loc);
  }
}
