/**
 * The limitation diagnostics of a target, derived from its declared capabilities
 * (src/emit/target.ts): one code per limitation (WARPC01xx), written here once for
 * every target. Errors refuse a plan feature the target cannot express; warnings
 * say what the target's files do instead. A target's own `check()` adds only what
 * its capabilities cannot say.
 */
import { firewallTableCheck, routeLimitCheck } from './limits.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Plan } from '../plan/types.js';
import type { TargetModule } from './target.js';

export function capabilityDiagnostics(target: TargetModule, plan: Plan): Diagnostic[] {
  const out: Diagnostic[] = [];
  const c = target.capabilities;
  const name = target.name;
  const f = plan.features;

  // Refused: the target cannot express it at all.
  if (c.hostEntries.by === 'none') {
    for (const h of plan.split.hosts) out.push(diag('TargetNoHostEntries', { target: name, host: h.text }, h.pos));
  }
  if (plan.tunnel?.protocol === 'masque' && c.masque !== true) out.push(diag('TargetNoMasque', { target: name, reason: c.masque.no }));
  if (f.firewall && !c.firewall) out.push(diag('TargetNoFirewall', { target: name, mode: plan.serviceMode }));
  if (f.routes && c.ipv6 === false && !(plan.split.tunnel.v6.isEmpty && plan.split.direct.v6.isEmpty)) {
    const example = (plan.split.tunnel.v6.isEmpty ? plan.split.direct.v6 : plan.split.tunnel.v6).firstCidr()!;
    out.push(diag('TargetNoIpv6Routes', { target: name, example }));
  }

  // Expressed with a limitation.
  if (c.hostEntries.by !== 'none') {
    for (const h of plan.split.hosts) {
      if (h.pattern.wildcard && !c.wildcardHosts) {
        out.push(diag('WildcardHostIgnored', { target: name, host: h.text }, h.pos));
        continue;
      }
      if (h.action === 'direct' && typeof c.directHosts === 'object') {
        out.push(diag('DirectHostStaysInTunnel', { target: name, host: h.text, reason: c.directHosts.no }, h.pos));
        continue;
      }
      if (c.hostEntries.by === 'resolve-once') out.push(diag('HostResolvedOnce', { target: name, host: h.text, when: c.hostEntries.when }, h.pos));
      if (h.action === 'direct' && c.directHosts === 'exclude-route') {
        if (c.excludeRoute === false) out.push(diag('DirectHostStaysInTunnel', { target: name, host: h.text, reason: `${name} has no excludeRoute` }, h.pos));
        else if (c.excludeRoute !== true) out.push(diag('DirectHostNeedsRelease', { target: name, host: h.text, since: c.excludeRoute.since }, h.pos));
      }
    }
  }
  if (f.routes && c.ipv6 === 'needs-address' && plan.interface.ipv6 === null && !plan.split.tunnel.v6.isEmpty) {
    out.push(diag('Ipv6RoutesWithoutAddress', { target: name }));
  }
  if (f.localProxy && plan.localProxy && c.localProxy !== true) {
    out.push(diag('LocalProxyNotRun', { target: name, mode: plan.serviceMode, address: plan.localProxy.address, port: plan.localProxy.port, runBy: c.localProxy.runBy }));
  }

  // A reduced second form of the apply/revert files, next to the full one.
  const v = c.reducedVariant;
  if (v) {
    if (v.noFirewall !== undefined && f.firewall) out.push(diag('VariantNoFirewall', { target: name, variant: v.apply, reason: v.noFirewall, full: v.fullApply }));
    if (v.noDnsSearch !== undefined && plan.dns && plan.dns.search.length > 0) out.push(diag('VariantNoDnsSearch', { target: name, variant: v.apply, reason: v.noDnsSearch, full: v.fullApply }));
    if (v.revertDnsToDhcp && plan.dns) out.push(diag('VariantRevertDnsToDhcp', { target: name, variant: v.revert, tool: v.tool, apply: v.apply, full: v.fullRevert }));
    if (v.revertFixedMetric && plan.tunnel) out.push(diag('VariantRevertFixedMetric', { target: name, variant: v.revert, tool: v.tool, full: v.fullRevert }));
  }
  return out;
}

/** Everything a target reports about a plan: the limitations its capabilities imply, then its own check. */
export function targetDiagnostics(target: TargetModule, plan: Plan): Diagnostic[] {
  const c = target.capabilities;
  const limit = c.maxRoutes ? routeLimitCheck(target.name, plan, c.maxRoutes) : [];
  const tables = c.firewallTableLimit ? firewallTableCheck(target.name, plan, c.firewallTableLimit) : [];
  return [...capabilityDiagnostics(target, plan), ...limit, ...tables, ...(target.check ? target.check(plan) : [])];
}
