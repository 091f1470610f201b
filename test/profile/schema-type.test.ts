/**
 * The raw profile type and each target's raw options type are derived from the schema
 * fragments (src/profile/schema-type.ts), not written out by hand. These assertions are
 * types: `npm run typecheck` (part of `npm test`) fails when a derivation goes wrong, for
 * instance when a schema property stops reaching the type. The run-time half checks that
 * the derived types describe the values the validator actually accepts.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import type { RawProfile } from '../../src/profile/schema.js';
import type { FromSchema } from '../../src/profile/schema-type.js';
import type { DnsVia, ServiceMode, SplitMode } from '../../src/profile/types.js';
import { linuxOptions, type LinuxOptions } from '../../targets/linux/options.js';
import { macosOptions } from '../../targets/macos/options.js';

describe('types derived from the schema', () => {
  it('FromSchema follows type, enum, required, items and $ref', () => {
    type S = {
      type: 'object';
      required: ['a'];
      properties: { a: { type: 'integer' }; b: { enum: ['x', 'y'] }; c: { type: 'array'; items: { $ref: '#/definitions/d' } } };
    };
    expectTypeOf<FromSchema<S, { d: { type: 'string' } }>>().toEqualTypeOf<{ a: number; b?: 'x' | 'y'; c?: string[] }>();
  });

  it('the raw profile: every section from the shared schema, targets by their own fragments', () => {
    expectTypeOf<RawProfile['version']>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<RawProfile['split_tunnel']>>().toEqualTypeOf<{
      mode?: 'exclude' | 'include';
      entries?: { address?: string; host?: string; description?: string }[];
    }>();
    expectTypeOf<NonNullable<RawProfile['fallback_domains']>[number]>().toEqualTypeOf<{ suffix: string; dns_server?: string[]; description?: string }>();
    expectTypeOf<ServiceMode>().toEqualTypeOf<'warp' | '1dot1' | 'warp_tunnel_only' | 'proxy' | 'posture_only'>();
    expectTypeOf<SplitMode>().toEqualTypeOf<'exclude' | 'include'>();
    expectTypeOf<DnsVia>().toEqualTypeOf<'tunnel' | 'direct'>();
    expectTypeOf<FromSchema<typeof linuxOptions.schema>>().toEqualTypeOf<{
      interface?: string;
      table?: number;
      fwmark?: number;
      rule_priority?: number;
      nft_table?: string;
      dns_manager?: 'auto' | 'resolv.conf' | 'systemd-resolved';
    }>();
    expectTypeOf<FromSchema<typeof macosOptions.schema>>().toEqualTypeOf<{ interface?: string; pf_anchor?: string }>();
    expectTypeOf<LinuxOptions['dnsManager']>().toEqualTypeOf<'auto' | 'resolv.conf' | 'systemd-resolved'>();
  });

  it('the validator accepts what the derived types allow, and fills the target options in', () => {
    const r = analyze('version: 1\nservice_mode: warp\nsplit_tunnel: { mode: include, entries: [{ address: 10.0.0.0/8 }] }\ntargets:\n  linux: { dns_manager: systemd-resolved }\n');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.profile!.targets.linux.dnsManager).toBe('systemd-resolved');
    expect(r.profile!.targets.macos).toEqual({ interface: 'utun3', pfAnchor: 'com.cloudflare.warp_svc' });
  });
});
