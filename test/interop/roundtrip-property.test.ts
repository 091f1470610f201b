/**
 * import(export(p)) = p for generated profiles: a profile's API export, saved as the files the
 * README's curl commands would write, imports back to the same profile document, byte for byte
 * in every field (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiRequests } from '../../src/interop/export-api.js';
import { readAccount, type InputFile } from '../../src/interop/read.js';
import { accountToProfiles, profileToCf, slugOf } from '../../src/interop/to-profile.js';

type Obj = Record<string, unknown>;

const description = fc.option(fc.constantFrom('', 'Corporate LAN', 'Video calls: direct', 'say "hi" & <go>', 'ünïcödé', '${oops}'), { nil: undefined });
const withDescription = <T extends Obj>(o: T, d: string | undefined): T => (d === undefined ? o : { ...o, description: d });
const addressEntry = fc.tuple(fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', '203.0.113.7/32', '172.16.0.0/12', '198.51.100.0/24'), description).map(([address, d]) => withDescription({ address }, d));
const hostEntry = fc.tuple(fc.constantFrom('zoom.us', '*.zoom.us', 'git.example.com', '*.ci.example.com'), description).map(([host, d]) => withDescription({ host }, d));
const entries = (min: number): fc.Arbitrary<Obj[]> => fc.uniqueArray(fc.oneof<fc.Arbitrary<Obj>[]>(addressEntry, hostEntry), { minLength: min, maxLength: 6, selector: (e: Obj) => String(e['address'] ?? e['host']) });
const fallback = fc.uniqueArray(
  fc.tuple(fc.constantFrom('corp.example.com', 'lab.example.com', 'local', 'home.arpa', '10.in-addr.arpa'), fc.option(fc.constantFrom(['10.0.0.53'], ['10.0.0.53', '10.0.0.54'], [] as string[]), { nil: undefined }), description).map(([suffix, ds, d]) =>
    withDescription({ suffix, ...(ds !== undefined ? { dns_server: ds } : {}) }, d),
  ),
  { maxLength: 4, selector: (f) => String(f['suffix']) },
);
const matches = fc.constantFrom('os.name == "windows"', 'any(identity.groups.name[*] in {"dev" "ops"}) and os.name in {"mac" "linux"}', 'network == "HQ" or identity.email == "a@example.com"', 'not os.name in {"ios" "android"}');
const cloudflare = fc.record(
  {
    allow_mode_switch: fc.boolean(),
    auto_connect: fc.integer({ min: 0, max: 1440 }),
    captive_portal: fc.integer({ min: 0, max: 3600 }),
    switch_locked: fc.boolean(),
    support_url: fc.constantFrom('https://help.example.com', 'mailto:it@example.com'),
    tunnel_protocol: fc.constant('wireguard'),
    proxy_port: fc.integer({ min: 1025, max: 65535 }),
  },
  { requiredKeys: [] },
);

/** A profile document with only what a Cloudflare profile can carry. */
const profileDoc = (custom: boolean): fc.Arbitrary<Obj> =>
  fc
    .record({
      displayName: fc.constantFrom('Engineering laptops', 'Contractors', 'Austin office', 'Sales', 'Kiosks #2'),
      policyId: fc.uuid(),
      match: matches,
      precedence: fc.integer({ min: 1, max: 10000 }),
      enabled: fc.boolean(),
      selDescription: description,
      serviceMode: fc.option(fc.constantFrom('warp', '1dot1', 'warp_tunnel_only', 'proxy', 'posture_only'), { nil: undefined }),
      include: fc.boolean(),
      active: entries(1),
      inactive: fc.option(entries(0), { nil: undefined }),
      fallback: fc.option(fallback, { nil: undefined }),
      search: fc.option(fc.uniqueArray(fc.constantFrom('corp.example.com', 'lab.example.com'), { minLength: 1 }), { nil: undefined }),
      cloudflare,
    })
    .map((r) => {
      const doc: Obj = { version: 1, name: custom ? slugOf(r.displayName) : 'default' };
      if (r.serviceMode !== undefined) doc['service_mode'] = r.serviceMode;
      doc['split_tunnel'] = { mode: r.include ? 'include' : 'exclude', entries: r.active };
      if (r.fallback !== undefined) doc['fallback_domains'] = r.fallback;
      if (r.search !== undefined) doc['dns'] = { search: r.search };
      if (custom) doc['selector'] = withDescription({ policy_id: r.policyId, name: r.displayName, match: r.match, precedence: r.precedence, enabled: r.enabled }, r.selDescription);
      const cf: Obj = { ...r.cloudflare };
      // The list not in use: any exclude list in include mode; in exclude mode only an empty include (a non-empty one would be include mode).
      if (r.inactive !== undefined) cf[r.include ? 'exclude' : 'include'] = r.include ? r.inactive : [];
      if (Object.keys(cf).length > 0) doc['cloudflare'] = Object.fromEntries(Object.keys(cf).sort().map((k) => [k, cf[k]]));
      return doc;
    });

/** The files the README's curl commands would have saved for an account in this state. */
function savedFiles(docs: Obj[]): InputFile[] {
  const files: InputFile[] = [];
  const env = (result: unknown, extra: Obj = {}): string => JSON.stringify({ success: true, errors: [], messages: [], result, ...extra });
  const customs: Obj[] = [];
  for (const r of apiRequests(docs.map(profileToCf))) {
    const m = /^\/devices\/policy(?:\/(?!(?:exclude|include|fallback_domains)$)([^/]+))?(?:\/(exclude|include|fallback_domains))?$/.exec(r.path)!;
    const [, id, list] = m;
    if (r.method === 'PUT') files.push({ name: `${id ? `policy.${id}.` : ''}${list}.json`, text: env(r.body) });
    else if (id === undefined) files.push({ name: 'policy.json', text: env({ ...(r.body as Obj), default: true }) });
    else customs.push({ policy_id: decodeURIComponent(id), ...(r.body as Obj) });
  }
  if (customs.length > 0) files.push({ name: 'policies.json', text: env(customs, { result_info: { page: 1, per_page: 50, count: customs.length, total_count: customs.length } }) });
  return files;
}

describe('import(export(p)) = p', () => {
  it('for a generated default profile and custom profiles (fast-check)', () => {
    fc.assert(
      fc.property(profileDoc(false), fc.uniqueArray(profileDoc(true), { maxLength: 3, selector: (d) => String(d['name']) }).filter((cs) => new Set(cs.map((c) => (c['selector'] as Obj)['policy_id'])).size === cs.length), (def, customs) => {
        const read = readAccount(savedFiles([def, ...customs]));
        expect(read.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const docs = accountToProfiles(read.account!).files.map((f) => f.document);
        const byId = new Map(docs.map((d) => [(d['selector'] as Obj | undefined)?.['policy_id'] ?? 'default', d]));
        expect(byId.get('default')).toEqual(def);
        for (const c of customs) expect(byId.get((c['selector'] as Obj)['policy_id'] as string)).toEqual(c);
      }),
      { numRuns: 150 },
    );
  });
});
