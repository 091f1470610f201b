/**
 * Printing diagnostics stays bounded: the source is indexed once for all of
 * them, an echoed line is cut to a window around the column, and input larger
 * than the profile limit (or endless) is refused after a bounded read.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PROFILE_MAX_BYTES, printDiagnostics, readProfile } from '../../src/cli/common.js';
import { CODEFRAME_MAX_COLUMNS, diag, formatText, type Diagnostic } from '../../src/diagnostics/diagnostic.js';

const tmp = mkdtempSync(join(tmpdir(), 'warpc-format-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const at = (line: number, col: number, length: number): Diagnostic => ({ ...diag('InvalidPrefix', { value: 'x', hint: '' }, { line, col, length }), file: 'p.yaml' });

function captureStderr(fn: () => void): string {
  const out: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  fn();
  vi.restoreAllMocks();
  return out.join('');
}

describe('codeframes', () => {
  it('cut a huge line to a window around the column, caret under the value and capped', () => {
    const line = `name: ${'a'.repeat(5_000_000)}X${'b'.repeat(5_000_000)}`;
    const col = 6 + 5_000_000 + 1; // the X
    const text = formatText(at(2, col, 10_000_000), `version: 1\n${line}\n`);
    const [, shown, caret] = text.split('\n');
    expect(text.length).toBeLessThan(3 * CODEFRAME_MAX_COLUMNS + 200);
    expect(shown!.length).toBeLessThanOrEqual('2 | '.length + CODEFRAME_MAX_COLUMNS + 2);
    expect(shown).toMatch(/^2 \| …a+Xb+…$/);
    // The caret starts under the X and runs to the end of what is shown, not under the ellipsis.
    const caretCol = caret!.indexOf('^');
    expect(shown![caretCol]).toBe('X');
    expect(caret!.length).toBe(shown!.length - 1);
  });

  it('count escaped characters at their escaped width when cutting', () => {
    const line = `x: ${'\u0001'.repeat(10_000)}Y`;
    const text = formatText(at(1, 10_004, 1), line);
    const [, shown, caret] = text.split('\n');
    expect(shown!.length).toBeLessThanOrEqual('1 | '.length + CODEFRAME_MAX_COLUMNS + 2);
    expect(shown![caret!.indexOf('^')]).toBe('Y');
    expect(shown).toContain('\\x01');
  });

  it('leave short lines exactly as before (CRLF too)', () => {
    const d = at(2, 10, 11);
    expect(formatText(d, 'version: 1\r\naddress: 10.0.0.0/33\r\n')).toBe('p.yaml:2:10: error WARPC0020: "x" is not a valid IP prefix (CIDR)\n2 | address: 10.0.0.0/33\n  |          ^^^^^^^^^^^');
    expect(formatText(at(3, 1, 1), 'a\nb\n')).toBe('p.yaml:3:1: error WARPC0020: "x" is not a valid IP prefix (CIDR)\n3 | \n  | ^');
    expect(formatText(at(4, 1, 1), 'a\nb\n')).toBe('p.yaml:4:1: error WARPC0020: "x" is not a valid IP prefix (CIDR)');
  });

  it('print 20k diagnostics of a 200k-line source in one pass over it (the source is indexed once)', () => {
    // Re-splitting the source per diagnostic is 20k × 200k lines: minutes, far past this test's timeout.
    const lines = Array.from({ length: 200_000 }, (_, i) => `    - { address: 10.${(i >> 8) & 255}.${i & 255}.0/33 }`);
    const source = `version: 1\n${lines.join('\n')}\n`;
    const diags = Array.from({ length: 20_000 }, (_, i) => at(2 + i * 10, 18, 14));
    const out = captureStderr(() => printDiagnostics(diags, source));
    const printed = out.split('\n');
    expect(printed.length).toBe(3 * diags.length + 1);
    expect(printed[1 + 3 * 19_999]).toBe(`${2 + 199_990} | ${lines[199_990]}`);
  }, 30_000);
});

describe('reading a profile', () => {
  it('refuses /dev/zero after a bounded read, with WARPC0008', () => {
    const r = readProfile('/dev/zero');
    expect(r.source).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['WARPC0008']);
    expect(r.diagnostics[0]!.message).toContain('64 MiB');
  });

  it('accepts exactly the limit and refuses one byte more (regular files by their size, without reading them)', () => {
    const f = join(tmp, 'p.yaml');
    writeFileSync(f, 'version: 1\n');
    expect(readProfile(f, 11).source).toBe('version: 1\n');
    expect(readProfile(f, 10).diagnostics.map((d) => d.code)).toEqual(['WARPC0008']);
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, PROFILE_MAX_BYTES + 1); // sparse: nothing to read
    expect(readProfile(big).diagnostics.map((d) => d.code)).toEqual(['WARPC0008']);
  });
});
