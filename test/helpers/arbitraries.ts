/** fast-check arbitraries for profiles (as plain objects, serialized to YAML by the tests). */
import fc from 'fast-check';

/** Prefixes drawn from a few neighbourhoods, so that random entries overlap, nest and touch. */
export const v4Prefix = fc
  .tuple(fc.constantFrom(10, 100, 162, 172, 192, 198, 203, 1, 255), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 }))
  .map(([a, b, c, d, len]) => {
    const v = (((a << 24) >>> 0) | (b << 16) | (c << 8) | d) >>> 0;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const n = (v & mask) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`;
  });

export const v4Address = fc
  .tuple(fc.constantFrom(10, 100, 162, 172, 192, 198, 203, 1, 8), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }))
  .map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`);

export const v6Prefix = fc
  .tuple(fc.constantFrom('2001:db8', 'fd00', 'fe80', '2606:4700', 'ff02', '2a00'), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 8, max: 64 }))
  .map(([head, x, len]) => {
    // Build the address as bigint, then clear host bits.
    const parts = [...head.split(':').map((h) => parseInt(h, 16)), x];
    while (parts.length < 8) parts.push(0);
    let v = 0n;
    for (const p of parts) v = (v << 16n) | BigInt(p);
    v &= ~((1n << BigInt(128 - len)) - 1n);
    const groups: string[] = [];
    for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
    return `${groups.join(':')}/${len}`;
  });

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
export const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.'));
export const hostPattern = fc.tuple(fc.boolean(), domain).map(([w, d]) => (w ? `*.${d}` : d));
export const description = fc.string({ maxLength: 24 }).filter((s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(s));

export const serviceMode = fc.constantFrom('warp', 'warp', 'warp', '1dot1', 'warp_tunnel_only', 'proxy', 'posture_only');

export interface RandomProfile {
  [k: string]: unknown;
}

/** A random profile that is valid by construction (duplicates and shadowing allowed: they are warnings). */
export const validProfile = fc
  .record({
    mode: fc.constantFrom('exclude', 'include'),
    serviceMode,
    entries: fc.array(fc.oneof({ weight: 4, arbitrary: v4Prefix.map((a) => ({ address: a })) }, { weight: 2, arbitrary: v6Prefix.map((a) => ({ address: a })) }, { weight: 1, arbitrary: hostPattern.map((h) => ({ host: h })) }), { minLength: 1, maxLength: 8 }),
    descriptions: fc.array(description, { minLength: 8, maxLength: 8 }),
    always: fc.option(fc.array(fc.oneof(v4Prefix, v6Prefix), { maxLength: 2 }), { nil: undefined }),
    endpoint: v4Address,
    orchestration: fc.array(v4Address, { minLength: 0, maxLength: 2 }),
    doh: fc.array(v4Address, { minLength: 1, maxLength: 2 }),
    dohVia: fc.constantFrom('tunnel', 'direct'),
    fallback: fc.option(fc.array(fc.record({ suffix: domain, servers: fc.array(fc.oneof(v4Address, fc.constant('2001:db8::53')), { maxLength: 2 }) }), { maxLength: 3 }), { nil: undefined }),
  })
  .map((r): RandomProfile => {
    const hostsAllowed = r.serviceMode !== 'warp_tunnel_only';
    const entries = r.entries
      .filter((e) => hostsAllowed || !('host' in e))
      .map((e, i) => ({ ...e, ...(r.descriptions[i] ? { description: r.descriptions[i] } : {}) }));
    const p: RandomProfile = {
      version: 1,
      name: 'random',
      service_mode: r.serviceMode,
      split_tunnel: { mode: r.mode, entries: entries.length > 0 ? entries : [{ address: '10.0.0.0/8' }] },
      tunnel: { endpoint: `${r.endpoint}:2408` },
      orchestration: { addresses: r.orchestration },
      dns: { doh_addresses: r.doh, doh_via: r.dohVia },
    };
    if (r.always !== undefined) p['always_tunnel'] = r.always;
    if (r.fallback !== undefined && r.serviceMode !== 'warp_tunnel_only') {
      const seen = new Set<string>();
      p['fallback_domains'] = r.fallback.filter((f) => !seen.has(f.suffix) && seen.add(f.suffix)).map((f) => ({ suffix: f.suffix, ...(f.servers.length ? { dns_server: f.servers } : {}) }));
    }
    if (['1dot1', 'proxy', 'posture_only'].includes(r.serviceMode)) delete p['split_tunnel'];
    return p;
  });
