/**
 * A strict JSON reader (RFC 8259) that keeps every value's position, so import diagnostics point at
 * `file:line:col` of the value, and a syntax error says where it is (Node 20's JSON.parse does not).
 * Duplicate keys keep the last value, as JSON.parse does.
 */

export interface JsonPos {
  readonly line: number;
  readonly col: number;
  readonly length: number;
}

interface PosNode {
  readonly at: number;
  readonly end: number;
  readonly children?: Map<string, PosNode> | PosNode[];
}

export interface JsonDocument {
  readonly value: unknown;
  /** Position of the value at `path`, or of its nearest existing ancestor. */
  locate(path: readonly (string | number)[]): JsonPos;
  /** Position of character `offset` of the string value at `path` (escapes counted as the characters they stand for). */
  locateInString(path: readonly (string | number)[], offset: number): JsonPos;
}

export type JsonResult = { ok: true; doc: JsonDocument } | { ok: false; detail: string; line: number; col: number };

class JsonSyntax extends Error {
  constructor(
    readonly detail: string,
    readonly at: number,
  ) {
    super(detail);
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineCol(starts: readonly number[], offset: number): { line: number; col: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - starts[lo]! + 1 };
}

export function parseJson(text: string): JsonResult {
  let i = 0;
  if (text.startsWith('\ufeff')) i = 1;
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const show = (at: number): string => (at >= text.length ? 'the end of the file' : `"${text[at] === '"' ? '\\"' : JSON.stringify(text[at]).slice(1, -1)}"`);
  const string = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    let run = i;
    for (;;) {
      if (i >= text.length) throw new JsonSyntax('this string is not closed', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) throw new JsonSyntax('a control character must be escaped inside a string', i);
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else throw new JsonSyntax('invalid escape in a string', i);
        run = i;
        continue;
      }
      i++;
    }
  };
  const value = (): { v: unknown; p: PosNode } => {
    ws();
    const at = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      const children = new Map<string, PosNode>();
      ws();
      if (text[i] === '}') {
        i++;
        return { v: obj, p: { at, end: i, children } };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new JsonSyntax(`expected a property name in double quotes, found ${show(i)}`, i);
        const key = string();
        ws();
        if (text[i] !== ':') throw new JsonSyntax(`expected ":" after the property name, found ${show(i)}`, i);
        i++;
        const item = value();
        Object.defineProperty(obj, key, { value: item.v, enumerable: true, writable: true, configurable: true });
        children.set(key, item.p);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { v: obj, p: { at, end: i, children } };
        }
        throw new JsonSyntax(`expected "," or "}" after a property, found ${show(i)}`, i);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      const children: PosNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { v: arr, p: { at, end: i, children } };
      }
      for (;;) {
        const item = value();
        arr.push(item.v);
        children.push(item.p);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { v: arr, p: { at, end: i, children } };
        }
        throw new JsonSyntax(`expected "," or "]" after an array element, found ${show(i)}`, i);
      }
    }
    if (c === '"') {
      const v = string();
      return { v, p: { at, end: i } };
    }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0 && /[-0-9]/.test(c ?? '')) {
      i += m[0].length;
      return { v: Number(m[0]), p: { at, end: i } };
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { v, p: { at, end: i } };
      }
    }
    throw new JsonSyntax(`expected a value, found ${show(i)}`, i);
  };
  let starts: number[] | null = null;
  const lc = (offset: number): { line: number; col: number } => lineCol((starts ??= lineStarts(text)), offset);
  let root: { v: unknown; p: PosNode };
  const find = (path: readonly (string | number)[]): PosNode => {
    let node = root.p;
    for (const seg of path) {
      const ch = node.children;
      const next = ch instanceof Map ? (typeof seg === 'string' ? ch.get(seg) : undefined) : Array.isArray(ch) && typeof seg === 'number' ? ch[seg] : undefined;
      if (next === undefined) break;
      node = next;
    }
    return node;
  };
  try {
    root = value();
    ws();
    if (i < text.length) throw new JsonSyntax(`unexpected ${show(i)} after the end of the JSON value`, i);
    return {
      ok: true,
      doc: {
        value: root.v,
        locate(path) {
          const node = find(path);
          const { line, col } = lc(node.at);
          const nl = text.indexOf('\n', node.at);
          const lineEnd = nl === -1 ? text.length : nl;
          return { line, col, length: Math.max(1, Math.min(node.end, lineEnd) - node.at) };
        },
        locateInString(path, offset) {
          const node = find(path);
          let raw = node.at;
          if (text[raw] === '"') {
            raw++;
            for (let n = 0; n < offset && raw < node.end - 1; n++) raw += text[raw] !== '\\' ? 1 : text[raw + 1] === 'u' ? 6 : 2;
          }
          return { ...lc(raw), length: 1 };
        },
      },
    };
  } catch (e) {
    if (!(e instanceof JsonSyntax)) throw e;
    return { ok: false, detail: e.detail, ...lc(Math.min(e.at, text.length)) };
  }
}
