/**
 * Diagnostics are data: a code from the table, its arguments, and a position.
 * Rendering (text with a codeframe, or JSON) happens at the edge.
 */
import { CODES, type CodeName, type Severity } from './codes.js';

export interface Location {
  readonly line: number; // 1-based; 0 = no position (a default, or the whole file)
  readonly col: number; // 1-based
  /** Length of the underlined span on the first line, at least 1. */
  readonly length?: number;
}

export interface Diagnostic {
  readonly code: string;
  readonly name: CodeName;
  readonly severity: Severity;
  readonly message: string;
  readonly file?: string;
  readonly line: number;
  readonly col: number;
  readonly length: number;
  /** JSON path into the profile, when the problem is about a value. */
  readonly path: readonly (string | number)[];
  /** Other places involved (a duplicate's first occurrence, say). */
  readonly related: readonly { readonly message: string; readonly line: number; readonly col: number }[];
}

export type DiagArgs = Readonly<Record<string, string | number>>;

export function diag(
  name: CodeName,
  args: DiagArgs,
  at: Location & { readonly path?: readonly (string | number)[] } = { line: 0, col: 0 },
  related: Diagnostic['related'] = [],
): Diagnostic {
  const def = CODES[name];
  const message = def.message.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = args[key];
    if (v === undefined) throw new Error(`diagnostic ${name}: missing argument {${key}}`);
    return escapeForDisplay(String(v));
  });
  return {
    code: def.code,
    name,
    severity: def.severity,
    message,
    line: at.line,
    col: at.col,
    length: Math.max(1, at.length ?? 1),
    path: at.path ?? [],
    related,
  };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Order diagnostics by position, then code, for stable output. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => a.line - b.line || a.col - b.col || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/**
 * Make user text safe to print on a terminal: control characters (C0, DEL, C1,
 * and the Unicode line and bidi controls) become visible escapes.
 */
export function escapeForDisplay(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const cp = c.codePointAt(0)!;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** `file:line:col: error WARPC0012: message`, then the source line and a caret. */
export function formatText(d: Diagnostic, source?: string): string {
  const where = d.line > 0 ? `${d.file ?? '<profile>'}:${d.line}:${d.col}` : (d.file ?? '<profile>');
  const lines = [`${where}: ${d.severity} ${d.code}: ${d.message}`];
  if (source !== undefined && d.line > 0) {
    const srcLine = source.split(/\r?\n/)[d.line - 1];
    if (srcLine !== undefined) {
      const shown = escapeForDisplay(srcLine.replace(/\t/g, ' '));
      const gutter = `${d.line} | `;
      // Column in the escaped line: escape the prefix too, so the caret stays under the value.
      const prefix = escapeForDisplay(srcLine.slice(0, d.col - 1).replace(/\t/g, ' '));
      const span = Math.max(1, Math.min(d.length, shown.length - prefix.length));
      lines.push(`${gutter}${shown}`);
      lines.push(`${' '.repeat(gutter.length - 2)}| ${' '.repeat(prefix.length)}${'^'.repeat(span)}`);
    }
  }
  for (const r of d.related) {
    lines.push(`${d.file ?? '<profile>'}:${r.line}:${r.col}: note: ${r.message}`);
  }
  return lines.join('\n');
}

/** The JSON form: the same facts as objects. */
export function toJSON(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file ?? null,
    line: d.line,
    column: d.col,
    length: d.length,
    path: d.path,
    related: d.related.map((r) => ({ message: r.message, line: r.line, column: r.col })),
  };
}

export function withFile(diags: readonly Diagnostic[], file: string): Diagnostic[] {
  return diags.map((d) => ({ ...d, file }));
}
