/**
 * Template rendering. Targets keep their text formats as Handlebars templates
 * next to their module (targets/<os>/*.hbs) and render them here, in an
 * isolated Handlebars environment: no HTML escaping (wrong for every target),
 * strict mode (a missing field is an error, not an empty string), only the
 * helpers below. Every interpolation goes through a helper: typed values
 * (addresses, prefixes, names, numbers) are re-validated and render bare; free
 * text goes through a quoting helper. test/emit/templates.test.ts walks every
 * template and fails on a bare `{{value}}`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type HandlebarsNs from 'handlebars';
import { canonicalV4Cidr, canonicalV6Cidr } from '../net/canonical.js';
import { formatAddress, formatPrefix, parseAddress, parsePrefix } from '../net/ip.js';
import { parseDomainName, parseHostPattern } from '../net/names.js';
import { PACKAGE_ROOT } from '../version.js';
import { commentText, nftQuote, powershellQuote, RenderError, shellQuote } from './quote.js';

export { RenderError };

function str(v: unknown, helper: string): string {
  if (typeof v !== 'string') throw new RenderError(`{{${helper}}} expects a string, got ${typeof v}`);
  return v;
}

/** Typed-value helpers: each validates its argument and returns it bare. */
export const VALUE_HELPERS = {
  /** A canonical IP prefix. */
  cidr(v) {
    const s = str(v, 'cidr');
    if (canonicalV4Cidr(s) || canonicalV6Cidr(s)) return s;
    const r = parsePrefix(s);
    if (!r.ok || formatPrefix(r.prefix) !== s) throw new RenderError(`not a canonical prefix: ${JSON.stringify(s)}`);
    return s;
  },
  /** A canonical IP address. */
  ip(v) {
    const s = str(v, 'ip');
    const a = parseAddress(s);
    if (!a || formatAddress(a.family, a.value) !== s) throw new RenderError(`not a canonical address: ${JSON.stringify(s)}`);
    return s;
  },
  /** A non-negative integer, in decimal. */
  int(v) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RenderError(`not a non-negative integer: ${String(v)}`);
    return String(v);
  },
  /** A non-negative integer, in hex with 0x. */
  hex(v) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RenderError(`not a non-negative integer: ${String(v)}`);
    return `0x${v.toString(16)}`;
  },
  /** An identifier: interface names, nft tables and sets, pf anchors, service names. */
  ident(v) {
    const s = str(v, 'ident');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(s)) throw new RenderError(`not an identifier: ${JSON.stringify(s)}`);
    return s;
  },
  /** A domain name (LDH) or a host pattern (`*.name`). */
  domain(v) {
    const s = str(v, 'domain');
    const r = s.startsWith('*.') ? parseHostPattern(s) : parseDomainName(s);
    if (!r.ok) throw new RenderError(`not a domain name: ${JSON.stringify(s)}`);
    return s;
  },
  /** A WireGuard key (base64 of 32 bytes). */
  wgkey(v) {
    const s = str(v, 'wgkey');
    if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s)) throw new RenderError('not a WireGuard key');
    return s;
  },
  /** An https URL already checked by the validator; refuse anything a config line could trip on. */
  url(v) {
    const s = str(v, 'url');
    if (!/^https:\/\/[A-Za-z0-9._~:/?&=%+,;@!$()*[\]-]+$/.test(s) || /['"`\\\s]/.test(s)) throw new RenderError(`not a safe URL: ${JSON.stringify(s)}`);
    return s;
  },
  /** A path inside the package's own output (relative, no dot-dot). */
  relpath(v) {
    const s = str(v, 'relpath');
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(s) || s.split('/').includes('..')) throw new RenderError(`not a relative path: ${JSON.stringify(s)}`);
    return s;
  },
} satisfies Record<string, (v: unknown) => string>;

/** Quoting helpers: free text in, a literal of the target language out. */
export const QUOTE_HELPERS = {
  sh: (v) => shellQuote(str(v, 'sh')),
  ps: (v) => powershellQuote(str(v, 'ps')),
  nftstr: (v) => nftQuote(str(v, 'nftstr')),
  comment: (v) => commentText(str(v, 'comment')),
} satisfies Record<string, (v: unknown) => string>;

/**
 * A run of lines rendered in code rather than by a template loop, for the lists a large
 * plan makes long (100,000s of prefixes: Handlebars' `{{#each}}` costs seconds there).
 * Only `renderLines` (Lines.render) makes one, and its line function gets the same typed and
 * quoting helpers a template has (or Lines.written, for bytes written the same way). A template
 * inserts the run with `{{lines name~}}` (each line ends with a newline; `~` drops the template's
 * own), or `{{lines name}}` at the start of the line that follows it; the `lines` helper takes
 * nothing else.
 */
export class Lines {
  /**
   * The lines as text: an own property, as templates test it (`{{#if list.text}}`) and Handlebars
   * reads no prototype property; for lines written as bytes, decoded when first read (a file that
   * takes the bytes, PrefixLines.bytes, never reads it).
   */
  declare readonly text: string;

  private constructor(
    text: string | (() => string),
    /** The same as UTF-8 in pieces, when the lines were written as bytes (renderWithPrefixLines puts them in as they are). */
    readonly pieces?: readonly Uint8Array[],
  ) {
    if (typeof text === 'string') Object.defineProperty(this, 'text', { value: text, enumerable: true });
    else {
      let decoded: string | undefined;
      Object.defineProperty(this, 'text', { get: () => (decoded ??= text()), enumerable: true });
    }
  }

  /** `items`, one line each as `line` writes it through `h`, every line ended by `eol`. */
  static render<T>(items: readonly T[], line: (item: T, h: LineHelpers, index: number) => string, eol = '\n'): Lines {
    const h: LineHelpers = { ...VALUE_HELPERS, ...QUOTE_HELPERS };
    const out = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = line(items[i]!, h, i);
    return new Lines(items.length === 0 ? '' : `${out.join(eol)}${eol}`);
  }

  /**
   * Lines written as UTF-8 bytes, every line ended: for a list a large plan makes long, where a
   * string per line is most of the cost. The writer puts in only what a line function could:
   * text from the helpers, or a value written from numbers (src/net/prefix-bytes.ts). `ascii`: the
   * writer knows every byte is below 0x80. The bytes may come in pieces (views of a larger list's), one after another.
   */
  static written(bytes: Uint8Array | readonly Uint8Array[], ascii = false): Lines {
    const pieces = bytes instanceof Uint8Array ? [bytes] : bytes;
    // ASCII (the writer knows) reads as latin1: one copy, no UTF-8 decoding.
    return new Lines(() => Buffer.concat(pieces).toString(ascii ? 'latin1' : 'utf8'), pieces);
  }
}

/** The helpers a line function may use: every value it writes goes through one of them. */
export type LineHelpers = Readonly<typeof VALUE_HELPERS & typeof QUOTE_HELPERS>;

export const renderLines = Lines.render;

const BLOCK_HELPERS: Record<string, (v: unknown) => string> = {
  lines(v) {
    if (!(v instanceof Lines)) throw new RenderError('{{lines}} expects lines made by renderLines');
    return v.text;
  },
};

export const ALLOWED_HELPERS = new Set([...Object.keys(VALUE_HELPERS), ...Object.keys(QUOTE_HELPERS), ...Object.keys(BLOCK_HELPERS)]);
export const ALLOWED_BLOCKS = new Set(['each', 'if', 'unless']);

/**
 * Handlebars loads on first render, not at import: `warpc check` and `warpc status` never render.
 * A template precompiled by the build (precompileTemplates) needs only Handlebars' small runtime;
 * the full compiler loads only for a template the build did not precompile (vitest on a fresh
 * checkout, a template edited since the build).
 */
let handlebars: typeof HandlebarsNs | undefined;
let runtimeEnv: typeof HandlebarsNs | undefined;
let compilerEnv: typeof HandlebarsNs | undefined;

function loadHandlebars(): typeof HandlebarsNs {
  return (handlebars ??= createRequire(import.meta.url)('handlebars') as typeof HandlebarsNs);
}

/** An isolated environment of `base` (the runtime or the full package) with only warpc's helpers. */
function withHelpers(base: typeof HandlebarsNs): typeof HandlebarsNs {
  const env = base.create();
  for (const [name, fn] of Object.entries({ ...VALUE_HELPERS, ...QUOTE_HELPERS, ...BLOCK_HELPERS })) {
    // The last argument Handlebars passes is its options object: ignore it.
    env.registerHelper(name, (value: unknown) => fn(value));
  }
  return env;
}

function runtime(): typeof HandlebarsNs {
  return (runtimeEnv ??= withHelpers(createRequire(import.meta.url)('handlebars/runtime') as typeof HandlebarsNs));
}

/**
 * The options every template is compiled with, on first render or by the build: no HTML
 * escaping, strict lookups, only warpc's helpers, no re-indenting of partials.
 */
export const COMPILE_OPTIONS: Readonly<CompileOptions> = Object.freeze({
  noEscape: true,
  strict: true,
  knownHelpers: Object.freeze(Object.fromEntries([...ALLOWED_HELPERS].map((h) => [h, true]))),
  knownHelpersOnly: true,
  preventIndent: true,
});

/** A copy for Handlebars, which adds its own defaults to the options object it is given. */
const compileOptions = (): CompileOptions => ({ ...COMPILE_OPTIONS });

/**
 * What a precompiled template is keyed by: the sha256 of the Handlebars version, the compile
 * options and the template's text. A precompiled template is used only under the key of the
 * text render() reads now, so a template (or an option, or Handlebars) changed since the
 * build is compiled afresh, never served stale.
 */
export function templateKey(text: string, version: string): string {
  return createHash('sha256')
    .update(`${version}\0${JSON.stringify(COMPILE_OPTIONS)}\0`)
    .update(text)
    .digest('hex');
}

/** Where the build writes a template's precompiled module: dist/targets/<target>/<name>.cjs (up.sh.hbs: up.sh.hbs.cjs). */
export function precompiledPath(target: string, name: string): string {
  return join(PACKAGE_ROOT, 'dist', 'targets', target, `${name}.cjs`);
}

interface PrecompiledTemplate {
  readonly key: string;
  readonly spec: TemplateSpecification;
}

/**
 * The template function of `text`: the precompiled one at `file` when its key is the text's,
 * else compiled from the text (with the full compiler). Exported for the tests.
 */
export function templateFunction(text: string, file: string): HandlebarsNs.TemplateDelegate {
  const rt = runtime();
  if (existsSync(file)) {
    const pre = createRequire(import.meta.url)(file) as PrecompiledTemplate;
    if (pre.key === templateKey(text, rt.VERSION)) return rt.template(pre.spec);
  }
  compilerEnv ??= withHelpers(loadHandlebars());
  return compilerEnv.compile(text, compileOptions());
}

/** Each template is made once per process, when a target first renders it. */
const compiled = new Map<string, HandlebarsNs.TemplateDelegate>();

/** The absolute path of a template shipped with warpc. */
export function templatePath(target: string, name: string): string {
  if (!/^[a-z0-9]+$/.test(target) || !/^[A-Za-z0-9_.-]+\.hbs$/.test(name)) throw new Error(`bad template name ${target}/${name}`);
  return join(PACKAGE_ROOT, 'targets', target, name);
}

/** Render `targets/<target>/<name>` with `view`. Templates come only from the package. */
export function render(target: string, name: string, view: object): string {
  const key = `${target}/${name}`;
  let tpl = compiled.get(key);
  if (!tpl) {
    tpl = templateFunction(readFileSync(templatePath(target, name), 'utf8'), precompiledPath(target, name));
    compiled.set(key, tpl);
  }
  return tpl(view, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}

/**
 * The build step (`npm run build`): every shipped template (targets/<target>/*.hbs) as a
 * CommonJS module at precompiledPath(), holding its key and Handlebars' precompiled spec.
 * Returns the paths written.
 */
export function precompileTemplates(): string[] {
  const hbs = loadHandlebars();
  const written: string[] = [];
  const root = join(PACKAGE_ROOT, 'targets');
  for (const target of readdirSync(root, { withFileTypes: true })) {
    if (!target.isDirectory()) continue;
    for (const name of readdirSync(join(root, target.name))
      .filter((f) => f.endsWith('.hbs'))
      .sort()) {
      const text = readFileSync(templatePath(target.name, name), 'utf8');
      const file = precompiledPath(target.name, name);
      mkdirSync(dirname(file), { recursive: true });
      const spec = hbs.precompile(text, compileOptions()) as unknown as string;
      writeFileSync(
        file,
        `// Generated by npm run build from targets/${target.name}/${name}: do not edit.\nmodule.exports = { key: ${JSON.stringify(templateKey(text, hbs.VERSION))}, spec: ${spec} };\n`,
      );
      written.push(file);
    }
  }
  return written;
}

/** Parse a template to its AST (for the template-safety test). */
export function parseTemplate(text: string): hbs.AST.Program {
  return loadHandlebars().parse(text);
}
