/**
 * src/net/names.ts: LDH names, host patterns (`name`, `*.name`), whole-label suffixes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressLike,
  aLabelOf,
  dropTrailingDot,
  formatHostPattern,
  hostPatternCovers,
  isSubdomainOrSelf,
  longestSuffixMatch,
  matchHostPattern,
  normalizeName,
  parseDomainName,
  parseHostPattern,
  type HostPattern,
} from '../../src/net/names.js';

const pat = (text: string): HostPattern => {
  const r = parseHostPattern(text);
  if (!r.ok) throw new Error(`test setup: ${text} (${r.error})`);
  return r.pattern;
};

const label = (n: number, c = 'a'): string => c.repeat(n);
/** A name of exactly `total` characters made of labels of at most 63. */
const nameOfLength = (total: number): string => {
  const labels: string[] = [];
  let left = total;
  while (left > 0) {
    const n = Math.min(63, left === 64 ? 62 : left); // never leave a 0-length label
    labels.push(label(n));
    left -= n;
    if (left > 0) left -= 1; // the dot
  }
  return labels.join('.');
};

describe('parseDomainName', () => {
  it.each(['example.com', 'a', 'EXAMPLE.Com', 'xn--bcher-kva.example', 'a-b.c-d', '1.2.3.4', '123', 'a1-b2.c3', label(63) + '.com'])('accepts %s', (text) => {
    expect(parseDomainName(text)).toEqual({ ok: true, name: text.toLowerCase() });
  });

  it('accepts 253 characters and refuses 254', () => {
    const n253 = nameOfLength(253);
    expect(n253.length).toBe(253);
    expect(parseDomainName(n253)).toEqual({ ok: true, name: n253 });
    const n254 = nameOfLength(254);
    expect(n254.length).toBe(254);
    expect(parseDomainName(n254)).toEqual({ ok: false, error: 'too-long' });
  });

  it.each([
    ['', 'empty'],
    ['example.com.', 'label-syntax'], // no trailing dot
    ['.example.com', 'label-syntax'],
    ['a..b', 'label-syntax'],
    ['-a.com', 'label-syntax'],
    ['a-.com', 'label-syntax'],
    ['a_b.com', 'label-syntax'],
    ['a b.com', 'label-syntax'],
    ['a"b.com', 'label-syntax'],
    ["a'b.com", 'label-syntax'],
    ['a;b.com', 'label-syntax'],
    ['a#b.com', 'label-syntax'],
    ['a\nb.com', 'label-syntax'],
    ['example.com\n', 'label-syntax'],
    ['bücher.example', 'label-syntax'],
    ['\u212Aelvin.example', 'label-syntax'], // KELVIN SIGN lowercases to an ASCII 'k'
    ['\u0130stanbul.example', 'label-syntax'], // DOTTED CAPITAL I
    ['*.example.com', 'wildcard'],
    ['a.*.com', 'wildcard'],
    [label(64) + '.com', 'label-length'],
  ] as const)('refuses %j (%s)', (text, error) => {
    expect(parseDomainName(text)).toEqual({ ok: false, error });
  });
});

describe('parseHostPattern', () => {
  it.each([
    ['example.com', false, 'example.com'],
    ['*.example.com', true, 'example.com'],
    ['*.COM', true, 'com'],
    ['Sub.Example.COM', false, 'sub.example.com'],
  ])('%s', (text, wildcard, name) => {
    expect(parseHostPattern(text)).toEqual({ ok: true, pattern: { wildcard, name } });
    expect(formatHostPattern(pat(text))).toBe(text.toLowerCase());
  });

  it.each([
    ['', 'empty'],
    ['*', 'wildcard'],
    ['*.', 'empty'],
    ['**.example.com', 'wildcard'],
    ['*example.com', 'wildcard'],
    ['a*.example.com', 'wildcard'],
    ['*.*.example.com', 'wildcard'],
    ['a.*.example.com', 'wildcard'],
    ['example.*', 'wildcard'],
    ['*.example.com.', 'label-syntax'],
    ['example.com.', 'label-syntax'],
    ['.example.com', 'label-syntax'],
    ['*..example.com', 'label-syntax'],
    ['* .example.com', 'wildcard'],
    ['*.-x.com', 'label-syntax'],
    ['*.' + label(64), 'label-length'],
  ] as const)('refuses %j (%s)', (text, error) => {
    expect(parseHostPattern(text)).toEqual({ ok: false, error });
  });

  it('counts the "*." in the 253-character limit', () => {
    expect(parseHostPattern('*.' + nameOfLength(251)).ok).toBe(true);
    expect(parseHostPattern('*.' + nameOfLength(252))).toEqual({ ok: false, error: 'too-long' });
  });
});

describe('matching', () => {
  it('an exact pattern matches only the name itself, in any case, with or without a trailing dot', () => {
    const p = pat('example.com');
    expect(matchHostPattern(p, 'example.com')).toBe(true);
    expect(matchHostPattern(p, 'EXAMPLE.COM')).toBe(true);
    expect(matchHostPattern(p, 'example.com.')).toBe(true);
    expect(matchHostPattern(p, 'www.example.com')).toBe(false);
    expect(matchHostPattern(p, 'badexample.com')).toBe(false);
    expect(matchHostPattern(p, 'example.co')).toBe(false);
    expect(matchHostPattern(p, 'com')).toBe(false);
    expect(matchHostPattern(p, 'example.com..')).toBe(false);
    // Only ASCII folds: KELVIN SIGN is not a 'k'.
    expect(matchHostPattern(pat('kelvin.example'), '\u212Aelvin.example')).toBe(false);
  });

  it('a wildcard matches any depth below, but not the apex', () => {
    const p = pat('*.example.com');
    expect(matchHostPattern(p, 'www.example.com')).toBe(true);
    expect(matchHostPattern(p, 'a.b.c.example.com')).toBe(true);
    expect(matchHostPattern(p, 'WWW.Example.Com.')).toBe(true);
    expect(matchHostPattern(p, 'example.com')).toBe(false);
    expect(matchHostPattern(p, 'example.com.')).toBe(false);
    expect(matchHostPattern(p, 'badexample.com')).toBe(false);
    expect(matchHostPattern(p, 'www.badexample.com')).toBe(false);
    expect(matchHostPattern(p, '.example.com')).toBe(true); // not a valid name, but on whole labels it is below
    expect(matchHostPattern(p, 'example.com.evil')).toBe(false);
  });

  it('isSubdomainOrSelf works on whole labels', () => {
    expect(isSubdomainOrSelf('example.com', 'example.com')).toBe(true);
    expect(isSubdomainOrSelf('a.example.com', 'example.com')).toBe(true);
    expect(isSubdomainOrSelf('badexample.com', 'example.com')).toBe(false);
    expect(isSubdomainOrSelf('example.com', 'a.example.com')).toBe(false);
    expect(isSubdomainOrSelf('xample.com', 'example.com')).toBe(false);
    expect(isSubdomainOrSelf('com', 'com')).toBe(true);
    expect(isSubdomainOrSelf('anything.at.all', '')).toBe(true); // the root
  });

  it('normalizeName lowercases and drops one trailing dot', () => {
    expect(normalizeName('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeName('a..')).toBe('a.');
    expect(normalizeName('')).toBe('');
  });

  it('longestSuffixMatch picks the longest whole-label suffix, in any order', () => {
    const rules = [{ suffix: 'com' }, { suffix: 'corp.example.com' }, { suffix: 'example.com' }, { suffix: 'intranet' }];
    expect(longestSuffixMatch(rules, 'a.corp.example.com')?.suffix).toBe('corp.example.com');
    expect(longestSuffixMatch(rules, 'CORP.example.com.')?.suffix).toBe('corp.example.com');
    expect(longestSuffixMatch(rules, 'www.example.com')?.suffix).toBe('example.com');
    expect(longestSuffixMatch(rules, 'badexample.com')?.suffix).toBe('com');
    expect(longestSuffixMatch(rules, 'xcorp.example.com')?.suffix).toBe('example.com');
    expect(longestSuffixMatch(rules, 'host.intranet')?.suffix).toBe('intranet');
    expect(longestSuffixMatch(rules, 'example.org')).toBeUndefined();
    expect(longestSuffixMatch([...rules].reverse(), 'a.corp.example.com')?.suffix).toBe('corp.example.com');
    expect(longestSuffixMatch([], 'a')).toBeUndefined();
  });

  it('hostPatternCovers', () => {
    const c = (a: string, b: string) => hostPatternCovers(pat(a), pat(b));
    expect(c('example.com', 'example.com')).toBe(true);
    expect(c('example.com', 'www.example.com')).toBe(false);
    expect(c('example.com', '*.example.com')).toBe(false);
    expect(c('*.example.com', 'www.example.com')).toBe(true);
    expect(c('*.example.com', 'a.b.example.com')).toBe(true);
    expect(c('*.example.com', 'example.com')).toBe(false);
    expect(c('*.example.com', '*.example.com')).toBe(true);
    expect(c('*.example.com', '*.www.example.com')).toBe(true);
    expect(c('*.www.example.com', '*.example.com')).toBe(false);
    expect(c('*.example.com', 'badexample.com')).toBe(false);
    expect(c('*.example.com', '*.badexample.com')).toBe(false);
    expect(c('*.com', '*.example.com')).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Properties: a tiny alphabet makes shared suffixes, near-misses and equal labels common.

const labelArb = fc.constantFrom('a', 'b', 'ab', 'ba', 'x-y', 'A', 'B');
const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const patternArb = fc.tuple(fc.boolean(), nameArb).map(([w, n]) => pat(w ? `*.${n}` : n));

/** The model: compare label lists. */
const labelsOf = (name: string): string[] => normalizeName(name).split('.');
function modelMatch(p: HostPattern, name: string): boolean {
  const n = labelsOf(name);
  const s = p.name.split('.');
  const tailEq = n.length >= s.length && s.every((l, i) => n[n.length - s.length + i] === l);
  return p.wildcard ? tailEq && n.length > s.length : tailEq && n.length === s.length;
}

describe('properties', () => {
  it('matchHostPattern agrees with a label-list model', () => {
    fc.assert(
      fc.property(patternArb, nameArb, fc.boolean(), (p, name, dot) => {
        expect(matchHostPattern(p, dot ? `${name}.` : name)).toBe(modelMatch(p, name));
      }),
      { numRuns: 3000 },
    );
  });

  it('hostPatternCovers(a, b) holds exactly when every name b matches, a matches', () => {
    fc.assert(
      fc.property(patternArb, patternArb, (a, b) => {
        // The names b matches, up to two labels deeper than b's name, stand for all of them.
        const witnesses = [b.name, `z.${b.name}`, `z.z.${b.name}`].filter((n) => matchHostPattern(b, n));
        const expected = witnesses.every((n) => matchHostPattern(a, n));
        expect(hostPatternCovers(a, b)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('longestSuffixMatch returns the longest of the matching suffixes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(nameArb.map((n) => n.toLowerCase()), { maxLength: 6 }), nameArb, (suffixes, name) => {
        const rules = suffixes.map((suffix) => ({ suffix }));
        const matching = suffixes.filter((s) => {
          const n = labelsOf(name);
          const t = s.split('.');
          return n.length >= t.length && t.every((l, i) => n[n.length - t.length + i] === l);
        });
        const got = longestSuffixMatch(rules, name);
        if (matching.length === 0) expect(got).toBeUndefined();
        else expect(got?.suffix.split('.').length).toBe(Math.max(...matching.map((s) => s.split('.').length)));
      }),
      { numRuns: 2000 },
    );
  });

  it('non-ASCII letters that case-fold to ASCII never pass the grammar', () => {
    const tricky = fc.constantFrom('\u212A', '\u0130', '\u017F', '\u0131', '\u212B', 'K', 'k', 'S', 's', 'i', 'I', '.', '-');
    fc.assert(
      fc.property(fc.array(tricky, { minLength: 1, maxLength: 8 }).map((cs) => cs.join('')), (text) => {
        const r = parseDomainName(text);
        expect(r.ok).toBe(/^[A-Za-z0-9.-]+$/.test(text) && parseDomainName(text.replace(/[^A-Za-z0-9.-]/g, 'x')).ok);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid names contain only lowercase LDH and dots, so they render bare in every target', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        const r = parseDomainName(text);
        if (r.ok) {
          expect(r.name).toMatch(/^[a-z0-9.-]+$/);
          expect(r.name).toBe(text.toLowerCase());
          expect(text).toMatch(/^[A-Za-z0-9.-]+$/);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('profile name forms', () => {
  it('dropTrailingDot: the FQDN form names the same name; only one dot goes', () => {
    expect(['corp.example.com.', '*.example.com.', 'a', '.', 'a..', 'x.'].map(dropTrailingDot)).toEqual(['corp.example.com', '*.example.com', 'a', '.', 'a..', 'x']);
  });
  it('aLabelOf: the UTS #46 A-label for Unicode names, null for ASCII or hopeless text', () => {
    expect(aLabelOf('bücher.example')).toBe('xn--bcher-kva.example');
    expect(aLabelOf('*.BÜCHER.example')).toBe('*.xn--bcher-kva.example');
    expect(aLabelOf('münchen.example.')).toBe('xn--mnchen-3ya.example');
    expect(aLabelOf('example.com')).toBeNull();
    expect(aLabelOf('bad name ü')).toBeNull();
  });
  it('addressLike: addresses and prefixes with the host prefix to suggest; dotted-quad look-alikes; names are null', () => {
    expect(addressLike('10.0.0.1')).toBe('10.0.0.1/32');
    expect(addressLike('10.0.0.1/8')).toBe('10.0.0.0/8');
    expect(addressLike('2001:DB8::1')).toBe('2001:db8::1/128');
    expect(addressLike('2001:db8::/32')).toBe('2001:db8::/32');
    expect(addressLike('010.0.0.1')).toBe('');
    expect(addressLike('300.1.1.1')).toBe('');
    expect(addressLike('10.0.0.1/33')).toBe('');
    expect(addressLike('10.1')).toBeNull();
    expect(addressLike('1.2.3.example')).toBeNull();
    expect(addressLike('example.com')).toBeNull();
  });
});
