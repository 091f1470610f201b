/**
 * JSON-schema validators without paying for ajv at start-up. Importing ajv and
 * compiling a schema costs more than Node's own start-up, so `npm run build`
 * writes each validator as standalone code (ajv's `standalone` output) into
 * dist/src/schemas/<schema>.cjs. A precompiled validator is used only while it
 * matches: it carries the schema text and ajv options it was made from, and
 * anything else (no build yet; a schema edited since the build) falls back to
 * compiling with ajv on first use. The built CLI, its bundle and vitest on src/
 * all find them under the package root.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Options, ValidateFunction } from 'ajv';
import { PACKAGE_ROOT } from './version.js';

const require = createRequire(import.meta.url);

/** The ajv options every warpc schema is compiled with (no coercion, no defaults, every error). */
const BASE: Options = { allErrors: true, strict: true, coerceTypes: false, useDefaults: false };

/** Each schema under schema/ that warpc validates, and its ajv options. */
export const SCHEMA_OPTIONS: Readonly<Record<string, Options>> = {
  // verbose: profile diagnostics quote the schema and the value at fault.
  'profile.schema.json': { ...BASE, verbose: true },
  // The contract files (src/contract/): verbose, so a `not` can be explained by its schema's description.
  'manifest.schema.json': { ...BASE, verbose: true },
  'settings.schema.json': { ...BASE, verbose: true },
  'dns-proxy.schema.json': { ...BASE, verbose: true },
  'masque.schema.json': { ...BASE, verbose: true },
  // The orchestrator's request bodies (src/orchestrator/ validates them) and responses (the agent reads them).
  'orchestrator-registration-request.schema.json': BASE,
  'orchestrator-key-rotation.schema.json': BASE,
  'orchestrator-masque-key.schema.json': BASE,
  'orchestrator-posture.schema.json': BASE,
  'orchestrator-token-request.schema.json': BASE,
  'orchestrator-registration.schema.json': BASE,
  'orchestrator-bundle.schema.json': BASE,
  'orchestrator-gateway-peers.schema.json': BASE,
};

/**
 * Where the build puts precompiled validators: dist/src/schemas/ under the package root (found
 * from the package, not from this module, which the bundled CLI carries elsewhere: dist/bin/).
 */
export const PRECOMPILED_DIR = join(PACKAGE_ROOT, 'dist', 'src', 'schemas');

interface Precompiled extends ValidateFunction {
  schemaSource?: string;
  ajvOptions?: string;
}

function schemaText(name: string): string {
  return readFileSync(join(PACKAGE_ROOT, 'schema', name), 'utf8');
}

function optionsOf(name: string): Options {
  const o = SCHEMA_OPTIONS[name];
  if (!o) throw new Error(`warpc: no validator options for schema ${name}`);
  return o;
}

const validators = new Map<string, ValidateFunction>();

/**
 * The validator of schema/<name>: precompiled when the build made a current one, else compiled
 * with ajv once per process. `source` is the schema text wanted when the caller assembles it
 * (the profile schema, src/profile/schema.ts): the precompiled validator serves only while it
 * was made from that text, and any other text is compiled once per distinct text.
 */
export function schemaValidator(name: string, source?: string): ValidateFunction {
  const key = source === undefined ? name : `${name}\n${source}`;
  let v = validators.get(key);
  if (v) return v;
  const options = optionsOf(name);
  source ??= schemaText(name);
  const file = join(PRECOMPILED_DIR, `${name}.cjs`);
  if (existsSync(file)) {
    const pre = require(file) as Precompiled;
    if (pre.schemaSource === source && pre.ajvOptions === JSON.stringify(options)) v = pre;
  }
  if (!v) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    v = new Ajv(options).compile(JSON.parse(source) as object);
  }
  validators.set(key, v);
  return v;
}

/** Standalone CommonJS code for schema/<name>, stamped with what it was made from. */
export function standaloneValidator(name: string): string {
  const options = optionsOf(name);
  const source = schemaText(name);
  const { Ajv } = require('ajv') as typeof import('ajv');
  const standaloneCode = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
  const ajv = new Ajv({ ...options, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(JSON.parse(source) as object));
  return `${code}\nmodule.exports.schemaSource = ${JSON.stringify(source)};\nmodule.exports.ajvOptions = ${JSON.stringify(JSON.stringify(options))};\n`;
}

/** The build step: write every precompiled validator into PRECOMPILED_DIR. */
export function writePrecompiledValidators(): void {
  mkdirSync(PRECOMPILED_DIR, { recursive: true });
  for (const name of Object.keys(SCHEMA_OPTIONS)) writeFileSync(join(PRECOMPILED_DIR, `${name}.cjs`), standaloneValidator(name));
}
