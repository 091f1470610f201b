/**
 * A PowerShell tokenizer for the subset warpc emits, written from the language
 * specification (about_Quoting_Rules, about_Parsing), not from warpc's quoting
 * function: single-quoted strings may open and close with any of ' ‘ ’ ‚ ‛ and
 * two consecutive quote characters stand for one (the second); an
 * unterminated string is an error. parseValue resolves one literal value
 * (strings, numbers, @() arrays, ('text' + [char]0x… ) concatenations);
 * psrun.ts runs whole scripts.
 */
const SQ = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);
const DQ = new Set(['"', '\u201c', '\u201d', '\u201e']);

export type Tok =
  | { t: 'str'; v: string }
  | { t: 'xstr'; v: string }
  | { t: 'var'; v: string }
  | { t: 'param'; v: string }
  | { t: 'num'; v: string }
  | { t: 'word'; v: string }
  | { t: 'punct'; v: string }
  | { t: 'nl' };

export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '\n') {
      out.push({ t: 'nl' });
      i++;
    } else if (c === '`' && src[i + 1] === '\n') {
      i += 2; // line continuation
    } else if (c === '<' && src[i + 1] === '#') {
      const end = src.indexOf('#>', i + 2);
      if (end < 0) throw new Error('ps: unterminated block comment');
      i = end + 2;
    } else if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
    } else if (SQ.has(c)) {
      i++;
      let s = '';
      for (;;) {
        if (i >= n) throw new Error('ps: unterminated single-quoted string');
        const d = src[i]!;
        if (SQ.has(d)) {
          if (i + 1 < n && SQ.has(src[i + 1]!)) {
            s += src[i + 1];
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += d;
        i++;
      }
      out.push({ t: 'str', v: s });
    } else if (DQ.has(c)) {
      i++;
      let s = '';
      for (;;) {
        if (i >= n) throw new Error('ps: unterminated double-quoted string');
        const d = src[i]!;
        if (d === '`') {
          s += src[i + 1] ?? '';
          i += 2;
          continue;
        }
        if (DQ.has(d)) {
          if (i + 1 < n && DQ.has(src[i + 1]!)) {
            s += src[i + 1];
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += d;
        i++;
      }
      out.push({ t: 'xstr', v: s });
    } else if (c === '$') {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_:]/.test(src[j]!)) j++;
      if (j === i + 1) throw new Error(`ps: bare $ at ${i}`);
      out.push({ t: 'var', v: src.slice(i + 1, j).replace(/:$/, '') });
      i = j;
    } else if (c === '-' && /[A-Za-z]/.test(src[i + 1] ?? '')) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_:]/.test(src[j]!)) j++;
      out.push({ t: 'param', v: src.slice(i + 1, j) });
      i = j;
    } else if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
      let j = i + 2;
      while (j < n && /[0-9A-Fa-f]/.test(src[j]!)) j++;
      if (j === i + 2) throw new Error(`ps: bad hex number at ${i}`);
      out.push({ t: 'num', v: String(parseInt(src.slice(i + 2, j), 16)) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i;
      while (j < n && /[0-9.]/.test(src[j]!)) j++;
      out.push({ t: 'num', v: src.slice(i, j) });
      i = j;
    } else if (c === '@' && (src[i + 1] === '(' || src[i + 1] === '{')) {
      out.push({ t: 'punct', v: `@${src[i + 1]!}` });
      i += 2;
    } else if (c === '+' && src[i + 1] === '=') {
      out.push({ t: 'punct', v: '+=' });
      i += 2;
    } else if ('(){}[],;|=&.!+'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_.\-\\]/.test(src[j]!)) j++;
      out.push({ t: 'word', v: src.slice(i, j) });
      i = j;
    } else {
      throw new Error(`ps: unexpected character ${JSON.stringify(c)} at ${i}`);
    }
  }
  return out;
}

/** A value the reader could resolve statically, or RUNTIME for one only known when the script runs. */
export type Value = string | Value[] | typeof RUNTIME;
export const RUNTIME = Symbol('runtime');

/** Parse `@( … )` starting at tokens[i] (the '@(' token); returns the array and the index after ')'. */
function parseArray(toks: Tok[], i: number, vars: Map<string, Value>): [Value, number] {
  const items: Value[] = [];
  const open = i;
  i++;
  let expectItem = true;
  let unary = false;
  for (;;) {
    const t = toks[i];
    if (!t) throw new Error('ps: unterminated @(');
    if (t.t === 'punct' && t.v === ')') {
      if (unary) throw new Error('ps: dangling comma');
      return [items, i + 1];
    }
    if (t.t === 'nl') {
      expectItem = true;
      i++;
      continue;
    }
    if (t.t === 'punct' && t.v === ',') {
      if (expectItem) unary = true;
      expectItem = true;
      i++;
      continue;
    }
    // Anything but a list of values (a pipeline, an expression): only known at run time.
    if (!expectItem || (t.t === 'punct' && !['@(', '(', '{'].includes(t.v))) return [RUNTIME, skipGroup(toks, open)];
    const [v, next] = parseValue(toks, i, vars);
    // @( @(…) ) flattens; the unary comma in @( ,@(…) ) keeps the inner array whole.
    if (Array.isArray(v) && !unary) items.push(...v);
    else items.push(v);
    unary = false;
    expectItem = false;
    i = next;
  }
}

/** The index after the bracket that closes the one at tokens[i]. */
function skipGroup(toks: Tok[], i: number): number {
  let depth = 0;
  for (let j = i; j < toks.length; j++) {
    const u = toks[j]!;
    if (u.t === 'punct' && (u.v === '(' || u.v === '{' || u.v === '@(' || u.v === '@{')) depth++;
    if (u.t === 'punct' && (u.v === ')' || u.v === '}')) depth--;
    if (depth === 0) return j + 1;
  }
  throw new Error('ps: unbalanced brackets');
}

/**
 * `( 'text' + [char]0x0142 + 'text' … )` starting at tokens[i] (the '('): the
 * string it evaluates to, or null for any other expression. The first operand
 * must be a string: PowerShell's `+` then concatenates, converting a [char] to
 * its one-character string (a [char] first would add numbers instead).
 */
function parseConcat(toks: Tok[], i: number): [string, number] | null {
  let j = i + 1;
  let s = '';
  for (let k = 0; ; k++) {
    const t = toks[j];
    if (t?.t === 'str') {
      s += t.v;
      j++;
    } else if (k > 0 && t?.t === 'punct' && t.v === '[') {
      const w = toks[j + 1];
      const close = toks[j + 2];
      const num = toks[j + 3];
      if (w?.t !== 'word' || w.v.toLowerCase() !== 'char' || close?.t !== 'punct' || close.v !== ']' || num?.t !== 'num' || !/^[0-9]+$/.test(num.v)) return null;
      const code = Number(num.v);
      if (code > 0xffff) return null;
      s += String.fromCharCode(code);
      j += 4;
    } else {
      return null;
    }
    const op = toks[j];
    if (op?.t === 'punct' && op.v === ')') return [s, j + 1];
    if (op?.t !== 'punct' || op.v !== '+') return null;
    j++;
  }
}

/** One argument value at tokens[i]. */
export function parseValue(toks: Tok[], i: number, vars: Map<string, Value>): [Value, number] {
  const t = toks[i];
  if (!t) throw new Error('ps: missing value');
  if (t.t === 'str' || t.t === 'num' || t.t === 'word') return [t.v, i + 1];
  if (t.t === 'var') {
    if (t.v === 'true' || t.v === 'false' || t.v === 'null') return [t.v, i + 1];
    return [vars.has(t.v) ? vars.get(t.v)! : RUNTIME, i + 1];
  }
  if (t.t === 'punct' && t.v === '@(') return parseArray(toks, i, vars);
  if (t.t === 'punct' && t.v === '(') {
    const sum = parseConcat(toks, i);
    if (sum) return sum;
  }
  if (t.t === 'punct' && (t.v === '(' || t.v === '{')) {
    // A subexpression or script block: its value is only known at run time.
    return [RUNTIME, skipGroup(toks, i)];
  }
  if (t.t === 'xstr') return [/\$/.test(t.v) ? RUNTIME : t.v, i + 1];
  throw new Error(`ps: unexpected token ${JSON.stringify(t)}`);
}
