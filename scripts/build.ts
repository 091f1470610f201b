/**
 * The build's steps after tsc (`npm run build` runs `tsc -p tsconfig.build.json`, then this, from
 * dist/scripts/build.js). Everything here is generated from what tsc wrote and from the package's
 * own files; nothing reads a profile.
 *
 * 1. Schema validators as standalone code (src/schemas.ts: dist/src/schemas/<schema>.cjs).
 * 2. Templates precompiled (src/emit/render.ts: dist/targets/<target>/<name>.hbs.cjs), keyed by
 *    the sha256 of the Handlebars version, the compile options and the template's text.
 * 3. The CLI bundled with esbuild into dist/bin/ (warpc.js, the `bin` of package.json, chunks/
 *    and vendor/): a few ES modules for start-up instead of about seventy and the CommonJS
 *    packages behind them, code split so that a command's chunks still load only when that
 *    command runs. dist/src/cli/main.js (tsc's
 *    output) stays, for the tests and benches that import the modules.
 */
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { precompileTemplates } from '../src/emit/render.js';
import { writePrecompiledValidators } from '../src/schemas.js';

const DIST = resolve(import.meta.dirname, '..');
const BUNDLE_DIR = join(DIST, 'bin');

/**
 * Packages the modules load lazily with `createRequire(import.meta.url)('<name>')`, so that a
 * command that never needs them does not pay for them: the YAML parser (only for a profile the
 * fast reader does not read), Handlebars' runtime (only when a target renders) and tldts (the
 * Public Suffix List, only for a profile's own fallback suffixes). Each is
 * bundled on its own into one CommonJS file, dist/bin/vendor/<file>, and the bundle's call
 * is rewritten to require that file: one file to load, when needed, instead of the package's
 * tens. Full Handlebars (only for a template the build did not precompile) and ajv (only for a
 * schema without a current precompiled validator) stay outside, loaded from node_modules.
 */
const VENDORED: Readonly<Record<string, string>> = { yaml: 'yaml.cjs', 'handlebars/runtime': 'handlebars-runtime.cjs', tldts: 'tldts.cjs' };

function vendoredRequires(found: Set<string>): Plugin {
  return {
    name: 'warpc-vendored-requires',
    setup(b) {
      b.onLoad({ filter: /[/\\]dist[/\\](src|targets)[/\\].*\.js$/ }, async (args) => {
        let text = await readFile(args.path, 'utf8');
        for (const [name, file] of Object.entries(VENDORED)) {
          const call = `createRequire(import.meta.url)('${name}')`;
          if (!text.includes(call)) continue;
          found.add(name);
          // Chunks live in dist/bin/chunks/ (checked after the build), the vendored files in dist/bin/vendor/.
          text = text.split(call).join(`createRequire(import.meta.url)('../vendor/${file}')`);
        }
        return { contents: text, loader: 'js' };
      });
    },
  };
}

/**
 * Node's built-in modules in the bundle. An ES import of a built-in makes Node build its ES
 * facade, which reads every export: for node:fs that loads the streams and fs/promises, about
 * as long as Node's own start-up here. So every built-in is reached through `require` (what
 * CommonJS packages do) and its exports read only when used. The built-ins Node has not loaded
 * at start-up and that most commands never use (LAZY_BUILTINS: commander requires
 * node:child_process for executable subcommands warpc does not have; the runtime's sockets;
 * crypto, for hashing what compile writes) load on first use of one of their exports.
 */
const LAZY_BUILTINS = new Set(['child_process', 'crypto', 'dgram', 'dns', 'http', 'http2', 'https', 'net', 'tls', 'zlib']);

function builtins(): Plugin {
  const names = builtinModules.filter((n) => !n.startsWith('_'));
  const escaped = names.map((n) => n.replace(/[/]/g, '\\/')).join('|');
  return {
    name: 'warpc-builtins',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(node:)?(${escaped})$`) }, (args) => {
        const name = args.path.replace(/^node:/, '');
        // The stand-in's own require reaches the real module; so does `await import('node:…')`,
        // whose namespace must carry the named exports (rare, and never on the start-up path).
        if (args.namespace === 'warpc-builtin' || args.kind === 'dynamic-import') return { path: `node:${name}`, external: true };
        return { path: name, namespace: 'warpc-builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'warpc-builtin' }, (args) => {
        const spec = JSON.stringify(`node:${args.path}`);
        if (!LAZY_BUILTINS.has(args.path)) return { contents: `module.exports = require(${spec});`, loader: 'js' };
        const exported = Object.getOwnPropertyNames(createRequire(import.meta.url)(`node:${args.path}`) as object);
        const getters = exported.map((k) => `${JSON.stringify(k)}: { enumerable: true, get: () => load()[${JSON.stringify(k)}] }`).join(',\n');
        return { contents: `let m;\nconst load = () => (m ??= require(${spec}));\nObject.defineProperties(module.exports, {\n${getters}\n});\n`, loader: 'js' };
      });
    },
  };
}

async function bundleCli(): Promise<void> {
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  const found = new Set<string>();
  await build({
    entryPoints: { warpc: join(DIST, 'src', 'cli', 'main.js') },
    outdir: BUNDLE_DIR,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Native addons and the database drivers (native parts, optional native bindings) load from node_modules.
    external: ['*.node', 'better-sqlite3', 'pg', '@warpc/tun', '@warpc/udp-batch'],
    // Built-ins are required (builtins()), and so is anything bundled CommonJS requires: give every chunk a
    // `require`, made on its first call (a createRequire per chunk at load is a few ms for 35 chunks).
    banner: {
      js: [
        "import { createRequire as __warpcCreateRequire } from 'node:module';",
        'let __warpcRequire;',
        'const require = (id) => (__warpcRequire ??= __warpcCreateRequire(import.meta.url))(id);',
      ].join('\n'),
    },
    plugins: [vendoredRequires(found), builtins()],
    legalComments: 'none',
    logLevel: 'warning',
  });
  const missing = Object.keys(VENDORED).filter((n) => !found.has(n));
  if (missing.length > 0) throw new Error(`build: no createRequire(import.meta.url)('${missing.join("'), ('")}') left to vendor: update VENDORED in scripts/build.ts`);
  // The rewritten calls resolve from dist/bin/chunks/: none may land in the entry, one folder up.
  if (readFileSync(join(BUNDLE_DIR, 'warpc.js'), 'utf8').includes('../vendor/')) throw new Error('build: a vendored require landed in dist/bin/warpc.js, where ../vendor/ does not resolve');
  const require = createRequire(import.meta.url);
  await build({
    entryPoints: Object.fromEntries(Object.entries(VENDORED).map(([name, file]) => [file.replace(/\.cjs$/, ''), require.resolve(name)])),
    outdir: join(BUNDLE_DIR, 'vendor'),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(join(BUNDLE_DIR, 'warpc.js'), 0o755);
}

async function main(): Promise<void> {
  chmodSync(join(DIST, 'src', 'cli', 'main.js'), 0o755);
  writePrecompiledValidators();
  precompileTemplates();
  await bundleCli();
}

await main();
