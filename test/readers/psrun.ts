/**
 * Runs the PowerShell subset warpc emits against a modelled Windows state
 * (winstate.ts): statements, if/else, foreach, pipelines, assignments and `+=`,
 * @() and @{} literals (a hashtable: $t[key] = v, .ContainsKey(key)), member access, casts, -not/-and/-or and the
 * comparison operators, with Set-StrictMode -Version 3 semantics (an unknown
 * variable or property is an error) and $ErrorActionPreference = 'Stop' (any
 * error ends the script, unless the command says -ErrorAction
 * SilentlyContinue). The cmdlets are modelled from their documentation.
 * Written from the language, not from warpc's templates: anything outside the
 * subset is an error, never a guess.
 */
import { routePrefix } from './cmdrun.js';
import { tokenize, type Tok } from './powershell.js';
import { adapter, effectiveMetric, fileName, ipAdapter, SCRIPT_DIR, WinError, type WinState } from './winstate.js';

/** A [char]: PowerShell adds it to a string as text but treats `[char] + x` as a number. */
export class PsChar {
  constructor(readonly c: string) {}
}
export class PsObject {
  constructor(readonly props: Map<string, PV>) {}
}
/** A script block argument ({ … } for Where-Object and ForEach-Object). */
export class PsBlock {
  constructor(readonly body: Stmt[]) {}
}
export type PV = string | number | boolean | null | PsChar | PsObject | PsBlock | PV[];

type Expr =
  | { k: 'lit'; v: PV }
  | { k: 'var'; name: string }
  | { k: 'member'; obj: Expr; name: string }
  | { k: 'method'; obj: Expr; name: string; args: Expr[] }
  | { k: 'array'; body: Stmt[] }
  | { k: 'hash'; entries: [string, Expr][] }
  | { k: 'paren'; body: Pipeline }
  | { k: 'cast'; type: string; e: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'comma'; items: Expr[]; unary: boolean }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'sblock'; body: Stmt[] };
type Arg = { param: string | null; value: Expr | null };
type Element = { k: 'cmd'; name: string; args: Arg[] } | { k: 'expr'; e: Expr } | { k: 'opaque'; name: string };
type Pipeline = Element[];
type Stmt =
  | { k: 'assign'; name: string; op: '=' | '+='; value: Pipeline }
  | { k: 'assignIf'; name: string; stmt: Stmt }
  | { k: 'assignIndex'; name: string; index: Expr; value: Pipeline }
  | { k: 'if'; cond: Pipeline; then: Stmt[]; else: Stmt[] | null }
  | { k: 'foreach'; v: string; coll: Pipeline; body: Stmt[] }
  | { k: 'pipe'; p: Pipeline }
  | { k: 'throw'; e: Expr };

const TERMINATORS = new Set(['|', ';', ')', '}']);
const OPAQUE = new Set(['Write-Verbose']);
const BINARY = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'contains', 'notcontains', 'match', 'split', 'like']);

class Parser {
  i = 0;
  constructor(readonly toks: Tok[]) {}
  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  is(t: Tok | undefined, type: Tok['t'], v?: string): boolean {
    return !!t && t.t === type && (v === undefined || (t as { v: string }).v === v);
  }
  expect(type: Tok['t'], v?: string): Tok {
    const t = this.peek();
    if (!this.is(t, type, v)) throw new Error(`ps: expected ${v ?? type} at token ${this.i}, got ${JSON.stringify(t)}`);
    this.i++;
    return t!;
  }
  skipNl(): void {
    while (this.is(this.peek(), 'nl') || this.is(this.peek(), 'punct', ';')) this.i++;
  }
  atEnd(close: string | null): boolean {
    const t = this.peek();
    return t === undefined || (close !== null && this.is(t, 'punct', close));
  }
  block(close: string | null): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      this.skipNl();
      if (this.atEnd(close)) break;
      const s = this.statement();
      if (s) out.push(s);
      const t = this.peek();
      if (t && !this.is(t, 'nl') && !this.is(t, 'punct', ';') && !(close && this.is(t, 'punct', close))) throw new Error(`ps: unexpected ${JSON.stringify(t)} after a statement`);
    }
    return out;
  }
  braces(): Stmt[] {
    this.skipNl();
    this.expect('punct', '{');
    const b = this.block('}');
    this.expect('punct', '}');
    return b;
  }
  statement(): Stmt | null {
    const t = this.peek()!;
    if (this.is(t, 'punct', '[') && this.is(this.peek(1), 'word', 'CmdletBinding')) {
      while (!this.is(this.peek(), 'nl')) this.i++;
      return null;
    }
    if (this.is(t, 'word', 'param')) {
      this.i++;
      let depth = 0;
      do {
        const u = this.peek();
        if (!u) throw new Error('ps: unterminated param(');
        if (u.t === 'punct' && ['(', '@(', '{', '@{'].includes(u.v)) depth++;
        if (u.t === 'punct' && [')', '}'].includes(u.v)) depth--;
        this.i++;
      } while (depth > 0);
      return null;
    }
    if (this.is(t, 'word', 'Set-StrictMode')) {
      while (this.peek() && !this.is(this.peek(), 'nl')) this.i++;
      return null;
    }
    if (this.is(t, 'word', 'if')) {
      this.i++;
      this.expect('punct', '(');
      const cond = this.pipeline();
      this.expect('punct', ')');
      const then = this.braces();
      let els: Stmt[] | null = null;
      const save = this.i;
      this.skipNl();
      if (this.is(this.peek(), 'word', 'else')) {
        this.i++;
        els = this.braces();
      } else this.i = save;
      return { k: 'if', cond, then, else: els };
    }
    if (this.is(t, 'word', 'foreach')) {
      this.i++;
      this.expect('punct', '(');
      const v = (this.expect('var') as { v: string }).v;
      this.expect('word', 'in');
      const coll = this.pipeline();
      this.expect('punct', ')');
      return { k: 'foreach', v, coll, body: this.braces() };
    }
    if (this.is(t, 'word', 'throw')) {
      this.i++;
      return { k: 'throw', e: this.expr() };
    }
    if (t.t === 'var' && this.is(this.peek(1), 'punct', '[')) {
      // $Table[key] = value: a hashtable entry.
      this.i += 2;
      const index = this.logical();
      this.expect('punct', ']');
      this.expect('punct', '=');
      return { k: 'assignIndex', name: t.v, index, value: this.pipeline() };
    }
    if (t.t === 'var' && this.is(this.peek(1), 'punct', '=') && this.is(this.peek(2), 'word', 'if')) {
      this.i += 2;
      return { k: 'assignIf', name: t.v, stmt: this.statement()! };
    }
    if (t.t === 'var' && (this.is(this.peek(1), 'punct', '=') || this.is(this.peek(1), 'punct', '+='))) {
      this.i += 2;
      return { k: 'assign', name: t.v, op: (this.peek(-1) as { v: string }).v as '=' | '+=', value: this.pipeline() };
    }
    return { k: 'pipe', p: this.pipeline() };
  }
  pipeline(): Pipeline {
    const out: Pipeline = [];
    for (;;) {
      this.skipNlInPipe();
      const t = this.peek();
      if (this.is(t, 'punct', '&')) {
        this.i++;
        out.push(this.command());
      } else if (t && t.t === 'word' && !['if', 'foreach', 'in', 'else'].includes(t.v)) {
        out.push(this.command());
      } else {
        if (out.length > 0) throw new Error('ps: an expression after | ');
        out.push({ k: 'expr', e: this.expr() });
      }
      if (!this.is(this.peek(), 'punct', '|')) return out;
      this.i++;
    }
  }
  skipNlInPipe(): void {
    /* a pipeline does not continue over a line break in this subset */
  }
  command(): Element {
    const name = (this.expect('word') as { v: string }).v;
    if (OPAQUE.has(name)) {
      let depth = 0;
      while (this.peek() && !(depth === 0 && (this.is(this.peek(), 'nl') || this.is(this.peek(), 'punct', '}')))) {
        const u = this.peek()!;
        if (u.t === 'punct' && ['(', '{', '@(', '@{'].includes(u.v)) depth++;
        if (u.t === 'punct' && [')', '}'].includes(u.v)) depth--;
        this.i++;
      }
      return { k: 'opaque', name };
    }
    const args: Arg[] = [];
    for (;;) {
      const t = this.peek();
      if (!t || t.t === 'nl' || (t.t === 'punct' && TERMINATORS.has(t.v))) break;
      if (t.t === 'param') {
        this.i++;
        const n = this.peek();
        if (t.v.endsWith(':')) args.push({ param: t.v.slice(0, -1), value: this.postfix() });
        else if (!n || n.t === 'nl' || n.t === 'param' || (n.t === 'punct' && TERMINATORS.has(n.v))) args.push({ param: t.v, value: null });
        else args.push({ param: t.v, value: this.argValue() });
      } else {
        args.push({ param: null, value: this.argValue() });
      }
    }
    return { k: 'cmd', name, args };
  }
  argValue(): Expr {
    const t = this.peek()!;
    if (t.t === 'punct' && t.v === '{') return { k: 'sblock', body: this.braces() };
    if (t.t === 'word') {
      this.i++;
      return { k: 'lit', v: t.v };
    }
    return this.postfix();
  }
  expr(): Expr {
    const items = [this.logical()];
    while (this.is(this.peek(), 'punct', ',')) {
      this.i++;
      this.skipNlAfterComma();
      items.push(this.logical());
    }
    return items.length === 1 ? items[0]! : { k: 'comma', items, unary: false };
  }
  skipNlAfterComma(): void {
    while (this.is(this.peek(), 'nl')) this.i++;
  }
  logical(): Expr {
    let l = this.comparison();
    for (;;) {
      const t = this.peek();
      if (!(t && t.t === 'param' && (t.v === 'and' || t.v === 'or'))) return l;
      this.i++;
      l = { k: 'bin', op: t.v, l, r: this.comparison() };
    }
  }
  comparison(): Expr {
    let l = this.additive();
    for (;;) {
      const t = this.peek();
      if (!(t && t.t === 'param' && BINARY.has(t.v))) return l;
      this.i++;
      l = { k: 'bin', op: t.v, l, r: this.additive() };
    }
  }
  additive(): Expr {
    let l = this.unary();
    while (this.is(this.peek(), 'punct', '+')) {
      this.i++;
      l = { k: 'bin', op: '+', l, r: this.unary() };
    }
    return l;
  }
  unary(): Expr {
    const t = this.peek();
    if (this.is(t, 'param', 'not') || this.is(t, 'punct', '!')) {
      this.i++;
      return { k: 'not', e: this.unary() };
    }
    if (this.is(t, 'punct', ',')) {
      this.i++;
      return { k: 'comma', items: [this.unary()], unary: true };
    }
    if (this.is(t, 'punct', '[') && this.is(this.peek(1), 'word') && this.is(this.peek(2), 'punct', ']')) {
      const type = (this.peek(1) as { v: string }).v.toLowerCase();
      this.i += 3;
      return { k: 'cast', type, e: this.unary() };
    }
    return this.postfix();
  }
  postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.is(this.peek(), 'punct', '.') && this.is(this.peek(1), 'word')) {
        const name = (this.peek(1) as { v: string }).v;
        this.i += 2;
        if (this.is(this.peek(), 'punct', '(')) {
          this.i++;
          const args: Expr[] = [];
          while (!this.is(this.peek(), 'punct', ')')) {
            args.push(this.logical());
            if (this.is(this.peek(), 'punct', ',')) this.i++;
          }
          this.i++;
          e = { k: 'method', obj: e, name, args };
        } else e = { k: 'member', obj: e, name };
      } else return e;
    }
  }
  primary(): Expr {
    const t = this.peek();
    if (!t) throw new Error('ps: missing expression');
    this.i++;
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'xstr') {
      if (/\$/.test(t.v)) throw new Error('ps: expandable string');
      return { k: 'lit', v: t.v };
    }
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'var') return { k: 'var', name: t.v };
    if (t.t === 'punct' && t.v === '@(') {
      const body = this.block(')');
      this.expect('punct', ')');
      return { k: 'array', body };
    }
    if (t.t === 'punct' && t.v === '@{') {
      const entries: [string, Expr][] = [];
      for (;;) {
        this.skipNl();
        if (this.is(this.peek(), 'punct', '}')) break;
        const key = (this.expect('word') as { v: string }).v;
        this.expect('punct', '=');
        entries.push([key, this.logical()]);
      }
      this.i++;
      return { k: 'hash', entries };
    }
    if (t.t === 'punct' && t.v === '(') {
      const body = this.pipeline();
      this.expect('punct', ')');
      return { k: 'paren', body };
    }
    throw new Error(`ps: unexpected ${JSON.stringify(t)} in an expression`);
  }
}

export function parsePs(src: string): Stmt[] {
  const p = new Parser(tokenize(src));
  const b = p.block(null);
  if (p.i < p.toks.length) throw new Error(`ps: trailing tokens at ${p.i}`);
  return b;
}

// ---- evaluation ----

function str(v: PV): string {
  if (v === null) return '';
  if (v instanceof PsChar) return v.c;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return v.map(str).join(' ');
  throw new Error('ps: an object where a string is needed');
}
function truthy(v: PV): boolean {
  if (v === null) return false;
  if (Array.isArray(v)) return v.length === 0 ? false : v.length === 1 ? truthy(v[0]!) : true;
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  return true;
}
function eq(a: PV, b: PV): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Number(str(a)) === Number(str(b));
  return str(a).toLowerCase() === str(b).toLowerCase();
}
function unroll(v: PV): PV[] {
  return Array.isArray(v) ? v : [v];
}
/** What a pipeline's output becomes as a value: nothing is $null, one item is that item. */
function collect(out: PV[]): PV {
  return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
}
function toJs(v: PV): unknown {
  if (v instanceof PsChar) return v.c;
  if (v instanceof PsObject) return Object.fromEntries([...v.props].map(([k, x]) => [k, toJs(x)]));
  if (Array.isArray(v)) return v.map(toJs);
  return v;
}
function fromJs(v: unknown): PV {
  if (Array.isArray(v)) return v.map(fromJs);
  if (v !== null && typeof v === 'object') return new PsObject(new Map(Object.entries(v).map(([k, x]) => [k, fromJs(x)])));
  return v as PV;
}
export function obj(props: Record<string, PV>): PsObject {
  return new PsObject(new Map(Object.entries(props)));
}

class PsThrow extends Error {}

export interface PsRun {
  readonly vars: Map<string, PV>;
  /** Every cmdlet call that ran, in order, with its bound arguments. */
  readonly calls: { name: string; params: Map<string, PV> }[];
}

type Cmdlet = (p: Map<string, PV>, input: PV[], positional: PV[]) => PV[];

/** Run `src` against `state` (changed in place). Throws when the script stops with an error. */
export function runPs(src: string, state: WinState): PsRun {
  const vars = new Map<string, PV>([
    ['true', true],
    ['false', false],
    ['null', null],
    ['PSScriptRoot', SCRIPT_DIR],
    ['PSCmdlet', obj({})],
    ['LASTEXITCODE', 0],
    ['ErrorActionPreference', 'Continue'],
  ]);
  const calls: PsRun['calls'] = [];
  const cmdlets = windowsCmdlets(state);

  const evalExpr = (e: Expr): PV => {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'var':
        if (!vars.has(e.name)) throw new Error(`ps: variable $${e.name} is not set (strict mode)`);
        return vars.get(e.name)!;
      case 'member': {
        const o = evalExpr(e.obj);
        if (Array.isArray(o)) {
          if (e.name === 'Count' || e.name === 'Length') return o.length;
          return o.map((x) => member(x, e.name));
        }
        return member(o, e.name);
      }
      case 'method': {
        const o = evalExpr(e.obj);
        if (o === vars.get('PSCmdlet') && e.name === 'ShouldProcess') return true;
        if (typeof o === 'string' && e.name === 'Contains' && e.args.length === 1) return o.includes(str(evalExpr(e.args[0]!)));
        // A hashtable's keys compare as strings, case-insensitively (the default comparer).
        if (o instanceof PsObject && e.name === 'ContainsKey' && e.args.length === 1) {
          const k = str(evalExpr(e.args[0]!)).toLowerCase();
          return [...o.props.keys()].some((x) => x.toLowerCase() === k);
        }
        throw new Error(`ps: method ${e.name} is outside the subset`);
      }
      case 'array':
        return execBlock(e.body);
      case 'hash':
        return new PsObject(new Map(e.entries.map(([k, x]) => [k, evalExpr(x)])));
      case 'paren':
        return evalPipeline(e.body);
      case 'cast': {
        const v = evalExpr(e.e);
        if (e.type === 'string') return str(v);
        if (e.type === 'char') {
          if (typeof v !== 'number' || v < 0 || v > 0xffff) throw new Error('ps: [char] of a non-number');
          return new PsChar(String.fromCharCode(v));
        }
        throw new Error(`ps: cast [${e.type}] is outside the subset`);
      }
      case 'not':
        return !truthy(evalExpr(e.e));
      case 'sblock':
        return new PsBlock(e.body);
      case 'comma':
        return e.unary ? [evalExpr(e.items[0]!)] : e.items.map(evalExpr);
      case 'bin': {
        if (e.op === 'and') return truthy(evalExpr(e.l)) && truthy(evalExpr(e.r));
        if (e.op === 'or') return truthy(evalExpr(e.l)) || truthy(evalExpr(e.r));
        const l = evalExpr(e.l);
        const r = evalExpr(e.r);
        switch (e.op) {
          case '+':
            if (Array.isArray(l)) return [...l, ...(Array.isArray(r) ? r : [r])];
            if (typeof l === 'string') return l + str(r);
            if (typeof l === 'number' && typeof r === 'number') return l + r;
            throw new Error(`ps: cannot add ${l instanceof PsChar ? '[char]' : typeof l} and ${typeof r} (PowerShell would add numbers or fail)`);
          case 'eq':
            return eq(l, r);
          case 'ne':
            return !eq(l, r);
          case 'gt':
            return Number(str(l)) > Number(str(r));
          case 'lt':
            return Number(str(l)) < Number(str(r));
          case 'contains':
            return unroll(l).some((x) => eq(x, r));
          case 'notcontains':
            return !unroll(l).some((x) => eq(x, r));
          case 'match':
            return new RegExp(str(r), 'i').test(str(l));
          case 'split':
            return str(l).split(new RegExp(str(r), 'i'));
          default:
            throw new Error(`ps: operator -${e.op} is outside the subset`);
        }
      }
    }
  };
  const member = (o: PV, name: string): PV => {
    if (o instanceof PsObject) {
      for (const [k, v] of o.props) if (k.toLowerCase() === name.toLowerCase()) return v;
    }
    if (typeof o === 'string' && name === 'Length') return o.length;
    throw new Error(`ps: property ${name} not found (strict mode)`);
  };
  const runPipeline = (p: Pipeline): PV[] => {
    let input: PV[] = [];
    p.forEach((el, idx) => {
      if (el.k === 'expr') {
        if (idx !== 0) throw new Error('ps: an expression inside a pipeline');
        input = unroll(evalExpr(el.e));
        return;
      }
      if (el.k === 'opaque') {
        input = [];
        return;
      }
      const params = new Map<string, PV>();
      const positional: PV[] = [];
      for (const a of el.args) {
        const v = a.value ? evalExpr(a.value) : true;
        if (a.param === null) positional.push(v);
        else params.set(a.param, v);
      }
      calls.push({ name: el.name, params });
      if (el.name === 'Where-Object' || el.name === 'ForEach-Object') {
        const b = positional[0];
        if (!(b instanceof PsBlock) || positional.length !== 1 || params.size !== 0) throw new Error(`ps: ${el.name} takes one script block here`);
        const next: PV[] = [];
        for (const x of input) {
          vars.set('_', x);
          const out = execBlock(b.body);
          if (el.name === 'ForEach-Object') next.push(...out);
          else if (truthy(collect(out))) next.push(x);
        }
        vars.delete('_');
        input = next;
        return;
      }
      if (el.name === 'Sort-Object') {
        if (!params.has('Unique') || params.size !== 1) throw new Error('ps: Sort-Object -Unique only');
        input = [...new Set(input.map(str))].sort();
        return;
      }
      const silent = params.get('ErrorAction') === 'SilentlyContinue';
      params.delete('ErrorAction');
      const fn = cmdlets[el.name];
      if (!fn) throw new Error(`ps: command ${el.name} is not modelled`);
      try {
        input = fn(params, input, positional);
      } catch (err) {
        if (err instanceof WinError && silent) input = [];
        else throw err;
      }
    });
    return input;
  };
  /** A pipeline as a value: a lone expression keeps its value (an array stays an array); commands' output is collected. */
  const evalPipeline = (p: Pipeline): PV => {
    if (p.length === 1 && p[0]!.k === 'expr') return evalExpr(p[0]!.e);
    return collect(runPipeline(p));
  };
  const execBlock = (stmts: Stmt[]): PV[] => {
    const out: PV[] = [];
    for (const s of stmts) {
      switch (s.k) {
        case 'assign': {
          const v = evalPipeline(s.value);
          if (s.name === 'null') break;
          if (s.op === '=') vars.set(s.name, v);
          else {
            if (!vars.has(s.name)) throw new Error(`ps: $${s.name} += before it is set`);
            const cur = vars.get(s.name)!;
            vars.set(s.name, evalExpr({ k: 'bin', op: '+', l: { k: 'lit', v: cur }, r: { k: 'lit', v } }));
          }
          break;
        }
        case 'if':
          if (truthy(evalPipeline(s.cond))) out.push(...execBlock(s.then));
          else if (s.else) out.push(...execBlock(s.else));
          break;
        case 'foreach': {
          const c = evalPipeline(s.coll);
          for (const x of c === null ? [] : unroll(c)) {
            vars.set(s.v, x);
            out.push(...execBlock(s.body));
          }
          break;
        }
        case 'throw':
          throw new PsThrow(str(evalExpr(s.e)));
        case 'assignIndex': {
          const table = vars.get(s.name);
          if (!(table instanceof PsObject)) throw new Error(`ps: $${s.name}[…] = on something not a hashtable`);
          const k = str(evalExpr(s.index));
          const v = evalPipeline(s.value);
          for (const x of table.props.keys()) if (x.toLowerCase() === k.toLowerCase()) table.props.delete(x);
          table.props.set(k, v);
          break;
        }
        case 'assignIf':
          vars.set(s.name, collect(execBlock([s.stmt])));
          break;
        case 'pipe': {
          const p = s.p;
          if (p.length === 1 && p[0]!.k === 'expr') out.push(...unroll(evalExpr(p[0]!.e)));
          else out.push(...runPipeline(p));
          break;
        }
      }
    }
    return out;
  };
  const prog = parsePs(src);
  // $ErrorActionPreference = 'Stop' is what makes an error end the script; without it a modelled error would not.
  const stop = prog.findIndex((s) => s.k === 'assign' && s.name === 'ErrorActionPreference');
  if (stop < 0) throw new Error("ps: the script does not set $ErrorActionPreference = 'Stop'");
  execBlock(prog);
  if (vars.get('ErrorActionPreference') !== 'Stop') throw new Error("ps: $ErrorActionPreference is not 'Stop'");
  return { vars, calls };
}

function need(p: Map<string, PV>, name: string): PV {
  if (!p.has(name)) throw new Error(`ps: missing -${name}`);
  return p.get(name)!;
}
function s1(p: Map<string, PV>, name: string): string {
  const v = need(p, name);
  if (typeof v !== 'string') throw new Error(`ps: -${name} is not a string`);
  return v;
}
function strings(v: PV): string[] {
  return unroll(v).map((x) => {
    if (typeof x !== 'string') throw new Error('ps: a list of strings expected');
    return x;
  });
}
function allowed(p: Map<string, PV>, names: string[], cmd: string): void {
  for (const k of p.keys()) if (!names.includes(k)) throw new Error(`ps: ${cmd} -${k} is not modelled`);
}
function fam(v: string): 'v4' | 'v6' {
  if (v === 'IPv4') return 'v4';
  if (v === 'IPv6') return 'v6';
  throw new Error(`ps: address family ${v}`);
}
function activeStore(p: Map<string, PV>): void {
  if (p.get('PolicyStore') !== 'ActiveStore') throw new Error('ps: not the active store');
}

/** The cmdlets, from their documentation, on the model. */
function windowsCmdlets(s: WinState): Record<string, Cmdlet> {
  const rulesIn = (group: string) => s.rules.filter((r) => r.group === group);
  return {
    'Out-Null': () => [],
    'Get-Command': (p) => {
      allowed(p, ['Name'], 'Get-Command');
      throw new WinError(`${s1(p, 'Name')} not found`);
    },
    'Join-Path': (p) => {
      allowed(p, ['Path', 'ChildPath'], 'Join-Path');
      return [`${s1(p, 'Path')}\\${s1(p, 'ChildPath')}`];
    },
    'Test-Path': (p) => [fileName(s1(p, 'LiteralPath')) in s.files],
    'Get-Content': (p) => {
      allowed(p, ['LiteralPath', 'Raw'], 'Get-Content');
      const f = fileName(s1(p, 'LiteralPath'));
      if (!(f in s.files)) throw new WinError(`no file ${f}`);
      const text = s.files[f]!;
      if (p.has('Raw')) return [text];
      return text === '' ? [] : text.replace(/\r\n$/, '').split('\r\n');
    },
    'Set-Content': (p, input) => {
      allowed(p, ['LiteralPath', 'Value', 'Encoding'], 'Set-Content');
      const lines = p.has('Value') ? unroll(p.get('Value')!) : input;
      const text = lines.map((l) => `${str(l)}\r\n`).join('');
      // Anything but UTF8 (ASCII, or 5.1's default ANSI code page) loses characters outside ASCII.
      s.files[fileName(s1(p, 'LiteralPath'))] = p.get('Encoding') === 'UTF8' ? text : text.replace(/[^\x00-\x7f]/g, '?');
      return [];
    },
    'Remove-Item': (p) => {
      const f = fileName(s1(p, 'LiteralPath'));
      if (!(f in s.files)) throw new WinError(`no file ${f}`);
      delete s.files[f];
      return [];
    },
    'ConvertTo-Json': (p) => {
      allowed(p, ['InputObject'], 'ConvertTo-Json');
      return [JSON.stringify(toJs(need(p, 'InputObject')))];
    },
    // Windows PowerShell 5.1 writes a JSON array down the pipeline as one object (not unrolled).
    'ConvertFrom-Json': (_p, input) => input.map((x) => fromJs(JSON.parse(str(x)))),
    'Get-NetAdapter': (p) => {
      allowed(p, ['Name'], 'Get-NetAdapter');
      const list = p.has('Name') ? [adapter(s, s1(p, 'Name'))] : s.adapters;
      return list.map((a) => obj({ Name: a.name, InterfaceGuid: a.guid, ifIndex: a.index }));
    },
    'Get-NetIPInterface': (p) => {
      allowed(p, ['InterfaceAlias', 'AddressFamily'], 'Get-NetIPInterface');
      const i = ipAdapter(s, s1(p, 'InterfaceAlias'))[fam(s1(p, 'AddressFamily'))];
      return [obj({ NlMtu: i.mtu, InterfaceMetric: effectiveMetric(i), AutomaticMetric: i.automatic ? 'Enabled' : 'Disabled' })];
    },
    'Set-NetIPInterface': (p) => {
      allowed(p, ['InterfaceAlias', 'AddressFamily', 'NlMtuBytes', 'InterfaceMetric', 'AutomaticMetric'], 'Set-NetIPInterface');
      const i = ipAdapter(s, s1(p, 'InterfaceAlias'))[fam(s1(p, 'AddressFamily'))];
      if (p.has('NlMtuBytes')) i.mtu = Number(str(p.get('NlMtuBytes')!));
      if (p.has('InterfaceMetric')) {
        i.metric = Number(str(p.get('InterfaceMetric')!));
        i.automatic = false;
      }
      if (p.has('AutomaticMetric')) i.automatic = s1(p, 'AutomaticMetric') === 'Enabled';
      return [];
    },
    'Get-NetIPAddress': (p) => {
      allowed(p, ['InterfaceAlias', 'IPAddress'], 'Get-NetIPAddress');
      const a = ipAdapter(s, s1(p, 'InterfaceAlias'));
      const ip = s1(p, 'IPAddress');
      if (!a.addresses.includes(ip)) throw new WinError(`no address ${ip}`);
      return [obj({ IPAddress: ip })];
    },
    'New-NetIPAddress': (p) => {
      allowed(p, ['InterfaceAlias', 'AddressFamily', 'IPAddress', 'PrefixLength', 'PolicyStore'], 'New-NetIPAddress');
      activeStore(p);
      const a = ipAdapter(s, s1(p, 'InterfaceAlias'));
      const ip = s1(p, 'IPAddress');
      if (a.addresses.includes(ip)) throw new WinError(`Instance MSFT_NetIPAddress ${ip} already exists`);
      a.addresses.push(ip);
      return [obj({ IPAddress: ip })];
    },
    'Remove-NetIPAddress': (p) => {
      allowed(p, ['InterfaceAlias', 'IPAddress', 'PolicyStore', 'Confirm'], 'Remove-NetIPAddress');
      const a = ipAdapter(s, s1(p, 'InterfaceAlias'));
      const ip = s1(p, 'IPAddress');
      if (!a.addresses.includes(ip)) throw new WinError(`no address ${ip}`);
      a.addresses = a.addresses.filter((x) => x !== ip);
      return [];
    },
    'Get-NetRoute': (p) => {
      allowed(p, ['DestinationPrefix', 'InterfaceAlias', 'PolicyStore'], 'Get-NetRoute');
      activeStore(p);
      const alias = ipAdapter(s, s1(p, 'InterfaceAlias')).name;
      const mine = [...s.routes].filter((r) => r.startsWith(`${alias}|`)).map((r) => r.slice(alias.length + 1));
      const found = p.has('DestinationPrefix') ? mine.filter((x) => x === s1(p, 'DestinationPrefix')) : mine;
      if (found.length === 0) throw new WinError('No MSFT_NetRoute objects found');
      return found.map((x) => obj({ DestinationPrefix: x }));
    },
    'New-NetRoute': (p) => {
      allowed(p, ['DestinationPrefix', 'InterfaceAlias', 'PolicyStore'], 'New-NetRoute');
      activeStore(p);
      const prefix = s1(p, 'DestinationPrefix');
      if (!routePrefix(prefix, 'v4') && !routePrefix(prefix, 'v6')) throw new WinError(`Invalid DestinationPrefix ${prefix}`);
      const key = `${ipAdapter(s, s1(p, 'InterfaceAlias')).name}|${s1(p, 'DestinationPrefix')}`;
      if (s.routes.has(key)) throw new WinError(`Instance MSFT_NetRoute ${key} already exists`);
      s.routes.add(key);
      return [obj({ DestinationPrefix: s1(p, 'DestinationPrefix') })];
    },
    'Remove-NetRoute': (p) => {
      allowed(p, ['DestinationPrefix', 'InterfaceAlias', 'PolicyStore', 'Confirm'], 'Remove-NetRoute');
      const key = `${ipAdapter(s, s1(p, 'InterfaceAlias')).name}|${s1(p, 'DestinationPrefix')}`;
      if (!s.routes.has(key)) throw new WinError(`no route ${key}`);
      s.routes.delete(key);
      return [];
    },
    'Get-NetFirewallRule': (p) => {
      allowed(p, ['Group'], 'Get-NetFirewallRule');
      const found = rulesIn(s1(p, 'Group'));
      if (found.length === 0) throw new WinError('No MSFT_NetFirewallRule objects found');
      return found.map((r) => obj({ Name: r.name }));
    },
    'Remove-NetFirewallRule': (p, input) => {
      allowed(p, [], 'Remove-NetFirewallRule');
      const names = input.map((x) => (x instanceof PsObject ? str(x.props.get('Name') ?? null) : str(x)));
      s.rules = s.rules.filter((r) => !names.includes(r.name));
      return [];
    },
    'New-NetFirewallRule': (p) => {
      allowed(p, ['Name', 'DisplayName', 'Group', 'Description', 'Direction', 'Action', 'InterfaceAlias', 'RemoteAddress'], 'New-NetFirewallRule');
      const name = s1(p, 'Name');
      if (s.rules.some((r) => r.name === name)) throw new WinError(`rule ${name} already exists`);
      s.rules.push({ name, group: s1(p, 'Group'), description: s1(p, 'Description'), direction: s1(p, 'Direction'), action: s1(p, 'Action'), interfaces: strings(need(p, 'InterfaceAlias')), remote: strings(need(p, 'RemoteAddress')) });
      return [obj({ Name: name })];
    },
    'Get-DnsClientServerAddress': (p) => {
      allowed(p, ['InterfaceAlias'], 'Get-DnsClientServerAddress');
      const a = ipAdapter(s, s1(p, 'InterfaceAlias'));
      return [obj({ InterfaceAlias: a.name, AddressFamily: 2 }), obj({ InterfaceAlias: a.name, AddressFamily: 23 })];
    },
    'Set-DnsClientServerAddress': (p) => {
      allowed(p, ['InterfaceAlias', 'ServerAddresses', 'ResetServerAddresses'], 'Set-DnsClientServerAddress');
      const a = ipAdapter(s, s1(p, 'InterfaceAlias'));
      if (p.has('ResetServerAddresses')) {
        a.dns.v4 = [];
        a.dns.v6 = [];
      } else {
        // The list may mix families; each family present is replaced, the other one is left alone.
        const list = strings(need(p, 'ServerAddresses'));
        const v4 = list.filter((x) => !x.includes(':'));
        const v6 = list.filter((x) => x.includes(':'));
        if (v4.length) a.dns.v4 = v4;
        if (v6.length) a.dns.v6 = v6;
      }
      return [];
    },
    'Get-ItemPropertyValue': (p) => {
      allowed(p, ['LiteralPath', 'Name'], 'Get-ItemPropertyValue');
      const m = /^HKLM:\\SYSTEM\\CurrentControlSet\\Services\\(Tcpip6?)\\Parameters\\Interfaces\\(\{[0-9A-Fa-f-]+\})$/.exec(s1(p, 'LiteralPath'));
      if (!m || s1(p, 'Name') !== 'NameServer') throw new Error(`ps: registry value ${s1(p, 'LiteralPath')} ${s1(p, 'Name')} is not modelled`);
      const a = s.adapters.find((x) => x.guid.toLowerCase() === m[2]!.toLowerCase() && x.ip);
      if (!a) throw new WinError('no such registry key');
      return [(m[1] === 'Tcpip' ? a.dns.v4 : a.dns.v6).join(',')];
    },
    'Get-DnsClientGlobalSetting': (p) => {
      allowed(p, [], 'Get-DnsClientGlobalSetting');
      return [obj({ SuffixSearchList: [...s.search] })];
    },
    'Set-DnsClientGlobalSetting': (p) => {
      allowed(p, ['SuffixSearchList'], 'Set-DnsClientGlobalSetting');
      s.search = strings(need(p, 'SuffixSearchList'));
      return [];
    },
    'Resolve-DnsName': (p) => {
      allowed(p, ['Name', 'DnsOnly'], 'Resolve-DnsName');
      const addrs = s.resolver[s1(p, 'Name')];
      if (!addrs) throw new WinError('DNS name does not exist');
      // A CNAME record first: it has no IPAddress property.
      return [obj({ Type: 'CNAME', NameHost: 'alias.example' }), ...addrs.map((x) => obj({ Type: x.includes(':') ? 'AAAA' : 'A', IPAddress: x }))];
    },
  };
}
