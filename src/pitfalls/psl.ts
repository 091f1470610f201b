/**
 * Is a fallback suffix too broad to send to a private resolver? A public suffix by
 * the Public Suffix List (tldts, offline: its ICANN and private sections), or a
 * shared platform domain whose names belong to many unrelated customers.
 * Reverse zones (`*.arpa`) are meant for Local Domain Fallback and never count.
 */
import { createRequire } from 'node:module';
import type * as TldtsNs from 'tldts';

/** tldts (the list itself, most of its size) loads on the first suffix to look up: most profiles name none. */
let tldts: typeof TldtsNs | undefined;
function parse(hostname: string, options: Parameters<typeof TldtsNs.parse>[1]): ReturnType<typeof TldtsNs.parse> {
  return (tldts ??= createRequire(import.meta.url)('tldts') as typeof TldtsNs).parse(hostname, options);
}

/** Cloud and CDN domains that hold public suffixes of their own (s3.amazonaws.com, …) or serve every customer. */
const SHARED_PLATFORMS: readonly string[] = [
  'amazonaws.com',
  'cloudfront.net',
  'azurewebsites.net',
  'azureedge.net',
  'windows.net',
  'cloudapp.net',
  'trafficmanager.net',
  'googleapis.com',
  'appspot.com',
  'googleusercontent.com',
  'akamaiedge.net',
  'akamaized.net',
  'fastly.net',
  'herokuapp.com',
  'github.io',
  'workers.dev',
  'pages.dev',
];

/** Why the suffix is too broad, in words, or null when it is not. */
export function publicSuffixKind(suffix: string): string | null {
  if (suffix === 'arpa' || suffix.endsWith('.arpa')) return null;
  if (SHARED_PLATFORMS.some((p) => p === suffix || p.endsWith(`.${suffix}`))) return 'a shared cloud or CDN domain, not a private zone';
  const p = parse(suffix, { allowPrivateDomains: true });
  if (p.domain === null && p.publicSuffix === suffix && (p.isIcann === true || p.isPrivate === true)) {
    return p.isIcann ? 'a public suffix (Public Suffix List)' : 'a public suffix shared by many sites (Public Suffix List, private section)';
  }
  return null;
}
