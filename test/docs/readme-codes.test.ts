/**
 * The README's diagnostics list is the table of src/diagnostics/codes.ts, row for row.
 * `npm run goldens:update` rewrites it (between its two markers) after a code is added.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES } from '../../src/diagnostics/codes.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');
const BEGIN = '<!-- diagnostics:begin (generated from src/diagnostics/codes.ts; npm run goldens:update) -->';
const END = '<!-- diagnostics:end -->';

function table(): string {
  const rows = Object.values(CODES)
    .slice()
    .sort((a, b) => (a.code < b.code ? -1 : 1))
    .map((c) => `| ${c.code} | ${c.severity} | ${c.message.replace(/\|/g, '\\|')} |`);
  return ['| code | severity | message (`{…}` is filled in at the report site) |', '|---|---|---|', ...rows].join('\n');
}

describe('README diagnostics list', () => {
  it('lists every code of the table with its severity and message', () => {
    const text = readFileSync(README, 'utf8');
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    expect(start, 'README.md has the diagnostics markers').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const expected = `${BEGIN}\n${table()}\n${END}`;
    const actual = text.slice(start, end + END.length);
    if (actual !== expected && process.env['WARPC_UPDATE_GOLDENS'] === '1') {
      writeFileSync(README, text.slice(0, start) + expected + text.slice(end + END.length));
      return;
    }
    expect(actual).toBe(expected);
  });
});
