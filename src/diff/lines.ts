/**
 * A line diff for artifacts: counts of added and removed lines, and unified hunks.
 *
 * Patience-style: lines unique in both texts anchor the match (their longest
 * increasing subsequence), the stretches between anchors are trimmed of common
 * ends and, when small, matched by a plain LCS table; a large unanchored stretch is
 * a replacement. Generated artifacts are mostly unique lines (routes, set
 * elements), so this is near-linear where an O(ND) diff of 100,000 lines is not.
 */

/** One edit script entry: a line kept, removed from the old text, or added by the new. */
export type Op = { readonly op: ' ' | '-' | '+'; readonly line: string };

const LCS_CELLS = 250_000;

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  const out: Op[] = [];
  walk(a, 0, a.length, b, 0, b.length, out);
  return out;
}

function walk(a: readonly string[], a0: number, a1: number, b: readonly string[], b0: number, b1: number, out: Op[]): void {
  // Common head and tail.
  while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) {
    out.push({ op: ' ', line: a[a0]! });
    a0++;
    b0++;
  }
  const tail: Op[] = [];
  while (a1 > a0 && b1 > b0 && a[a1 - 1] === b[b1 - 1]) {
    tail.push({ op: ' ', line: a[a1 - 1]! });
    a1--;
    b1--;
  }
  if (a0 === a1 || b0 === b1) {
    for (let i = a0; i < a1; i++) out.push({ op: '-', line: a[i]! });
    for (let j = b0; j < b1; j++) out.push({ op: '+', line: b[j]! });
  } else {
    const anchors = uniqueAnchors(a, a0, a1, b, b0, b1);
    if (anchors.length > 0) {
      let pa = a0;
      let pb = b0;
      for (const [i, j] of anchors) {
        walk(a, pa, i, b, pb, j, out);
        out.push({ op: ' ', line: a[i]! });
        pa = i + 1;
        pb = j + 1;
      }
      walk(a, pa, a1, b, pb, b1, out);
    } else if ((a1 - a0) * (b1 - b0) <= LCS_CELLS) {
      lcs(a, a0, a1, b, b0, b1, out);
    } else {
      for (let i = a0; i < a1; i++) out.push({ op: '-', line: a[i]! });
      for (let j = b0; j < b1; j++) out.push({ op: '+', line: b[j]! });
    }
  }
  for (let k = tail.length - 1; k >= 0; k--) out.push(tail[k]!);
}

/** Lines that occur once in each range, matched, reduced to their longest increasing run in b. */
function uniqueAnchors(a: readonly string[], a0: number, a1: number, b: readonly string[], b0: number, b1: number): [number, number][] {
  const countA = new Map<string, number>();
  for (let i = a0; i < a1; i++) countA.set(a[i]!, countA.has(a[i]!) ? -1 : i);
  const countB = new Map<string, number>();
  for (let j = b0; j < b1; j++) countB.set(b[j]!, countB.has(b[j]!) ? -1 : j);
  const pairs: [number, number][] = [];
  for (let i = a0; i < a1; i++) {
    const ia = countA.get(a[i]!)!;
    if (ia !== i) continue;
    const jb = countB.get(a[i]!);
    if (jb !== undefined && jb >= 0) pairs.push([i, jb]);
  }
  // Longest increasing subsequence of the b indices (patience sorting).
  const tails: number[] = [];
  const prev = new Int32Array(pairs.length).fill(-1);
  for (let k = 0; k < pairs.length; k++) {
    const v = pairs[k]![1];
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]!]![1] < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[k] = tails[lo - 1]!;
    tails[lo] = k;
  }
  const chain: [number, number][] = [];
  for (let k = tails.length > 0 ? tails[tails.length - 1]! : -1; k >= 0; k = prev[k]!) chain.push(pairs[k]!);
  return chain.reverse();
}

function lcs(a: readonly string[], a0: number, a1: number, b: readonly string[], b0: number, b1: number, out: Op[]): void {
  const n = a1 - a0;
  const m = b1 - b0;
  const t = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i * (m + 1) + j] = a[a0 + i] === b[b0 + j] ? t[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(t[(i + 1) * (m + 1) + j]!, t[i * (m + 1) + j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[a0 + i] === b[b0 + j]) {
      out.push({ op: ' ', line: a[a0 + i]! });
      i++;
      j++;
    } else if (t[(i + 1) * (m + 1) + j]! >= t[i * (m + 1) + j + 1]!) {
      out.push({ op: '-', line: a[a0 + i]! });
      i++;
    } else {
      out.push({ op: '+', line: b[b0 + j]! });
      j++;
    }
  }
  for (; i < n; i++) out.push({ op: '-', line: a[a0 + i]! });
  for (; j < m; j++) out.push({ op: '+', line: b[b0 + j]! });
}

export function countChanges(ops: readonly Op[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const o of ops) {
    if (o.op === '+') added++;
    else if (o.op === '-') removed++;
  }
  return { added, removed };
}

/** A unified diff (`--- a/…`, `+++ b/…`, `@@ -l,n +l,n @@` hunks with `context` lines around changes). */
export function unifiedDiff(oldName: string, newName: string, ops: readonly Op[], context = 3): string {
  const lines: string[] = [`--- ${oldName}`, `+++ ${newName}`];
  // Old and new line numbers of each op (1-based, of the next line on that side).
  const oldNo: number[] = [];
  const newNo: number[] = [];
  let o = 1;
  let n = 1;
  for (const op of ops) {
    oldNo.push(o);
    newNo.push(n);
    if (op.op !== '+') o++;
    if (op.op !== '-') n++;
  }
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.op === ' ') {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend while the next change is within 2 * context lines.
    for (;;) {
      while (end < ops.length && ops[end]!.op !== ' ') end++;
      let gap = end;
      while (gap < ops.length && ops[gap]!.op === ' ' && gap - end < 2 * context) gap++;
      if (gap < ops.length && ops[gap]!.op !== ' ') end = gap;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const body = ops.slice(start, stop);
    const oldCount = body.filter((x) => x.op !== '+').length;
    const newCount = body.filter((x) => x.op !== '-').length;
    const oldStart = oldCount === 0 ? oldNo[start]! - 1 : oldNo[start]!;
    const newStart = newCount === 0 ? newNo[start]! - 1 : newNo[start]!;
    lines.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const x of body) lines.push(`${x.op}${x.line}`);
    k = stop;
  }
  return `${lines.join('\n')}\n`;
}
