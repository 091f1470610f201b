/**
 * The `match` language of Cloudflare device profiles (cloudflare-formats.md §2): a lexer and a
 * recursive-descent parser to an AST, with errors that point at the column inside the expression.
 *
 * Decides: what a `match` string means (its AST) and whether it is well formed.
 * Must not touch: profiles, files, the CLI — callers place the errors in their own file positions.
 *
 * Grammar (operator words also accept their symbols `&&`, `||`, `!`):
 *   expr    := or
 *   or      := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | primary
 *   primary := "(" expr ")" | "any" "(" selector "[*]" ("in" set | "==" string) ")" | selector ("==" string | "!=" string | "in" set)
 *   set     := "{" string* "}"           (space-separated, as the dashboard writes them)
 *   string  := '"' (char | '\"' | '\\')* '"'
 */

/** Selectors a device has one value for. `client.version` and `posture.*` are warpc's own: what a device reports to `warpc orchestrator` (src/contract/orchestrator.ts PostureReport). */
export const SINGLE_SELECTORS = ['identity.email', 'identity.service_token_uuid', 'network', 'os.name', 'os.version', 'client.version', 'posture.firewall', 'posture.disk_encryption'] as const;
/** Selectors a device has several values for: only `any(x[*] in {…})` reads them. */
export const MULTI_SELECTORS = ['identity.groups.id', 'identity.groups.name', 'identity.groups.email', 'identity.saml_attributes'] as const;
export type SingleSelector = (typeof SINGLE_SELECTORS)[number];
export type MultiSelector = (typeof MULTI_SELECTORS)[number];
export type Selector = SingleSelector | MultiSelector;

/** A span of the expression text: 0-based offset and length. */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

export type MatchExpr =
  | { readonly kind: 'or' | 'and'; readonly left: MatchExpr; readonly right: MatchExpr; readonly span: Span }
  | { readonly kind: 'not'; readonly operand: MatchExpr; readonly span: Span }
  | { readonly kind: 'compare'; readonly selector: SingleSelector; readonly op: '==' | '!='; readonly value: string; readonly span: Span }
  | { readonly kind: 'in'; readonly selector: SingleSelector; readonly values: readonly string[]; readonly span: Span }
  | { readonly kind: 'any'; readonly selector: MultiSelector; readonly values: readonly string[]; readonly span: Span };

/** Why an expression does not parse; `offset` is 0-based in the expression, so column = offset + 1. */
export type MatchError =
  | { readonly kind: 'syntax'; readonly detail: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'unknown-selector'; readonly selector: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'multi-valued'; readonly selector: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'single-valued'; readonly selector: string; readonly offset: number; readonly length: number };

type Tok =
  | { t: 'ident'; v: string; at: number; len: number }
  | { t: 'string'; v: string; at: number; len: number }
  | { t: 'op'; v: '==' | '!=' | '(' | ')' | '{' | '}' | '[*]' | '&&' | '||' | '!'; at: number; len: number }
  | { t: 'end'; at: number; len: number };

class ParseFailure extends Error {
  constructor(readonly error: MatchError) {
    super(error.kind);
  }
}

const fail = (detail: string, at: number, len = 1): never => {
  throw new ParseFailure({ kind: 'syntax', detail, offset: at, length: Math.max(1, len) });
};

function describeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  return cp < 0x20 || cp === 0x7f ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `"${c}"`;
}

function lex(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      toks.push({ t: 'op', v: two, at: i, len: 2 });
      i += 2;
      continue;
    }
    if (text.startsWith('[*]', i)) {
      toks.push({ t: 'op', v: '[*]', at: i, len: 3 });
      i += 3;
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === '!') {
      toks.push({ t: 'op', v: c, at: i, len: 1 });
      i++;
      continue;
    }
    if (c === '"') {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail('this string is not closed: add a "', i, text.length - i);
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = text[j + 1];
          if (e !== '"' && e !== '\\') fail(`unknown escape \\${e ?? ''} in a string (only \\" and \\\\ are allowed)`, j, 2);
          v += e;
          j += 2;
          continue;
        }
        if (d.charCodeAt(0) < 0x20 || d.charCodeAt(0) === 0x7f) fail(`control character ${describeChar(d)} in a string`, j);
        v += d;
        j++;
      }
      toks.push({ t: 'string', v, at: i, len: j + 1 - i });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j]!)) j++;
      toks.push({ t: 'ident', v: text.slice(i, j), at: i, len: j - i });
      i = j;
      continue;
    }
    if (c === '[') fail('only "[*]" may follow a multi-valued selector', i);
    if (c === '=') fail('"=" is not an operator: write "=="', i);
    fail(`unexpected character ${describeChar(c)}`, i);
  }
  toks.push({ t: 'end', at: text.length, len: 1 });
  return toks;
}

const KNOWN = new Set<string>([...SINGLE_SELECTORS, ...MULTI_SELECTORS]);
const isMulti = (s: string): s is MultiSelector => (MULTI_SELECTORS as readonly string[]).includes(s);

/** Parse a `match` expression. */
export function parseMatch(text: string): { ok: true; expr: MatchExpr } | { ok: false; error: MatchError } {
  let toks: Tok[];
  try {
    toks = lex(text);
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: e.error };
    throw e;
  }
  let k = 0;
  const peek = (): Tok => toks[k]!;
  const next = (): Tok => toks[k++]!;
  const isWord = (tok: Tok, w: string): boolean => tok.t === 'ident' && tok.v === w;
  const isOp = (tok: Tok, v: string): boolean => tok.t === 'op' && tok.v === v;
  const what = (tok: Tok): string => (tok.t === 'end' ? 'the end of the expression' : tok.t === 'string' ? `the string ${text.slice(tok.at, tok.at + tok.len)}` : `"${tok.t === 'ident' ? tok.v : tok.v}"`);
  const expect = (v: string, why: string): Tok => {
    const tok = next();
    if (!isOp(tok, v)) fail(`expected "${v}" ${why}, found ${what(tok)}`, tok.at, tok.len);
    return tok;
  };
  const span = (from: number, toTok: Tok): Span => ({ offset: from, length: toTok.at + toTok.len - from });

  const selector = (): { name: string; tok: Tok } => {
    const tok = next();
    if (tok.t !== 'ident' || ['and', 'or', 'not', 'in', 'any'].includes(tok.v)) fail(`expected a selector such as identity.email or os.name, found ${what(tok)}`, tok.at, tok.len);
    if (!KNOWN.has((tok as { v: string }).v)) {
      throw new ParseFailure({ kind: 'unknown-selector', selector: (tok as { v: string }).v, offset: tok.at, length: tok.len });
    }
    return { name: (tok as { v: string }).v, tok };
  };
  const str = (): Tok & { t: 'string' } => {
    const tok = next();
    if (tok.t !== 'string') fail(`expected a quoted string, found ${what(tok)}`, tok.at, tok.len);
    return tok as Tok & { t: 'string' };
  };
  const set = (): { values: string[]; last: Tok } => {
    const open = next();
    if (!isOp(open, '{')) fail(`expected a set such as {"a" "b"} after "in", found ${what(open)}`, open.at, open.len);
    const values: string[] = [];
    for (;;) {
      const tok = peek();
      if (isOp(tok, '}')) {
        next();
        if (values.length === 0) fail('an empty set matches nothing: list at least one value', open.at, tok.at + 1 - open.at);
        return { values, last: tok };
      }
      if (tok.t === 'end') fail('this set is not closed: add a "}"', open.at, open.len);
      values.push(str().v);
    }
  };

  const primary = (): MatchExpr => {
    const tok = peek();
    if (isOp(tok, '(')) {
      next();
      const e = or();
      const close = peek();
      if (!isOp(close, ')')) fail(`expected ")" to close the "(" at column ${tok.at + 1}, found ${what(close)}`, close.at, close.len);
      next();
      return e;
    }
    if (isWord(tok, 'any')) {
      next();
      expect('(', 'after "any"');
      const sel = selector();
      if (!isMulti(sel.name)) throw new ParseFailure({ kind: 'single-valued', selector: sel.name, offset: sel.tok.at, length: sel.tok.len });
      expect('[*]', `after ${sel.name} inside any(…)`);
      const op = next();
      let values: string[];
      if (isWord(op, 'in')) values = set().values;
      else if (isOp(op, '==')) values = [str().v];
      else return fail(`expected "in" or "==" inside any(…), found ${what(op)}`, op.at, op.len);
      const close = expect(')', 'to close any(…)');
      return { kind: 'any', selector: sel.name, values, span: span(tok.at, close) };
    }
    const sel = selector();
    const op = next();
    if (isMulti(sel.name)) throw new ParseFailure({ kind: 'multi-valued', selector: sel.name, offset: sel.tok.at, length: sel.tok.len });
    const single = sel.name as SingleSelector;
    if (isOp(op, '==') || isOp(op, '!=')) {
      const s = str();
      return { kind: 'compare', selector: single, op: (op as { v: '==' | '!=' }).v, value: s.v, span: span(tok.at, s) };
    }
    if (isWord(op, 'in')) {
      const { values, last } = set();
      return { kind: 'in', selector: single, values, span: span(tok.at, last) };
    }
    return fail(`expected "==", "!=" or "in" after ${sel.name}, found ${what(op)}`, op.at, op.len);
  };
  const unary = (): MatchExpr => {
    const tok = peek();
    if (isWord(tok, 'not') || isOp(tok, '!')) {
      next();
      const operand = unary();
      return { kind: 'not', operand, span: { offset: tok.at, length: operand.span.offset + operand.span.length - tok.at } };
    }
    return primary();
  };
  const binary = (kind: 'and' | 'or', word: string, sym: string, sub: () => MatchExpr) => (): MatchExpr => {
    let left = sub();
    while (isWord(peek(), word) || isOp(peek(), sym)) {
      next();
      const right = sub();
      left = { kind, left, right, span: { offset: left.span.offset, length: right.span.offset + right.span.length - left.span.offset } };
    }
    return left;
  };
  const and = binary('and', 'and', '&&', unary);
  const or = binary('or', 'or', '||', and);

  try {
    if (peek().t === 'end') fail('the expression is empty', 0, Math.max(1, text.length));
    const expr = or();
    const rest = peek();
    if (rest.t !== 'end') fail(`expected "and", "or" or the end of the expression, found ${what(rest)}`, rest.at, rest.len);
    return { ok: true, expr };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: e.error };
    throw e;
  }
}

/** The canonical text of an expression (spacing normalised, every string quoted the same way). */
export function formatMatch(e: MatchExpr, parent: 'or' | 'and' | 'not' | null = null): string {
  const q = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  switch (e.kind) {
    case 'compare':
      return `${e.selector} ${e.op} ${q(e.value)}`;
    case 'in':
      return `${e.selector} in {${e.values.map(q).join(' ')}}`;
    case 'any':
      return `any(${e.selector}[*] in {${e.values.map(q).join(' ')}})`;
    case 'not':
      return `not ${formatMatch(e.operand, 'not')}`;
    default: {
      const text = `${formatMatch(e.left, e.kind)} ${e.kind} ${formatMatch(e.right, e.kind)}`;
      const needs = parent === 'not' || (parent === 'and' && e.kind === 'or');
      return needs ? `(${text})` : text;
    }
  }
}
