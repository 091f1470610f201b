/**
 * Domain names, host patterns (Split Tunnel `host` entries) and suffixes
 * (Local Domain Fallback).
 *
 * Grammar: LDH labels (letters, digits, hyphen; no hyphen at either end;
 * 1–63 characters), at most 253 characters in all, no trailing dot (a profile
 * may write the FQDN form `name.`; `profileName` drops the dot). Names are
 * compared lowercased. This grammar excludes every separator of every target
 * language (quotes, spaces, `;`, `#`, newlines), so a valid name renders bare.
 */

import { domainToASCII } from 'node:url';
import { BITS, formatPrefix, hostMaskOf, parseAddress } from './ip.js';

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

/** A name as a profile may write it: the fully qualified form `corp.example.com.` (and `*.x.example.`) means the same name. */
export function dropTrailingDot(text: string): string {
  return text.length > 1 && text.endsWith('.') && !text.endsWith('..') ? text.slice(0, -1) : text;
}

/**
 * The A-label form of a name written with Unicode letters (`bücher.example` →
 * `xn--bcher-kva.example`, per node's `url.domainToASCII`, i.e. UTS #46), or null when
 * `text` is ASCII or has no valid A-label form. A leading `*.` is kept.
 */
export function aLabelOf(text: string): string | null {
  if (!/[^\x00-\x7f]/.test(text)) return null;
  const wildcard = text.startsWith('*.');
  const ascii = domainToASCII(wildcard ? text.slice(2) : text);
  if (ascii === '' || !parseDomainName(dropTrailingDot(ascii)).ok) return null;
  return `${wildcard ? '*.' : ''}${dropTrailingDot(ascii)}`;
}

/**
 * Does a name read as an IP address or prefix? All-numeric labels are valid LDH, so
 * `10.0.0.1` is a grammatical name, but one no DNS query ever carries. Four numeric
 * labels (dotted quads, also with leading zeros or octets above 255, which some
 * resolvers read as inet_aton forms), IPv6 text and CIDR text all count. Returns the
 * canonical host prefix to suggest (`10.0.0.1/32`), '' when it looks like an address
 * but has no canonical form, or null when it is not address-like.
 */
export function addressLike(text: string): string | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = parseAddress(addrText);
  if (a) {
    const len = slash < 0 ? BITS[a.family] : Number(text.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > BITS[a.family] || (slash >= 0 && !/^[0-9]{1,3}$/.test(text.slice(slash + 1)))) return '';
    return formatPrefix({ family: a.family, network: a.value & ~hostMaskOf(a.family, len), length: len });
  }
  if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(addrText) || (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(addrText))) return '';
  return null;
}
