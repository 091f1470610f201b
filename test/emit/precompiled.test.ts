/**
 * Precompiled templates (src/emit/render.ts, written by `npm run build`): every shipped
 * template has one under the key of its current text, render() uses a precompiled template
 * only under that key, and anything else is compiled from the text as before.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPILE_OPTIONS, precompiledPath, templateFunction, templateKey, templatePath } from '../../src/emit/render.js';

const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

function shipped(): { target: string; name: string }[] {
  const out: { target: string; name: string }[] = [];
  for (const t of readdirSync(join(ROOT, 'targets'), { withFileTypes: true })) {
    if (t.isDirectory()) for (const name of readdirSync(join(ROOT, 'targets', t.name)).filter((f) => f.endsWith('.hbs'))) out.push({ target: t.name, name });
  }
  return out;
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(precompiledPath('linux', 'up.sh.hbs'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'warpc-precompiled-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A precompiled-template module as the build writes one. */
function writeModule(file: string, key: string, text: string): void {
  writeFileSync(file, `module.exports = { key: ${JSON.stringify(key)}, spec: ${Handlebars.precompile(text, { ...COMPILE_OPTIONS }) as unknown as string} };\n`);
}

describe('precompiled templates', () => {
  it('the build wrote one for every shipped template, under the key of its text', () => {
    const all = shipped();
    expect(all.length).toBeGreaterThan(10);
    for (const { target, name } of all) {
      const pre = require(precompiledPath(target, name)) as { key: string };
      expect(pre.key, `${target}/${name}`).toBe(templateKey(readFileSync(templatePath(target, name), 'utf8'), Handlebars.VERSION));
    }
  });

  it("a precompiled template is used when its key is the text's", () => {
    const text = 'route {{cidr prefix}}\n';
    const file = join(tmp, 'keyed.cjs');
    // The module's spec renders something else: seeing that output proves the module was used.
    writeModule(file, templateKey(text, Handlebars.VERSION), 'precompiled {{cidr prefix}}\n');
    expect(templateFunction(text, file)({ prefix: '10.0.0.0/8' })).toBe('precompiled 10.0.0.0/8\n');
  });

  it('a stale one (another text, another Handlebars version) is not: the text is compiled', () => {
    const text = 'route {{cidr prefix}}\n';
    const stale = join(tmp, 'stale.cjs');
    writeModule(stale, templateKey('route {{cidr prefix}}', Handlebars.VERSION), 'stale {{cidr prefix}}\n');
    expect(templateFunction(text, stale)({ prefix: '10.0.0.0/8' })).toBe('route 10.0.0.0/8\n');
    const otherVersion = join(tmp, 'other-version.cjs');
    writeModule(otherVersion, templateKey(text, '0.0.0'), 'stale {{cidr prefix}}\n');
    expect(templateFunction(text, otherVersion)({ prefix: '10.0.0.0/8' })).toBe('route 10.0.0.0/8\n');
    expect(templateFunction(text, join(tmp, 'none.cjs'))({ prefix: '10.0.0.0/8' })).toBe('route 10.0.0.0/8\n');
  });

  it('both paths keep the options: strict lookups, typed helpers, no escaping', () => {
    const text = '{{comment note}} {{cidr net.prefix}}\n';
    const file = join(tmp, 'options.cjs');
    writeModule(file, templateKey(text, Handlebars.VERSION), text);
    for (const fn of [templateFunction(text, file), templateFunction(text, join(tmp, 'none.cjs'))]) {
      expect(fn({ note: 'a <b> & "c"', net: { prefix: '10.0.0.0/8' } })).toBe('a <b> & "c" 10.0.0.0/8\n');
      // Strict: a missing object on the path is an error, not an empty value handed to the helper.
      expect(() => fn({ note: 'x' })).toThrow(/reading 'prefix'/);
      expect(() => fn({ note: 'x', net: { prefix: '10.0.0.1/8' } })).toThrow(/canonical prefix/);
    }
  });

  it('compiling leaves the options, and so every key, as they were (Handlebars adds defaults to the object it gets)', () => {
    const before = templateKey('x', Handlebars.VERSION);
    templateFunction('{{int n}}', join(tmp, 'none.cjs'))({ n: 1 });
    Handlebars.precompile('{{int n}}', { ...COMPILE_OPTIONS });
    expect(templateKey('x', Handlebars.VERSION)).toBe(before);
    expect(Object.isFrozen(COMPILE_OPTIONS)).toBe(true);
  });
});
