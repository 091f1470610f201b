/**
 * Profile validation: the JSON schema (structure, types, enums) first, then the
 * semantic checks the schema cannot express, one function per section, and each
 * target's options by the target's own checks (targets/<os>/options.ts, handed in by
 * the registry). The result is a fully defaulted, typed Profile, or diagnostics with
 * positions; never both errors and a profile.
 */
import type { ValidateFunction } from 'ajv';
import { diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatAddress, formatPrefix, mappedIPv4, nonUnicastKind, parseAddress } from '../net/ip.js';
import type { Plan } from '../plan/types.js';
import { schemaValidator as validatorOf } from '../schemas.js';
import { normalizeMasquePin } from '../contract/masque.js';
import { addressLike, parseDomainName } from '../net/names.js';
import { profileChecker, type Checker } from './checker.js';
import * as D from './defaults.js';
import type { LoadedDocument } from './load.js';
import { schemaDiagnostics } from './schema-diagnostics.js';
import { DESCRIPTION_MAX_LENGTH, profileSchemaText, type RawProfile } from './schema.js';
import type { PackedList } from './load.js';
import { checkInteropSections } from '../interop/sections.js';
import { validateSplitTunnel } from './split-tunnel.js';
import { validateTargetOptions, type TargetOptions } from './target-options.js';
import type { FallbackDomain, Pos, Profile, ServiceMode } from './types.js';

/**
 * The schema validator for these targets' options: the precompiled one of
 * schema/profile.schema.json (src/schemas.ts) while that file is what they assemble to,
 * else (a test's made-up target) the assembled schema compiled on first use.
 */
function schemaValidator(targets: readonly TargetOptions[]): ValidateFunction {
  return validatorOf('profile.schema.json', profileSchemaText(targets));
}

const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * `targets` are the options of every target in the registry (src/emit/registry.ts rows'
 * `options`, in registry order); the profile may set each under `targets.<name>`.
 */
export function validateProfile(doc: LoadedDocument, targets: readonly TargetOptions[]): { profile: Profile | null; diagnostics: Diagnostic[] } {
  const validate = schemaValidator(targets);
  // A long entry list (`- address: ...`, `- host: ...`, perhaps with `description: ...`) comes as text, not
  // objects: such an item meets the schema (strings under allowed keys) when its description is not too
  // long, so the schema checks the rest, with an empty list. A list with a longer one goes to the schema whole.
  const packed = doc.valueWith(['split_tunnel', 'entries'], ['address', 'host', 'description']);
  const { value, list } = packed.list !== null && !descriptionsFit(packed.list) ? { value: doc.value, list: null } : packed;
  if (!validate(value)) {
    return { profile: null, diagnostics: schemaDiagnostics(validate.errors ?? [], doc) };
  }
  const raw = value as RawProfile;
  const c = profileChecker(doc);
  const { ds, at } = c;

  if (raw.version !== 1) {
    ds.push(diag('UnsupportedVersion', { version: raw.version }, at(['version'])));
    return { profile: null, diagnostics: ds };
  }

  const serviceMode = raw.service_mode ?? D.DEFAULT_SERVICE_MODE;
  const splitTunnel = validateSplitTunnel(raw, list, serviceMode, c);
  const fallback = validateFallbackDomains(raw, serviceMode, c);
  const alwaysTunnel = validateAlwaysTunnel(raw, c);
  const iface = validateInterface(raw, c);
  const tunnel = validateTunnel(raw, iface, c);
  const dns = validateDns(raw, serviceMode, c);
  const orchestration = validateOrchestration(raw, c);
  const options = validateTargetOptions(targets, raw.targets, (path) => at(path));
  ds.push(...options.diagnostics);
  checkInteropSections(raw, c, doc.source);

  if (hasErrors(ds) || iface.ipv4 === null || tunnel.endpoint === null) return { profile: null, diagnostics: ds };

  const profile: Profile = {
    version: 1,
    name: raw.name ?? 'default',
    serviceMode,
    splitTunnel,
    fallbackDomains: fallback.fallbackDomains,
    fallbackDomainsAreDefault: fallback.fallbackDomainsAreDefault,
    alwaysTunnel,
    interface: { ipv4: iface.ipv4, ipv6: iface.ipv6, mtu: iface.mtu },
    tunnel: { protocol: tunnel.protocol, endpoint: tunnel.endpoint, peerPublicKey: tunnel.peerPublicKey, sni: tunnel.sni },
    dns,
    orchestration,
    targets: options.values as unknown as Profile['targets'],
    selector: raw.selector ?? null,
    deployment: raw.deployment ?? null,
  };
  return { profile, diagnostics: ds };
}

/** Does every description of a packed entry list meet the schema's maxLength (code points, as ajv counts them)? */
function descriptionsFit(list: PackedList): boolean {
  if (!list.keys.includes('description')) return true;
  for (let i = 0; i < list.length; i++) {
    const d = list.text(i, 'description');
    if (d !== undefined && d.length > DESCRIPTION_MAX_LENGTH && [...d].length > DESCRIPTION_MAX_LENGTH) return false;
  }
  return true;
}

function validateFallbackDomains(raw: RawProfile, serviceMode: ServiceMode, c: Checker): { fallbackDomains: FallbackDomain[]; fallbackDomainsAreDefault: boolean } {
  const { ds, at, defaultPos, address, domainName } = c;
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
  return { fallbackDomains, fallbackDomainsAreDefault };
}

function validateAlwaysTunnel(raw: RawProfile, c: Checker): Profile['alwaysTunnel'] {
  const { at, defaultPos, prefix } = c;
  const alwaysTunnel: { address: string; pos: Pos }[] = [];
  if (raw.always_tunnel === undefined) {
    D.DEFAULT_ALWAYS_TUNNEL.forEach((a, i) => alwaysTunnel.push({ address: a, pos: defaultPos(['always_tunnel', i]) }));
  } else {
    raw.always_tunnel.forEach((a, i) => {
      const p = prefix(a, ['always_tunnel', i]);
      if (p) alwaysTunnel.push({ address: formatPrefix(p), pos: at(['always_tunnel', i]) });
    });
  }
  return alwaysTunnel;
}

/** The interface section; an address is null when it was refused (or, for IPv6, not given). */
function validateInterface(raw: RawProfile, c: Checker): { ipv4: string | null; ipv6: string | null; mtu: number } {
  const { ds, at, address } = c;
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
  return { ipv4, ipv6, mtu };
}

/** The tunnel section; `endpoint` is null when it was refused. It may not be one of the interface's own addresses. */
function validateTunnel(
  raw: RawProfile,
  iface: { ipv4: string | null; ipv6: string | null },
  c: Checker,
): { protocol: Profile['tunnel']['protocol']; endpoint: { host: string; port: number } | null; peerPublicKey: string | null; sni: string | null } {
  const { ds, at } = c;
  const { ipv4, ipv6 } = iface;
  const protocol = raw.tunnel?.protocol ?? D.DEFAULT_TUNNEL.protocol;
  let endpoint: { host: string; port: number } | null = null;
  {
    const text = raw.tunnel?.endpoint ?? (protocol === 'masque' ? D.DEFAULT_MASQUE.endpoint : D.DEFAULT_TUNNEL.endpoint);
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
  let peerPublicKey = raw.tunnel?.peer_public_key ?? D.DEFAULT_TUNNEL.peerPublicKey;
  let sni: string | null = null;
  if (protocol === 'masque') {
    // MASQUE: the key is the server's pin, normalized to sha256/BASE64 (what masque.json carries).
    if (peerPublicKey === null) ds.push(diag('MasqueNeedsKey', {}, at(['tunnel'], { key: raw.tunnel !== undefined })));
    else {
      const pin = normalizeMasquePin(peerPublicKey);
      if (pin.ok) peerPublicKey = pin.pin;
      else ds.push(diag('InvalidMasqueKey', { reason: pin.reason }, at(['tunnel', 'peer_public_key'])));
    }
    const text = raw.tunnel?.sni ?? D.DEFAULT_MASQUE.sni;
    const name = addressLike(text) ? null : parseDomainName(text);
    if (name === null) ds.push(diag('InvalidSni', { value: text, reason: 'an IP address is not a server name (RFC 6066)' }, at(['tunnel', 'sni'])));
    else if (!name.ok) ds.push(diag('InvalidSni', { value: text, reason: `not a DNS name (${name.error})` }, at(['tunnel', 'sni'])));
    else sni = name.name;
  } else {
    if (peerPublicKey !== null && !WG_KEY.test(peerPublicKey)) ds.push(diag('InvalidPublicKey', {}, at(['tunnel', 'peer_public_key'])));
    if (raw.tunnel?.sni !== undefined) ds.push(diag('SniIgnored', { protocol }, at(['tunnel', 'sni'], { key: true })));
  }
  return { protocol, endpoint, peerPublicKey, sni };
}

function validateDns(raw: RawProfile, serviceMode: ServiceMode, c: Checker): Profile['dns'] {
  const { ds, at, defaultPos, address, domainName } = c;
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
  return { dohUrl, dohAddresses, dohAddressPos, dohVia: raw.dns?.doh_via ?? D.DEFAULT_DNS.dohVia, search };
}

function validateOrchestration(raw: RawProfile, c: Checker): Profile['orchestration'] {
  const { ds, at, address } = c;
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
  return { url: orchUrl, addresses: orchAddresses };
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
    const count = v6.prefixCount();
    const more = count > 1 ? ` and ${count - 1} more IPv6 prefix${count > 2 ? 'es' : ''}` : '';
    const path = ['interface', 'mtu'];
    out.push(diag('MtuTooSmallForIpv6', { value: profile.interface.mtu, why: `the tunnel carries IPv6 (${v6.firstCidr()!}${more})` }, { ...doc.locate(path), path }));
  }
  return out;
}
