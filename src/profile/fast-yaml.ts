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
 * collector little to trace. A list whose items are maps of single-line string values
 * (`- address: 10.0.0.0/8`, perhaps with `description: ...` below: the form of every
 * long list) is kept as a PackedList: each value's place in the text, no object or
 * string per item. `value` makes such lists the objects the full parser's value holds,
 * on first read; a caller that reads one long list as text asks for `packed` (load.ts,
 * LoadedDocument.valueWith).
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
  /** The value as read: each list of maps of string values a PackedList. */
  readonly packed: Record<string, unknown>;
  /**
   * The position of `path` (or of its nearest existing ancestor), or with `key` of the key
   * that names its last segment: what the full parser's locate answers.
   */
  locate(path: readonly (string | number)[], key?: boolean): FastPos;
}

/**
 * A block sequence whose every item is a map of single-line string values, its first on the
 * dash's line (`- address: 10.0.0.0/8`, perhaps with `description: ...` below): each value as
 * its place in the source, no object or string per item. Only a value whose text is a span of the
 * source is packed (a plain or quoted scalar without escapes or doubled quotes), and a list has
 * at most MAX_PACKED_KEYS keys.
 */
export class PackedList {
  /** Where item i's other values start in `more` (in fours), made when first asked; null when no item has one. */
  private moreFrom: Int32Array | null | undefined;

  constructor(
    readonly source: string,
    /** Every key an item has, in the order first met. */
    readonly keys: readonly string[],
    /** Item i's first key (the one on its dash's line), as its index in `keys`. */
    private readonly firsts: Uint8Array,
    /** Item i's first value is source[spans[2i], spans[2i + 1]). */
    private readonly spans: Int32Array,
    /** The items' other values, in the order written: item, key index, start, end. */
    private readonly more: Int32Array,
    private readonly moreCount: number,
    readonly length: number,
  ) {}
  /** Item i's first key. */
  firstKey(i: number): string {
    return this.keys[this.firsts[i]!]!;
  }
  /** Where item i's first value starts in the source. */
  start(i: number): number {
    return this.spans[2 * i]!;
  }
  /** Where item i's first value ends in the source (exclusive). */
  end(i: number): number {
    return this.spans[2 * i + 1]!;
  }
  /** Item i's value of `key` (its first value by default), or undefined when it has none. */
  text(i: number, key: string = this.firstKey(i)): string | undefined {
    if (key === this.firstKey(i)) return this.source.slice(this.spans[2 * i]!, this.spans[2 * i + 1]!);
    const from = this.index();
    if (from === null) return undefined;
    for (let j = from[i]!; j < from[i + 1]!; j++) if (this.moreKey(j) === key) return this.moreText(j);
    return undefined;
  }
  /** Item i as the full parser's value holds it: an object with its keys in the order written. */
  item(i: number): Record<string, string> {
    const item: Record<string, string> = {};
    item[this.firstKey(i)] = this.text(i)!;
    const from = this.index();
    if (from !== null) for (let j = from[i]!; j < from[i + 1]!; j++) item[this.moreKey(j)] = this.moreText(j);
    return item;
  }
  /** The key and the text of the items' other value j. */
  private moreKey(j: number): string {
    return this.keys[this.more[4 * j + 1]!]!;
  }
  private moreText(j: number): string {
    return this.source.slice(this.more[4 * j + 2]!, this.more[4 * j + 3]!);
  }
  /** The items as the full parser's value holds them. */
  items(): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.item(i));
    return out;
  }
  private index(): Int32Array | null {
    if (this.moreFrom === undefined) {
      if (this.moreCount === 0) this.moreFrom = null;
      else {
        const from = new Int32Array(this.length + 1);
        for (let j = 0; j < this.moreCount; j++) from[this.more[4 * j]! + 1] = from[this.more[4 * j]! + 1]! + 1;
        for (let i = 0; i < this.length; i++) from[i + 1] = from[i + 1]! + from[i]!;
        this.moreFrom = from;
      }
    }
    return this.moreFrom;
  }
}

/** The most keys a packed list's items have between them (the split tunnel's: address, host, description). */
const MAX_PACKED_KEYS = 4;

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
  /** packedItem's scratch: the values of the item it reads. */
  private readonly itemValues: number[] = [];
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
   * (an array, or a PackedList) is left in `value`. Items are packed while each is a map of string
   * values on their own lines, its first on the dash's (packedItem): spans, no object. The first
   * item that is not makes the packed ones objects, and the rest is read as any list.
   */
  private seq(ind: number, keyLine: number): number {
    const nodes = this.nodes;
    const self = nodes.add(SEQ, this.line, ind + 1, this.end - this.start - ind, keyLine);
    const items: number[] = [];
    nodes.items.set(self, items);
    const s = this.s;
    let out: unknown[] | null = null;
    const packing = new Packing();
    for (;;) {
      // After an item of one value, the next may be the plainest form too (not after one of more: a list of those has none).
      if (out === null && packing.count > 0 && !packing.lastHasMore) this.packedRun(ind, packing, items);
      const dash = this.start + ind;
      let k = dash + 1;
      while (k < this.end && s.charCodeAt(k) === 0x20) k++;
      let node = -1;
      if (k >= this.end || s.charCodeAt(k) === 0x23) {
        if (k === dash + 1 && k < this.end) giveUp();
        out ??= packing.unpack(s, nodes.keys);
        node = this.nested(ind, k - this.start, false);
      } else if (s.charCodeAt(k) === 0x2d && (k + 1 === this.end || s.charCodeAt(k + 1) === 0x20)) giveUp();
      else {
        const after = this.keyAt(k);
        if (after >= 0 && out === null) {
          node = this.packedItem(ind, k, after, packing);
          if (node < 0) out = packing.unpack(s, nodes.keys);
        }
        if (node >= 0) {
          // Packed: nothing to add to `out`.
        } else if (after >= 0) {
          const value: Record<string, unknown> = {};
          node = this.map(k - this.start, this.line, value, after);
          this.value = value;
          nodes.compact(node);
        } else {
          out ??= packing.unpack(s, nodes.keys);
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
    this.value = out ?? packing.list(s, nodes.keys);
    return self;
  }

  /**
   * The plainest items of a packed list, in one tight loop: lines `- key: value` written exactly so
   * (the dash at column `ind`, one space after it and after the colon, `key` the list's first), each
   * value an address-like plain scalar (hex digits, `.`, `:`, `/`: a colon or slash in it, a hex
   * digit first, no colon last) that ends its line, each line followed by another such dash. Each is
   * what seq and packedItem would read from it (a string, one COMPACT node), without their checks:
   * none of them can fail on such a line. Stops at the first line that is not one, the reader at its
   * start: a dash at `ind`, which seq reads.
   */
  private packedRun(ind: number, packing: Packing, items: number[]): void {
    const s = this.s;
    const n = s.length;
    const keyId = packing.keyIds[0]!;
    const dash = (packing.runDash ??= `${' '.repeat(ind)}- `);
    const head = (packing.runHead ??= `${dash}${this.nodes.keys[keyId]!}: `);
    const keyCol = ind + 3;
    const valueCol = head.length + 1;
    const nodes = this.nodes;
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
      const node = nodes.add(COMPACT, line, keyCol, q - p - keyCol + 1, line);
      const o = node * F;
      nodes.t[o + 5] = valueCol * 0x10000 + (q - v);
      nodes.t[o + 7] = keyId;
      items.push(node);
      packing.add(0, v, q);
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
   * The item whose first key stands at offset k (keyAt read it; `after` is past its colon), read as
   * map() would read it (one MAP node and a SCALAR node a value, or one COMPACT node for one value)
   * but with no object, its values recorded in `packing`: when each value is a string on its key's
   * line whose text is a span of the source, each key stands at the first's column, and the list
   * has room for its keys. Otherwise -1, with the reader, the node table and `packing` as they
   * were: the caller reads the item as any other (and gives up where that gives up).
   */
  private packedItem(ind: number, k: number, after: number, packing: Packing): number {
    const nodes = this.nodes;
    const { start, end, line, key: firstKey } = this;
    const n = nodes.n;
    const keyCol = k - start;
    const self = nodes.add(MAP, line, keyCol + 1, end - k, line);
    // The item's values: key index, start, end (three numbers each).
    const values = this.itemValues;
    values.length = 0;
    let last = -1;
    for (let at = after; ;) {
      const keyId = this.key;
      const key = nodes.keys[keyId]!;
      const index = packing.keyIndex(keyId);
      if (index < 0 || key === '__proto__' || NULL.test(key)) break;
      let duplicate = false;
      for (let j = 0; j < values.length; j += 3) if (values[j] === index) duplicate = true;
      if (duplicate) break;
      const s = this.s;
      let v = at;
      while (v < this.end && s.charCodeAt(v) === 0x20) v++;
      if (v >= this.end || s.charCodeAt(v) === 0x23) break;
      const node = this.scalar(v, true);
      if (this.value !== SPAN) break;
      nodes.t[node * F + 7] = keyId;
      if (last < 0) nodes.t[self * F + 5] = node;
      else nodes.t[last * F + 6] = node;
      last = node;
      values.push(index, this.spanStart, this.spanEnd);
      this.nextLine();
      this.skipBlank();
      if (this.atEnd() || this.indent() <= ind) {
        // The item ends here: what map() and compact() leave, and its values recorded.
        nodes.compact(self);
        packing.add(values[0]!, values[1]!, values[2]!);
        for (let j = 3; j < values.length; j += 3) packing.addMore(values[j]!, values[j + 1]!, values[j + 2]!);
        return self;
      }
      // Another key of this item at the first's column, or nothing this reading takes.
      if (this.indent() !== keyCol) break;
      at = this.keyAt(this.start + keyCol);
      if (at < 0) break;
    }
    // Not taken (the caller then makes the list objects: a key this item added to it is never read).
    this.start = start;
    this.end = end;
    this.line = line;
    this.key = firstKey;
    nodes.n = n;
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
    // (a space and a hash), whether a colon is followed by a space (a mapping), and whether a colon, a
    // slash or a space inside the text rules out every core form but a string (an address, a
    // description: no pattern to try).
    let stop = k;
    let colonSpace = false;
    let onlyString = false;
    let space = -1; // the first space
    for (; stop < end; stop++) {
      const c = s.charCodeAt(stop);
      if (c === 0x20) {
        if (s.charCodeAt(stop + 1) === 0x23) break;
        if (space < 0) space = stop;
      } else if (c === 0x3a) {
        onlyString = true;
        if (s.charCodeAt(stop + 1) === 0x20) colonSpace = true;
      } else if (c === 0x2f) onlyString = true;
    }
    while (stop > k && s.charCodeAt(stop - 1) === 0x20) stop--;
    if (colonSpace || s.charCodeAt(stop - 1) === 0x3a) giveUp();
    if (space >= 0 && space < stop) onlyString = true; // a space with text after it: no int, float, null or bool has one
    if (span && onlyString) return this.spanNode(k, stop, col, stop - k);
    const text = s.slice(k, stop);
    let value: unknown = text;
    const first = text.charCodeAt(0);
    // No int, float, null or bool has a colon, a slash or an inner space: only other text is tried against them.
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

/** A packed list as it is read: its keys, and each item's values, grown by doubling. */
class Packing {
  /** The list's keys, as indexes in the reader's keys, in the order met. */
  readonly keyIds: number[] = [];
  count = 0;
  /** packedRun's line starts: `- ` at the list's column, and with the list's first key. */
  runDash: string | undefined;
  runHead: string | undefined;
  private firsts = new Uint8Array(128);
  private spans = new Int32Array(256);
  private more = new Int32Array(0);
  private moreCount = 0;

  /** The list's index of key `keyId`, added when new; -1 when the list has all the keys it may have. */
  keyIndex(keyId: number): number {
    const at = this.keyIds.indexOf(keyId);
    if (at >= 0 || this.keyIds.length === MAX_PACKED_KEYS) return at;
    this.keyIds.push(keyId);
    return this.keyIds.length - 1;
  }

  /** Whether the last item has more than one value (the last other value is its). */
  get lastHasMore(): boolean {
    return this.moreCount > 0 && this.more[4 * (this.moreCount - 1)] === this.count - 1;
  }

  /** A new item, its first value (key index `key`) at source[from, to). */
  add(key: number, from: number, to: number): void {
    if (this.count === this.firsts.length) {
      this.firsts = grown(this.firsts, new Uint8Array(2 * this.firsts.length));
      this.spans = grown(this.spans, new Int32Array(2 * this.spans.length));
    }
    this.firsts[this.count] = key;
    this.spans[2 * this.count] = from;
    this.spans[2 * this.count + 1] = to;
    this.count++;
  }

  /** Another value of the last item. */
  addMore(key: number, from: number, to: number): void {
    if (4 * this.moreCount + 4 > this.more.length) this.more = grown(this.more, new Int32Array(Math.max(64, 2 * this.more.length)));
    const at = 4 * this.moreCount++;
    this.more[at] = this.count - 1;
    this.more[at + 1] = key;
    this.more[at + 2] = from;
    this.more[at + 3] = to;
  }

  list(source: string, keys: readonly string[]): PackedList {
    return new PackedList(
      source,
      this.keyIds.map((k) => keys[k]!),
      this.firsts,
      this.spans,
      this.more,
      this.moreCount,
      this.count,
    );
  }

  /** The items so far as objects: the list has just turned out not to be packable. */
  unpack(source: string, keys: readonly string[]): unknown[] {
    return this.count === 0 ? [] : this.list(source, keys).items();
  }
}

function grown<T extends Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
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
