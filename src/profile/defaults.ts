/**
 * Every default of the reference WARP client, in one place.
 *
 * Sources: ../shared/docs/warp-behavior.md. Nothing else in warpc may hard-code
 * one of these values; read them from here (or, better, from the filled-in
 * Profile or Plan that carries them). A target's own options (`targets.<os>`)
 * keep their defaults in targets/<os>/options.ts, beside their schema fragment.
 */

export const DEFAULT_SERVICE_MODE = 'warp' as const;
export const DEFAULT_SPLIT_TUNNEL_MODE = 'exclude' as const;

/** The 16 destinations a default WARP profile keeps out of the tunnel. */
export const DEFAULT_EXCLUDE_ENTRIES: readonly { address: string; description: string }[] = [
  { address: '10.0.0.0/8', description: 'RFC 1918 private network' },
  { address: '100.64.0.0/10', description: 'RFC 6598 shared address space (CGNAT)' },
  { address: '169.254.0.0/16', description: 'IPv4 link-local' },
  { address: '172.16.0.0/12', description: 'RFC 1918 private network' },
  { address: '192.0.0.0/24', description: 'IETF protocol assignments' },
  { address: '192.168.0.0/16', description: 'RFC 1918 private network' },
  { address: '224.0.0.0/24', description: 'IPv4 local network multicast' },
  { address: '240.0.0.0/4', description: 'Reserved (class E)' },
  { address: '255.255.255.255/32', description: 'Limited broadcast' },
  { address: 'fd00::/8', description: 'IPv6 unique local addresses' },
  { address: 'fe80::/10', description: 'IPv6 link-local' },
  { address: 'ff01::/16', description: 'IPv6 interface-local multicast' },
  { address: 'ff02::/16', description: 'IPv6 link-local multicast' },
  { address: 'ff03::/16', description: 'IPv6 realm-local multicast' },
  { address: 'ff04::/16', description: 'IPv6 admin-local multicast' },
  { address: 'ff05::/16', description: 'IPv6 site-local multicast' },
];

/** The 14 Local Domain Fallback suffixes, answered by the device's own resolvers. */
export const DEFAULT_FALLBACK_SUFFIXES: readonly string[] = [
  'corp', 'domain', 'home', 'home.arpa', 'host', 'internal', 'intranet',
  'invalid', 'lan', 'local', 'localdomain', 'localhost', 'private', 'test',
];

/** Provider ranges that are always in the tunnel whatever the Split Tunnel list says. */
export const DEFAULT_ALWAYS_TUNNEL: readonly string[] = ['172.64.128.0/20', '2606:4700:cf1::/48'];

export const DEFAULT_INTERFACE = {
  ipv4: '172.16.0.2',
  ipv6: null as string | null,
  mtu: 1280,
} as const;

export const DEFAULT_TUNNEL = {
  protocol: 'wireguard' as const,
  endpoint: '162.159.193.1:2408',
  /** Ports a client may fall back to when 2408 is blocked. */
  fallbackPorts: [500, 1701, 4500] as readonly number[],
  peerPublicKey: null as string | null,
};

export const DEFAULT_DNS = {
  dohUrl: 'https://cloudflare-dns.com/dns-query',
  dohAddresses: ['1.1.1.1', '1.0.0.1', '2606:4700:4700::1111', '2606:4700:4700::1001'] as readonly string[],
  dohVia: 'tunnel' as const,
  search: [] as readonly string[],
};

export const DEFAULT_ORCHESTRATION = {
  url: 'https://api.cloudflareclient.com',
  addresses: ['162.159.137.105', '2606:4700:7::a29f:8969'] as readonly string[],
};

/** Where the local DNS proxy listens, per platform family. */
export const DNS_PROXY_V4 = ['127.0.2.2', '127.0.2.3'] as const;
export const DNS_PROXY_V6 = ['fd01:db8:1111::2', 'fd01:db8:1111::3'] as const;
export const DNS_PROXY_V6_WINDOWS = ['::ffff:127.0.2.2'] as const;
export const DNS_PROXY_PORT = 53;
/** Names the proxy answers itself with its own addresses (the reference client answers both). */
export const DNS_PROXY_SELF_NAMES = ['connectivity-check.warp-svc', 'warp-svc'] as const;

/** Local proxy mode (service_mode: proxy). */
export const LOCAL_PROXY = { address: '127.0.0.1', port: 40000 } as const;

/** The line the reference client puts at the top of resolv.conf. */
export const RESOLV_CONF_OPTIONS = ['edns0', 'trust-ad'] as const;
