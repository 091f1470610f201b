/**
 * What every section's checks share: the diagnostics list, positions (`at` for a value the
 * profile wrote, `defaultPos` for a default), and the checks of the value types used in
 * more than one section (address, prefix, domain name). Reports; decides no section.
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatAddress, formatPrefix, hostMaskOf, mappedIPv4, mappedIPv4Prefix, parseAddress, parsePrefix, type Prefix } from '../net/ip.js';
import { aLabelOf, addressLike, dropTrailingDot, parseDomainName, type NameError } from '../net/names.js';
import type { LoadedDocument } from './load.js';
import type { Pos } from './types.js';


export function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the profile';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export const NAME_REASON: Record<NameError, string> = {
  empty: 'it is empty',
  'too-long': 'longer than 253 characters',
  'label-length': 'a label is longer than 63 characters',
  'label-syntax': 'labels are letters, digits and inner hyphens, separated by single dots',
  wildcard: '"*" is only allowed as the whole first label',
};

export interface Checker {
  readonly ds: Diagnostic[];
  /** Where `path` was written (its key's position with `key`), with the path. */
  at(path: (string | number)[], opts?: { key?: boolean }): Pos & { length: number };
  /** Where `path` was written, without the path (for a caller that keeps its own). */
  locate(path: readonly (string | number)[]): { line: number; col: number; length: number };
  /** The position of a default value: line 0. */
  defaultPos(path: (string | number)[]): Pos;
  /** A single address, canonical; reports and returns null when invalid. */
  address(text: string, path: (string | number)[], family?: 4 | 6, what?: string): string | null;
  /** A prefix; a bare address is a host prefix. Reports and returns null when invalid. */
  prefix(text: string, path: (string | number)[]): Prefix | null;
  /** A domain name (fallback suffix, search domain): one trailing dot dropped; reports and returns not-ok when invalid. */
  domainName(text: string, here: Pos & { length: number }): { ok: true; name: string } | { ok: false };
}

export function profileChecker(doc: LoadedDocument): Checker {
  const ds: Diagnostic[] = [];
  const at = (path: (string | number)[], opts?: { key?: boolean }): Pos & { length: number } => ({ ...doc.locate(path, opts), path });
  const defaultPos = (path: (string | number)[]): Pos => ({ path, line: 0, col: 0 });

  /* A single address; reports and returns null when invalid. */
  const address = (text: string, path: (string | number)[], family?: 4 | 6, what?: string): string | null => {
    const a = parseAddress(text);
    if (!a) {
      ds.push(diag('InvalidAddress', { value: text }, at(path)));
      return null;
    }
    const v4 = mappedIPv4(a);
    if (v4 !== null) {
      // Some OS APIs take ::ffff:a.b.c.d as IPv6 (a route into the tunnel), others as the IPv4 address.
      ds.push(diag('Ipv4MappedAddress', { what: what ?? describePath(path), value: text, suggestion: v4 }, at(path)));
      return null;
    }
    if (family && a.family !== family) {
      ds.push(diag('AddressFamilyMismatch', { what: what ?? describePath(path), family, value: text }, at(path)));
      return null;
    }
    return formatAddress(a.family, a.value);
  };

  /* A prefix; a bare address is a host prefix. */
  const prefix = (text: string, path: (string | number)[]): Prefix | null => {
    const r = parsePrefix(text);
    if (r.ok) {
      // ::ffff:a.b.c.d/N (N ≥ 96) is an IPv4 range in IPv6 clothing: which family a target routes it in varies.
      const v4 = mappedIPv4Prefix(r.prefix);
      if (v4 === null) return r.prefix;
      ds.push(diag('Ipv4MappedAddress', { what: describePath(path), value: text, suggestion: v4 }, at(path)));
      return null;
    }
    if (r.error === 'host-bits') {
      const slash = text.indexOf('/');
      const a = parseAddress(text.slice(0, slash))!;
      const len = Number(text.slice(slash + 1));
      const suggestion = formatPrefix({ family: a.family, network: a.value & ~hostMaskOf(a.family, len), length: len });
      ds.push(diag('HostBitsSet', { value: text, suggestion }, at(path)));
    } else {
      ds.push(diag('InvalidPrefix', { value: text, hint: r.error === 'length' ? ': the prefix length is out of range' : '' }, at(path)));
    }
    return null;
  };

  /* A domain name (fallback suffix, search domain): one trailing dot dropped; reports and returns not-ok when invalid. */
  const domainName = (text: string, here: Pos & { length: number }): { ok: true; name: string } | { ok: false } => {
    const plain = dropTrailingDot(text);
    if (addressLike(plain) !== null) {
      ds.push(diag('InvalidDomain', { value: text, reason: 'it is an IP address, not a name' }, here));
      return { ok: false };
    }
    const r = parseDomainName(plain);
    if (r.ok) return r;
    const alabel = aLabelOf(plain);
    if (alabel) ds.push(diag('NonAsciiName', { value: text, what: 'domain name', alabel }, here));
    else if (r.error === 'wildcard' && plain.startsWith('*.')) {
      ds.push(diag('InvalidDomain', { value: text, reason: `a suffix already covers every name below it: write "${plain.slice(2)}"` }, here));
    } else ds.push(diag('InvalidDomain', { value: text, reason: NAME_REASON[r.error] }, here));
    return { ok: false };
  };

  return { ds, at, locate: (path) => doc.locate(path), defaultPos, address, prefix, domainName };
}
