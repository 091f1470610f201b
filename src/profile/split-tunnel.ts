/**
 * The split_tunnel section: its mode, and each entry (an address prefix or a host
 * pattern) checked and put in canonical form, with the redundancy between entries
 * (src/profile/redundancy.ts). Decides nothing about routes: that is the plan's job.
 */
import { diag } from '../diagnostics/diagnostic.js';
import { canonicalV4CidrValue, canonicalV6CidrGroups, v4Length, v4Network } from '../net/canonical.js';
import { formatPrefix, V6Prefixes, type Prefix } from '../net/ip.js';
import { aLabelOf, addressLike, dropTrailingDot, formatHostPattern, parseHostPattern, type HostPattern } from '../net/names.js';
import { NAME_REASON, type Checker } from './checker.js';
import * as D from './defaults.js';
import { hostRedundancy, prefixRedundancy, type Listed } from './redundancy.js';
import type { PackedList } from './load.js';
import type { RawProfile } from './schema.js';
import type { Pos, Profile, ServiceMode, SplitEntry } from './types.js';

/**
 * Where an entry's field was written. Its line and column are looked up when something
 * asks (a diagnostic, explain, a diff), and its path built then too: a profile may list
 * 100,000s of entries, and a check or compile reads the position of almost none.
 */
class EntryPos implements Pos {
  #at: { line: number; col: number; length: number } | undefined;
  constructor(
    readonly index: number,
    private readonly field: 'address' | 'host',
    private readonly locate: (path: readonly (string | number)[]) => { line: number; col: number; length: number },
  ) {}
  get path(): readonly (string | number)[] {
    return ['split_tunnel', 'entries', this.index, this.field];
  }
  private at(): { line: number; col: number; length: number } {
    return (this.#at ??= this.locate(this.path));
  }
  get line(): number {
    return this.at().line;
  }
  get col(): number {
    return this.at().col;
  }
  get length(): number {
    return this.at().length;
  }
  toJSON(): Pos & { length: number } {
    return { path: this.path, line: this.line, col: this.col, length: this.length };
  }
}

/**
 * One list's address entries, a column each: what a WrittenAddress answers is read here by its
 * index. The columns of fields nearly every entry of a long list leaves at the default (its own
 * text, a description, the written form) are made at the first entry that needs them.
 */
class EntryList {
  /** Each entry's IPv4 prefix as a number (`network * 64 + length`, src/net/canonical.ts), -1 for IPv6. */
  readonly v4: Float64Array;
  /** Each entry's IPv6 prefix's place in `v6Prefixes`, -1 for IPv4. */
  readonly v6: Int32Array;
  /** Each entry's canonical address, where it is not the packed list's text of the entry (all of them when the entries were objects). */
  private canonical: (string | undefined)[] | undefined;
  private descriptions: string[] | undefined;
  private written: (string | undefined)[] | undefined;
  /** The positions asked for, by index. */
  private readonly positions = new Map<number, EntryPos>();

  constructor(
    count: number,
    /** The list's IPv6 prefixes. */
    readonly v6Prefixes: V6Prefixes,
    /** The list as the reader packed it, whose text an entry written canonically reads as its address; null when the entries were objects. */
    private readonly texts: PackedList | null,
    private readonly locate: (path: readonly (string | number)[]) => { line: number; col: number; length: number },
  ) {
    this.v4 = new Float64Array(count);
    this.v6 = new Int32Array(count);
  }

  /** Entry `index`: its prefix (`v4` or `v6`, the other -1), and what differs from the defaults (its text is the packed list's, no description, written canonically). */
  set(index: number, v4: number, v6: number, canonical?: string, description?: string, written?: string): WrittenAddress {
    this.v4[index] = v4;
    this.v6[index] = v6;
    if (canonical !== undefined) (this.canonical ??= [])[index] = canonical;
    if (description) (this.descriptions ??= [])[index] = description;
    if (written !== undefined) (this.written ??= [])[index] = written;
    return new WrittenAddress(index, this);
  }
  address(index: number): string {
    return this.canonical?.[index] ?? this.texts!.text(index)!; // the item's first value, its address
  }
  description(index: number): string {
    return this.descriptions?.[index] ?? '';
  }
  writtenAs(index: number): string | undefined {
    return this.written?.[index];
  }
  pos(index: number): EntryPos {
    let at = this.positions.get(index);
    if (at === undefined) this.positions.set(index, (at = new EntryPos(index, 'address', this.locate)));
    return at;
  }
}

/**
 * An address entry the profile wrote. It is also the plan's rule for it (`cidr`, `source`) and
 * the redundancy check's item. A list of 100,000 entries makes one of these each, and it is only
 * a handle: its fields are the list's columns (EntryList), and the fields every entry of its kind
 * shares are answered by the class.
 */
class WrittenAddress {
  constructor(
    private readonly index: number,
    private readonly list: EntryList,
  ) {}
  get address(): string {
    return this.list.address(this.index);
  }
  get description(): string {
    return this.list.description(this.index);
  }
  /** An IPv4 prefix as a number (`network * 64 + length`, src/net/canonical.ts), -1 for IPv6: no bigint per entry. */
  get v4(): number {
    return this.list.v4[this.index]!;
  }
  /** An IPv6 prefix's place in `v6Prefixes`, -1 for IPv4: no bigint per entry either. */
  get v6(): number {
    return this.list.v6[this.index]!;
  }
  /** The list's IPv6 prefixes, shared by its entries. */
  get v6Prefixes(): V6Prefixes {
    return this.list.v6Prefixes;
  }
  /** The address as the profile wrote it, when that is not the canonical `address`. */
  get written(): string | undefined {
    return this.list.writtenAs(this.index);
  }
  /** The prefix as a Prefix, made when asked (the plan and the redundancy check read `v4` and `v6`; the rule lines `v4` or the text). */
  get prefix(): Prefix {
    return this.v6 >= 0 ? this.v6Prefixes.prefix(this.v6) : { family: 4, network: BigInt(v4Network(this.v4)), length: v4Length(this.v4) };
  }
  get kind(): 'address' {
    return 'address';
  }
  get cidr(): string {
    return this.address;
  }
  get source(): 'entry' {
    return 'entry';
  }
  get isDefault(): false {
    return false;
  }
  get pos(): EntryPos {
    return this.list.pos(this.index);
  }
}

/**
 * `list` is the entry list as text when the reader packed it (LoadedDocument.valueWith: `raw`
 * then holds an empty list in its place), null when `raw` holds the entries.
 */
export function validateSplitTunnel(raw: RawProfile, list: PackedList | null, serviceMode: ServiceMode, c: Checker): Profile['splitTunnel'] {
  const { ds, at, defaultPos, prefix } = c;
  /* -------- split tunnel -------- */
  const splitMode = raw.split_tunnel?.mode ?? D.DEFAULT_SPLIT_TUNNEL_MODE;
  const entriesAreDefault = list === null && raw.split_tunnel?.entries === undefined;
  const entries: SplitEntry[] = [];
  if (entriesAreDefault) {
    if (splitMode === 'exclude') {
      D.DEFAULT_EXCLUDE_ENTRIES.forEach((e, i) =>
        entries.push({ kind: 'address', address: e.address, cidr: e.address, source: 'entry', description: e.description, pos: defaultPos(['split_tunnel', 'entries', i]), isDefault: true }),
      );
    }
  } else {
    const listedHosts: Listed<HostPattern>[] = [];
    const written = raw.split_tunnel!.entries!;
    const count = list?.length ?? written.length;
    const groups = new Array<number>(8).fill(0);
    const v6Prefixes = new V6Prefixes(count);
    const addresses = new EntryList(count, v6Prefixes, list, c.locate);
    for (let i = 0; i < count; i++) {
      if (list !== null && list.firstKey(i) === 'address' && list.text(i, 'host') === undefined) {
        // A packed item written `- address: ...` (perhaps with a description): canonical text is read in
        // place, and the entry keeps no string of its address.
        const from = list.start(i);
        const to = list.end(i);
        const packed = canonicalV4CidrValue(list.source, from, to);
        const v6Length = packed < 0 ? canonicalV6CidrGroups(list.source, groups, from, to) : -1;
        if (packed >= 0 || v6Length >= 0) {
          entries.push(addresses.set(i, packed, v6Length >= 0 ? v6Prefixes.addGroups(groups, v6Length) : -1, undefined, list.text(i, 'description')));
          continue;
        }
      }
      const e: { address?: string; host?: string; description?: string } = list === null ? written[i]! : list.item(i);
      const description = e.description ?? '';
      if (e.address !== undefined && e.host !== undefined) {
        ds.push(diag('EntryBothAddressAndHost', {}, at(['split_tunnel', 'entries', i])));
        continue;
      }
      if (e.address === undefined && e.host === undefined) {
        ds.push(diag('EntryNeitherAddressNorHost', {}, at(['split_tunnel', 'entries', i])));
        continue;
      }
      if (e.address !== undefined) {
        // Canonical text (nearly every entry of a large list) is read in one scan and kept as written;
        // anything else goes through the checker, which reports what is wrong, and is formatted.
        let packed = canonicalV4CidrValue(e.address);
        const v6Length = packed < 0 ? canonicalV6CidrGroups(e.address, groups) : -1;
        let v6 = -1;
        let canonical = e.address;
        if (packed < 0 && v6Length >= 0) v6 = v6Prefixes.addGroups(groups, v6Length);
        else if (packed < 0) {
          const p = prefix(e.address, ['split_tunnel', 'entries', i, 'address']);
          if (!p) continue;
          canonical = formatPrefix(p);
          if (p.family === 4) packed = Number(p.network) * 64 + p.length;
          else v6 = v6Prefixes.add(p);
        }
        entries.push(addresses.set(i, packed, v6, canonical, description, canonical === e.address ? undefined : e.address));
      } else {
        const here = at(['split_tunnel', 'entries', i, 'host']);
        const asAddress = addressLike(dropTrailingDot(e.host!));
        if (asAddress) {
          ds.push(diag('HostEntryIsAddress', { value: e.host!, suggestion: asAddress }, here));
          continue;
        }
        if (asAddress === '') {
          ds.push(diag('InvalidHostPattern', { value: e.host!, reason: 'it looks like an IP address or prefix, and those go in "address:", written canonically' }, here));
          continue;
        }
        const r = parseHostPattern(dropTrailingDot(e.host!));
        if (!r.ok) {
          const alabel = aLabelOf(dropTrailingDot(e.host!));
          if (alabel) ds.push(diag('NonAsciiName', { value: e.host!, what: 'host pattern', alabel }, here));
          else ds.push(diag('InvalidHostPattern', { value: e.host!, reason: NAME_REASON[r.error] }, here));
          continue;
        }
        const text = formatHostPattern(r.pattern);
        listedHosts.push({ value: r.pattern, text, raw: e.host!, ...here });
        if (serviceMode === 'warp_tunnel_only') {
          ds.push(diag('HostEntryUnsupportedMode', { value: e.host!, mode: serviceMode }, here));
        }
        entries.push({ kind: 'host', host: text, description, pos: here, isDefault: false });
      }
    }
    // The address entries are WrittenAddresses, the redundancy check's items as they are (the whole list when it has no host entry).
    const listedPrefixes = (listedHosts.length === 0 ? entries : entries.filter((e) => e.kind === 'address')) as WrittenAddress[];
    ds.push(...prefixRedundancy(listedPrefixes), ...hostRedundancy(listedHosts));
    if (splitMode === 'include' && count === 0) {
      ds.push(diag('IncludeModeEmpty', {}, at(['split_tunnel', 'entries'])));
    }
  }
  if (splitMode === 'include' && entriesAreDefault) {
    ds.push(diag('IncludeModeEmpty', {}, at(['split_tunnel', 'mode'])));
  }
  if (raw.split_tunnel !== undefined && (serviceMode === '1dot1' || serviceMode === 'proxy' || serviceMode === 'posture_only')) {
    ds.push(diag('SplitTunnelIgnored', { mode: serviceMode }, at(['split_tunnel'], { key: true })));
  }
  return { mode: splitMode, entries, entriesAreDefault };
}
