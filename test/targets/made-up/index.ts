/**
 * A made-up target, for tests only: what it takes to add a target is this one folder
 * and one registry row (test/targets/capabilities.test.ts adds the row). Its own profile
 * options (targets.made-up) are declared in options.ts beside it. It declares
 * every gap a capability can have; the core derives the diagnostics, and its files
 * come from the shared helpers (route form, DNS servers), not from decisions of its own.
 */
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../../src/emit/target.js';
import { canExcludeRoutes, dnsServers, familyRoutes } from '../../../src/emit/view.js';
import type { Plan } from '../../../src/plan/types.js';
import { optionsIn } from '../../../src/profile/target-options.js';
import { madeUpOptions } from './options.js';

export const MADE_UP_CAPABILITIES: TargetCapabilities = {
  policyRouting: false,
  excludeRoute: { since: 'release 2' },
  hostEntries: { by: 'resolve-once', when: 'when the device boots' },
  wildcardHosts: false,
  directHosts: 'exclude-route',
  dnsServers: 'ipv4-mapped-v6',
  firewall: false,
  ipv6: false,
  localProxy: { runBy: 'the made-up app' },
  reducedVariant: {
    apply: 'apply.lite',
    revert: 'revert.lite',
    tool: 'litectl',
    fullApply: 'apply.full',
    fullRevert: 'revert.full',
    noFirewall: 'litectl has no firewall',
    noDnsSearch: 'litectl has no search list',
    revertDnsToDhcp: true,
    revertFixedMetric: true,
  },
};

/** The made-up target with capabilities `c` (its files follow them: tests vary them). */
export function madeUpTarget(c: TargetCapabilities = MADE_UP_CAPABILITIES): TargetModule {
  const emit = (plan: Plan, _ctx: EmitContext): Artifact[] => {
    const lines: string[] = [];
    if (plan.features.routes) {
      for (const family of ['v4', 'v6'] as const) {
        const r = familyRoutes(plan.split.mode, plan.split.tunnel[family], plan.split.direct[family], canExcludeRoutes(c));
        lines.push(...r.included.map((p) => `in ${p}`), ...r.excluded.map((p) => `out ${p}`));
      }
    }
    const dns = dnsServers(plan, c);
    lines.push(...[...dns.v4, ...dns.v6].map((a) => `dns ${a}`));
    const own = optionsIn(plan.targets, madeUpOptions);
    lines.push(`app ${own.appId} on ${own.interface}, ${own.retries} retries`);
    return [{ path: 'settings.txt', text: lines.map((l) => `${l}\n`).join(''), mode: 0o644 }];
  };
  return { name: 'made-up', description: 'a target that exists only in the tests', capabilities: c, options: madeUpOptions, emit };
}

export const madeUp: TargetModule = madeUpTarget();
