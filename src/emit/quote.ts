/**
 * One quoting function per output language. Free text (descriptions) reaches an
 * artifact only through one of these; each either returns text that the
 * language reads back as exactly the input, or throws RenderError when the
 * language cannot hold the input (the caller then leaves the text out).
 */

export class RenderError extends Error {}

/** Anything that would end a line or confuse a terminal; profiles cannot contain these (load.ts), checked again here. */
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u0085]/;

/** POSIX shell: single quotes, with `'` written as `'\''`. */
export function shellQuote(text: string): string {
  if (text.includes('\u0000')) throw new RenderError('NUL cannot appear in a shell word');
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * PowerShell: single-quoted string. PowerShell treats the curly single quotes
 * ‘ ’ ‚ ‛ as quote characters too, so each of them is doubled like `'`.
 */
export function powershellQuote(text: string): string {
  if (LINE_BREAKING.test(text)) throw new RenderError('control characters cannot appear in a PowerShell string');
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, (c) => c + c)}'`;
}

/** nftables: double-quoted string; nft has no escape for `"`, so it is refused. */
export function nftQuote(text: string): string {
  if (text.includes('"') || LINE_BREAKING.test(text)) throw new RenderError('nft strings cannot contain " or control characters');
  return `"${text}"`;
}

/**
 * A line comment's text, at the end of a line after `#` (sh, nft, resolv.conf,
 * ip batch, pf, PowerShell): those readers ignore everything up to the end of
 * the line, so line breaks are refused. One more trap: pfctl joins
 * backslash-newline before it drops comments, so a comment ending in an odd
 * run of backslashes would swallow the next line of pf.conf. pfctl reads `\\`
 * as one backslash, so the trailing run is doubled: pf then reads the comment's
 * tail as exactly the text, and the others (no continuation in their comments:
 * sh, nft, `ip -batch` strips `#...` before it joins lines, PowerShell) show it
 * doubled, which cannot reach the next line either. Not for cmd: `rem` lines
 * expand `%` and continue on a trailing `^`.
 */
export function commentText(text: string): string {
  if (LINE_BREAKING.test(text)) throw new RenderError('a comment cannot contain line breaks or control characters');
  return text.replace(/\\+$/, (run) => run + run);
}
