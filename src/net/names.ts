/**
 * Domain names, host patterns (Split Tunnel `host` entries) and suffixes
 * (Local Domain Fallback).
 *
 * Grammar: LDH labels (letters, digits, hyphen; no hyphen at either end;
 * 1–63 characters), at most 253 characters in all, no trailing dot. Names are
 * compared lowercased. This grammar excludes every separator of every target
 * language (quotes, spaces, `;`, `#`, newlines), so a valid name renders bare.
 */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Lowercase ASCII letters only. DNS names compare case-insensitively in ASCII alone
 * (RFC 4343); `toLowerCase()` would also fold e.g. KELVIN SIGN (U+212A) into an ASCII
 * `k`, letting a non-LDH text pass the grammar.
 */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

export type NameError = 'empty' | 'too-long' | 'label-length' | 'label-syntax' | 'wildcard';

/** Validate a domain name; returns the lowercased name or the reason it is invalid. */
export function parseDomainName(text: string): { ok: true; name: string } | { ok: false; error: NameError } {
  if (text.length === 0) return { ok: false, error: 'empty' };
  const name = asciiLower(text);
  if (name.length > 253) return { ok: false, error: 'too-long' };
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > 63) return { ok: false, error: label.length === 0 ? 'label-syntax' : 'label-length' };
    if (label.includes('*')) return { ok: false, error: 'wildcard' };
    if (!LABEL.test(label)) return { ok: false, error: 'label-syntax' };
  }
  return { ok: true, name };
}

export interface HostPattern {
  /** `*.name` matches any depth of subdomain of name, but not name itself. */
  readonly wildcard: boolean;
  /** Lowercased name without the `*.`. */
  readonly name: string;
}

/** Parse `name` or `*.name`. */
export function parseHostPattern(text: string): { ok: true; pattern: HostPattern } | { ok: false; error: NameError } {
  const wildcard = text.startsWith('*.');
  const r = parseDomainName(wildcard ? text.slice(2) : text);
  if (!r.ok) return r;
  if (wildcard && r.name.length + 2 > 253) return { ok: false, error: 'too-long' };
  return { ok: true, pattern: { wildcard, name: r.name } };
}

export function formatHostPattern(p: HostPattern): string {
  return p.wildcard ? `*.${p.name}` : p.name;
}

/** Lowercase a query name and drop one trailing dot. */
export function normalizeName(name: string): string {
  const lower = asciiLower(name);
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Is `name` equal to `suffix` or below it, on whole labels? Both normalized. */
export function isSubdomainOrSelf(name: string, suffix: string): boolean {
  if (suffix === '') return true;
  return name === suffix || (name.length > suffix.length && name.endsWith(suffix) && name[name.length - suffix.length - 1] === '.');
}

export function matchHostPattern(p: HostPattern, name: string): boolean {
  const n = normalizeName(name);
  return p.wildcard ? n !== p.name && isSubdomainOrSelf(n, p.name) : n === p.name;
}

/** Does pattern `a` match every name that `b` matches? (used for shadowing warnings) */
export function hostPatternCovers(a: HostPattern, b: HostPattern): boolean {
  if (!a.wildcard) return !b.wildcard && a.name === b.name;
  // *.x covers y when y is strictly below x, and *.y when y is x or below.
  return b.wildcard ? isSubdomainOrSelf(b.name, a.name) : b.name !== a.name && isSubdomainOrSelf(b.name, a.name);
}

/**
 * The longest suffix that matches `name` on whole labels, or undefined.
 * `suffixes` may be in any order; ties cannot happen (suffixes are unique).
 */
export function longestSuffixMatch<T extends { readonly suffix: string }>(rules: readonly T[], name: string): T | undefined {
  const n = normalizeName(name);
  let best: T | undefined;
  for (const r of rules) {
    if (isSubdomainOrSelf(n, r.suffix) && (best === undefined || r.suffix.length > best.suffix.length)) best = r;
  }
  return best;
}
