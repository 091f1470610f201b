/**
 * The iOS and Android route forms (file version 2): routes as prefix strings, Android's
 * as addRoutes/excludeRoutes batches. On a plan with thousands of routes: the lists are
 * exactly the plan's sets in order, one short line per prefix, the document parses back
 * to the same value in the same layout, and the files stay small. The readers refuse
 * the old form, batches out of order and prefixes the platforms would refuse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { stableJson } from '../../src/contract/json-file.js';
import { TARGETS } from '../../src/emit/registry.js';
import type { Plan } from '../../src/plan/types.js';
import { LEGACY_ROUTE_LIMIT } from '../../targets/android/index.js';
import { readAndroid, readIos } from '../readers/mobile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ajv = new Ajv({ allErrors: true, strict: true });
const schema = (name: string): object => JSON.parse(readFileSync(join(ROOT, 'schema', 'targets', name), 'utf8')) as object;
const validateIos = ajv.compile(schema('ios.network-settings.schema.json'));
const validateAndroid = ajv.compile(schema('android.vpn-service.schema.json'));

/** N scattered excluded IPv4 /24s and N IPv6 /64s (the scale profile of issue #9, smaller). */
function scaleSource(n: number): string {
  const lines = ['version: 1', 'name: scale', 'split_tunnel:', '  mode: exclude', '  entries:'];
  for (let i = 0; i < n; i++) {
    const x = Math.imul(i, 2654435761) >>> 8;
    lines.push(`    - address: ${x >>> 16}.${(x >>> 8) & 255}.${x & 255}.0/24`);
    const y = Math.imul(i, 2654435761) >>> 0;
    lines.push(`    - address: 2001:db8:${(y >>> 16).toString(16)}:${(y & 0xffff).toString(16)}::/64`);
  }
  return `${lines.join('\n')}\n`;
}

const N = 2000;
const { plan, android, ios } = ((): { plan: Plan; android: string; ios: string } => {
  const targets = TARGETS.filter((t) => t.name === 'android' || t.name === 'ios');
  const r = compile(scaleSource(N), targets);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { plan: r.plan!, android: r.files.get('android/vpn-service.json')!.text, ios: r.files.get('ios/network-settings.json')!.text };
})();
const tunnel = [...plan.split.tunnel.v4.toCidrs(), ...plan.split.tunnel.v6.toCidrs()];
const direct = [...plan.split.direct.v4.toCidrs(), ...plan.split.direct.v6.toCidrs()];

/** Every line that is one prefix string of a list: eight or ten spaces, the quoted prefix, a comma unless last. */
const prefixLines = (text: string): string[] => text.split('\n').filter((l) => /^ +"[0-9a-f.:]+\/\d+",?$/.test(l));

describe('Android vpn-service.json at scale', () => {
  const j = JSON.parse(android) as { version: number; calls: { method: string; prefixes?: string[] }[]; callsBeforeApi33: { method: string; prefixes?: string[] }[] };
  it('parses back to the same value in the same layout, and validates', () => {
    expect(stableJson(j)).toBe(android);
    expect(validateAndroid(j), JSON.stringify(validateAndroid.errors?.slice(0, 3))).toBe(true);
    expect(j.version).toBe(2);
  });
  it('before API 33: one addRoutes batch that is the tunnel set, IPv4 then IPv6, in order', () => {
    expect(tunnel.length).toBeGreaterThan(10 * N);
    const batches = j.callsBeforeApi33.filter((c) => c.prefixes);
    expect(batches.map((c) => c.method)).toEqual(['addRoutes']);
    expect(batches[0]!.prefixes).toEqual(tunnel);
  });
  it('API 33+: the default routes in, then one excludeRoutes batch that is the direct set', () => {
    const batches = j.calls.filter((c) => c.prefixes);
    expect(batches).toEqual([
      { method: 'addRoutes', prefixes: ['0.0.0.0/0', '::/0'] },
      { method: 'excludeRoutes', prefixes: direct },
    ]);
  });
  it('one short line per prefix: about a sixth of the bytes of one call object per route', () => {
    expect(prefixLines(android)).toHaveLength(tunnel.length + direct.length + 2);
    // Version 1 wrote about 70 bytes per route (a five-line object); this form, the prefix and its indentation.
    const routes = tunnel.length + direct.length + 2;
    expect(Buffer.byteLength(android) / routes).toBeLessThan(36);
  });
});

describe('iOS network-settings.json at scale', () => {
  const j = JSON.parse(ios) as { version: number; ipv4Settings: { includedRoutes: string[]; excludedRoutes: string[] }; ipv6Settings: { includedRoutes: string[]; excludedRoutes: string[] } };
  it('parses back to the same value in the same layout, and validates', () => {
    expect(stableJson(j)).toBe(ios);
    expect(validateIos(j), JSON.stringify(validateIos.errors?.slice(0, 3))).toBe(true);
    expect(j.version).toBe(2);
  });
  it('the default route in and the direct set out, per family, in order, one line per prefix', () => {
    expect(j.ipv4Settings).toMatchObject({ includedRoutes: ['0.0.0.0/0'], excludedRoutes: plan.split.direct.v4.toCidrs() });
    expect(j.ipv6Settings).toMatchObject({ includedRoutes: ['::/0'], excludedRoutes: plan.split.direct.v6.toCidrs() });
    expect(prefixLines(ios)).toHaveLength(direct.length + 2);
    // Version 1: about 100 bytes per route ({destinationAddress, subnetMask} over four lines).
    expect(Buffer.byteLength(ios) / (direct.length + 2)).toBeLessThan(36);
  });
});

describe('the mobile readers insist on the version 2 form', () => {
  const small = compile(
    readFileSync(join(ROOT, 'fixtures', 'corporate-exclude', 'profile.yaml'), 'utf8'),
    TARGETS.filter((t) => t.name === 'android' || t.name === 'ios'),
  );
  const androidText = small.files.get('android/vpn-service.json')!.text;
  const iosText = small.files.get('ios/network-settings.json')!.text;
  const edit = (text: string, f: (j: Record<string, unknown>) => void): string => {
    const j = JSON.parse(text) as Record<string, unknown>;
    f(j);
    return JSON.stringify(j);
  };
  type Call = { method: string; prefixes?: string[]; address?: string; prefixLength?: number };
  const calls = (j: Record<string, unknown>): Call[] => j['calls'] as Call[];

  it('read the files as written', () => {
    expect(readAndroid(androidText, 'calls').routes!.lookup('10.1.2.3')).toBe('direct');
    expect(readAndroid(androidText, 'calls').routes!.lookup('1.1.1.1')).toBe('tunnel');
    expect(readIos(iosText).routes!.lookup('10.1.2.3')).toBe('direct');
  });
  it('Android: refuses a version 1 file, a single-route call, an empty or misplaced batch, host bits, and excludeRoutes before API 33', () => {
    expect(() =>
      readAndroid(
        edit(androidText, (j) => (j['version'] = 1)),
        'calls',
      ),
    ).toThrow(/version 1/);
    expect(() =>
      readAndroid(
        edit(androidText, (j) => calls(j).splice(2, 0, { method: 'addRoute', address: '10.0.0.0', prefixLength: 8 })),
        'calls',
      ),
    ).toThrow(/single addRoute/);
    expect(() =>
      readAndroid(
        edit(androidText, (j) => (calls(j).find((c) => c.method === 'addRoutes')!.prefixes = [])),
        'calls',
      ),
    ).toThrow(/without prefixes/);
    expect(() =>
      readAndroid(
        edit(androidText, (j) => {
          const cs = calls(j);
          const i = cs.findIndex((c) => c.method === 'excludeRoutes');
          const [ex] = cs.splice(i, 1);
          cs.splice(
            cs.findIndex((c) => c.method === 'addRoutes'),
            0,
            ex!,
          );
        }),
        'calls',
      ),
    ).toThrow(/out of order/);
    expect(() =>
      readAndroid(
        edit(androidText, (j) =>
          calls(j)
            .find((c) => c.method === 'excludeRoutes')!
            .prefixes!.push('10.0.0.1/8'),
        ),
        'calls',
      ),
    ).toThrow(/host bits/);
    expect(() =>
      readAndroid(
        edit(androidText, (j) => (j['callsBeforeApi33'] = j['calls'])),
        'callsBeforeApi33',
      ),
    ).toThrow(/excludeRoute before API 33/);
  });
  it('iOS: refuses a version 1 file, a route object, and a prefix of the other family', () => {
    type Settings = { includedRoutes: unknown[]; excludedRoutes: unknown[] };
    expect(() => readIos(edit(iosText, (j) => (j['version'] = 1)))).toThrow(/version 1/);
    expect(() => readIos(edit(iosText, (j) => (j['ipv4Settings'] as Settings).excludedRoutes.push({ destinationAddress: '10.0.0.0', subnetMask: '255.0.0.0' })))).toThrow(/not a prefix/);
    expect(() => readIos(edit(iosText, (j) => (j['ipv4Settings'] as Settings).excludedRoutes.push('2001:db8::/32')))).toThrow(/IPv6 prefix/);
  });
});

describe('Android past the route limit for releases without excludeRoute', () => {
  it('leaves callsBeforeApi33 null with WARPC0120 naming the count and the limit; the API 33+ calls stay whole', () => {
    // Each excluded IPv6 /128 adds about 128 prefixes to the tunnel set: 14,000 of them pass a million.
    const lines = ['version: 1', 'name: many', 'split_tunnel:', '  mode: exclude', '  entries:'];
    for (let i = 0; i < 14000; i++) lines.push(`    - address: 2001:db8:${(Math.imul(i, 2654435761) >>> 16).toString(16)}::${(i + 1).toString(16)}/128`);
    const r = compile(
      `${lines.join('\n')}\n`,
      TARGETS.filter((t) => t.name === 'android'),
    );
    const tunnel = r.plan!.split.tunnel.v4.prefixCount() + r.plan!.split.tunnel.v6.prefixCount();
    expect(tunnel).toBeGreaterThan(LEGACY_ROUTE_LIMIT.limit);
    const warned = r.diagnostics.filter((d) => d.code === 'WARPC0120');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.severity).toBe('warning');
    expect(warned[0]!.message).toContain(`${tunnel.toLocaleString('en')} prefixes`);
    expect(warned[0]!.message).toContain('limit of 1,000,000');
    const text = r.files.get('android/vpn-service.json')!.text;
    const j = JSON.parse(text) as { callsBeforeApi33: unknown; calls: { method: string; prefixes?: string[] }[] };
    expect(j.callsBeforeApi33).toBeNull();
    expect(validateAndroid(j), JSON.stringify(validateAndroid.errors?.slice(0, 3))).toBe(true);
    expect(j.calls.find((c) => c.method === 'excludeRoutes')!.prefixes).toEqual([...r.plan!.split.direct.v4.toCidrs(), ...r.plan!.split.direct.v6.toCidrs()]);
    expect(readAndroid(text, 'calls').routes!.lookup('2001:db8::1')).toBe('direct');
    expect(readAndroid(text, 'calls').routes!.lookup('2001:db8::2')).toBe('tunnel');
    expect(() => readAndroid(text, 'callsBeforeApi33')).toThrow(/WARPC0120/);
  });
  it('says nothing under the limit', () => {
    expect(
      compile(
        scaleSource(50),
        TARGETS.filter((t) => t.name === 'android'),
      ).diagnostics.map((d) => d.code),
    ).not.toContain('WARPC0120');
  });
});
