/**
 * The macOS target's options (`targets.macos`): schema fragment, defaults and checks.
 * The profile schema is assembled from this (src/profile/schema.ts), and the validator
 * runs `validate` through the registry row; nothing else decides these values.
 */
import { defineTargetOptions, type OptionsOf } from '../../src/profile/target-options.js';

export const DEFAULT_MACOS = {
  interface: 'utun3',
  pfAnchor: 'com.cloudflare.warp_svc',
};

/** pf anchor names: letters, digits and a few separators. */
const PF_ANCHOR = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export const macosOptions = defineTargetOptions({
  name: 'macos',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      interface: { description: 'The tunnel interface (utunN).', type: 'string', default: DEFAULT_MACOS.interface },
      pf_anchor: { description: "The pf anchor of warpc's firewall rules.", type: 'string', default: DEFAULT_MACOS.pfAnchor },
    },
  },
  validate(raw = {}, check) {
    const macos = { interface: raw.interface ?? DEFAULT_MACOS.interface, pfAnchor: raw.pf_anchor ?? DEFAULT_MACOS.pfAnchor };
    if (!/^utun[0-9]{1,3}$/.test(macos.interface)) check.report('InvalidName', { value: macos.interface, what: 'macOS interface name', reason: 'macOS tunnel interfaces are utunN' }, ['interface']);
    if (!PF_ANCHOR.test(macos.pfAnchor)) check.report('InvalidName', { value: macos.pfAnchor, what: 'pf anchor name', reason: 'a pf anchor name is letters, digits, "_", "." or "-"' }, ['pf_anchor']);
    return macos;
  },
});

declare module '../../src/profile/types.js' {
  interface TargetOptionsByName {
    readonly macos: Readonly<OptionsOf<typeof macosOptions>>;
  }
}
