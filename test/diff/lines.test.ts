/** The artifact line diff: its edit script rebuilds both texts, and hunks are well formed. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countChanges, diffLines, unifiedDiff } from '../../src/diff/lines.js';

const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'route 10.0.0.0/8', 'route 10.1.0.0/16', '', '}'), { maxLength: 40 });

describe('diffLines', () => {
  it('keeps, removes and adds lines so that both texts are rebuilt, and keeps as many as an LCS on small inputs', () => {
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const ops = diffLines(a, b);
        expect(ops.filter((o) => o.op !== '+').map((o) => o.line)).toEqual(a);
        expect(ops.filter((o) => o.op !== '-').map((o) => o.line)).toEqual(b);
        // Brute-force LCS length: the diff is minimal on inputs this small (no unique-line anchors needed).
        const t: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
        for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
        const kept = ops.filter((o) => o.op === ' ').length;
        expect(kept).toBeLessThanOrEqual(t[0]![0]!);
        const { added, removed } = countChanges(ops);
        expect(added + kept).toBe(b.length);
        expect(removed + kept).toBe(a.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stays fast and exact on 100,000 unique lines with 1% changed', () => {
    const a = Array.from({ length: 100_000 }, (_, i) => `route 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`);
    const b = a.map((l, i) => (i % 100 === 7 ? `${l} changed` : l));
    const { added, removed } = countChanges(diffLines(a, b));
    expect([added, removed]).toEqual([1000, 1000]);
  });

  it('writes unified hunks as GNU diff -u does (changes more than 6 lines apart get their own hunk)', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
    const b = ['1', '2', '3', 'four', '5', '6', '7', '8', '9', '10', '11', '12', '13'];
    // The hunks GNU diff 3.10 prints for these two files.
    expect(unifiedDiff('a/x', 'b/x', diffLines(a, b))).toBe('--- a/x\n+++ b/x\n@@ -1,7 +1,7 @@\n 1\n 2\n 3\n-4\n+four\n 5\n 6\n 7\n@@ -10,3 +10,4 @@\n 10\n 11\n 12\n+13\n');
    expect(unifiedDiff('a/x', 'b/x', diffLines(a.slice(0, 10), b.slice(0, 11)))).toContain('@@ -1,10 +1,11 @@');
  });
});
