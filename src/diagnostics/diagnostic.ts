/**
 * Diagnostics are data: a code from the table, its arguments, and a position.
 * Rendering (text with a codeframe, or JSON) happens at the edge.
 */
import { CODES, type CodeArgs, type CodeName, type Severity } from './codes.js';

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
  /** The source line holds a secret: print the position, never the line (no codeframe). */
  readonly hideSource?: boolean;
}

export type DiagArgs = Readonly<Record<string, string | number>>;

/**
 * A diagnostic of code `name`. `args` must name exactly the `{placeholders}` of that
 * code's message (checked by tsc from the table; a missing or misspelled one is a
 * type error).
 */
export function diag<N extends CodeName>(
  name: N,
  args: CodeArgs<N>,
  at: Location & { readonly path?: readonly (string | number)[] } = { line: 0, col: 0 },
  related: Diagnostic['related'] = [],
): Diagnostic {
  const def = CODES[name];
  const message = def.message.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = (args as DiagArgs)[key];
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

/**
 * A profile's text with its line starts, indexed once and shared by every
 * diagnostic printed for it (splitting the whole file per message made
 * thousands of warnings quadratic). Lines end at "\n"; a "\r" before it is
 * not part of the line, as for the YAML reader's line numbers.
 */
export class SourceText {
  private starts: Uint32Array | number[] | null = null;

  constructor(readonly text: string) {}

  private index(): Uint32Array | number[] {
    if (this.starts === null) {
      const starts: number[] = [0];
      for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.starts = this.text.length < 2 ** 32 ? Uint32Array.from(starts) : starts;
    }
    return this.starts;
  }

  /** Line `n` (1-based) without its line break, or undefined past the end. */
  line(n: number): string | undefined {
    const starts = this.index();
    if (n < 1 || n > starts.length) return undefined;
    const start = starts[n - 1]!;
    let end = n < starts.length ? starts[n]! - 1 : this.text.length;
    if (end > start && this.text.charCodeAt(end - 1) === 13 && n < starts.length) end--;
    return this.text.slice(start, end);
  }
}

/** The index of the last text formatted from a plain string, so repeated formatText(d, text) calls index it once. */
let lastSource: SourceText | null = null;
function sourceTextOf(text: string): SourceText {
  if (lastSource === null || lastSource.text !== text) lastSource = new SourceText(text);
  return lastSource;
}

/** The most display columns of a source line a codeframe echoes; longer lines are cut around the column, with "…". */
export const CODEFRAME_MAX_COLUMNS = 200;
/** Of those, how many at most come before the column. */
const CODEFRAME_BEFORE = 60;
const ELLIPSIS = '…';

function displayed(text: string): string {
  return escapeForDisplay(text.replace(/\t/g, ' '));
}

/**
 * The echoed line and where the caret starts, both bounded: at most
 * CODEFRAME_MAX_COLUMNS columns of the line, about the column `col` (1-based).
 * Work is bounded too (never more than that many source characters are escaped).
 */
function codeframeLine(line: string, col: number): { shown: string; caretAt: number; visibleEnd: number } {
  const at = Math.min(Math.max(0, col - 1), line.length);
  if (line.length <= CODEFRAME_MAX_COLUMNS) {
    const shown = displayed(line);
    if (shown.length <= CODEFRAME_MAX_COLUMNS) return { shown, caretAt: displayed(line.slice(0, at)).length, visibleEnd: shown.length };
  }
  const width = (c: string): number => displayed(c).length;
  // Back from the column, then forward, each character counted at its escaped width.
  let start = at;
  let used = 0;
  while (start > 0) {
    const w = width(line[start - 1]!);
    if (used + w > CODEFRAME_BEFORE) break;
    used += w;
    start--;
  }
  if (start > 0 && start < line.length && /[\udc00-\udfff]/.test(line[start]!)) start++; // never split a surrogate pair
  let end = at;
  let total = used;
  while (end < line.length) {
    const w = width(line[end]!);
    if (total + w > CODEFRAME_MAX_COLUMNS) break;
    total += w;
    end++;
  }
  if (end < line.length && end > start && /[\ud800-\udbff]/.test(line[end - 1]!)) end--;
  const lead = start > 0 ? ELLIPSIS : '';
  const trail = end < line.length ? ELLIPSIS : '';
  const body = `${lead}${displayed(line.slice(start, end))}`;
  return { shown: `${body}${trail}`, caretAt: lead.length + displayed(line.slice(start, at)).length, visibleEnd: body.length };
}

/**
 * `file:line:col: error WARPC0012: message`, then the source line and a caret.
 * Pass a SourceText when formatting several diagnostics of one file, so it is indexed once.
 */
export function formatText(d: Diagnostic, source?: string | SourceText): string {
  const where = d.line > 0 ? `${d.file ?? '<profile>'}:${d.line}:${d.col}` : (d.file ?? '<profile>');
  const lines = [`${where}: ${d.severity} ${d.code}: ${d.message}`];
  if (source !== undefined && d.line > 0 && d.hideSource !== true) {
    const srcLine = (typeof source === 'string' ? sourceTextOf(source) : source).line(d.line);
    if (srcLine !== undefined) {
      const { shown, caretAt, visibleEnd } = codeframeLine(srcLine, d.col);
      const gutter = `${d.line} | `;
      // The caret stays under the value, and never runs past what is shown (nor under an ellipsis).
      const span = Math.max(1, Math.min(d.length, visibleEnd - caretAt));
      lines.push(`${gutter}${shown}`);
      lines.push(`${' '.repeat(gutter.length - 2)}| ${' '.repeat(caretAt)}${'^'.repeat(span)}`);
    }
  }
  for (const r of d.related) {
    lines.push(`${d.file ?? '<profile>'}:${r.line}:${r.col}: note: ${r.message}`);
  }
  return lines.join('\n');
}

/** Every diagnostic as text, one after another, the source indexed once. */
export function formatAllText(diags: readonly Diagnostic[], source?: string | SourceText): string[] {
  const src = typeof source === 'string' ? sourceTextOf(source) : source;
  return diags.map((d) => formatText(d, src));
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
