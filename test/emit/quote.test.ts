import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commentText, nftQuote, powershellQuote, RenderError, shellQuote } from '../../src/emit/quote.js';
import { render, VALUE_HELPERS } from '../../src/emit/render.js';
import { readPf } from '../readers/macos.js';
import { commentBack } from '../readers/sh.js';

describe('shellQuote', () => {
  it('reads back exactly through a real shell', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\u0000')), (s) => {
        const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
        expect(out).toBe(s);
      }),
      { numRuns: 60 },
    );
  });
  it('handles the classics', () => {
    for (const s of [`'`, `it's`, `$(reboot)`, '`id`', `"; rm -rf /`, '\\', "'\\''"]) {
      expect(execFileSync('sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });
});

describe('powershellQuote', () => {
  it("doubles ' and writes everything outside printable ASCII as [char] codes", () => {
    expect(powershellQuote(`it's`)).toBe(`'it''s'`);
    expect(powershellQuote('')).toBe(`''`);
    expect(powershellQuote('‘a’ ‚b‛')).toBe(`('' + [char]0x2018 + 'a' + [char]0x2019 + ' ' + [char]0x201A + 'b' + [char]0x201B)`);
    expect(powershellQuote('Połączenie')).toBe(`('Po' + [char]0x0142 + [char]0x0105 + 'czenie')`);
    expect(powershellQuote('\u{1F600}')).toBe(`('' + [char]0xD83D + [char]0xDE00)`);
    expect(() => powershellQuote('a\nb')).toThrow(RenderError);
  });
  it('is ASCII for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s)), (s) => {
        expect(powershellQuote(s)).toMatch(/^[\x20-\x7e]*$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('nftQuote and commentText', () => {
  it('refuse what the language cannot hold', () => {
    expect(nftQuote('Corporate LAN')).toBe('"Corporate LAN"');
    expect(() => nftQuote('say "hi"')).toThrow(RenderError);
    expect(() => commentText('line\nbreak')).toThrow(RenderError);
    expect(() => commentText('line\u2028break')).toThrow(RenderError);
    expect(commentText(`it's "fine" $(here) #`)).toBe(`it's "fine" $(here) #`);
  });
});

describe('commentText and a trailing backslash', () => {
  const hostile = fc.array(fc.constantFrom('\\', 'a', ' ', '#', '^', '`', "'", '"', '$'), { minLength: 1, maxLength: 10 }).map((xs) => xs.join(''));
  it('doubles a trailing run of backslashes and nothing else', () => {
    expect(commentText('C:\\dir\\')).toBe('C:\\dir\\\\');
    expect(commentText('a\\\\')).toBe('a\\\\\\\\');
    expect(commentText('\\')).toBe('\\\\');
    expect(commentText('a\\b')).toBe('a\\b');
    fc.assert(
      fc.property(hostile, (s) => {
        expect(commentBack(commentText(s))).toBe(s);
      }),
    );
  });
  it('pf (read as pfctl does: backslash-newline joins before comments go) keeps the next line', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const pf = `#   exclude 10.0.0.0/8  ${commentText(s)}\ntable <t> const { 10.0.0.0/8 }\npass out quick on utun3 all\nblock return out quick inet to <t>\n`;
        const r = readPf(pf, 'utun3');
        expect(r.comments).toEqual([s]);
        expect(r.blocked('10.1.2.3', 'en0')).toBe(true);
      }),
    );
    // The old helper (text as is) lost the table line to the comment.
    expect(() => readPf('#   exclude 10.0.0.0/8  a\\\ntable <t> const { 10.0.0.0/8 }\npass out quick on utun3 all\n', 'utun3')).toThrow(/continues/);
  });
  it('sh runs the line after such a comment (a real shell)', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const out = execFileSync('sh', ['-c', `# ${commentText(s)}\nprintf next\n`], { encoding: 'utf8' });
        expect(out).toBe('next');
      }),
      { numRuns: 40 },
    );
  });
});

describe('typed-value helpers refuse anything but their type', () => {
  const cases: [string, unknown, boolean][] = [
    ['cidr', '10.0.0.0/8', true],
    ['cidr', '10.0.0.1/8', false],
    ['cidr', '10.0.0.0/8; rm', false],
    ['ip', '2001:db8::1', true],
    ['ip', '2001:DB8::1', false],
    ['int', 65743, true],
    ['int', '65743', false],
    ['int', -1, false],
    ['ident', 'CloudflareWARP', true],
    ['ident', 'a b', false],
    ['ident', "x'", false],
    ['domain', '*.zoom.us', true],
    ['domain', 'a.b;c', false],
    ['url', 'https://a.example/dns-query', true],
    ['url', "https://a.example/'x", false],
    ['wgkey', 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=', true],
    ['wgkey', 'abc', false],
  ];
  for (const [helper, value, ok] of cases) {
    it(`${helper}(${JSON.stringify(value)}) ${ok ? 'renders' : 'throws'}`, () => {
      const f = (VALUE_HELPERS as Record<string, (v: unknown) => string>)[helper]!;
      if (ok) expect(f(value)).toBe(String(value));
      else expect(() => f(value)).toThrow(RenderError);
    });
  }
  it('templates are strict: a missing field is an error, not an empty string', () => {
    expect(() => render('linux', 'resolv.conf.hbs', { version: '1', name: 'x' })).toThrow();
  });
});
