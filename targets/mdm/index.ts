/**
 * The MDM target: the files an admin's MDM ships so the Cloudflare One Agent enrols with the
 * profile's `deployment:` keys — Linux and Windows mdm.xml, the Windows msiexec line, the macOS
 * managed preferences plist and .mobileconfig, the iOS app configuration and Android's managed
 * configuration (Intune JSON). The client itself routes and resolves, so this target expresses
 * every plan feature (its capabilities are all true); a profile without `deployment:` gets no
 * files. The deployment is read and its secrets resolved by the core before emit
 * (EmitContext.deployment); this module renders it (src/mdm/render.ts) and decides nothing.
 */
import type { Artifact, EmitContext, TargetCapabilities, TargetModule } from '../../src/emit/target.js';
import { renderMdm } from '../../src/mdm/render.js';
import type { Plan } from '../../src/plan/types.js';

const MDM_CAPABILITIES: TargetCapabilities = {
  policyRouting: true,
  excludeRoute: true,
  hostEntries: { by: 'dns-answer' },
  wildcardHosts: true,
  directHosts: true,
  dnsServers: 'proxy',
  firewall: true,
  ipv6: true,
  localProxy: true,
  // The Cloudflare One Agent runs MASQUE itself (deployment: warp_tunnel_protocol).
  masque: true,
};

export const mdm: TargetModule = {
  name: 'mdm',
  description: 'MDM deployment files for the Cloudflare One Agent on every OS (from the profile deployment: section)',
  capabilities: MDM_CAPABILITIES,
  emit(plan: Plan, ctx: EmitContext): Artifact[] {
    if (!ctx.deployment) return [];
    return renderMdm(plan.name, ctx.deployment).files.map((f) => ({ path: f.path, text: f.text, mode: f.path.endsWith('.cmd') ? 0o755 : 0o644 }));
  },
};
