/**
 * Read profile YAML into a plain value plus a way to find any path's source
 * position. YAML 1.2 core schema only (so `on`, `yes` stay strings and `0777`
 * is decimal), duplicate keys rejected, no anchors/aliases/tags, no control
 * characters anywhere.
 */
import { createRequire } from 'node:module';
import type * as YamlNs from 'yaml';
import type { Document, Node } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { PackedList, readFastYaml, unpacked } from './fast-yaml.js';

export { PackedList };

export interface Located {
  line: number;
  col: number;
  length: number;
}

export interface LoadedDocument {
  /** The whole value, as the full parser's toJS() makes it (for the fast reader's document, made on first read). */
  readonly value: unknown;
  readonly source: string;
  /** The value at `path` (undefined where the path leads nowhere): reading one section does not make the whole value. */
  valueAt(path: readonly (string | number)[]): unknown;
  /**
   * The value, but with the list at `path` left as the fast reader packed it, when it did and every
   * key its items have is among `keys`: `list` is then that list (src/profile/fast-yaml.ts PackedList),
   * and the value holds an empty array in its place. Otherwise the whole value, and null. A reader
   * of one long list (the split tunnel entries) reads it so: no object or string per item.
   */
  valueWith(path: readonly string[], keys: readonly string[]): { value: unknown; list: PackedList | null };
  /** Position of the value at `path`, or of its nearest existing ancestor. `key` points at the mapping key instead. */
  locate(path: readonly (string | number)[], opts?: { key?: boolean }): Located;
}

/**
 * The yaml package loads on first use, not at import: a plain block profile (every large
 * one) is read by the fast reader alone, and its 70-odd CommonJS files cost start-up time.
 */
let yamlModule: typeof YamlNs | undefined;
function yaml(): typeof YamlNs {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlNs);
}

/** Characters that may not appear anywhere: C0 except TAB/LF/CR, DEL, C1, line/paragraph separators, bidi controls. */
const FORBIDDEN_IN_SOURCE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** In a scalar value, TAB, LF and CR are forbidden too: no field of a profile spans lines. */
const FORBIDDEN_IN_VALUE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function charName(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

export function loadProfileSource(source: string): { doc: LoadedDocument | null; diagnostics: Diagnostic[] } {
  // Control characters in the raw text first: the YAML parser would report them less clearly.
  const diagnostics: Diagnostic[] = [];
  const m = FORBIDDEN_IN_SOURCE.exec(source);
  if (m) {
    const before = source.slice(0, m.index);
    const line = before.split('\n').length;
    const col = m.index - before.lastIndexOf('\n');
    diagnostics.push(diag('ControlCharacter', { char: charName(m[0]), what: 'the profile text' }, { line, col }));
    return { doc: null, diagnostics };
  }
  if (source.startsWith('\ufeff')) source = source.slice(1);

  // Most profiles, and every large one, are plain block YAML: the fast reader reads those
  // without a node per token, and holds every position a diagnostic can ask for.
  const fast = readFastYaml(source);
  if (fast) {
    const doc: LoadedDocument = {
      get value() {
        return fast.value;
      },
      source,
      valueAt: (path) => unpacked(walk(fast.packed, path)),
      valueWith(path, keys) {
        const list = walk(fast.packed, path);
        if (!(list instanceof PackedList) || !list.keys.every((k) => keys.includes(k))) return { value: fast.value, list: null };
        const value = unpacked(fast.packed, list);
        // The path is keys, so it leads through maps (copies, in `value`): the empty list goes at its end.
        let at = value as Record<string, unknown>;
        for (const seg of path.slice(0, -1)) at = at[seg] as Record<string, unknown>;
        at[path[path.length - 1]!] = [];
        return { value, list };
      },
      locate: (path, opts = {}) => fast.locate(path, opts.key === true),
    };
    return { doc, diagnostics: [] };
  }
  return loadWithParser(source);
}

/** The full YAML parser's reading, with every check and any node's position (exported for the fast reader's tests). */
export function loadWithParser(source: string): { doc: LoadedDocument | null; diagnostics: Diagnostic[] } {
  const { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit } = yaml();
  const lineCounter = new LineCounter();
  const pos = (offset: number): { line: number; col: number } => lineCounter.linePos(Math.min(offset, source.length));
  const diagnostics: Diagnostic[] = [];
  const docs = parseAllDocuments(source, { version: '1.2', schema: 'core', uniqueKeys: true, strict: true, prettyErrors: false, lineCounter, merge: false });
  if (!Array.isArray(docs)) {
    // An empty stream.
    return { doc: null, diagnostics: [diag('NotAMapping', {}, { line: 1, col: 1 })] };
  }
  if (docs.length === 0) return { doc: null, diagnostics: [diag('NotAMapping', {}, { line: 1, col: 1 })] };
  if (docs.length > 1) {
    const second = docs[1]!;
    const at = pos(second.range[0]);
    return { doc: null, diagnostics: [diag('MultipleDocuments', {}, at)] };
  }
  const doc = docs[0]! as Document.Parsed;
  for (const err of doc.errors) {
    const at = pos(err.pos[0]);
    if (err.code === 'DUPLICATE_KEY') {
      // The error's range may cover only part of the key: take the whole key from the source.
      const rest = source.slice(err.pos[0]);
      const key = /^(?:"([^"]*)"|'([^']*)'|([^:\n]*?))\s*:/.exec(rest);
      const keyText = (key?.[1] ?? key?.[2] ?? key?.[3] ?? '').trim() || '?';
      diagnostics.push(diag('DuplicateKey', { key: keyText }, { ...at, length: keyText.length }));
    } else {
      diagnostics.push(diag('YamlSyntax', { detail: firstLine(err.message) }, at));
    }
  }
  if (diagnostics.length > 0) return { doc: null, diagnostics };

  // No anchors, aliases, tags: a profile is plain data. Collections and scalars alike
  // (the visitor calls the most specific callback, so each kind checks its own props).
  const noProps = (node: Node): void => {
    const n = node as { anchor?: string; tag?: string };
    if (n.anchor || n.tag) {
      const at = propsAt(source, node.range?.[0] ?? 0);
      diagnostics.push(diag('YamlAlias', {}, { ...pos(at.offset), length: at.length }));
    }
  };
  visit(doc, {
    Alias(_, node) {
      const at = pos(node.range?.[0] ?? 0);
      diagnostics.push(diag('YamlAlias', {}, { ...at, length: node.source.length + 1 }));
    },
    Map(_, node) {
      noProps(node);
    },
    Seq(_, node) {
      noProps(node);
    },
    Scalar(_, node) {
      noProps(node);
      if (typeof node.value === 'string') {
        const bad = FORBIDDEN_IN_VALUE.exec(node.value);
        if (bad) {
          const at = pos(node.range?.[0] ?? 0);
          diagnostics.push(diag('ControlCharacter', { char: charName(bad[0]), what: 'a value' }, at));
        }
      }
    },
  });
  if (diagnostics.length > 0) return { doc: null, diagnostics: dedupe(diagnostics) };

  if (!isMap(doc.contents)) {
    const at = doc.contents ? pos(doc.contents.range?.[0] ?? 0) : { line: 1, col: 1 };
    return { doc: null, diagnostics: [diag('NotAMapping', {}, at)] };
  }

  const value = doc.toJS({ maxAliasCount: 0 }) as unknown;
  const loaded: LoadedDocument = {
    value,
    source,
    valueAt: (path) => walk(value, path),
    valueWith: () => ({ value, list: null }),
    locate(path, opts = {}) {
      let node: unknown = doc.contents;
      let keyNode: Node | null = null;
      for (const seg of path) {
        let next: unknown;
        keyNode = null;
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
          if (pair && isNode(pair.key)) keyNode = pair.key;
          next = pair?.value;
        } else if (isSeq(node) && typeof seg === 'number') {
          next = node.items[seg];
        }
        if (!isNode(next)) {
          // Nearest existing ancestor, or the key whose value is missing/null.
          if (keyNode) node = keyNode;
          break;
        }
        node = next;
      }
      const target = (opts.key && keyNode ? keyNode : node) as Node;
      const range = target.range ?? [0, 1, 1];
      const at = pos(range[0]);
      // Underline the first line of the node only.
      const text = source.slice(range[0], range[1]);
      const nl = text.indexOf('\n');
      return { ...at, length: Math.max(1, nl < 0 ? text.length : nl) };
    },
  };
  return { doc: loaded, diagnostics: [] };
}

/**
 * Where a node's anchor and tag stand: the parser's range starts at the value, after
 * its properties (`&name`, `!tag`, in either order, possibly on the line before), so
 * walk back over whitespace-separated tokens that start with `&` or `!`.
 */
function propsAt(source: string, valueStart: number): { offset: number; length: number } {
  let best = { offset: valueStart, length: 1 };
  let i = valueStart;
  for (;;) {
    let j = i;
    while (j > 0 && /\s/.test(source[j - 1]!)) j--;
    let k = j;
    const verbatim = source[j - 1] === '>' ? source.lastIndexOf('!<', j) : -1;
    if (verbatim >= 0 && !/\s/.test(source.slice(verbatim, j))) k = verbatim; // !<tag:yaml.org,2002:str> may hold commas
    else while (k > 0 && !/[\s,[{]/.test(source[k - 1]!)) k--;
    if (k === j || (source[k] !== '&' && source[k] !== '!')) return best;
    best = { offset: k, length: j - k };
    i = k;
  }
}

/** The value at `path` below `value`, or undefined. */
function walk(value: unknown, path: readonly (string | number)[]): unknown {
  let at = value;
  for (const seg of path) {
    if (at instanceof PackedList) {
      // One item, not the whole list (a list of 100,000 is made only for a path that is not an index).
      if (typeof seg === 'number') {
        if (!Number.isInteger(seg) || seg < 0 || seg >= at.length) return undefined;
        at = at.item(seg);
        continue;
      }
      at = at.items();
    }
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, seg)) return undefined;
    at = (at as Record<string | number, unknown>)[seg];
  }
  return at;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}:${d.line}:${d.col}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}


/**
 * Profile bytes to text. Anything that is not UTF-8 is refused, pointing at the first
 * bad byte: decoding it leniently would turn it into U+FFFD and let a changed value
 * through. A BOM is kept (loadProfileSource drops it), so the text hashes like the file.
 */
export function decodeProfileBytes(bytes: Uint8Array): { source: string | null; diagnostics: Diagnostic[] } {
  try {
    return { source: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), diagnostics: [] };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, bad - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
    // Columns count UTF-16 units of the decoded line, as everywhere else; the bytes before `bad` are valid.
    const col = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(lineStart, bad)).length + 1;
    const byte = bytes[bad]!.toString(16).toUpperCase().padStart(2, '0');
    return { source: null, diagnostics: [diag('NotUtf8', { byte }, { line, col })] };
  }
}

/** Index of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      // A broken sequence is reported at its first byte (a Latin-1 "é" is one lead byte without continuations).
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}
