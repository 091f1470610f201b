/**
 * Every diagnostic warpc can report: one table, referred to by name.
 *
 * Codes are stable (tooling greps them); never reuse a retired number: a code that
 * is no longer reported leaves the table for RETIRED, below, and its number stays taken.
 * `{name}` placeholders are filled from the arguments given at the report site.
 * A test fails when a code here is never referred to by the code base.
 */

/** A note informs (nothing is wrong); a warning may be a problem; an error stops the command. */
export type Severity = 'error' | 'warning' | 'note';

export interface CodeDef {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
}

export const CODES = {
  // 0xx: reading the document
  FileUnreadable: { code: 'WARPC0001', severity: 'error', message: 'cannot read {file}: {reason}' },
  YamlSyntax: { code: 'WARPC0002', severity: 'error', message: 'YAML syntax error: {detail}' },
  DuplicateKey: { code: 'WARPC0003', severity: 'error', message: 'duplicate key "{key}"' },
  NotAMapping: { code: 'WARPC0004', severity: 'error', message: 'the profile must be a YAML mapping' },
  MultipleDocuments: { code: 'WARPC0005', severity: 'error', message: 'the profile must be a single YAML document' },
  YamlAlias: { code: 'WARPC0006', severity: 'error', message: 'YAML anchors, aliases and tags are not allowed in a profile' },
  ControlCharacter: { code: 'WARPC0007', severity: 'error', message: 'control character {char} in {what}: not allowed anywhere in a profile' },
  InputTooLarge: { code: 'WARPC0008', severity: 'error', message: '{file} is larger than {limit}, the largest profile warpc reads (reading stopped there); split it or remove entries' },

  // 01x: the schema
  SchemaRequired: { code: 'WARPC0010', severity: 'error', message: 'missing required property "{property}"' },
  SchemaUnknownProperty: { code: 'WARPC0011', severity: 'error', message: 'unknown property "{property}"{hint}' },
  SchemaType: { code: 'WARPC0012', severity: 'error', message: '{what} must be {expected}' },
  SchemaEnum: { code: 'WARPC0013', severity: 'error', message: '{what} must be one of: {allowed}' },
  SchemaConstraint: { code: 'WARPC0014', severity: 'error', message: '{what} {constraint}' },
  UnsupportedVersion: { code: 'WARPC0015', severity: 'error', message: 'unsupported profile version {version}: this warpc reads version 1' },
  // 016–019: the text itself
  NotUtf8: { code: 'WARPC0016', severity: 'error', message: 'the profile is not UTF-8: byte 0x{byte} does not begin a valid UTF-8 sequence (save the file as UTF-8)' },

  // 02x: addresses and names
  InvalidPrefix: { code: 'WARPC0020', severity: 'error', message: '"{value}" is not a valid IP prefix (CIDR){hint}' },
  HostBitsSet: { code: 'WARPC0021', severity: 'error', message: '"{value}" has host bits set: did you mean {suggestion}?' },
  InvalidAddress: { code: 'WARPC0022', severity: 'error', message: '"{value}" is not a valid IP address' },
  InvalidHostPattern: { code: 'WARPC0023', severity: 'error', message: '"{value}" is not a valid host pattern: {reason} (use "name" or "*.name")' },
  InvalidDomain: { code: 'WARPC0024', severity: 'error', message: '"{value}" is not a valid domain name: {reason}' },
  InvalidEndpoint: { code: 'WARPC0025', severity: 'error', message: '"{value}" is not a valid endpoint: {reason}' },
  InvalidPublicKey: { code: 'WARPC0026', severity: 'error', message: 'peer_public_key must be a base64 WireGuard key (32 bytes, 44 characters ending in "=")' },
  InvalidUrl: { code: 'WARPC0027', severity: 'error', message: '"{value}" is not a valid {what} URL: {reason}' },
  InvalidName: { code: 'WARPC0028', severity: 'error', message: '"{value}" is not a valid {what}: {reason}' },
  AddressFamilyMismatch: { code: 'WARPC0029', severity: 'error', message: '{what} must be an IPv{family} address, got "{value}"' },

  // 03x: split tunnel semantics
  EntryBothAddressAndHost: { code: 'WARPC0030', severity: 'error', message: 'a split tunnel entry has either "address" or "host", not both' },
  EntryNeitherAddressNorHost: { code: 'WARPC0031', severity: 'error', message: 'a split tunnel entry needs "address" or "host"' },
  DuplicateEntry: { code: 'WARPC0032', severity: 'warning', message: '{what} "{value}" is listed twice (first at line {otherLine}); the second has no effect' },
  ShadowedEntry: { code: 'WARPC0033', severity: 'warning', message: '{what} "{value}" is already covered by "{other}" at line {otherLine}; it has no effect' },
  IncludeModeEmpty: { code: 'WARPC0034', severity: 'error', message: 'split_tunnel mode "include" with no entries sends nothing into the tunnel; list the destinations to include' },
  HostEntryUnsupportedMode: { code: 'WARPC0035', severity: 'error', message: 'host entry "{value}" is not supported in service mode {mode}: domain entries need the DNS proxy' },
  FallbackUnsupportedMode: { code: 'WARPC0036', severity: 'error', message: 'fallback_domains are not available in service mode {mode}: DNS stays with the OS' },
  AlwaysTunnelBypassed: { code: 'WARPC0037', severity: 'warning', message: 'always_tunnel "{value}" contains {address} ({reason}), which must bypass the tunnel; that address stays direct' },
  SplitTunnelIgnored: { code: 'WARPC0038', severity: 'warning', message: 'split_tunnel has no effect in service mode {mode}: nothing is routed' },
  EndpointInsideTunnelOnly: { code: 'WARPC0039', severity: 'warning', message: 'include mode lists {value}, which contains the tunnel endpoint {endpoint}; the endpoint stays direct' },

  // 04x: DNS
  FallbackServerPath: { code: 'WARPC0040', severity: 'warning', message: 'fallback server {server} for "{suffix}" is a {kind} address but its queries go into the tunnel, where it is only reachable if the gateway routes to it; add it to the split tunnel exclude list if it is on the local network' },
  DuplicateFallbackSuffix: { code: 'WARPC0041', severity: 'error', message: 'fallback suffix "{value}" is listed twice (first at line {otherLine})' },
  DohAddressMissing: { code: 'WARPC0042', severity: 'error', message: 'dns.doh_addresses is empty: the proxy needs at least one address to reach {url} without DNS' },
  LoopbackFallbackServer: { code: 'WARPC0043', severity: 'warning', message: 'fallback server {server} for "{suffix}" is a loopback address: warpc\'s own proxy listens on 127.0.2.2/127.0.2.3 and must not be a fallback server' },
  DohAddressOutsideTunnel: { code: 'WARPC0044', severity: 'warning', message: 'DoH address {address} goes direct although dns.doh_via is tunnel: {reason}' },
  NonAsciiName: { code: 'WARPC0045', severity: 'error', message: '"{value}" is not a valid {what}: DNS names are ASCII; use the A-label "{alabel}"' },

  // 05x: interface, tunnel
  MtuOutOfRange: { code: 'WARPC0051', severity: 'error', message: 'interface.mtu {value} is outside {min}–{max}{hint}' },
  NoPeerKey: { code: 'WARPC0052', severity: 'warning', message: 'tunnel.peer_public_key is not set: the WireGuard configuration has no peer until the device adds one' },
  LinuxNumberRange: { code: 'WARPC0053', severity: 'error', message: 'targets.linux.{field} {value} is outside {min}–{max}' },
  MtuTooSmallForIpv6: { code: 'WARPC0054', severity: 'error', message: 'interface.mtu {value} is below 1280, the smallest MTU IPv6 allows (RFC 8200), but {why}; the OS removes IPv6 from a link below 1280, so the tunnel could not be set up: raise mtu to 1280 or more, or route no IPv6 into the tunnel' },
  UnusableEndpoint: { code: 'WARPC0055', severity: 'error', message: 'tunnel.endpoint {value} is {kind}: it cannot be a WireGuard peer; use the gateway\'s public address' },
  EndpointIsInterfaceAddress: { code: 'WARPC0056', severity: 'error', message: 'tunnel.endpoint {value} is the tunnel\'s own address ({field}): the peer must be a different host' },
  UnusableInterfaceAddress: { code: 'WARPC0057', severity: 'error', message: '{field} {value} is {kind}: the tunnel interface needs a unicast address ({hint})' },
  ReservedInterfaceName: { code: 'WARPC0058', severity: 'error', message: '{field} "{value}" {reason}; warpc creates the tunnel interface itself and removes it afterwards, so it must be a name of its own (the default is {default})' },

  // 059, 06x: targets
  NoTargetGiven: { code: 'WARPC0059', severity: 'error', message: '--target names no target; known targets: {known}' },
  TargetUnknown: { code: 'WARPC0060', severity: 'error', message: 'unknown target "{value}"; known targets: {known}' },
  // 061, 062: retired (see RETIRED)
  DescriptionDropped: { code: 'WARPC0063', severity: 'warning', message: 'target {target}: description at line {line} cannot be written in {language} and is left out: {reason}' },

  // 1xx: what a target cannot express. Derived by the core from each target's capabilities
  // (src/emit/target.ts), one code per limitation; errors refuse, warnings inform.
  TargetNoHostEntries: { code: 'WARPC0100', severity: 'error', message: 'target {target} cannot express Split Tunnel host entries: "{host}" would be ignored; remove host entries or leave {target} out of --target' },
  TargetNoFirewall: { code: 'WARPC0101', severity: 'error', message: 'target {target} cannot express the firewall that keeps tunnel-bound traffic off other interfaces (service mode {mode} needs it); leave {target} out of --target' },
  TargetNoIpv6Routes: { code: 'WARPC0102', severity: 'error', message: 'target {target} cannot express IPv6 routes, and the plan routes IPv6 ({example}); leave {target} out of --target' },
  HostResolvedOnce: { code: 'WARPC0103', severity: 'warning', message: 'target {target}: host entry "{host}" is resolved once {when}; later changes to its addresses are not followed' },
  WildcardHostIgnored: { code: 'WARPC0104', severity: 'warning', message: 'target {target}: host entry "{host}" is a wildcard: it names no address to resolve, and this target does not follow DNS answers for the names it matches; it has no effect here' },
  DirectHostStaysInTunnel: { code: 'WARPC0105', severity: 'warning', message: 'target {target}: host entry "{host}" cannot be excluded on this target ({reason}), so its addresses stay in the tunnel' },
  DirectHostNeedsRelease: { code: 'WARPC0106', severity: 'warning', message: 'target {target}: host entry "{host}" is excluded with excludeRoute, which needs {since}; before that its addresses stay in the tunnel' },
  Ipv6RoutesWithoutAddress: { code: 'WARPC0107', severity: 'warning', message: 'target {target}: interface.ipv6 is not set, so IPv6 destinations in the tunnel are captured (they cannot leak) but get no connectivity: this target routes IPv6 only over an interface with an IPv6 address; set interface.ipv6' },
  LocalProxyNotRun: { code: 'WARPC0108', severity: 'warning', message: 'target {target}: service mode {mode}: the local proxy on {address}:{port} is run by {runBy}' },
  VariantNoFirewall: { code: 'WARPC0109', severity: 'warning', message: 'target {target}: {variant} has no firewall rules ({reason}): only {full} blocks tunnel-bound destinations elsewhere' },
  VariantNoDnsSearch: { code: 'WARPC0110', severity: 'warning', message: 'target {target}: {variant} does not set the DNS suffix search list ({reason}): {full} does' },
  VariantRevertDnsToDhcp: { code: 'WARPC0111', severity: 'warning', message: 'target {target}: {variant} restores only what {tool} can read back: every adapter\'s DNS servers go back to automatic (DHCP), not to static servers set before {apply}; {full} restores them exactly' },
  VariantRevertFixedMetric: { code: 'WARPC0112', severity: 'warning', message: 'target {target}: {variant} restores only what {tool} can read back: the tunnel adapter\'s metric comes back as a fixed number even if it was automatic; {full} restores it exactly' },
  FirewallTableLimit: { code: 'WARPC0116', severity: 'warning', message: 'target {target}: the firewall tables hold {count} addresses ({v4} IPv4 and {v6} IPv6 tunnel prefixes, {bypass} bypass addresses), more than the default limit of {firewall} ({limit}), so loading them fails unless the limit is raised: {raise}; or list fewer, wider prefixes' },

  // 12x: what a target's own form leaves out (its check(), not a capability)
  LegacyRoutesOmitted: { code: 'WARPC0120', severity: 'warning', message: 'target {target}: releases before {since} have no excludeRoute, so they would route the whole tunnel set, {count} prefixes ({v4} IPv4, {v6} IPv6), one route each: more than the limit of {limit} ({reason}); {file} leaves {field} null, and those devices cannot apply this plan: list fewer, wider prefixes, or use include mode' },

  // 13x: pitfall warnings (src/pitfalls): valid profiles that real deployments regret
  FallbackPublicSuffix: { code: 'WARPC0130', severity: 'warning', message: 'fallback suffix "{value}" is {kind}: every name under it skips Gateway and goes to {servers}, which breaks the public services that resolver does not know; list only your own zones' },
  ReverseZoneMissing: { code: 'WARPC0131', severity: 'warning', message: 'fallback server {server} for "{suffix}" is in {range}, but no fallback suffix covers its reverse zone: reverse lookups (PTR) of {range} go to Gateway, which cannot answer them; add a fallback suffix such as {zone} with this server' },
  InterfaceAddressExcluded: { code: 'WARPC0132', severity: 'warning', message: '{field} {address} is inside the exclude entry {entry} ({where}), so traffic to {range} goes direct, not through the tunnel (the CGNAT trap); replace {entry} with {fix}' },
  HostUnderFallback: { code: 'WARPC0133', severity: 'warning', message: 'host entry "{host}" is under the fallback suffix "{suffix}" ({line}): its names resolve on {servers}, outside Gateway, while the entry routes their addresses {action}; the route and the resolver disagree about these names, so keep each name in one place' },
  ContainerRangesTunnelled: { code: 'WARPC0134', severity: 'warning', message: 'these exclude entries leave Docker\'s default bridge and address pools in the tunnel ({ranges}): local containers would be unreachable; exclude them unless that is intended' },
  DevSuffixesToGateway: { code: 'WARPC0135', severity: 'warning', message: 'fallback_domains leaves out {suffixes}: local development names go to Gateway instead of the local resolver; add them if developers use them' },
  ManyRoutes: { code: 'WARPC0136', severity: 'warning', message: 'the tunnel set is {count} prefixes ({v4} IPv4, {v6} IPv6): macOS and Windows install one route each, and above {limit} routes they apply and look up routes slowly; list fewer, wider prefixes, or use include mode' },
  SubtractMixedFamilies: { code: 'WARPC0137', severity: 'error', message: 'explain --subtract: "{value}" is IPv{family} but "{base}" is IPv{baseFamily}: subtract prefixes of one family' },

  // 07x: output
  OutputUnwritable: { code: 'WARPC0070', severity: 'error', message: 'cannot write {path}: {reason}' },
  OutputNotWarpc: { code: 'WARPC0071', severity: 'error', message: 'refusing to write into {path}: it exists and is not a warpc output directory (no manifest.json)' },
  OutputForeignManifest: { code: 'WARPC0072', severity: 'error', message: 'refusing to replace {path}: its manifest.json is not a warpc manifest ({reason}); nothing was changed — choose another --out' },
  OutputUnexpectedFiles: { code: 'WARPC0073', severity: 'error', message: 'refusing to replace {path}: it contains files warpc did not write: {files}; nothing was changed — move them or choose another --out' },
  OutputDamagedManifest: { code: 'WARPC0074', severity: 'error', message: 'refusing to replace {path}: its warpc manifest.json is damaged ({reason}), so warpc cannot tell which files are its own; nothing was changed — remove the folder yourself or choose another --out' },
  RouteLimitExceeded: { code: 'WARPC0075', severity: 'error', message: 'target {target}: the tunnel set is {count} prefixes ({v4} IPv4, {v6} IPv6), more than {os} can practically hold ({limit}: {reason}); list fewer, wider prefixes, or compile for other targets' },
  ArtifactTooLarge: { code: 'WARPC0076', severity: 'error', message: 'target {target}: an artifact would be larger than warpc can build ({reason}); the plan has {count} routes ({v4} IPv4, {v6} IPv6): list fewer, wider prefixes, or compile for other targets' },

  // 08x: explain
  ExplainBadQuery: { code: 'WARPC0080', severity: 'error', message: '"{value}" is neither an IP address nor a domain name' },

  // 09x: values that parse but mean something else
  HostEntryIsAddress: { code: 'WARPC0090', severity: 'error', message: 'host entry "{value}" is an IP address, not a name, so it would match nothing: did you mean address: {suggestion}?' },
  Ipv4MappedAddress: { code: 'WARPC0091', severity: 'error', message: '{what} "{value}" is an IPv4-mapped IPv6 address, which the OS treats as IPv6 in some places and IPv4 in others: write the IPv4 form {suggestion}' },

  // 15x: the MASQUE tunnel
  InvalidMasqueKey: { code: 'WARPC0150', severity: 'error', message: 'tunnel.peer_public_key is not a MASQUE server key ({reason}): give the server\'s P-256 public key as base64 (the PEM body on one line), or the SHA-256 of its SubjectPublicKeyInfo as sha256/BASE64' },
  InvalidSni: { code: 'WARPC0151', severity: 'error', message: 'tunnel.sni "{value}" is not a host name: {reason}' },
  SniIgnored: { code: 'WARPC0152', severity: 'warning', message: 'tunnel.sni applies only to tunnel.protocol: masque; with {protocol} it is ignored' },
  MasqueNeedsKey: { code: 'WARPC0153', severity: 'error', message: 'tunnel.protocol masque needs tunnel.peer_public_key: the client accepts the server only by that pinned key (there is no CA to fall back on)' },
  TargetNoMasque: { code: 'WARPC0154', severity: 'error', message: 'target {target} cannot carry a MASQUE tunnel ({reason}); leave {target} out of --target, or use tunnel.protocol: wireguard' },

  // 160–179: importing Cloudflare exports (src/interop)
  ImportJsonSyntax: { code: 'WARPC0160', severity: 'error', message: 'JSON syntax error: {detail}' },
  ImportApiFailure: { code: 'WARPC0161', severity: 'error', message: 'this API response has success: false, so it holds no settings: {errors}; fix the request (token, account id, policy_id) and save the response again' },
  ImportUnrecognized: { code: 'WARPC0162', severity: 'error', message: '{file} is neither a Cloudflare API response nor `terraform show -json` output: {reason}' },
  ImportEntryBothAddressHost: { code: 'WARPC0163', severity: 'error', message: '{list} entry {index} of {profile} has both address "{address}" and host "{host}": an entry has one or the other' },
  ImportUnknownPolicy: { code: 'WARPC0164', severity: 'error', message: '{what} belongs to policy_id "{policyId}", which no profile in the input has; add that profile\'s export or remove the list' },
  ImportUnknownResource: { code: 'WARPC0165', severity: 'note', message: 'Terraform resource {address} has type {type}, which is not a device profile resource; skipped' },
  ImportDuplicatePolicy: { code: 'WARPC0166', severity: 'error', message: 'policy_id "{policyId}" appears twice ({first} and {second}); import one export of an account at a time' },
  ImportEmpty: { code: 'WARPC0167', severity: 'error', message: '{path} holds no .json file to import' },
  ImportNoDefault: { code: 'WARPC0168', severity: 'warning', message: 'the input has no default profile (GET …/devices/policy, or a default profile resource); default.yaml gets warpc\'s defaults' },
  ImportUnmodelled: { code: 'WARPC0169', severity: 'note', message: '{profile}: {field} is not modelled by warpc yet; kept as is in the cloudflare: section' },
  ImportMasque: { code: 'WARPC0170', severity: 'warning', message: "{profile}: tunnel_protocol is masque, but an export does not carry the gateway's MASQUE key, so the imported profile keeps tunnel.protocol: wireguard; to run MASQUE, set tunnel.protocol: masque with peer_public_key (the gateway's pin)" },
  ImportSearchSuffixes: { code: 'WARPC0171', severity: 'note', message: '{profile}: dns_search_suffixes mapped to dns.search ({count} suffixes; descriptions kept in the cloudflare: section)' },
  ImportDuplicateList: { code: 'WARPC0172', severity: 'error', message: 'the {list} list of {profile} is given twice ({first} and {second}); keep one' },
  ImportShape: { code: 'WARPC0173', severity: 'error', message: '{what} must be {expected}' },
  ImportListFileName: { code: 'WARPC0174', severity: 'error', message: '{file} is a split tunnel list, but its name does not say which list: name it exclude.json or include.json (policy.<policy_id>.exclude.json for a custom profile)' },
  ImportMissingPages: { code: 'WARPC0175', severity: 'error', message: 'the custom profile list has {total} profiles (result_info.total_count) but the input holds {count}: save every page ({pages})' },
  ImportOutRefused: { code: 'WARPC0176', severity: 'error', message: 'refusing to write into {path}: {reason}; nothing was written' },
  ImportNothing: { code: 'WARPC0177', severity: 'error', message: '{files}: no device settings profile, split tunnel list, fallback domain list or profile resource found, so there is nothing to import' },

  // 180–189: the match language (src/match)
  MatchSyntax: { code: 'WARPC0180', severity: 'error', message: 'match expression: {detail}' },
  MatchUnknownSelector: { code: 'WARPC0181', severity: 'error', message: 'match expression: unknown selector "{selector}" (known: {known})' },
  MatchMultiValued: { code: 'WARPC0182', severity: 'error', message: 'match expression: {selector} has several values per device: write any({selector}[*] in …) with a set of values' },
  MatchSingleValued: { code: 'WARPC0183', severity: 'error', message: 'match expression: {selector} has one value per device: any(…[*] …) is for multi-valued selectors; write {selector} in … with a set of values' },
  MatchNotImportFolder: { code: 'WARPC0184', severity: 'error', message: '{path} is not a warpc import folder: {reason}' },

  // 190–199: exporting to Cloudflare (src/interop)
  ExportTwoDefaults: { code: 'WARPC0190', severity: 'error', message: 'both {first} and {second} would be the default profile (neither has selector.policy_id); export at most one default profile at a time' },

  // 185–189, 191–199: MDM deployment files (src/mdm, targets/mdm)
  MdmType: { code: 'WARPC0185', severity: 'error', message: 'deployment: {key} must be {expected}' },
  MdmAutoConnectRange: { code: 'WARPC0186', severity: 'error', message: 'deployment: auto_connect {value} is outside 0–1440 (0 turns it off; otherwise minutes before the client reconnects)' },
  MdmEnabledAndAutoConnect: { code: 'WARPC0187', severity: 'error', message: 'deployment: enabled and auto_connect are both set, and the client accepts only one: auto_connect replaces the legacy enabled, so remove enabled' },
  MdmOverrideEndpoint: { code: 'WARPC0188', severity: 'error', message: 'deployment: {key} "{value}" is not {expected}; the client would reject the whole MDM file' },
  MdmSupportUrl: { code: 'WARPC0189', severity: 'error', message: 'deployment: support_url "{value}" must be an https:// URL or a mailto: address' },
  MdmConfigDisplayName: { code: 'WARPC0191', severity: 'error', message: 'deployment: configs[{index}] needs display_name: the client lists configurations by it' },
  MdmTooManyConfigs: { code: 'WARPC0192', severity: 'error', message: 'deployment: configs has {count} entries; the client reads at most {max}' },
  MdmLiteralSecret: { code: 'WARPC0193', severity: 'error', message: 'deployment: {key} is written out in the profile; a secret never is: write env: NAME (an environment variable) or file: PATH, resolved when compiling' },
  MdmSecretUnresolved: { code: 'WARPC0194', severity: 'error', message: 'deployment: {key} ({reference}) cannot be resolved: {reason}' },
  MdmHostileString: { code: 'WARPC0195', severity: 'error', message: 'deployment: {key} contains {char}, which an MDM file cannot carry safely; remove it' },
  MdmAuthClientId: { code: 'WARPC0196', severity: 'error', message: 'deployment: auth_client_id "{value}" must be an Access service token client id, ending in .access' },
  MdmIosAutoConnect: { code: 'WARPC0197', severity: 'warning', message: 'target mdm: {where} sets auto_connect {value}, but the iOS client stalls at registration unless it is 1; the iOS file sets 1' },
  MdmValue: { code: 'WARPC0198', severity: 'error', message: 'deployment: {key}: {reason}' },
  MdmNoOrganization: { code: 'WARPC0199', severity: 'error', message: 'deployment: {where} needs organization (the Zero Trust team name)' },
  MdmEnum: { code: 'WARPC0178', severity: 'error', message: 'deployment: {key} "{value}" must be one of: {allowed}' },
  MdmUnknownKey: { code: 'WARPC0179', severity: 'error', message: 'deployment: unknown key "{key}" in {where}; known: {known}' },

  // 230–249: the orchestrated device (src/agent/: enroll, bundle verification, the follow loop)
  AgentNotEnrolled: { code: 'WARPC0230', severity: 'error', message: '{dir} holds no registration: run warpc enroll https://ORCHESTRATOR --token T --state-dir {dir} first' },
  AgentAlreadyEnrolled: { code: 'WARPC0231', severity: 'error', message: '{dir} is already enrolled with {url} as device {id}: run warpc unenroll --state-dir {dir} first' },
  AgentPinMismatch: { code: 'WARPC0232', severity: 'error', message: 'the orchestrator at {url} presented a certificate with key sha256/{got}, but this device pinned sha256/{pinned}: refusing to talk to it (if its certificate really changed, unenroll and enroll again with --pin)' },
  AgentUnreachable: { code: 'WARPC0233', severity: 'error', message: 'cannot reach the orchestrator at {url}: {reason}' },
  AgentRequestRefused: { code: 'WARPC0234', severity: 'error', message: 'the orchestrator refused {what} (HTTP {status}{detail})' },
  AgentBundleSignature: { code: 'WARPC0235', severity: 'error', message: 'bundle refused: its signature does not verify with the pinned bundle key sha256/{pin}' },
  AgentBundleDevice: { code: 'WARPC0236', severity: 'error', message: 'bundle refused: it is signed for device {got}, and this device is {want}' },
  AgentBundleOs: { code: 'WARPC0237', severity: 'error', message: 'bundle refused: it is for OS {got}, and this device runs {want}' },
  AgentBundleRollback: { code: 'WARPC0238', severity: 'error', message: 'bundle refused: version {got} is older than version {running}, which this device runs (rollback)' },
  AgentBundleManifest: { code: 'WARPC0239', severity: 'error', message: 'bundle refused: manifest.json {reason}' },
  AgentBundleFile: { code: 'WARPC0240', severity: 'error', message: 'bundle refused: file {path}: {reason}' },
  AgentBundleFormat: { code: 'WARPC0241', severity: 'error', message: 'bundle refused: {reason}' },
  AgentBundleWrite: { code: 'WARPC0242', severity: 'error', message: 'cannot store bundle version {version} in {dir}: {reason}; nothing of it is kept and the device stays on {current}' },
  AgentRevoked: { code: 'WARPC0243', severity: 'error', message: 'the orchestrator at {url} no longer accepts registration {id} (HTTP {status}): revoked; the device was brought down and restored (enroll again to come back)' },
  AgentOffline: { code: 'WARPC0244', severity: 'warning', message: 'the orchestrator at {url} is unreachable ({reason}); keeping bundle {version}, next try in {seconds} s' },
  AgentStateDir: { code: 'WARPC0245', severity: 'error', message: 'state dir {dir}: {reason}' },
  AgentBadPin: { code: 'WARPC0246', severity: 'error', message: '--pin {value} is not a certificate pin: expected sha256/BASE64, the base64 of 32 bytes or 64 hex digits (the SPKI SHA-256 warpc orchestrator serve prints)' },
  AgentUnenrollOffline: { code: 'WARPC0247', severity: 'warning', message: 'the orchestrator at {url} could not be reached ({reason}): the local registration is removed, but device {id} stays registered there until an admin revokes it' },
  AgentNoBundle: { code: 'WARPC0248', severity: 'error', message: 'no verified bundle to run: {reason}' },
  AgentBadUrl: { code: 'WARPC0249', severity: 'error', message: '{value} is not an orchestrator URL: {reason} (expected https://HOST[:PORT])' },

  // 025x: the reference gateway's DoH resolver (warpc gateway --doh-listen, src/gateway/doh.ts)
  DohBlockListName: { code: 'WARPC0250', severity: 'error', message: '{file}:{line}: {value} is not a name to block: {reason}' },
  DohBlockListFile: { code: 'WARPC0251', severity: 'error', message: 'cannot read the block list {file}: {reason}' },
  DohListen: { code: 'WARPC0252', severity: 'error', message: '--doh-listen {value}: {reason} (expected ADDR:PORT or [IPV6]:PORT)' },
  DohUpstream: { code: 'WARPC0253', severity: 'error', message: '--doh-upstream {value}: {reason} (expected ADDR, ADDR:PORT or [IPV6]:PORT of the resolver behind dnsdist)' },
  DohPath: { code: 'WARPC0254', severity: 'error', message: '--doh-path {value}: {reason} (expected / and letters, digits, . _ ~ - and /, e.g. /dns-query)' },
  DohTls: { code: 'WARPC0255', severity: 'error', message: 'DoH certificate: {reason}' },
  DohReloadRefused: { code: 'WARPC0256', severity: 'warning', message: 'the block list changed but is not used: {reason}; dnsdist keeps the previous list ({count} names)' },
  DohDnsdist: { code: 'WARPC0257', severity: 'error', message: 'dnsdist: {reason}' },
  DohDnsdistExited: { code: 'WARPC0258', severity: 'warning', message: 'dnsdist (pid {pid}) exited ({how}); starting it again in {seconds} s' },
  DohName: { code: 'WARPC0259', severity: 'error', message: '--doh-name {value}: {reason} (expected a DNS name or an IP address for the generated certificate)' },

  // 265–274: MASQUE registration through the orchestrator (src/agent/masque.ts)
  AgentMasqueKeyConflict: { code: 'WARPC0265', severity: 'error', message: 'the orchestrator at {url} holds another MASQUE key for device {id} than the one this device names (HTTP 409{detail}): this device keeps its key sha256/{pin} ({file}) and will not replace a key it does not know; unenroll and enroll again, or have an admin revoke the device' },
  AgentTunnelSwitch: { code: 'WARPC0266', severity: 'warning', message: 'bundle {version} runs the tunnel over {to} and the device runs {from}: a live apply does not switch tunnel protocols, so the device stays on bundle {running} and does not ask for {version} again; restart warpc up to run it' },
} as const satisfies Record<string, CodeDef>;

export type CodeName = keyof typeof CODES;

/**
 * Numbers no longer reported. They stay listed so that no new row reuses them
 * (a test checks); tooling that greps an old log still finds what they meant.
 */
export const RETIRED: Readonly<Record<string, string>> = {
  WARPC0061: 'TargetCannotExpress, "target {target} cannot express {feature}": replaced by one code per limitation, WARPC0100–WARPC0102',
  WARPC0062: 'TargetLimitation, "target {target}: {detail}": replaced by one code per limitation, WARPC0103–WARPC0112',
};

/** The `{name}` placeholders of a message, as a union of names (`never` when it has none). */
export type Placeholders<M extends string> = M extends `${string}{${infer K}}${infer Rest}` ? K | Placeholders<Rest> : never;

/**
 * The arguments a code's message needs: exactly its placeholders, each a string or number.
 * A message without placeholders takes `{}` and nothing else.
 */
export type CodeArgs<N extends CodeName> = [Placeholders<(typeof CODES)[N]['message']>] extends [never]
  ? { readonly [key: string]: never }
  : { readonly [K in Placeholders<(typeof CODES)[N]['message']>]: string | number };
