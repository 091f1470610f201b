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
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { precompileTemplates } from '../src/emit/render.js';
import { writePrecompiledValidators } from '../src/schemas.js';

const DIST = resolve(import.meta.dirname, '..');
const BUNDLE_DIR = join(DIST, 'bin');

/**
 * Packages the modules load lazily with `createRequire(import.meta.url)('<name>')`, so that a
 * command that never needs them does not pay for them: the YAML parser (only for a profile the
 * fast reader does not read) and Handlebars' runtime (only when a target renders). Each is
 * bundled on its own into one CommonJS file, dist/bin/vendor/<file>, and the bundle's call
 * is rewritten to require that file: one file to load, when needed, instead of the package's
 * tens. Full Handlebars (only for a template the build did not precompile) and ajv (only for a
 * schema without a current precompiled validator) stay outside, loaded from node_modules.
 */
const VENDORED: Readonly<Record<string, string>> = { yaml: 'yaml.cjs', 'handlebars/runtime': 'handlebars-runtime.cjs' };

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
 * commander requires node:child_process when it loads, for git-style executable subcommands
 * that warpc does not have; loading it (with net, dgram and stream behind it) costs start-up
 * for every command. In the bundle commander gets a stand-in that requires it on first use.
 */
function lazyChildProcess(): Plugin {
  return {
    name: 'warpc-lazy-child-process',
    setup(b) {
      b.onResolve({ filter: /^node:child_process$/ }, (args) => (/[/\\]node_modules[/\\]commander[/\\]/.test(args.importer) ? { path: 'child_process', namespace: 'warpc-lazy' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'warpc-lazy' }, () => ({
        contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
        loader: 'js',
      }));
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
    // Bundled CommonJS (commander, tldts, yaml for src/interop) requires Node's modules: give every chunk a `require`.
    banner: { js: "import { createRequire as __warpcCreateRequire } from 'node:module';\nconst require = __warpcCreateRequire(import.meta.url);" },
    plugins: [vendoredRequires(found), lazyChildProcess()],
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
