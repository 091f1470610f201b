/**
 * A prefix list as the text of a data file that a target's script reads in a loop (one
 * canonical prefix per line): the compact form for route sets too large to write one
 * command per route (issue #9 point 5). Nothing but a canonical prefix reaches the file:
 * a list of strings is checked line by line as the `cidr` template helper checks it, a
 * PrefixSet's cover is canonical by construction.
 */
import type { PrefixSet } from '../net/prefix-set.js';
import { VALUE_HELPERS } from './render.js';

/** `cidrs`, one per line, each line ended by `eol` (`\r\n` for Windows files); empty text for an empty list. */
export function prefixListText(cidrs: readonly string[], eol: '\n' | '\r\n' = '\n'): string {
  return linesOf(checkedPrefixes(cidrs), eol);
}

/**
 * A set's minimal cover as a prefix list, one per line. No line is checked again: the
 * cover's text is formatPrefix's, written from the set's numbers (src/net/prefix-set.ts),
 * never text from a profile, and checking 678,000 lines would double the cost of the file.
 */
export function prefixSetText(set: PrefixSet, eol: '\n' | '\r\n' = '\n'): string {
  return linesOf(set.toCidrs(), eol);
}

function linesOf(cidrs: readonly string[], eol: string): string {
  return cidrs.length === 0 ? '' : `${cidrs.join(eol)}${eol}`;
}

/** `cidrs` itself once every entry is checked as the `cidr` helper checks it: a prefix list for a structured (JSON) artifact. */
export function checkedPrefixes<T extends readonly string[]>(cidrs: T): T {
  const check = VALUE_HELPERS.cidr;
  for (const c of cidrs) check(c);
  return cidrs;
}
