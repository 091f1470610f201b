/**
 * A prefix list as the text of a data file that a target's script reads in a loop (one
 * canonical prefix per line): the compact form for route sets too large to write one
 * command per route (issue #9 point 5). Nothing but a canonical prefix reaches the file:
 * a list of strings is checked line by line as the `cidr` template helper checks it, a
 * PrefixSet's cover is written from the set's numbers (PrefixSet.cidrText, equal to
 * formatPrefix's text by test/net/prefix-text.property.test.ts), never from a profile's text.
 *
 * The same covers go into the mobile targets' JSON (jsonWithPrefixLists): a PrefixList
 * stands for a JSON array of prefix strings and is written into the document from the
 * sets' numbers, so 678,000 prefixes are neither 678,000 strings nor a JSON.stringify of them.
 */
import type { PrefixSet } from '../net/prefix-set.js';
import { renderLines, VALUE_HELPERS, type Lines } from './render.js';
import { joinedBytes, type Artifact, type ChunkSource, type FileBytes } from './target.js';

/** `cidrs`, one per line, each line ended by `eol` (`\r\n` for Windows files); empty text for an empty list. */
export function prefixListText(cidrs: readonly string[], eol: '\n' | '\r\n' = '\n'): string {
  checkedPrefixes(cidrs);
  return cidrs.length === 0 ? '' : `${cidrs.join(eol)}${eol}`;
}

/** A set's minimal cover as a prefix list, one per line, written from the set's numbers in chunks when the file is written (no string per prefix, no line checked again). */
export function prefixSetBytes(set: PrefixSet, eol: '\n' | '\r\n' = '\n'): FileBytes {
  return [() => set.cidrChunks('', eol)];
}

/** The same as a string (tests, small sets). */
export function prefixSetText(set: PrefixSet, eol: '\n' | '\r\n' = '\n'): string {
  return set.cidrText('', eol).toString('latin1');
}

/** `cidrs` itself once every entry is checked as the `cidr` helper checks it: a prefix list for a structured (JSON) artifact. */
export function checkedPrefixes<T extends readonly string[]>(cidrs: T): T {
  const check = VALUE_HELPERS.cidr;
  for (const c of cidrs) check(c);
  return cidrs;
}

/** An artifact whose content is already bytes (UTF-8); its `text` is decoded only when someone reads it. */
export function bytesArtifact(path: string, bytes: FileBytes, mode = 0o644): Artifact {
  let text: string | undefined;
  return {
    path,
    mode,
    bytes,
    get text(): string {
      return (text ??= joinedBytes(bytes).toString('utf8'));
    },
  };
}

/**
 * A JSON array of prefix strings: the minimal covers of `sets`, in order (IPv4 then IPv6,
 * say). Only jsonWithPrefixLists writes it (JSON.stringify alone would write its fields).
 */
export class PrefixList {
  constructor(readonly sets: readonly PrefixSet[]) {}

  get length(): number {
    return this.sets.reduce((n, s) => n + s.prefixCount(), 0);
  }

  /** The prefixes as strings (tests and small lists; the writer never calls it). */
  toArray(): string[] {
    return this.sets.flatMap((s) => s.toCidrs());
  }
}

/**
 * `value` as stableJson writes it (2-space indent, final newline), UTF-8, where each
 * PrefixList is the JSON array of its prefixes, byte for byte what stableJson would write for
 * `list.toArray()`: the document is stringified with a placeholder element per list, and each
 * placeholder is replaced by the list's elements written from its sets' numbers.
 */
export function jsonWithPrefixLists(value: unknown): FileBytes {
  const lists: PrefixList[] = [];
  const nonce = markerNonce();
  const text = `${JSON.stringify(
    value,
    (_key: string, v: unknown) => {
      if (!(v instanceof PrefixList)) return v;
      if (v.length === 0) return [];
      lists.push(v);
      return [`${nonce}${lists.length - 1}`];
    },
    2,
  )}\n`;
  return splice(
    text,
    lists.map((list, i) => ({
      // JSON.stringify writes the marker's NUL as \u0000, and the element on a line of its own.
      marker: JSON.stringify(`${nonce}${i}`),
      bytes: (indent: string) => {
        const between = `,\n${indent}`;
        const parts: (Buffer | ChunkSource)[] = [];
        for (const s of list.sets.filter((x) => !x.isEmpty)) {
          if (parts.length > 0) parts.push(Buffer.from(between, 'latin1'));
          parts.push(() => s.cidrChunks('"', '"', between));
        }
        return parts;
      },
    })),
  );
}

/**
 * What renderWithPrefixLines hands its render: called with a set, a Lines of one marker line to
 * insert where the set's list goes, framed as cidrText frames it (`head` + prefix + `tail`,
 * `between` two; the marker's line end ends the last); `bytes(lines)` the same for Lines written as
 * bytes (Lines.written), which then go into the file as those bytes, not through the template's text.
 */
export interface PrefixLines {
  (set: PrefixSet, head: string, tail: string, between: string): Lines;
  bytes(lines: Lines): Lines;
}

/**
 * A template's text with long prefix lists in it, the lists written from the sets' numbers:
 * `render` gets `lines` (PrefixLines), which makes a Lines of one marker line to insert where a
 * list goes (an empty Lines for an empty set); each marker is then replaced by the set's cover
 * as cidrText frames it, or by the bytes of the Lines it stands for. Only the framing (checked
 * by the caller's helpers) is text; no prefix is a string. UTF-8 bytes, in pieces.
 */
export function renderWithPrefixLines(render: (lines: PrefixLines) => string): FileBytes {
  const nonce = markerNonce();
  const lists: ({ set: PrefixSet; head: string; tail: string; between: string } | { bytes: Uint8Array[] })[] = [];
  const marker = (): Lines => renderLines([`${nonce}${lists.length - 1}`], (m) => m);
  const lines: PrefixLines = Object.assign(
    (set: PrefixSet, head: string, tail: string, between: string): Lines => {
      if (set.isEmpty) return renderLines([], () => '');
      lists.push({ set, head, tail, between });
      return marker();
    },
    {
      bytes(written: Lines): Lines {
        const pieces = written.pieces?.filter((p) => p.length > 0);
        if (pieces === undefined || pieces.length === 0) return written;
        // The marker's own line end (`\n`, or `\r\n` once a Windows file's text has them) stands for the last line's.
        const last = pieces[pieces.length - 1]!;
        if (last[last.length - 1] !== 0x0a) throw new Error('prefix list: written lines must end with a line end');
        // A line is never split between pieces, so a CR before the last LF is in the same piece.
        pieces[pieces.length - 1] = last.subarray(0, last.length - (last.length >= 2 && last[last.length - 2] === 0x0d ? 2 : 1));
        lists.push({ bytes: pieces });
        return marker();
      },
    },
  );
  const text = render(lines);
  return splice(
    text,
    lists.map((l, i) => ({ marker: `${nonce}${i}`, bytes: () => ('bytes' in l ? l.bytes : [() => l.set.cidrChunks(l.head, l.tail, l.between)]) })),
  );
}

/** A marker no text of a document can hold by accident: a NUL (no validated value has one), then a per-call number. */
function markerNonce(): string {
  return `\u0000prefix-list-${process.hrtime.bigint()}-`;
}

/**
 * `text` as UTF-8 with each marker (exactly once each, in order, alone after its line's
 * indent) replaced by the bytes its list writes for that indent: the pieces in order, the
 * lists as ChunkSources written when the file is (a 20 MB file is never held whole).
 */
function splice(text: string, lists: readonly { marker: string; bytes: (indent: string) => (Uint8Array | ChunkSource)[] }[]): FileBytes {
  const parts: (Uint8Array | ChunkSource)[] = [];
  let from = 0;
  for (const { marker, bytes } of lists) {
    const at = text.indexOf(marker, from);
    if (at < 0 || text.indexOf(marker, at + marker.length) >= 0) throw new Error('prefix list: a list marker is missing or repeated');
    const indent = text.slice(text.lastIndexOf('\n', at) + 1, at);
    if (!/^[ \t]*$/.test(indent)) throw new Error('prefix list: a list marker is not on a line of its own');
    parts.push(Buffer.from(text.slice(from, at), 'utf8'), ...bytes(indent));
    from = at + marker.length;
  }
  parts.push(Buffer.from(text.slice(from), 'utf8'));
  return parts;
}
