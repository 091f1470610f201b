/**
 * The Windows target's options (`targets.windows`): schema fragment, defaults and checks.
 * The profile schema is assembled from this (src/profile/schema.ts), and the validator
 * runs `validate` through the registry row; nothing else decides these values.
 */
import { checkInterfaceName, defineTargetOptions, type OptionsOf } from '../../src/profile/target-options.js';

export const DEFAULT_WINDOWS = {
  interface: 'CloudflareWARP',
};

export const windowsOptions = defineTargetOptions({
  name: 'windows',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      interface: { description: "The tunnel adapter's name.", type: 'string', default: DEFAULT_WINDOWS.interface },
    },
  },
  validate(raw = {}, check) {
    const windows = { interface: raw.interface ?? DEFAULT_WINDOWS.interface };
    checkInterfaceName(check, windows.interface, ['interface']);
    return windows;
  },
});

declare module '../../src/profile/types.js' {
  interface TargetOptionsByName {
    readonly windows: Readonly<OptionsOf<typeof windowsOptions>>;
  }
}
