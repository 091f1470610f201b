/**
 * A fast reader for the plain subset of YAML that large profiles are written in:
 * block mappings with identifier keys, block sequences (also of compact mappings,
 * `- address: ...`), single-line plain and quoted scalars, comments and blank
 * lines. It builds the same value `yaml`'s core-schema toJS() would, plus the
 * positions the full parser would give (every scalar, empty values included, every
 * collection's first line, and every key), without a node object per token: a
 * 100,000-entry profile reads in a fraction of the time, and no diagnostic needs
 * the full parser afterwards.
 *
 * Anything outside that subset (flow collections, block scalars, multi-line or
 * escaped scalars, anchors, tags, tabs, CR, directives, documents, duplicate
 * keys, numbers other than plain decimals, ...) makes it give up (null), and
 * load.ts reads the text with the full YAML parser instead, which also reports
 * every error. It never reports anything itself: giving up is always safe.
 */

/**
 * Where a node stands, as the full parser says: 1-based line and column, and the
 * length of its first line. A scalar's length is its text (quotes included; 0 for an
 * empty value, which stands where the value would start). A collection's is the
 * rest of its first line.
 */
export interface FastPos {
  readonly line: number;
  readonly col: number;
  readonly length: number;
}
export type FastScalar = FastPos;
export type FastNode = FastMap | FastSeq | FastScalar;
interface FastCollection extends FastPos {
  /** The line of the key or dash this collection is the value of (0 for the root). */
  readonly keyLine: number;
}
/** A block mapping; its keys all stand at its column. */
export interface FastMap extends FastCollection {
  readonly keys: Map<string, FastNode>;
}
export interface FastSeq extends FastCollection {
  readonly items: FastNode[];
}

/**
 * The position of `path` (or of its nearest existing ancestor), or with `key` of the
 * key that names its last segment: what the full parser's locate answers, from the
 * fast reader's tree alone.
 */
export function fastLocate(root: FastMap, path: readonly (string | number)[], key = false): FastPos {
  let node: FastNode = root;
  let keyAt: FastPos | null = null;
  for (const seg of path) {
    keyAt = null;
    let next: FastNode | undefined;
    if ('keys' in node) {
      if (typeof seg === 'string') {
        next = node.keys.get(seg);
        if (next !== undefined) keyAt = { line: 'keyLine' in next ? next.keyLine : next.line, col: node.col, length: seg.length };
      }
    } else if ('items' in node && typeof seg === 'number') next = node.items[seg];
    if (next === undefined) break;
    node = next;
  }
  const at = key && keyAt ? keyAt : node;
  return { line: at.line, col: at.col, length: Math.max(1, at.length) };
}

export interface FastDocument {
  readonly value: Record<string, unknown>;
  readonly root: FastMap;
}

class GiveUp extends Error {}
function giveUp(): never {
  throw new GiveUp();
}

const KEY = /^([A-Za-z_][A-Za-z0-9_]{0,63}):(?: |$)/;
/** Core-schema forms the reader does not resolve itself (yaml's core tags other than str, plain decimal int, bool, null). */
const OTHER_CORE = /^(?:[-+][0-9]+|[0-9]{16,}|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/;
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[0-9]{1,15}$/;
/** After a quoted scalar: nothing, or spaces and a comment. */
const TAIL = /^(?: *| +#.*)$/;
/** Characters a plain scalar may not start with (YAML indicators). */
const INDICATOR = /[-?:,[\]{}#&*!|>'"%@`]/;

export function readFastYaml(source: string): FastDocument | null {
  if (/[\t\r]/.test(source)) return null;
  try {
    return new Reader(source).document();
  } catch (err) {
    if (err instanceof GiveUp) return null;
    throw err;
  }
}

class Reader {
  private readonly lines: string[];
  private i = 0;

  constructor(source: string) {
    this.lines = source.split('\n');
  }

  document(): FastDocument {
    this.skipBlank();
    if (this.i >= this.lines.length) giveUp();
    const ind = indentOf(this.lines[this.i]!);
    if (isDash(this.lines[this.i]!, ind)) giveUp();
    const value: Record<string, unknown> = {};
    const root = this.map(ind, 0, value);
    this.skipBlank();
    if (this.i < this.lines.length) giveUp();
    return { value, root };
  }

  /** Skip empty lines, lines of spaces and comment lines. */
  private skipBlank(): void {
    const lines = this.lines;
    while (this.i < lines.length) {
      const l = lines[this.i]!;
      const ind = indentOf(l);
      if (ind < l.length && l.charCodeAt(ind) !== 0x23 /* # */) return;
      this.i++;
    }
  }

  /** The block node starting on the current line at indentation `ind`, the value of the key or dash on line `keyLine`. */
  private block(ind: number, keyLine: number): { value: unknown; node: FastNode } {
    if (isDash(this.lines[this.i]!, ind)) {
      const value: unknown[] = [];
      return { value, node: this.seq(ind, keyLine, value) };
    }
    const value: Record<string, unknown> = {};
    return { value, node: this.map(ind, keyLine, value) };
  }

  /**
   * The value of a key or dash with nothing after it on its line (from column k): a
   * deeper block, a same-indent sequence (keys only), or an empty value (null) that
   * stands at column k.
   */
  private nested(ind: number, k: number, sameIndentSeq: boolean): { value: unknown; node: FastNode } {
    const keyLine = this.i + 1;
    this.i++;
    this.skipBlank();
    if (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      const next = indentOf(l);
      if (next > ind) return this.block(next, keyLine);
      if (next === ind && sameIndentSeq && isDash(l, ind)) {
        const value: unknown[] = [];
        return { value, node: this.seq(ind, keyLine, value) };
      }
    }
    return { value: null, node: { line: keyLine, col: k + 1, length: 0 } };
  }

  /** A block mapping whose keys stand at column `ind` (0-based), the first on the current line. */
  private map(ind: number, keyLine: number, out: Record<string, unknown>): FastMap {
    const keys = new Map<string, FastNode>();
    const first = this.lines[this.i]!;
    const self: FastMap = { line: this.i + 1, col: ind + 1, length: first.length - ind, keyLine, keys };
    let col = ind;
    for (;;) {
      const line = this.lines[this.i]!;
      const m = KEY.exec(col === 0 ? line : line.slice(col));
      if (!m) giveUp();
      const key = m![1]!;
      if (key === '__proto__' || keys.has(key)) giveUp();
      let k = col + m![0].length;
      while (line.charCodeAt(k) === 0x20) k++;
      let entry: { value: unknown; node: FastNode };
      if (k >= line.length || line.charCodeAt(k) === 0x23) entry = this.nested(ind, k, true);
      else {
        entry = this.scalar(line, k);
        this.i++;
      }
      keys.set(key, entry.node);
      out[key] = entry.value;
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const l = this.lines[this.i]!;
      const next = indentOf(l);
      if (next < ind || (next === ind && isDash(l, ind))) break;
      if (next > ind) giveUp();
      col = ind;
    }
    return self;
  }

  /** A block sequence whose dashes stand at column `ind`, the first on the current line. */
  private seq(ind: number, keyLine: number, out: unknown[]): FastSeq {
    const items: FastNode[] = [];
    const first = this.lines[this.i]!;
    const self: FastSeq = { line: this.i + 1, col: ind + 1, length: first.length - ind, keyLine, items };
    for (;;) {
      const line = this.lines[this.i]!;
      let k = ind + 1;
      while (line.charCodeAt(k) === 0x20) k++;
      let item: { value: unknown; node: FastNode };
      if (k >= line.length || line.charCodeAt(k) === 0x23) {
        if (k === ind + 1 && k < line.length) giveUp();
        item = this.nested(ind, k, false);
      } else if (isDash(line, k)) giveUp();
      else if (KEY.test(line.slice(k))) {
        const value: Record<string, unknown> = {};
        item = { value, node: this.map(k, this.i + 1, value) };
      } else {
        item = this.scalar(line, k);
        this.i++;
      }
      items.push(item.node);
      out.push(item.value);
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const l = this.lines[this.i]!;
      const next = indentOf(l);
      if (next < ind) break;
      if (next > ind) giveUp();
      if (!isDash(l, ind)) break;
    }
    return self;
  }

  /** A single-line scalar starting at column k of `line`, the rest of the line being spaces or a comment. */
  private scalar(line: string, k: number): { value: unknown; node: FastScalar } {
    const at = (length: number): FastScalar => ({ line: this.i + 1, col: k + 1, length });
    const c = line[k]!;
    if (c === '"') {
      const end = line.indexOf('"', k + 1);
      if (end < 0) giveUp();
      const inner = line.slice(k + 1, end);
      if (inner.includes('\\') || !TAIL.test(line.slice(end + 1))) giveUp();
      return { value: inner, node: at(end + 1 - k) };
    }
    if (c === "'") {
      let j = k + 1;
      for (;;) {
        j = line.indexOf("'", j);
        if (j < 0) giveUp();
        if (line[j + 1] === "'") j += 2;
        else break;
      }
      if (!TAIL.test(line.slice(j + 1))) giveUp();
      return { value: line.slice(k + 1, j).replace(/''/g, "'"), node: at(j + 1 - k) };
    }
    if (INDICATOR.test(c)) giveUp();
    const hash = line.indexOf(' #', k);
    let end = hash < 0 ? line.length : hash;
    while (end > k && line.charCodeAt(end - 1) === 0x20) end--;
    const text = line.slice(k, end);
    if (text.includes(': ') || text.endsWith(':')) giveUp();
    let value: unknown = text;
    if (NULL.test(text)) value = null;
    else if (BOOL.test(text)) value = text[0] === 't' || text[0] === 'T';
    else if (INT.test(text)) value = Number(text);
    else if (OTHER_CORE.test(text)) giveUp();
    return { value, node: at(text.length) };
  }
}

function indentOf(line: string): number {
  let n = 0;
  while (line.charCodeAt(n) === 0x20) n++;
  return n;
}

/** Is there a sequence dash at column `ind` (`-` then a space or the end of the line)? */
function isDash(line: string, ind: number): boolean {
  return line.charCodeAt(ind) === 0x2d && (ind + 1 === line.length || line.charCodeAt(ind + 1) === 0x20);
}
