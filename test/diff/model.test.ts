/**
 * `warpc diff` against an independent model: each side's tunnel set is computed
 * from the validated profile with cidr-tools (not the plan's algebra), the deciding
 * rule of an address by brute force over the profile's lists (not segments.ts), and
 * probes (every rule's edges, bypass addresses, random addresses, addresses inside
 * every reported move) must agree with the diff: a probe whose path differs lies in
 * exactly one move, with the model's direction and rules; any other probe in none.
 */
import { containsCidr, excludeCidr, mergeCidr, parseCidr } from 'cidr-tools';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import type { DiffResult, ReasonJson } from '../../src/diff/diff.js';
import type { Profile } from '../../src/profile/types.js';
import { pairs, planDiff, side, type Pair } from './pairs.js';

type Fam = 4 | 6;
const famOf = (cidr: string): Fam => (cidr.includes(':') ? 6 : 4);
const ALL: Record<Fam, string> = { 4: '0.0.0.0/0', 6: '::/0' };
const BITS: Record<Fam, number> = { 4: 32, 6: 128 };

const routes = (p: Profile): boolean => p.serviceMode === 'warp' || p.serviceMode === 'warp_tunnel_only';
const host = (a: string): string => `${a}/${famOf(a) === 4 ? 32 : 128}`;

function bypassOf(p: Profile): { address: string; reason: string }[] {
  const out: { address: string; reason: string }[] = [];
  const add = (address: string, reason: string): void => {
    if (!out.some((b) => b.address === address)) out.push({ address, reason });
  };
  add(p.tunnel.endpoint.host, 'tunnel_endpoint');
  for (const a of p.orchestration.addresses) add(a, 'orchestration');
  if (p.dns.dohVia === 'direct') for (const a of p.dns.dohAddresses) add(a, 'doh_direct');
  return out;
}

const listed = (p: Profile, fam: Fam): string[] => p.splitTunnel.entries.flatMap((e) => (e.kind === 'address' && famOf(e.address) === fam ? [e.address] : []));
const always = (p: Profile, fam: Fam): string[] => p.alwaysTunnel.map((a) => a.address).filter((a) => famOf(a) === fam);
const dohTunnel = (p: Profile): string[] => (p.splitTunnel.mode === 'include' && p.dns.dohVia === 'tunnel' && p.serviceMode === 'warp' ? [...p.dns.dohAddresses] : []);

/** The tunnel set by the README's formulas, in cidr-tools. */
function modelTunnel(p: Profile, fam: Fam): string[] {
  if (!routes(p)) return [];
  const minus = (base: string[], ex: string[]): string[] => (base.length === 0 ? [] : ex.length === 0 ? mergeCidr(base) : excludeCidr(base, ex));
  const bypass = bypassOf(p).map((b) => b.address).filter((a) => famOf(a) === fam).map(host);
  const doh = dohTunnel(p).filter((a) => famOf(a) === fam).map(host);
  const base = p.splitTunnel.mode === 'exclude' ? [...minus([ALL[fam]], listed(p, fam)), ...always(p, fam)] : [...listed(p, fam), ...always(p, fam), ...doh];
  return minus(base, bypass);
}

const inAny = (cidrs: readonly string[], addr: string): boolean => cidrs.length > 0 && containsCidr(cidrs as string[], addr);

/** The deciding rule of one address, by brute force: bypass > most specific always_tunnel > most specific entry (first listed on ties) > DoH > default. */
function modelReason(p: Profile, addr: string): Record<string, unknown> {
  if (!routes(p)) return { kind: 'no_routing' };
  const b = bypassOf(p).find((x) => x.address === addr || (famOf(x.address) === famOf(addr) && containsCidr(host(x.address), addr)));
  if (b) return { kind: 'bypass', address: b.address };
  const best = (cidrs: string[]): string | null => {
    let out: string | null = null;
    let len = -1;
    for (const c of cidrs) {
      const l = Number(c.split('/')[1]);
      if (famOf(c) === famOf(addr) && l > len && containsCidr(c, addr)) {
        out = c;
        len = l;
      }
    }
    return out;
  };
  const a = best(p.alwaysTunnel.map((x) => x.address));
  if (a) return { kind: 'always_tunnel', prefix: a };
  const e = best(p.splitTunnel.entries.flatMap((x) => (x.kind === 'address' ? [x.address] : [])));
  if (e) return { kind: 'entry', prefix: e };
  if (dohTunnel(p).some((d) => famOf(d) === famOf(addr) && containsCidr(host(d), addr))) return { kind: 'doh_tunnel' };
  return { kind: 'mode_default' };
}

function essential(r: ReasonJson): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: r['kind'] };
  if (r['kind'] === 'entry' || r['kind'] === 'always_tunnel') out['prefix'] = r['prefix'];
  if (r['kind'] === 'bypass') out['address'] = r['address'];
  return out;
}

function format(fam: Fam, v: bigint): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

/** A small deterministic generator (xorshift). */
function rng(seed: number): () => bigint {
  let x = BigInt(seed) | 1n;
  return () => {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    return x & 0xffffffffffffffffn;
  };
}

function probes(pair: Pair, diff: DiffResult, fam: Fam, random: number): bigint[] {
  const max = (1n << BigInt(BITS[fam])) - 1n;
  const out: bigint[] = [0n, max];
  const edges = (cidr: string): void => {
    const c = parseCidr(cidr);
    for (const v of [c.start - 1n, c.start, c.end, c.end + 1n, (c.start + c.end) / 2n]) if (v >= 0n && v <= max) out.push(v);
  };
  for (const p of [pair.old.profile, pair.new.profile]) {
    for (const c of [...listed(p, fam), ...always(p, fam)]) edges(c);
    for (const b of bypassOf(p)) if (famOf(b.address) === fam) edges(host(b.address));
    for (const d of p.dns.dohAddresses) if (famOf(d) === fam) edges(host(d));
  }
  for (const m of diff.routing.moves) if (m.family === fam) for (const c of m.cidrs.slice(0, 50)) edges(c);
  const next = rng(fam * 7919 + pair.name.length);
  for (let i = 0; i < random; i++) out.push(fam === 4 ? next() & max : ((next() << 64n) | next()) & max);
  return out;
}

function check(pair: Pair, random = 300): void {
  const diff = planDiff(pair);
  for (const fam of [4, 6] as const) {
    const key = fam === 4 ? 'ipv4' : 'ipv6';
    const oldT = modelTunnel(pair.old.profile, fam);
    const newT = modelTunnel(pair.new.profile, fam);
    const minus = (a: string[], b: string[]): string[] => (a.length === 0 ? [] : b.length === 0 ? mergeCidr(a) : excludeCidr(a, b));
    const t2d = minus(oldT, newT);
    const d2t = minus(newT, oldT);
    expect(diff.routing[key].tunnel_to_direct).toEqual(t2d);
    expect(diff.routing[key].direct_to_tunnel).toEqual(d2t);
    // The moves partition exactly those ranges, each list minimal.
    const moves = diff.routing.moves.filter((m) => m.family === fam);
    for (const m of moves) expect(m.cidrs).toEqual(mergeCidr(m.cidrs));
    const union = (from: string): string[] => {
      const all = moves.filter((m) => m.from === from).flatMap((m) => m.cidrs);
      return all.length === 0 ? [] : mergeCidr(all);
    };
    expect(union('tunnel')).toEqual(t2d);
    expect(union('direct')).toEqual(d2t);
    const size = (cs: string[]): bigint => cs.reduce((k, c) => k + (parseCidr(c).end - parseCidr(c).start + 1n), 0n);
    expect(moves.reduce((n, m) => n + size(m.cidrs), 0n), 'moves do not overlap').toBe(size([...t2d, ...d2t]));

    for (const v of probes(pair, diff, fam, random)) {
      const addr = format(fam, v);
      const was = inAny(oldT, addr) ? 'tunnel' : 'direct';
      const now = inAny(newT, addr) ? 'tunnel' : 'direct';
      const hits = moves.filter((m) => inAny(m.cidrs, addr));
      if (was === now) {
        expect(hits, `${addr} does not move`).toEqual([]);
        continue;
      }
      expect(hits.length, `${addr} moves ${was} → ${now}`).toBe(1);
      const m = hits[0]!;
      expect([m.from, m.to]).toEqual([was, now]);
      expect(essential(m.old), `${addr}: the old side's rule`).toEqual(modelReason(pair.old.profile, addr));
      expect(essential(m.new), `${addr}: the new side's rule`).toEqual(modelReason(pair.new.profile, addr));
    }
  }
}

/** Random profiles crowded into 10.0.0.0/24 and 2001:db8::/120, so entries nest, touch, repeat and meet bypass addresses. */
const crowdedV4 = fc.tuple(fc.integer({ min: 0, max: 63 }), fc.oneof(fc.integer({ min: 24, max: 32 }), fc.constant(32))).map(([x, len]) => {
  const v = (10 * 2 ** 24 + x) & (len === 0 ? 0 : ~(2 ** (32 - len) - 1));
  const n = v >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`;
});
const crowdedV6 = fc.tuple(fc.integer({ min: 0, max: 63 }), fc.oneof(fc.integer({ min: 120, max: 128 }), fc.constant(128))).map(([x, len]) => {
  const v = x & ~(2 ** (128 - len) - 1);
  return `2001:db8::${v.toString(16)}/${len}`;
});
const crowdedProfile = fc.record({
  mode: fc.constantFrom('exclude', 'include'),
  service: fc.constantFrom('warp', 'warp', 'warp', 'warp_tunnel_only', '1dot1'),
  entries: fc.array(fc.oneof(crowdedV4, crowdedV6), { minLength: 1, maxLength: 8 }),
  always: fc.array(fc.oneof(crowdedV4, crowdedV6), { maxLength: 3 }),
  endpoint: fc.integer({ min: 0, max: 63 }),
  orchestration: fc.integer({ min: 0, max: 255 }),
  doh: fc.integer({ min: 0, max: 255 }),
  dohVia: fc.constantFrom('tunnel', 'direct'),
});

function crowdedYaml(r: unknown): string {
  const p = r as { mode: string; service: string; entries: string[]; always: string[]; endpoint: number; orchestration: number; doh: number; dohVia: string };
  return JSON.stringify({
    version: 1,
    service_mode: p.service,
    split_tunnel: { mode: p.mode, entries: p.entries.map((address) => ({ address })) },
    always_tunnel: p.always,
    tunnel: { endpoint: `10.0.0.${p.endpoint}:2408` },
    orchestration: { addresses: [`10.0.0.${p.orchestration}`, `2001:db8::${p.orchestration.toString(16)}`] },
    ...(p.service === 'warp_tunnel_only' ? {} : { dns: { doh_addresses: [`10.0.0.${p.doh}`], doh_via: p.dohVia } }),
  });
}

const valid = (yaml: string): boolean => analyze(yaml).plan !== null;

describe('warpc diff agrees with an independent model (cidr-tools, brute force)', () => {
  for (const pair of pairs()) {
    it(`${pair.name}: moved ranges, their union, minimality and deciding rules`, () => {
      check(pair);
    });
  }
  it('random crowded profile pairs (nested, touching, duplicate entries; bypass and DoH addresses among them)', () => {
    fc.assert(
      fc.property(crowdedProfile, crowdedProfile, (a, b) => {
        const ya = crowdedYaml(a);
        const yb = crowdedYaml(b);
        fc.pre(valid(ya) && valid(yb));
        check({ name: 'random', dir: '', old: side(ya), new: side(yb) }, 16);
      }),
      { numRuns: 50, seed: 1101 },
    );
  });
});
