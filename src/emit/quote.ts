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
 * PowerShell: an ASCII-only string expression. Windows PowerShell 5.1 reads a
 * script without a byte-order mark in the ANSI code page, where the bytes of a
 * UTF-8 character can become quote characters (0x82, 0x91, 0x92 are ‚ ‘ ’ in
 * cp1250/1252): quoting UTF-8 text is not safe there. So printable ASCII goes in
 * single quotes (with `'` doubled) and every other UTF-16 unit is written as
 * `[char]0xHHHH`, joined with `+` after a leading string literal so the sum is
 * a string: `'Po' + [char]0x0142 + ...`, in parentheses so it is one argument.
 * PowerShell 5.1 and 7 read it the same in every code page. (`u{...} exists
 * only from PowerShell 6 on.)
 */
export function powershellQuote(text: string): string {
  if (LINE_BREAKING.test(text)) throw new RenderError('control characters cannot appear in a PowerShell string');
  const parts: string[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e) {
      lit += unit === 0x27 ? "''" : text[i];
    } else {
      if (lit !== '' || parts.length === 0) parts.push(`'${lit}'`);
      lit = '';
      parts.push(`[char]0x${unit.toString(16).toUpperCase().padStart(4, '0')}`);
    }
  }
  if (parts.length === 0) return `'${lit}'`;
  if (lit !== '') parts.push(`'${lit}'`);
  return `(${parts.join(' + ')})`;
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
