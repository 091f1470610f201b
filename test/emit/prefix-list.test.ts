import { describe, expect, it } from 'vitest';
import { checkedPrefixes, prefixListText, prefixSetText } from '../../src/emit/prefix-list.js';
import { PrefixSet } from '../../src/net/prefix-set.js';
import { RenderError } from '../../src/emit/render.js';

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
