/**
 * Profile validation: the JSON schema (structure, types, enums) first, then the
 * semantic checks the schema cannot express. The result is a fully defaulted,
 * typed Profile, or diagnostics with positions; never both errors and a profile.
 */
import type { ErrorObject } from 'ajv';
import { diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatAddress, formatPrefix, hostMaskOf, mappedIPv4, mappedIPv4Prefix, nonUnicastKind, parseAddress, parsePrefix, type Prefix } from '../net/ip.js';
import { aLabelOf, addressLike, dropTrailingDot, formatHostPattern, parseDomainName, parseHostPattern, type HostPattern, type NameError } from '../net/names.js';
import type { Plan } from '../plan/types.js';
import { schemaValidator as validatorOf } from '../schemas.js';
import * as D from './defaults.js';
import type { LoadedDocument } from './load.js';
import { hostRedundancy, prefixRedundancy, type Listed } from './redundancy.js';
import type { FallbackDomain, Pos, Profile, SplitEntry } from './types.js';

/** Precompiled at build time when it can be (src/schemas.ts), else compiled on first use. */
const schemaValidator = () => validatorOf('profile.schema.json');

/** A JSON-pointer instancePath (`/split_tunnel/entries/0`) to a path array. */
function toPath(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the profile';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'a mapping',
  array: 'a list',
  boolean: 'true or false',
};

function schemaDiagnostics(errors: readonly ErrorObject[], doc: LoadedDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const path = toPath(e.instancePath);
    const what = describePath(path);
    switch (e.keyword) {
      case 'required': {
        const property = (e.params as { missingProperty: string }).missingProperty;
        out.push(diag('SchemaRequired', { property }, { ...doc.locate(path), path }));
        break;
      }
      case 'additionalProperties': {
        const property = (e.params as { additionalProperty: string }).additionalProperty;
        const keyPath = [...path, property];
        const known = Object.keys(knownProperties(e.parentSchema));
        const near = closest(property, known);
        const hint = near ? ` (did you mean "${near}"?)` : known.length ? `; expected one of: ${known.join(', ')}` : '';
        out.push(diag('SchemaUnknownProperty', { property, hint }, { ...doc.locate(keyPath, { key: true }), path: keyPath }));
        break;
      }
      case 'type': {
        const expected = String((e.params as { type: string }).type)
          .split(',')
          .map((t) => TYPE_WORDS[t] ?? t)
          .join(' or ');
        out.push(diag('SchemaType', { what, expected }, { ...doc.locate(path), path }));
        break;
      }
      case 'enum': {
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String).join(', ');
        out.push(diag('SchemaEnum', { what, allowed }, { ...doc.locate(path), path }));
        break;
      }
      default:
        out.push(diag('SchemaConstraint', { what, constraint: e.message ?? e.keyword }, { ...doc.locate(path), path }));
    }
  }
  return out;
}

function knownProperties(parentSchema: unknown): Record<string, unknown> {
  return ((parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
}

/** A known name within edit distance 2, for "did you mean". */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}

const NAME_REASON: Record<NameError, string> = {
  empty: 'it is empty',
  'too-long': 'longer than 253 characters',
  'label-length': 'a label is longer than 63 characters',
  'label-syntax': 'labels are letters, digits and inner hyphens, separated by single dots',
  wildcard: '"*" is only allowed as the whole first label',
};

/* The raw (schema-valid) document shape. */
interface RawEntry {
  address?: string;
  host?: string;
  description?: string;
}
interface RawProfile {
  version: number;
  name?: string;
  service_mode?: Profile['serviceMode'];
  split_tunnel?: { mode?: Profile['splitTunnel']['mode']; entries?: RawEntry[] };
  fallback_domains?: { suffix: string; dns_server?: string[]; description?: string }[];
  always_tunnel?: string[];
  interface?: { ipv4?: string; ipv6?: string; mtu?: number };
  tunnel?: { protocol?: 'wireguard'; endpoint?: string; peer_public_key?: string };
  dns?: { doh_url?: string; doh_addresses?: string[]; doh_via?: 'tunnel' | 'direct'; search?: string[] };
  orchestration?: { url?: string; addresses?: string[] };
  targets?: {
    linux?: { interface?: string; table?: number; fwmark?: number; rule_priority?: number; nft_table?: string; dns_manager?: Profile['targets']['linux']['dnsManager'] };
    macos?: { interface?: string; pf_anchor?: string };
    windows?: { interface?: string };
  };
}

/** Interface names: what Linux accepts (≤15 bytes, no '/', no whitespace) narrowed to a safe set. */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** nft identifiers and pf anchor names: letters, digits and a few separators. */
const NFT_TABLE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const PF_ANCHOR = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function validateProfile(doc: LoadedDocument): { profile: Profile | null; diagnostics: Diagnostic[] } {
  const validate = schemaValidator();
  if (!validate(doc.value)) {
    return { profile: null, diagnostics: schemaDiagnostics(validate.errors ?? [], doc) };
  }
  const raw = doc.value as RawProfile;
  const ds: Diagnostic[] = [];
  const at = (path: (string | number)[], opts?: { key?: boolean }): Pos & { length: number } => ({ ...doc.locate(path, opts), path });
  const defaultPos = (path: (string | number)[]): Pos => ({ path, line: 0, col: 0 });

  if (raw.version !== 1) {
    ds.push(diag('UnsupportedVersion', { version: raw.version }, at(['version'])));
    return { profile: null, diagnostics: ds };
  }

  const serviceMode = raw.service_mode ?? D.DEFAULT_SERVICE_MODE;

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

  /* -------- split tunnel -------- */
  const splitMode = raw.split_tunnel?.mode ?? D.DEFAULT_SPLIT_TUNNEL_MODE;
  const entriesAreDefault = raw.split_tunnel?.entries === undefined;
  const entries: SplitEntry[] = [];
  if (entriesAreDefault) {
    if (splitMode === 'exclude') {
      D.DEFAULT_EXCLUDE_ENTRIES.forEach((e, i) =>
        entries.push({ kind: 'address', address: e.address, description: e.description, pos: defaultPos(['split_tunnel', 'entries', i]), isDefault: true }),
      );
    }
  } else {
    const listedPrefixes: Listed<Prefix>[] = [];
    const listedHosts: Listed<HostPattern>[] = [];
    raw.split_tunnel!.entries!.forEach((e, i) => {
      const path = ['split_tunnel', 'entries', i];
      const description = e.description ?? '';
      if (e.address !== undefined && e.host !== undefined) {
        ds.push(diag('EntryBothAddressAndHost', {}, at(path)));
        return;
      }
      if (e.address === undefined && e.host === undefined) {
        ds.push(diag('EntryNeitherAddressNorHost', {}, at(path)));
        return;
      }
      if (e.address !== undefined) {
        const p = prefix(e.address, [...path, 'address']);
        if (!p) return;
        const here = at([...path, 'address']);
        const text = formatPrefix(p);
        listedPrefixes.push({ value: p, text, raw: e.address, ...here });
        entries.push({ kind: 'address', address: text, description, pos: here, isDefault: false, prefix: p });
      } else {
        const here = at([...path, 'host']);
        const asAddress = addressLike(dropTrailingDot(e.host!));
        if (asAddress) {
          ds.push(diag('HostEntryIsAddress', { value: e.host!, suggestion: asAddress }, here));
          return;
        }
        if (asAddress === '') {
          ds.push(diag('InvalidHostPattern', { value: e.host!, reason: 'it looks like an IP address or prefix, and those go in "address:", written canonically' }, here));
          return;
        }
        const r = parseHostPattern(dropTrailingDot(e.host!));
        if (!r.ok) {
          const alabel = aLabelOf(dropTrailingDot(e.host!));
          if (alabel) ds.push(diag('NonAsciiName', { value: e.host!, what: 'host pattern', alabel }, here));
          else ds.push(diag('InvalidHostPattern', { value: e.host!, reason: NAME_REASON[r.error] }, here));
          return;
        }
        const text = formatHostPattern(r.pattern);
        listedHosts.push({ value: r.pattern, text, raw: e.host!, ...here });
        if (serviceMode === 'warp_tunnel_only') {
          ds.push(diag('HostEntryUnsupportedMode', { value: e.host!, mode: serviceMode }, here));
        }
        entries.push({ kind: 'host', host: text, description, pos: here, isDefault: false });
      }
    });
    ds.push(...prefixRedundancy(listedPrefixes), ...hostRedundancy(listedHosts));
    if (splitMode === 'include' && raw.split_tunnel!.entries!.length === 0) {
      ds.push(diag('IncludeModeEmpty', {}, at(['split_tunnel', 'entries'])));
    }
  }
  if (splitMode === 'include' && entriesAreDefault) {
    ds.push(diag('IncludeModeEmpty', {}, at(['split_tunnel', 'mode'])));
  }
  if (raw.split_tunnel !== undefined && (serviceMode === '1dot1' || serviceMode === 'proxy' || serviceMode === 'posture_only')) {
    ds.push(diag('SplitTunnelIgnored', { mode: serviceMode }, at(['split_tunnel'], { key: true })));
  }

  /* -------- fallback domains -------- */
  const fallbackDomainsAreDefault = raw.fallback_domains === undefined;
  const fallbackDomains: FallbackDomain[] = [];
  if (fallbackDomainsAreDefault) {
    if (serviceMode !== 'warp_tunnel_only') {
      D.DEFAULT_FALLBACK_SUFFIXES.forEach((suffix, i) =>
        fallbackDomains.push({ suffix, dnsServers: [], description: '', pos: defaultPos(['fallback_domains', i]), isDefault: true }),
      );
    }
  } else {
    if (serviceMode === 'warp_tunnel_only' && raw.fallback_domains!.length > 0) {
      ds.push(diag('FallbackUnsupportedMode', { mode: serviceMode }, at(['fallback_domains'], { key: true })));
    }
    const seen = new Map<string, { line: number; col: number }>();
    raw.fallback_domains!.forEach((f, i) => {
      const path = ['fallback_domains', i];
      const here = at([...path, 'suffix']);
      const r = domainName(f.suffix, here);
      if (!r.ok) return;
      const first = seen.get(r.name);
      if (first !== undefined) {
        ds.push(diag('DuplicateFallbackSuffix', { value: f.suffix, otherLine: first.line }, here, [{ message: 'first listed here', line: first.line, col: first.col }]));
        return;
      }
      seen.set(r.name, { line: here.line, col: here.col });
      const servers: string[] = [];
      (f.dns_server ?? []).forEach((s, j) => {
        const a = address(s, [...path, 'dns_server', j]);
        if (a !== null && !servers.includes(a)) servers.push(a);
      });
      fallbackDomains.push({ suffix: r.name, dnsServers: servers, description: f.description ?? '', pos: here, isDefault: false });
    });
  }

  /* -------- always_tunnel -------- */
  const alwaysTunnel: { address: string; pos: Pos }[] = [];
  if (raw.always_tunnel === undefined) {
    D.DEFAULT_ALWAYS_TUNNEL.forEach((a, i) => alwaysTunnel.push({ address: a, pos: defaultPos(['always_tunnel', i]) }));
  } else {
    raw.always_tunnel.forEach((a, i) => {
      const p = prefix(a, ['always_tunnel', i]);
      if (p) alwaysTunnel.push({ address: formatPrefix(p), pos: at(['always_tunnel', i]) });
    });
  }

  /* -------- interface -------- */
  const ipv4 = raw.interface?.ipv4 !== undefined ? address(raw.interface.ipv4, ['interface', 'ipv4'], 4, 'interface.ipv4') : D.DEFAULT_INTERFACE.ipv4;
  const ipv6 = raw.interface?.ipv6 !== undefined ? address(raw.interface.ipv6, ['interface', 'ipv6'], 6, 'interface.ipv6') : D.DEFAULT_INTERFACE.ipv6;
  const mtu = raw.interface?.mtu ?? D.DEFAULT_INTERFACE.mtu;
  if (mtu < 576 || mtu > 65535) {
    ds.push(diag('MtuOutOfRange', { value: mtu, min: 576, max: 65535, hint: '' }, at(['interface', 'mtu'])));
  } else if (mtu < IPV6_MIN_MTU && ipv6 !== null) {
    // IPv6 needs at least 1280 (RFC 8200). Without an IPv6 address, checkPlanned decides from the tunnel set.
    ds.push(diag('MtuTooSmallForIpv6', { value: mtu, why: `the interface has the IPv6 address ${ipv6}` }, at(['interface', 'mtu'])));
  }
  for (const [field, value] of [['interface.ipv4', ipv4], ['interface.ipv6', ipv6]] as const) {
    const a = value === null ? null : parseAddress(value);
    const kind = a === null ? null : nonUnicastKind(a);
    const path = ['interface', field.slice('interface.'.length)];
    if (kind !== null) ds.push(diag('UnusableInterfaceAddress', { field, value: value!, kind, hint: field === 'interface.ipv4' ? `the default is ${D.DEFAULT_INTERFACE.ipv4}` : 'leave interface.ipv6 out for an IPv4-only interface' }, at(path)));
  }

  /* -------- tunnel -------- */
  let endpoint: { host: string; port: number } | null = null;
  {
    const text = raw.tunnel?.endpoint ?? D.DEFAULT_TUNNEL.endpoint;
    const path = ['tunnel', 'endpoint'];
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
    if (!m) {
      ds.push(diag('InvalidEndpoint', { value: text, reason: 'write ADDRESS:PORT, or [IPv6]:PORT' }, at(path)));
    } else {
      const a = parseAddress(m[1] ?? m[2]!);
      const host = a === null ? null : formatAddress(a.family, a.value);
      const port = Number(m[3]);
      const v4 = a === null ? null : mappedIPv4(a);
      const kind = a === null ? null : nonUnicastKind(a);
      const own = host === null ? undefined : ([['interface.ipv4', ipv4], ['interface.ipv6', ipv6]] as const).find(([, v]) => v === host);
      if (host === null || a === null) ds.push(diag('InvalidEndpoint', { value: text, reason: 'the host must be an IP address (no DNS lookup happens before the tunnel)' }, at(path)));
      else if (m[1] !== undefined && a.family !== 6) ds.push(diag('InvalidEndpoint', { value: text, reason: 'brackets are for IPv6 addresses' }, at(path)));
      else if (port < 1 || port > 65535) ds.push(diag('InvalidEndpoint', { value: text, reason: 'the port must be 1–65535' }, at(path)));
      else if (v4 !== null) ds.push(diag('Ipv4MappedAddress', { what: 'tunnel.endpoint', value: text, suggestion: `${v4}:${port}` }, at(path)));
      else if (kind !== null) ds.push(diag('UnusableEndpoint', { value: text, kind }, at(path)));
      else if (own) ds.push(diag('EndpointIsInterfaceAddress', { value: text, field: own[0] }, at(path)));
      else endpoint = { host, port };
    }
  }
  const peerPublicKey = raw.tunnel?.peer_public_key ?? D.DEFAULT_TUNNEL.peerPublicKey;
  if (peerPublicKey !== null && !WG_KEY.test(peerPublicKey)) ds.push(diag('InvalidPublicKey', {}, at(['tunnel', 'peer_public_key'])));

  /* -------- dns -------- */
  const dohUrl = raw.dns?.doh_url ?? D.DEFAULT_DNS.dohUrl;
  {
    const reason = checkHttpsUrl(dohUrl);
    if (reason) ds.push(diag('InvalidUrl', { value: dohUrl, what: 'DoH', reason }, at(['dns', 'doh_url'])));
  }
  const dohAddresses: string[] = [];
  const dohAddressPos = new Map<string, Pos>();
  if (raw.dns?.doh_addresses === undefined) {
    D.DEFAULT_DNS.dohAddresses.forEach((a, i) => {
      dohAddresses.push(a);
      dohAddressPos.set(a, defaultPos(['dns', 'doh_addresses', i]));
    });
  } else raw.dns.doh_addresses.forEach((a, i) => {
    const c = address(a, ['dns', 'doh_addresses', i]);
    if (c !== null && !dohAddresses.includes(c)) {
      dohAddresses.push(c);
      dohAddressPos.set(c, at(['dns', 'doh_addresses', i]));
    }
  });
  const dnsInUse = serviceMode === 'warp' || serviceMode === '1dot1';
  // An empty list; a list whose addresses were all refused has its own errors already.
  if (dnsInUse && raw.dns?.doh_addresses !== undefined && raw.dns.doh_addresses.length === 0) {
    ds.push(diag('DohAddressMissing', { url: dohUrl }, at(['dns', 'doh_addresses'])));
  }
  const search: string[] = [];
  (raw.dns?.search ?? D.DEFAULT_DNS.search).forEach((s, i) => {
    const r = domainName(s, at(['dns', 'search', i]));
    if (r.ok && !search.includes(r.name)) search.push(r.name);
  });

  /* -------- orchestration -------- */
  const orchUrl = raw.orchestration?.url ?? D.DEFAULT_ORCHESTRATION.url;
  {
    const reason = checkHttpsUrl(orchUrl);
    if (reason) ds.push(diag('InvalidUrl', { value: orchUrl, what: 'orchestration', reason }, at(['orchestration', 'url'])));
  }
  const orchAddresses: string[] = [];
  if (raw.orchestration?.addresses === undefined) orchAddresses.push(...D.DEFAULT_ORCHESTRATION.addresses);
  else raw.orchestration.addresses.forEach((a, i) => {
    const c = address(a, ['orchestration', 'addresses', i]);
    if (c !== null && !orchAddresses.includes(c)) orchAddresses.push(c);
  });

  /* -------- targets -------- */
  const lx = raw.targets?.linux ?? {};
  const linux = {
    interface: lx.interface ?? D.DEFAULT_LINUX.interface,
    table: lx.table ?? D.DEFAULT_LINUX.table,
    fwmark: lx.fwmark ?? D.DEFAULT_LINUX.fwmark,
    rulePriority: lx.rule_priority ?? D.DEFAULT_LINUX.rulePriority,
    nftTable: lx.nft_table ?? D.DEFAULT_LINUX.nftTable,
    dnsManager: lx.dns_manager ?? D.DEFAULT_LINUX.dnsManager,
  };
  const ifname = (value: string, path: (string | number)[]): void => {
    if (!IFNAME.test(value)) ds.push(diag('InvalidName', { value, what: 'interface name', reason: 'at most 15 letters, digits, "_", "." or "-", starting with a letter or digit' }, at(path)));
  };
  ifname(linux.interface, ['targets', 'linux', 'interface']);
  {
    const reason = reservedLinuxIfname(linux.interface);
    if (reason) ds.push(diag('ReservedInterfaceName', { field: 'targets.linux.interface', value: linux.interface, reason, default: D.DEFAULT_LINUX.interface }, at(['targets', 'linux', 'interface'])));
  }
  // Table numbers: 0 (unspec), 253–255 (default/main/local) are the kernel's; 2^32-1 is invalid.
  const numberRange = (field: string, value: number, min: number, max: number, reserved: number[] = []): void => {
    if (value < min || value > max || reserved.includes(value)) {
      ds.push(diag('LinuxNumberRange', { field, value, min, max: reserved.length ? `${max} (not ${reserved.join(', ')})` : max }, at(['targets', 'linux', field])));
    }
  };
  numberRange('table', linux.table, 1, 0xfffffffe, [253, 254, 255]);
  numberRange('fwmark', linux.fwmark, 1, 0xffffffff);
  numberRange('rule_priority', linux.rulePriority, 1, 32765);
  if (!NFT_TABLE.test(linux.nftTable)) {
    ds.push(diag('InvalidName', { value: linux.nftTable, what: 'nft table name', reason: 'an nft table name is a letter followed by letters, digits, "_" or "-" (at most 32)' }, at(['targets', 'linux', 'nft_table'])));
  }
  const macos = { interface: raw.targets?.macos?.interface ?? D.DEFAULT_MACOS.interface, pfAnchor: raw.targets?.macos?.pf_anchor ?? D.DEFAULT_MACOS.pfAnchor };
  if (!/^utun[0-9]{1,3}$/.test(macos.interface)) ds.push(diag('InvalidName', { value: macos.interface, what: 'macOS interface name', reason: 'macOS tunnel interfaces are utunN' }, at(['targets', 'macos', 'interface'])));
  if (!PF_ANCHOR.test(macos.pfAnchor)) ds.push(diag('InvalidName', { value: macos.pfAnchor, what: 'pf anchor name', reason: 'a pf anchor name is letters, digits, "_", "." or "-"' }, at(['targets', 'macos', 'pf_anchor'])));
  const windows = { interface: raw.targets?.windows?.interface ?? D.DEFAULT_WINDOWS.interface };
  ifname(windows.interface, ['targets', 'windows', 'interface']);

  if (hasErrors(ds) || ipv4 === null || endpoint === null) return { profile: null, diagnostics: ds };

  const profile: Profile = {
    version: 1,
    name: raw.name ?? 'default',
    serviceMode,
    splitTunnel: { mode: splitMode, entries, entriesAreDefault },
    fallbackDomains,
    fallbackDomainsAreDefault,
    alwaysTunnel,
    interface: { ipv4, ipv6, mtu },
    tunnel: { protocol: 'wireguard', endpoint, peerPublicKey },
    dns: { dohUrl, dohAddresses, dohAddressPos, dohVia: raw.dns?.doh_via ?? D.DEFAULT_DNS.dohVia, search },
    orchestration: { url: orchUrl, addresses: orchAddresses },
    targets: { linux, macos, windows },
  };
  return { profile, diagnostics: ds };
}

/** Null when `text` is an https URL warpc can use as-is, else the reason. */
function checkHttpsUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'it does not parse as a URL';
  }
  if (url.protocol !== 'https:') return 'it must use https';
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  if (url.hash) return 'a fragment is not allowed';
  if (/[\s"'`\\]/.test(text)) return 'quotes, backslashes and spaces are not allowed';
  return null;
}

/** IPv6's minimum link MTU (RFC 8200 section 5). */
export const IPV6_MIN_MTU = 1280;

/**
 * Linux interface names warpc must not use for its tunnel, and why: the kernel's own
 * names (`all` and `default` are the net.ipv4.conf/net.ipv6.conf keys and are refused
 * by `ip link add`), loopback, and the names the kernel and udev give physical NICs
 * (`eth0`, `wlan0`, `wwan0`, and the predictable names `en…`, `wl…`, `ww…`, `ib…`, `sl…`
 * followed by a type letter and an index: eno1, ens33, enp3s0, enx00e04c680001, wlp2s0).
 * The runtime also refuses any name that already exists when `up` starts; this
 * catches the common ones at compile time, before a profile is shipped.
 */
export function reservedLinuxIfname(name: string): string | null {
  if (name === 'all' || name === 'default') return 'is reserved by the kernel (net.ipv4.conf.all/default)';
  if (name === 'lo') return 'is the loopback interface';
  if (/^(eth|wlan|wwan)[0-9]+$/.test(name) || /^(en|wl|ww|ib|sl)(o[0-9]|s[0-9]|p[0-9]|x[0-9a-f]{12}|b[0-9]|P[0-9]|v[0-9]|a[0-9]|c[0-9]|i[0-9])/.test(name)) {
    return 'is a name Linux gives physical network interfaces';
  }
  return null;
}

/**
 * Checks that need the plan's sets: an MTU below IPv6's minimum while IPv6 is routed into
 * the tunnel. `warpc up` would fail there (below 1280 the kernel removes IPv6 from the link
 * and the IPv6 routes cannot be added), and other OSes clamp or drop it, so `check` must
 * refuse what `up` cannot apply. "Routed into the tunnel" means exactly: the service mode
 * routes, and the plan's IPv6 tunnel set is not empty (the interface IPv6 address case is
 * refused by validateProfile already).
 */
export function checkPlanned(doc: LoadedDocument, profile: Profile, plan: Plan): Diagnostic[] {
  const out: Diagnostic[] = [];
  const v6 = plan.split.tunnel.v6;
  if (profile.interface.mtu < IPV6_MIN_MTU && profile.interface.ipv6 === null && plan.features.routes && !v6.isEmpty) {
    const cidrs = v6.toCidrs();
    const more = cidrs.length > 1 ? ` and ${cidrs.length - 1} more IPv6 prefix${cidrs.length > 2 ? 'es' : ''}` : '';
    const path = ['interface', 'mtu'];
    out.push(diag('MtuTooSmallForIpv6', { value: profile.interface.mtu, why: `the tunnel carries IPv6 (${cidrs[0]}${more})` }, { ...doc.locate(path), path }));
  }
  return out;
}
