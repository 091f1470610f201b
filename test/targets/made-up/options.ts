/**
 * The made-up target's own options (`targets.made-up`), for tests only: a schema fragment,
 * its defaults and a check of its own, declared here beside the target, exactly as
 * targets/<os>/options.ts do. Nothing in src/ names them: the registry row hands them to
 * the profile validator, and the profile schema is assembled with them.
 */
import { checkInterfaceName, defineTargetOptions, type OptionsOf } from '../../../src/profile/target-options.js';

export const DEFAULT_MADE_UP = { appId: 'com.example.made-up', interface: 'made0', retries: 3 };

export const madeUpOptions = defineTargetOptions({
  name: 'made-up',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      app_id: { description: 'The app that applies the settings (reverse-DNS).', type: 'string', default: DEFAULT_MADE_UP.appId },
      interface: { type: 'string', default: DEFAULT_MADE_UP.interface },
      retries: { type: 'integer', minimum: 0, maximum: 10, default: DEFAULT_MADE_UP.retries },
    },
  },
  validate(raw = {}, check) {
    const options = { appId: raw.app_id ?? DEFAULT_MADE_UP.appId, interface: raw.interface ?? DEFAULT_MADE_UP.interface, retries: raw.retries ?? DEFAULT_MADE_UP.retries };
    if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(options.appId)) {
      check.report('InvalidName', { value: options.appId, what: 'app id', reason: 'a reverse-DNS name such as com.example.app' }, ['app_id']);
    }
    checkInterfaceName(check, options.interface, ['interface']);
    return options;
  },
});

export type MadeUpOptions = OptionsOf<typeof madeUpOptions>;
