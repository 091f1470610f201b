import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stableJson } from '../../src/contract/json-file.js';
import { bytesArtifact, checkedPrefixes, jsonWithPrefixLists, PrefixList, prefixListText, prefixSetText, renderWithPrefixLines } from '../../src/emit/prefix-list.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { Lines, render, renderLines, RenderError } from '../../src/emit/render.js';
import { joinedBytes } from '../../src/emit/target.js';

describe('prefixListText', () => {
  it('writes one canonical prefix per line with the line end asked for', () => {
    expect(prefixListText(['10.0.0.0/8', '2001:db8::/32'])).toBe('10.0.0.0/8\n2001:db8::/32\n');
    expect(prefixListText(['10.0.0.0/8'], '\r\n')).toBe('10.0.0.0/8\r\n');
    expect(prefixListText([])).toBe('');
  });
  it('refuses anything but a canonical prefix', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0/8\nrm -rf /', '2001:DB8::/32', '10.0.0.0/33', '']) expect(() => prefixListText([bad])).toThrow(RenderError);
  });
});

describe('checkedPrefixes', () => {
  it('hands the list back unchanged once every entry is a canonical prefix', () => {
    const list = ['10.0.0.0/8', '2001:db8::/32', '0.0.0.0/0', '::/0'];
    expect(checkedPrefixes(list)).toBe(list);
    expect(checkedPrefixes([])).toEqual([]);
  });
  it('refuses anything but a canonical prefix, wherever it is in the list', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0/8", "x', '2001:DB8::/32', '10.0.0.0/33', '']) expect(() => checkedPrefixes(['10.0.0.0/8', bad])).toThrow(RenderError);
  });
});

describe('prefixSetText', () => {
  it('writes a set as its minimal cover', () => {
    const set = PrefixSet.fromCidrs(4, ['10.0.0.0/9', '10.128.0.0/9', '192.0.2.0/25']);
    expect(prefixSetText(set)).toBe('10.0.0.0/8\n192.0.2.0/25\n');
    expect(prefixSetText(PrefixSet.all(6), '\r\n')).toBe('::/0\r\n');
    expect(prefixSetText(PrefixSet.empty(4))).toBe('');
  });
});

/** `value` with every PrefixList replaced by its prefixes as strings: what stableJson writes for it. */
function plain(value: unknown): unknown {
  if (value instanceof PrefixList) return value.toArray();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('jsonWithPrefixLists', () => {
  const sets = [
    PrefixSet.empty(4),
    PrefixSet.all(4),
    PrefixSet.all(6),
    PrefixSet.fromCidrs(4, ['10.0.0.0/8', '192.0.2.7/32']).complement(),
    PrefixSet.fromCidrs(6, ['2001:db8::/32', '::ffff:192.0.2.0/120', 'fe80::/10']),
    PrefixSet.empty(6),
  ];
  const listArb = fc.array(fc.constantFrom(...sets), { maxLength: 3 }).map((ss) => new PrefixList(ss));
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), listArb);
  const valueArb = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 })),
  })).node;

  it('writes what stableJson writes for the lists as arrays of strings, byte for byte', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        expect(joinedBytes(jsonWithPrefixLists(value)).toString('utf8')).toBe(stableJson(plain(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes a call list as the Android file has it (lists of two sets, an empty one left out)', () => {
    const value = {
      profile: 'Büro',
      calls: [
        { method: 'addRoutes', prefixes: new PrefixList([sets[1]!, sets[5]!, sets[4]!]) },
        { method: 'excludeRoutes', prefixes: new PrefixList([sets[0]!]) },
      ],
    };
    expect(joinedBytes(jsonWithPrefixLists(value)).toString('utf8')).toBe(stableJson(plain(value)));
    expect(joinedBytes(jsonWithPrefixLists(value)).toString('utf8')).toContain('"prefixes": [\n        "0.0.0.0/0",\n        "::ffff:192.0.2.0/120",\n');
  });
});

describe('bytesArtifact', () => {
  it('decodes its text (UTF-8) only when read', () => {
    const a = bytesArtifact('x.json', Buffer.from('{"name": "Büro"}\n', 'utf8'));
    expect(a.text).toBe('{"name": "Büro"}\n');
    expect(a.mode).toBe(0o644);
    const split = Buffer.from('{"name": "Büro"}\n', 'utf8');
    // Pieces may even split a character: the text is decoded from them joined.
    expect(bytesArtifact('y.json', [split.subarray(0, 12), split.subarray(12)]).text).toBe('{"name": "Büro"}\n');
  });
});

describe('renderWithPrefixLines', () => {
  const direct = PrefixSet.fromCidrs(4, ['10.0.0.0/8', '192.0.2.0/25', '198.51.100.7/32']);
  const v6 = PrefixSet.fromCidrs(6, ['2001:db8::/32', 'fe80::/10']);
  const empty = renderLines([], () => '');
  /** The Linux ruleset.nft view, every list empty but those given. */
  const nftView = (lists: Record<string, unknown>) => ({
    version: '0',
    name: 'n',
    mode: 'warp',
    table: 'warpc',
    ifname: 'wg0',
    fwmark: 1,
    exclude: true,
    entries: empty,
    direct4: empty,
    direct6: empty,
    tunnel4: empty,
    tunnel6: empty,
    ...lists,
  });
  /** What a template's `{{lines}}` of renderLines over the strings gives: the reference. */
  const reference = (set: PrefixSet, line: (c: string, last: boolean) => string): string => renderLines(set.toCidrs(), (c, h, i) => line(h.cidr(c), i === set.prefixCount() - 1)).text;

  it('writes each list where its marker line is, byte for byte what renderLines over the strings writes', () => {
    const text = joinedBytes(
      renderWithPrefixLines(
        (lines) => `head\n${lines(direct, 'route add throw ', ' table 100', '\n').text}mid\n${lines(v6, '\t\t\t', '', ',\n').text}${lines(PrefixSet.empty(4), 'x', 'y', '\n').text}tail\n`,
      ),
    ).toString('utf8');
    expect(text).toBe(`head\n${reference(direct, (c) => `route add throw ${c} table 100`)}mid\n${reference(v6, (c, last) => `\t\t\t${c}${last ? '' : ','}`)}tail\n`);
  });

  it('renders a real template the same way (ruleset.nft with the Linux view, through {{lines}})', () => {
    const view = (d4: unknown, d6: unknown) => nftView({ direct4: d4, direct6: d6 });
    const viaSets = joinedBytes(renderWithPrefixLines((lines) => render('linux', 'ruleset.nft.hbs', view(lines(direct, '\t\t\t', '', ',\n'), lines(v6, '\t\t\t', '', ',\n'))))).toString('utf8');
    const el = (set: PrefixSet) => renderLines(set.toCidrs(), (c, h, i) => `\t\t\t${h.cidr(c)}${i < set.prefixCount() - 1 ? ',' : ''}`);
    expect(viaSets).toBe(render('linux', 'ruleset.nft.hbs', view(el(direct), el(v6))));
  });

  it('puts Lines written as bytes in as those bytes, where the template puts their text (entries in ruleset.nft)', () => {
    const view = (entries: unknown) => nftView({ entries });
    const written = Lines.written(Buffer.from('#   exclude 10.0.0.0/8\n#   exclude 192.0.2.0/24  Büro\n', 'utf8'));
    const viaBytes = joinedBytes(renderWithPrefixLines((lines) => render('linux', 'ruleset.nft.hbs', view(lines.bytes(written))))).toString('utf8');
    expect(viaBytes).toBe(render('linux', 'ruleset.nft.hbs', view(written)));
    expect(viaBytes).toContain('#   exclude 192.0.2.0/24  Büro\ntable inet warpc');
    // Lines made as text, and empty ones, go in as text.
    const asText = renderLines(['x'], (v, h) => `# ${h.ident(v)}`);
    expect(joinedBytes(renderWithPrefixLines((lines) => render('linux', 'ruleset.nft.hbs', view(lines.bytes(asText))))).toString('utf8')).toBe(render('linux', 'ruleset.nft.hbs', view(asText)));
    expect(joinedBytes(renderWithPrefixLines((lines) => render('linux', 'ruleset.nft.hbs', view(lines.bytes(Lines.written(Buffer.alloc(0))))))).toString('utf8')).toBe(
      render('linux', 'ruleset.nft.hbs', view(empty)),
    );
  });

  it('puts CRLF lines into a text whose line ends became CRLF (a Windows file), and refuses lines without a line end', () => {
    const crlf = Lines.written(Buffer.from('x\r\ny\r\n'));
    expect(joinedBytes(renderWithPrefixLines((lines) => `a\n${lines.bytes(crlf).text}b\n`.replace(/\n/g, '\r\n'))).toString('latin1')).toBe('a\r\nx\r\ny\r\nb\r\n');
    // Lines in pieces (a family's runs of a longer list), an empty piece among them, go in as the same bytes.
    for (const eol of ['\n', '\r\n']) {
      const pieces = Lines.written([Buffer.from(`x${eol}`), Buffer.alloc(0), Buffer.from(`y${eol}z${eol}`), Buffer.alloc(0)]);
      expect(pieces.text).toBe(`x${eol}y${eol}z${eol}`);
      expect(joinedBytes(renderWithPrefixLines((lines) => `a\n${lines.bytes(pieces).text}b\n`.replace(/\n/g, eol))).toString('latin1')).toBe(`a${eol}x${eol}y${eol}z${eol}b${eol}`);
    }
    expect(() => renderWithPrefixLines((lines) => lines.bytes(Lines.written(Buffer.from('x'))).text)).toThrow(/line end/);
  });

  it('refuses a marker that is used twice or dropped (a template that repeats or hides a list)', () => {
    expect(() =>
      renderWithPrefixLines((lines) => {
        const l = lines(direct, '', '', '\n').text;
        return l + l;
      }),
    ).toThrow(/missing or repeated/);
    expect(() =>
      renderWithPrefixLines((lines) => {
        lines(direct, '', '', '\n');
        return 'nothing\n';
      }),
    ).toThrow(/missing or repeated/);
  });
});
