/** The diagnostics table: unique codes, every code used somewhere, messages well-formed. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES } from '../../src/diagnostics/codes.js';
import { diag, escapeForDisplay, formatText } from '../../src/diagnostics/diagnostic.js';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const full = join(dir, e);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (e.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('diagnostic codes', () => {
  it('are unique and well-formed', () => {
    const codes = Object.values(CODES).map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^WARPC\d{4}$/);
  });
  it('are each reported somewhere in src/ or targets/', () => {
    const text = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'targets'))]
      .filter((f) => !f.endsWith(join('diagnostics', 'codes.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(CODES).filter((name) => !new RegExp(`['"\`]${name}['"\`]`).test(text));
    expect(unused).toEqual([]);
  });
  it('fill every placeholder and escape control characters in user text', () => {
    const d = diag('InvalidAddress', { value: 'a\u001b[31mb\nc' }, { line: 1, col: 1 });
    expect(d.message).toBe('"a\\x1b[31mb\\nc" is not a valid IP address');
    // @ts-expect-error a missing argument is a type error (and throws if it slips through)
    expect(() => diag('InvalidAddress', {})).toThrow(/missing argument/);
  });
  it("type-check each code's arguments against its message's placeholders (npm run typecheck)", () => {
    // Each @ts-expect-error below is itself an error when the line typechecks, so these lines fail tsc if diag's arguments are not typed.
    const typed = (): unknown[] => [
      // @ts-expect-error a misspelled placeholder
      diag('InvalidAddress', { valeu: '10.0.0.1' }),
      // @ts-expect-error a placeholder the message does not have
      diag('InvalidAddress', { value: '10.0.0.1', extra: 1 }),
      // @ts-expect-error an argument for a message without placeholders
      diag('NotAMapping', { value: 'x' }),
      // @ts-expect-error not a string or number
      diag('InvalidAddress', { value: ['10.0.0.1'] }),
      diag('NotAMapping', {}),
      diag('HostBitsSet', { value: '10.0.0.1/8', suggestion: '10.0.0.0/8' }),
    ];
    expect(typeof typed).toBe('function');
  });
  it('render file:line:col, the source line and a caret under the value', () => {
    const d = { ...diag('InvalidPrefix', { value: '10.0.0.0/33', hint: '' }, { line: 2, col: 10, length: 11 }), file: 'p.yaml' };
    expect(formatText(d, 'version: 1\naddress: 10.0.0.0/33\n')).toBe('p.yaml:2:10: error WARPC0020: "10.0.0.0/33" is not a valid IP prefix (CIDR)\n2 | address: 10.0.0.0/33\n  |          ^^^^^^^^^^^');
  });
  it('escapeForDisplay leaves ordinary text alone', () => {
    expect(escapeForDisplay('Corporate LAN — ‘quotes’')).toBe('Corporate LAN — ‘quotes’');
  });
});
