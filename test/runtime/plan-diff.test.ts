/**
 * The plan difference `warpc apply` sends to the kernel: batch files as sets of
 * lines (routes keyed by destination, table and metric), and the nft swap that
 * carries runtime host elements over.
 */
import { describe, expect, it } from 'vitest';
import { batchDiff, hostElements, nftSetsUpdateText, nftSwapText, parseBatch, parseRuleset, routeKey } from '../../src/runtime/linux/plan-diff.js';

const A = `# comment
rule add not fwmark 0x100cf table 65743 priority 32000
route add default dev wg0 table 65743
route add throw 10.0.0.0/8 table 65743
route add throw 192.168.0.0/16 table 65743
`;

describe('batchDiff', () => {
  it('equal files (comments and spacing aside) give nothing to do', () => {
    expect(batchDiff(A, A.replace('# comment', '# other').replace('route add default', 'route  add default')).apply).toBe('');
  });

  it('a prefix moved from the tunnel to direct is one route replace, nothing deleted, no flush', () => {
    const d = batchDiff(A, `${A}route add throw 198.19.0.0/24 table 65743\n`);
    expect(d.apply).toBe('route replace throw 198.19.0.0/24 table 65743\n');
    expect(d).toMatchObject({ added: 1, removed: 0, replaced: 0 });
    const back = batchDiff(`${A}route add throw 198.19.0.0/24 table 65743\n`, A);
    expect(back.apply).toBe('route del throw 198.19.0.0/24 table 65743\n');
  });

  it('a route whose line changes under the same key is replaced in place, not deleted', () => {
    const d = batchDiff(A, A.replace('route add throw 10.0.0.0/8 table 65743', 'route add 10.0.0.0/8 dev wg0 table 65743'));
    expect(d.apply).toBe('route replace 10.0.0.0/8 dev wg0 table 65743\n');
    expect(d.replaced).toBe(1);
  });

  it('rules: the new one is added before the old one is deleted', () => {
    const d = batchDiff(A, A.replace('priority 32000', 'priority 31000'));
    expect(d.apply).toBe('rule add not fwmark 0x100cf table 65743 priority 31000\nrule del not fwmark 0x100cf table 65743 priority 32000\n');
  });

  it('a line it cannot undo is an error, not a guess', () => {
    expect(() => batchDiff('address flush dev lo\n', '')).toThrow(/cannot undo the batch line/);
  });

  it('route keys: type words skipped, table and metric part of the key', () => {
    expect(routeKey('route add throw 10.0.0.0/8 table 7')).toBe('10.0.0.0/8 table 7 metric 0');
    expect(routeKey('route add 10.0.0.0/8 dev x table 7 metric 5')).toBe('10.0.0.0/8 table 7 metric 5');
    expect(routeKey('rule add table 7')).toBeNull();
  });
});

describe('nft swap', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: {} },
      { set: { name: 'tunnel4', elem: [{ prefix: { addr: '1.0.0.0', len: 8 } }] } },
      { set: { name: 'host_tunnel4', elem: [{ elem: { val: '198.19.0.7', timeout: 30, expires: 21.5 } }] } },
      { set: { name: 'host_bypass6', elem: [{ elem: { val: '2001:db8::1', timeout: 10, expires: 3 } }] } },
    ],
  });
  it('reads the runtime host_* elements (not the compiled sets)', () => {
    expect(hostElements(json)).toEqual([
      { set: 'host_tunnel4', value: '198.19.0.7', expiresSeconds: 21.5 },
      { set: 'host_bypass6', value: '2001:db8::1', expiresSeconds: 3 },
    ]);
    expect(hostElements('not json')).toEqual([]);
  });
  it('appends them, with the time they had left, to the ruleset in the same transaction, for sets the new ruleset still has', () => {
    const ruleset = 'table inet t {}\ndelete table inet t\ntable inet t {\n\tset host_tunnel4 {\n\t\ttype ipv4_addr\n\t}\n}\n';
    expect(nftSwapText(ruleset, 't', hostElements(json))).toBe(`${ruleset}add element inet t host_tunnel4 { 198.19.0.7 timeout 22s }\n`);
  });
});

describe('batchDiff on parsed batches', () => {
  it('gives the same answer from a parse as from the text (the agent keeps the running plan parsed)', () => {
    const b = `${A.replace('\troute', 'route')}route add throw 198.19.0.0/24 table 65743\n`;
    expect(batchDiff(parseBatch(A), parseBatch(b))).toEqual(batchDiff(A, b));
    expect(parseBatch('  # indented comment\n\troute  add throw 1.0.0.0/8   table 7\n').lines).toEqual(['route add throw 1.0.0.0/8 table 7']);
  });
});

describe('nft set refill', () => {
  const R = (direct: string, extra = ''): string =>
    `# Generated\ntable inet t {}\ndelete table inet t\ntable inet t {\n\t# exclude ${direct}\n\tset direct4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n${direct
      .split(' ')
      .map((e) => `\t\t\t${e},`)
      .join('\n')}\n\t\t}\n\t}\n\tset host_tunnel4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n\tchain output {\n\t\tip daddr != @direct4 reject${extra}\n\t}\n}\n`;

  it('reads the elements of each set; comments are not part of the comparison', () => {
    const p = parseRuleset(R('10.0.0.0/8 192.168.0.0/16'));
    expect(p?.sets).toEqual(new Map([['direct4', ['10.0.0.0/8', '192.168.0.0/16']]]));
    expect(parseRuleset(R('10.0.0.0/8'))?.skeleton).toBe(p?.skeleton);
    expect(parseRuleset('table inet t {\n\tset s {\n\t\telements = { 1.2.3.4, 5.6.7.8 }\n\t}\n}\n')?.sets.get('s')).toEqual(['1.2.3.4', '5.6.7.8']);
  });

  it('only elements changed: the changed set is flushed and refilled in one input; host sets and the table untouched', () => {
    const [a, b] = [parseRuleset(R('10.0.0.0/8 192.168.0.0/16'))!, parseRuleset(R('10.0.0.0/8 198.19.0.0/24'))!];
    expect(nftSetsUpdateText(a, b, 't')).toBe('flush set inet t direct4\nadd element inet t direct4 { 10.0.0.0/8, 198.19.0.0/24 }\n');
    expect(nftSetsUpdateText(b, a, 't')).toBe('flush set inet t direct4\nadd element inet t direct4 { 10.0.0.0/8, 192.168.0.0/16 }\n');
    expect(nftSetsUpdateText(a, a, 't')).toBe('');
  });

  it('anything else changed (a rule, a set emptied) or unreadable: null, so the table is replaced whole', () => {
    const a = parseRuleset(R('10.0.0.0/8'))!;
    expect(nftSetsUpdateText(a, parseRuleset(R('10.0.0.0/8', ' with icmpx admin-prohibited'))!, 't')).toBeNull();
    const emptied = parseRuleset(R('10.0.0.0/8').replace(/\t\telements = \{\n[^}]*\}\n/, ''))!;
    expect(emptied.sets.size).toBe(0);
    expect(nftSetsUpdateText(a, emptied, 't')).toBeNull();
    expect(parseRuleset(R('10.0.0.0/8').replace('\t\t\t10.0.0.0/8,', '\t\t\t10.0.0.0/8 comment "x",'))).toBeNull();
  });
});
