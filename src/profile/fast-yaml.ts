/**
 * A fast reader for the plain subset of YAML that large profiles are written in:
 * block mappings with identifier keys, block sequences (also of compact mappings,
 * `- address: ...`), single-line plain and quoted scalars, comments and blank
 * lines. It builds the same value `yaml`'s core-schema toJS() would, and answers
 * every position the full parser's locate() would (every scalar, empty values
 * included, every collection's first line, every key, the nearest ancestor of a
 * missing path), so no diagnostic needs the full parser afterwards.
 *
 * It reads the source in place (offsets, no string per line) and keeps positions
 * in a table of numbers, not an object per node: a 100,000-entry profile reads in
 * a fraction of the time and memory the full parser takes, and leaves the garbage
 * collector little to trace. A list of one-key items with string values (`- address:
 * 10.0.0.0/8`, the form of every long list) is kept as a PackedList: the key and each
 * value's place in the text, no object or string per item. `value` makes such lists
 * the objects the full parser's value holds, on first read; a caller that reads one
 * long list as text asks for `packed` (load.ts, LoadedDocument.valueWith).
 *
 * Anything outside that subset (flow collections, block scalars, multi-line or
 * escaped scalars, anchors, tags, tabs, CR, directives, documents, duplicate
 * keys, numbers other than plain decimals, ...) makes it give up (null), and
 * load.ts reads the text with the full YAML parser instead, which also reports
 * every error. It never reports anything itself: giving up is always safe.
 */

/** Where a node stands, as the full parser says: 1-based line and column, and the length of its first line (at least 1). */
export interface FastPos {
  readonly line: number;
  readonly col: number;
  readonly length: number;
}

export interface FastDocument {
  /** The value the full parser's toJS() makes: every packed list as its objects (made on first read, then kept). */
  readonly value: Record<string, unknown>;
  /** The value as read: each list of one-key string items a PackedList. */
  readonly packed: Record<string, unknown>;
  /**
   * The position of `path` (or of its nearest existing ancestor), or with `key` of the key
   * that names its last segment: what the full parser's locate answers.
   */
  locate(path: readonly (string | number)[], key?: boolean): FastPos;
}

/**
 * A block sequence whose every item is a one-key map with a string value on the dash's line,
 * the same key each time (`- address: 10.0.0.0/8`): the key, and each value's text as its place
 * in the source. Only a value whose text is a span of the source is packed (a plain or quoted
 * scalar without escapes or doubled quotes).
 */
export class PackedList {
  constructor(
    readonly source: string,
    /** The items' one key. */
    readonly key: string,
    /** Item i's value is source[spans[2i], spans[2i + 1]). */
    private readonly spans: Int32Array,
    readonly length: number,
  ) {}
  /** Where item i's value starts in the source. */
  start(i: number): number {
    return this.spans[2 * i]!;
  }
  /** Where item i's value ends in the source (exclusive). */
  end(i: number): number {
    return this.spans[2 * i + 1]!;
  }
  /** Item i's value. */
  text(i: number): string {
    return this.source.slice(this.spans[2 * i]!, this.spans[2 * i + 1]!);
  }
  /** The items as the full parser's value holds them: an object with the one key each. */
  items(): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (let i = 0; i < this.length; i++) {
      const item: Record<string, string> = {};
      item[this.key] = this.text(i);
      out.push(item);
    }
    return out;
  }
}

/**
 * `value` (the fast reader's `packed`, or part of it) with every PackedList made into its items,
 * except the list `keep`, which stays as it is. Objects and arrays on the way are copied; scalars are shared.
 */
export function unpacked(value: unknown, keep: PackedList | null = null): unknown {
  if (value instanceof PackedList) return value === keep ? value : value.items();
  if (Array.isArray(value)) return value.map((v) => unpacked(v, keep));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = unpacked((value as Record<string, unknown>)[k], keep);
    return out;
  }
  return value;
}

class GiveUp extends Error {}
function giveUp(): never {
  throw new GiveUp();
}

/** May `c` start a key (a letter or `_`), and continue one (also a digit)? Keys are 1–64 such characters. */
const keyStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const keyPart = (c: number): boolean => keyStart(c) || (c >= 0x30 && c <= 0x39);
/** Core-schema forms the reader does not resolve itself (yaml's core tags other than str, plain decimal int, bool, null). */
const OTHER_CORE = /^(?:[-+][0-9]+|[0-9]{16,}|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/;
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[0-9]{1,15}$/;
/** After a quoted scalar: nothing, or spaces and a comment. */
const TAIL = /^(?: *| +#.*)$/;
/** Characters a plain scalar may not start with (YAML indicators). */
const INDICATOR = /[-?:,[\]{}#&*!|>'"%@`]/;

const SCALAR = 0;
const MAP = 1;
const SEQ = 2;
/**
 * A sequence item that is a one-key map with a scalar value on the dash's line (`- address: ...`,
 * the form of a long list): one node for the map and its value. Its fields are a map's, but the
 * first child holds the value's column and length (column * 2^16 + length) and the key field the
 * map's one key (a sequence item has no key of its own).
 */
const COMPACT = 3;
/** What scalar() leaves in `value`, asked for a span, when the scalar is a string it has not made. */
const SPAN = Symbol('span');
/** Fields of one node in the table: kind, line, col, length, key line, first child, next sibling, key. */
const F = 8;

export function readFastYaml(source: string): FastDocument | null {
  if (/[\t\r]/.test(source)) return null;
  try {
    return new Reader(source).document();
  } catch (err) {
    if (err instanceof GiveUp) return null;
    throw err;
  }
}

/**
 * The nodes, F numbers each: kind, line, column (1-based), first-line length, the line of
 * the key or dash whose value it is (0 for the root), first child, next sibling (-1 for
 * none), and for a map's child the index of its key in `keys` (-1 otherwise). A map's
 * children are its values in key order; a sequence's are also indexed by `items`.
 */
class Nodes {
  t: Int32Array;
  n = 0;
  /**
   * Room for a text of `lines` lines. A line of a large profile holds two nodes (`- key: value`),
   * only the first item of a sequence three: sized so, the table is made once rather than grown
   * by copies (each a large allocation that can set off a full GC); `add` still grows it if need be.
   */
  constructor(lines: number) {
    this.t = new Int32Array(F * Math.max(1024, 2 * lines + 64));
  }
  /** Each distinct key once; a node names its key by its index here. */
  readonly keys: string[] = [];
  readonly items = new Map<number, number[]>();

  add(kind: number, line: number, col: number, length: number, keyLine: number): number {
    if ((this.n + 1) * F > this.t.length) {
      const bigger = new Int32Array(this.t.length * 2);
      bigger.set(this.t);
      this.t = bigger;
    }
    const id = this.n++;
    const o = id * F;
    const t = this.t;
    t[o] = kind;
    t[o + 1] = line;
    t[o + 2] = col;
    t[o + 3] = length;
    t[o + 4] = keyLine;
    t[o + 5] = -1;
    t[o + 6] = -1;
    t[o + 7] = -1;
    return id;
  }

  /**
   * Make map `id` a COMPACT node when its one child is a scalar on its line, the last node added
   * (a long list of `- address: ...` items then holds one node an item, not two).
   */
  compact(id: number): void {
    const t = this.t;
    const o = id * F;
    const child = t[o + 5]!;
    const c = child * F;
    if (child !== this.n - 1 || t[c] !== SCALAR || t[c + 6] !== -1 || t[c + 1] !== t[o + 1] || t[c + 2]! >= 0x10000 || t[c + 3]! >= 0x10000) return;
    t[o] = COMPACT;
    t[o + 5] = t[c + 2]! * 0x10000 + t[c + 3]!;
    t[o + 7] = t[c + 7]!;
    this.n--;
  }

  /** The index in `keys` of the key written at s[from, to), added when new (no string made for a key seen before). */
  keyId(s: string, from: number, to: number): number {
    const keys = this.keys;
    for (let k = 0; k < keys.length; k++) if (keys[k]!.length === to - from && s.startsWith(keys[k]!, from)) return k;
    keys.push(s.slice(from, to));
    return keys.length - 1;
  }
}

class Reader {
  private readonly s: string;
  /** Start of the current line, its end (the offset of its newline, or the text's length), its 1-based number. */
  private start = 0;
  private end = 0;
  private line = 1;
  private readonly nodes: Nodes;
  /** The value of the node the last block, nested or scalar call read (they return its node). */
  private value: unknown = null;
  /** The key keyAt last found, as an index into nodes.keys. */
  private key = -1;
  /** Where the string scalar() last read with `span` stands in the text, when its value is SPAN. */
  private spanStart = 0;
  private spanEnd = 0;

  constructor(source: string) {
    this.s = source;
    let lines = 1;
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lines++;
    this.nodes = new Nodes(lines);
    this.end = this.lineEnd(0);
  }

  document(): FastDocument {
    this.skipBlank();
    if (this.atEnd()) giveUp();
    const ind = this.indent();
    if (this.isDash(ind)) giveUp();
    const value: Record<string, unknown> = {};
    this.map(ind, 0, value, this.keyAt(this.start + ind));
    this.skipBlank();
    if (!this.atEnd()) giveUp();
    const { t, keys, items } = this.nodes;
    let whole: Record<string, unknown> | undefined;
    return {
      packed: value,
      get value() {
        return (whole ??= unpacked(value) as Record<string, unknown>);
      },
      locate: (path, key = false) => locate(t, keys, items, path, key),
    };
  }

  private lineEnd(from: number): number {
    const nl = this.s.indexOf('\n', from);
    return nl < 0 ? this.s.length : nl;
  }

  private atEnd(): boolean {
    return this.start >= this.s.length;
  }

  private nextLine(): void {
    this.start = this.end + 1;
    this.line++;
    this.end = this.start > this.s.length ? this.start : this.lineEnd(this.start);
  }

  /** The current line's indentation (count of leading spaces). */
  private indent(): number {
    let i = this.start;
    while (i < this.end && this.s.charCodeAt(i) === 0x20) i++;
    return i - this.start;
  }

  /** Is there a sequence dash at column `ind` of the current line (`-` then a space or the end of the line)? */
  private isDash(ind: number): boolean {
    const at = this.start + ind;
    return at < this.end && this.s.charCodeAt(at) === 0x2d && (at + 1 === this.end || this.s.charCodeAt(at + 1) === 0x20);
  }

  /**
   * A key at offset `p` of the current line: an identifier of 1–64 characters, a colon, then
   * a space or the end of the line. Its end (after the colon), with `key` set; -1 when there is none.
   */
  private keyAt(p: number): number {
    const s = this.s;
    const end = this.end;
    if (p >= end || !keyStart(s.charCodeAt(p))) return -1;
    let i = p + 1;
    while (i < end && keyPart(s.charCodeAt(i))) i++;
    if (i - p > 64 || i >= end || s.charCodeAt(i) !== 0x3a || (i + 1 < end && s.charCodeAt(i + 1) !== 0x20)) return -1;
    this.key = this.nodes.keyId(s, p, i);
    return i + 1;
  }

  /** Skip empty lines, lines of spaces and comment lines. */
  private skipBlank(): void {
    while (!this.atEnd()) {
      const ind = this.indent();
      if (this.start + ind < this.end && this.s.charCodeAt(this.start + ind) !== 0x23 /* # */) return;
      this.nextLine();
    }
  }

  /** The block node starting on the current line at indentation `ind`, the value of the key or dash on line `keyLine`. */
  private block(ind: number, keyLine: number): number {
    if (this.isDash(ind)) return this.seq(ind, keyLine);
    const value: Record<string, unknown> = {};
    const node = this.map(ind, keyLine, value, this.keyAt(this.start + ind));
    this.value = value;
    return node;
  }

  /**
   * The value of a key or dash with nothing after it on its line (from column k, 0-based):
   * a deeper block, a same-indent sequence (keys only), or an empty value (null) that
   * stands at column k.
   */
  private nested(ind: number, k: number, sameIndentSeq: boolean): number {
    const keyLine = this.line;
    this.nextLine();
    this.skipBlank();
    if (!this.atEnd()) {
      const next = this.indent();
      if (next > ind) return this.block(next, keyLine);
      if (next === ind && sameIndentSeq && this.isDash(ind)) return this.seq(ind, keyLine);
    }
    this.value = null;
    return this.nodes.add(SCALAR, keyLine, k + 1, 0, keyLine);
  }

  /**
   * A block mapping whose keys stand at column `ind` (0-based), the first on the current line;
   * `after` is keyAt's answer for that first key (the caller has looked already).
   */
  private map(ind: number, keyLine: number, out: Record<string, unknown>, after: number): number {
    const nodes = this.nodes;
    const self = nodes.add(MAP, this.line, ind + 1, this.end - this.start - ind, keyLine);
    // The keys so far, for duplicates; made at the second key (most maps of a large profile have one).
    let first = -1;
    let seen: Set<number> | undefined;
    let last = -1;
    for (;;) {
      const s = this.s;
      if (after < 0) giveUp();
      const keyId = this.key;
      const key = nodes.keys[keyId]!;
      // A key the core schema reads as null (the parser's value names it ''), and one that would set a prototype: the full parser decides.
      if (key === '__proto__' || NULL.test(key)) giveUp();
      if (first < 0) first = keyId;
      else {
        seen ??= new Set([first]);
        if (seen.has(keyId)) giveUp();
        seen.add(keyId);
      }
      let k = after;
      while (k < this.end && s.charCodeAt(k) === 0x20) k++;
      let node: number;
      if (k >= this.end || s.charCodeAt(k) === 0x23) node = this.nested(ind, k - this.start, true);
      else {
        node = this.scalar(k);
        this.nextLine();
      }
      nodes.t[node * F + 7] = keyId;
      if (last < 0) nodes.t[self * F + 5] = node;
      else nodes.t[last * F + 6] = node;
      last = node;
      out[key] = this.value;
      this.skipBlank();
      if (this.atEnd()) break;
      const next = this.indent();
      if (next < ind || (next === ind && this.isDash(ind))) break;
      if (next > ind) giveUp();
      after = this.keyAt(this.start + ind);
    }
    return self;
  }

  /**
   * A block sequence whose dashes stand at column `ind`, the first on the current line; its value
   * (an array, or a PackedList) is left in `value`. Items are packed while each is `- key: text`
   * with the list's one key and a string on its line (packedItem): a span each, no object. The
   * first item that is not makes the packed ones objects, and the rest is read as any list.
   */
  private seq(ind: number, keyLine: number): number {
    const nodes = this.nodes;
    const self = nodes.add(SEQ, this.line, ind + 1, this.end - this.start - ind, keyLine);
    const items: number[] = [];
    nodes.items.set(self, items);
    const s = this.s;
    let out: unknown[] | null = null;
    let packKey = -1;
    const spans = new Spans();
    for (;;) {
      if (out === null && packKey >= 0) this.packedRun(ind, packKey, items, spans);
      const dash = this.start + ind;
      let k = dash + 1;
      while (k < this.end && s.charCodeAt(k) === 0x20) k++;
      let node = -1;
      if (k >= this.end || s.charCodeAt(k) === 0x23) {
        if (k === dash + 1 && k < this.end) giveUp();
        out ??= unpackSpans(s, nodes.keys[packKey], spans, items.length);
        node = this.nested(ind, k - this.start, false);
      } else if (s.charCodeAt(k) === 0x2d && (k + 1 === this.end || s.charCodeAt(k + 1) === 0x20)) giveUp();
      else {
        const after = this.keyAt(k);
        if (after >= 0 && out === null) {
          node = this.packedItem(ind, k, after, packKey);
          if (node >= 0) {
            packKey = this.key;
            spans.push(this.spanStart, this.spanEnd);
          } else out = unpackSpans(s, nodes.keys[packKey], spans, items.length);
        }
        if (node >= 0) {
          // Packed: nothing to add to `out`.
        } else if (after >= 0) {
          const value: Record<string, unknown> = {};
          node = this.map(k - this.start, this.line, value, after);
          this.value = value;
          nodes.compact(node);
        } else {
          out ??= unpackSpans(s, nodes.keys[packKey], spans, items.length);
          node = this.scalar(k);
          this.nextLine();
        }
      }
      items.push(node);
      if (out !== null) out.push(this.value);
      this.skipBlank();
      if (this.atEnd()) break;
      const next = this.indent();
      if (next < ind) break;
      if (next > ind) giveUp();
      if (!this.isDash(ind)) break;
    }
    for (let i = 1; i < items.length; i++) nodes.t[items[i - 1]! * F + 6] = items[i]!;
    if (items.length > 0) nodes.t[self * F + 5] = items[0]!;
    this.value = out ?? new PackedList(s, nodes.keys[packKey]!, spans.pairs, items.length);
    return self;
  }

  /**
   * The plainest items of a packed list, in one tight loop: lines `- key: value` written exactly so
   * (the dash at column `ind`, one space after it and after the colon, `key` the list's), each value
   * an address-like plain scalar (hex digits, `.`, `:`, `/`: a colon or slash in it, a hex digit
   * first, no colon last) that ends its line, each line followed by another such dash. Each is what
   * seq and packedItem would read from it (a string, one COMPACT node), without their checks: none of
   * them can fail on such a line. Stops at the first line that is not one, the reader at its start:
   * a dash at `ind`, which seq reads.
   */
  private packedRun(ind: number, packKey: number, items: number[], spans: Spans): void {
    const s = this.s;
    const n = s.length;
    const key = this.nodes.keys[packKey]!;
    const head = `${' '.repeat(ind)}- ${key}: `;
    const dash = `${' '.repeat(ind)}- `;
    const keyCol = ind + 3;
    const valueCol = head.length + 1;
    const t0 = this.nodes;
    let p = this.start;
    let line = this.line;
    while (s.startsWith(head, p)) {
      const v = p + head.length;
      const first = s.charCodeAt(v);
      if (!((first >= 0x30 && first <= 0x39) || (first >= 0x61 && first <= 0x66) || (first >= 0x41 && first <= 0x46))) break;
      let q = v + 1;
      let stringOnly = false;
      for (; q < n; q++) {
        const c = s.charCodeAt(q);
        if (c === 0x3a || c === 0x2f) stringOnly = true;
        else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x2e)) break;
      }
      // The value ends its line, and the next line is the next item's dash (so this item has one key).
      if (!stringOnly || q >= n || s.charCodeAt(q) !== 0x0a || s.charCodeAt(q - 1) === 0x3a || !s.startsWith(dash, q + 1) || q - p >= 0x10000) break;
      const node = t0.add(COMPACT, line, keyCol, q - p - keyCol + 1, line);
      const o = node * F;
      t0.t[o + 5] = valueCol * 0x10000 + (q - v);
      t0.t[o + 7] = packKey;
      items.push(node);
      spans.push(v, q);
      p = q + 1;
      line++;
    }
    if (p !== this.start) {
      this.start = p;
      this.line = line;
      this.end = this.lineEnd(p);
    }
  }

  /**
   * The item `- key: text` whose key stands at offset k (keyAt read it; `after` is past its colon)
   * as one COMPACT node and no object, when its key is `packKey` (any, for -1), its value a string
   * on this line whose text is a span of the source (left in spanStart/spanEnd), and the map has
   * no second key. Otherwise -1, with the reader and the node table as they were: the caller reads
   * the item as any other (and gives up where that gives up).
   */
  private packedItem(ind: number, k: number, after: number, packKey: number): number {
    const keyId = this.key;
    const key = this.nodes.keys[keyId]!;
    if ((packKey >= 0 && keyId !== packKey) || key === '__proto__' || NULL.test(key)) return -1;
    const s = this.s;
    let v = after;
    while (v < this.end && s.charCodeAt(v) === 0x20) v++;
    if (v >= this.end || s.charCodeAt(v) === 0x23) return -1;
    const { start, end, line } = this;
    const n = this.nodes.n;
    const node = this.scalar(v, true);
    const t = this.nodes.t;
    const o = node * F;
    const valueCol = t[o + 2]!;
    const valueLength = t[o + 3]!;
    if (this.value === SPAN && valueCol < 0x10000 && valueLength < 0x10000) {
      this.nextLine();
      this.skipBlank();
      if (this.atEnd() || this.indent() <= ind) {
        // The node scalar() added becomes the item's: a map's fields, as compact() would leave them.
        t[o] = COMPACT;
        t[o + 2] = k - start + 1;
        t[o + 3] = end - k;
        t[o + 4] = line;
        t[o + 5] = valueCol * 0x10000 + valueLength;
        t[o + 6] = -1;
        t[o + 7] = keyId;
        return node;
      }
    }
    this.start = start;
    this.end = end;
    this.line = line;
    this.nodes.n = n;
    return -1;
  }

  /**
   * A single-line scalar starting at offset k of the current line, the rest of the line being spaces
   * or a comment. With `span`, a string whose text is a span of the source is not made: `value` is
   * SPAN, and spanStart/spanEnd say where it stands.
   */
  private scalar(k: number, span = false): number {
    const s = this.s;
    const end = this.end;
    const col = k - this.start + 1;
    const c = s.charCodeAt(k);
    if (c === 0x22 /* " */) {
      const close = s.indexOf('"', k + 1);
      if (close < 0 || close >= end) giveUp();
      if (holds(s, '\\', k + 1, close) || !TAIL.test(s.slice(close + 1, end))) giveUp();
      return span ? this.spanNode(k + 1, close, col, close + 1 - k) : this.scalarNode(s.slice(k + 1, close), col, close + 1 - k);
    }
    if (c === 0x27 /* ' */) {
      let j = k + 1;
      for (;;) {
        j = s.indexOf("'", j);
        if (j < 0 || j >= end) giveUp();
        if (s.charCodeAt(j + 1) === 0x27) j += 2;
        else break;
      }
      if (!TAIL.test(s.slice(j + 1, end))) giveUp();
      if (span && !holds(s, "''", k + 1, j)) return this.spanNode(k + 1, j, col, j + 1 - k);
      return this.scalarNode(s.slice(k + 1, j).replace(/''/g, "'"), col, j + 1 - k);
    }
    if (INDICATOR.test(s[k]!)) giveUp();
    // One scan, on this line only (indexOf would search the rest of the text): where a comment starts
    // (a space and a hash), whether a colon is followed by a space (a mapping), and whether a colon or
    // a slash rules out every core form but a string (an address: no pattern to try).
    let stop = k;
    let colonSpace = false;
    let onlyString = false;
    for (; stop < end; stop++) {
      const c = s.charCodeAt(stop);
      if (c === 0x20 && s.charCodeAt(stop + 1) === 0x23) break;
      if (c === 0x3a) {
        onlyString = true;
        if (s.charCodeAt(stop + 1) === 0x20) colonSpace = true;
      } else if (c === 0x2f) onlyString = true;
    }
    while (stop > k && s.charCodeAt(stop - 1) === 0x20) stop--;
    if (colonSpace || s.charCodeAt(stop - 1) === 0x3a) giveUp();
    if (span && onlyString) return this.spanNode(k, stop, col, stop - k);
    const text = s.slice(k, stop);
    let value: unknown = text;
    const first = text.charCodeAt(0);
    // No int, float, null or bool has a colon or a slash: only other text is tried against them.
    if (!onlyString) {
      if (first >= 0x30 && first <= 0x39) {
        // Digits first: a decimal int, or a string such as an address ("10.0.0.0").
        if (INT.test(text)) value = Number(text);
        else if (OTHER_CORE.test(text)) giveUp();
      } else if (NULL.test(text)) value = null;
      else if (BOOL.test(text)) value = first === 0x74 || first === 0x54;
      else if (OTHER_CORE.test(text)) giveUp();
    }
    if (span && typeof value === 'string') return this.spanNode(k, stop, col, text.length);
    return this.scalarNode(value, col, text.length);
  }

  /** A scalar node of the current line, its value kept for the caller. */
  private scalarNode(value: unknown, col: number, length: number): number {
    this.value = value;
    return this.nodes.add(SCALAR, this.line, col, length, this.line);
  }

  /** A scalar node of the current line whose value is the string source[from, to), not made. */
  private spanNode(from: number, to: number, col: number, length: number): number {
    this.spanStart = from;
    this.spanEnd = to;
    return this.scalarNode(SPAN, col, length);
  }
}

/**
 * Does s[from, to) hold `what`? Searched there only: indexOf would search the rest of the text
 * when it is not there, once per scalar of a long list.
 */
function holds(s: string, what: string, from: number, to: number): boolean {
  const c = what.charCodeAt(0);
  for (let i = from; i + what.length <= to; i++) if (s.charCodeAt(i) === c && s.startsWith(what, i)) return true;
  return false;
}

/** Packed items so far as the objects of an unpacked list (the list has just turned out not to be packable). */
function unpackSpans(s: string, key: string | undefined, spans: Spans, count: number): unknown[] {
  return count === 0 ? [] : new PackedList(s, key ?? '', spans.pairs, count).items();
}

/** Pairs of offsets, grown by doubling. */
class Spans {
  pairs = new Int32Array(128);
  private n = 0;
  push(from: number, to: number): void {
    if (this.n + 2 > this.pairs.length) {
      const bigger = new Int32Array(this.pairs.length * 2);
      bigger.set(this.pairs);
      this.pairs = bigger;
    }
    this.pairs[this.n++] = from;
    this.pairs[this.n++] = to;
  }
}

function locate(t: Int32Array, keys: readonly string[], items: ReadonlyMap<number, number[]>, path: readonly (string | number)[], key: boolean): FastPos {
  let node = 0;
  let keyOf = -1;
  let keyCol = 0;
  let keyLength = 0;
  for (let at = 0; at < path.length; at++) {
    const seg = path[at]!;
    keyOf = -1;
    let next = -1;
    const kind = t[node * F];
    if (kind === MAP) {
      if (typeof seg === 'string') {
        for (let c = t[node * F + 5]!; c >= 0; c = t[c * F + 6]!) {
          if (keys[t[c * F + 7]!] === seg) {
            next = c;
            keyOf = c;
            keyCol = t[node * F + 2]!;
            keyLength = seg.length;
            break;
          }
        }
      }
    } else if (kind === SEQ && typeof seg === 'number') next = items.get(node)?.[seg] ?? -1;
    else if (kind === COMPACT && keys[t[node * F + 7]!] === seg) {
      // The map's one value, a scalar on the item's line: nothing is below it (its key, when it ends the path).
      const line = t[node * F + 1]!;
      if (key && at === path.length - 1) return { line, col: t[node * F + 2]!, length: seg.length };
      const value = t[node * F + 5]!;
      return { line, col: Math.floor(value / 0x10000), length: Math.max(1, value % 0x10000) };
    }
    if (next < 0) break;
    node = next;
  }
  if (key && keyOf >= 0) return { line: t[keyOf * F + 4]!, col: keyCol, length: keyLength };
  return { line: t[node * F + 1]!, col: t[node * F + 2]!, length: Math.max(1, t[node * F + 3]!) };
}
