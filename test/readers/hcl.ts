/**
 * An independent reader of the HCL warpc's Terraform export writes (a subset of HCL native syntax:
 * blocks, attributes, strings, numbers, bools, null, references, tuples, objects), and a check of
 * `terraform fmt`'s canonical layout following hclwrite's format.go: indentation from each line's
 * net bracket change (two spaces per level, an indent stack), and `=` aligned one column past the
 * longest key in every run of consecutive single-line attribute lines (a line whose value opens a
 * multi-line bracket is not part of a run). Plus no tabs, no trailing space, no CR, one final
 * newline. It shares no code with src/interop.
 */

export type HclValue = string | number | boolean | null | { ref: string } | HclValue[] | { [k: string]: HclValue };
export interface HclBlock {
  type: string;
  labels: string[];
  attrs: Record<string, HclValue>;
  blocks: HclBlock[];
}

type Tok = { t: 'ident' | 'str' | 'num' | 'punct' | 'nl' | 'eof'; v: string; line: number };

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      toks.push({ t: 'nl', v: '\n', line });
      line++;
      i++;
    } else if (c === ' ') i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (text[j] !== '"') {
        if (j >= text.length || text[j] === '\n') throw new Error(`line ${line}: unterminated string`);
        if (text[j] === '\\') {
          const e = text[j + 1]!;
          const m: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
          if (e in m) {
            v += m[e];
            j += 2;
          } else if (e === 'u') {
            v += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
            j += 6;
          } else throw new Error(`line ${line}: bad escape \\${e}`);
        } else if ((text[j] === '$' || text[j] === '%') && text[j + 1] === text[j] && text[j + 2] === '{') {
          v += `${text[j]}{`; // an escaped template sequence is a literal
          j += 3;
        } else if ((text[j] === '$' || text[j] === '%') && text[j + 1] === '{') {
          const end = text.indexOf('}', j);
          v += `\u0000TEMPLATE${text.slice(j, end + 1)}`; // an interpolation: kept visible as such
          j = end + 1;
        } else v += text[j++];
      }
      toks.push({ t: 'str', v, line });
      i = j + 1;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      toks.push({ t: 'num', v: m[0], line });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(i))!;
      toks.push({ t: 'ident', v: m[0], line });
      i += m[0].length;
    } else if ('{}[]=,'.includes(c)) {
      toks.push({ t: 'punct', v: c, line });
      i++;
    } else throw new Error(`line ${line}: unexpected ${JSON.stringify(c)}`);
  }
  toks.push({ t: 'eof', v: '', line });
  return toks;
}

export function parseHcl(text: string): HclBlock[] {
  const toks = tokenize(text);
  let k = 0;
  const peek = (): Tok => toks[k]!;
  const skipNl = (): void => {
    while (peek().t === 'nl') k++;
  };
  const expect = (v: string): void => {
    const t = toks[k++]!;
    if (t.v !== v) throw new Error(`line ${t.line}: expected ${v}, found ${JSON.stringify(t.v)}`);
  };
  const value = (): HclValue => {
    skipNl();
    const t = toks[k++]!;
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'ident') return t.v === 'true' ? true : t.v === 'false' ? false : t.v === 'null' ? null : { ref: t.v };
    if (t.v === '[') {
      const out: HclValue[] = [];
      for (;;) {
        skipNl();
        if (peek().v === ']') {
          k++;
          return out;
        }
        out.push(value());
        skipNl();
        if (peek().v === ',') k++;
        else if (peek().v !== ']') throw new Error(`line ${peek().line}: expected , or ]`);
      }
    }
    if (t.v === '{') {
      const out: Record<string, HclValue> = {};
      for (;;) {
        skipNl();
        if (peek().v === '}') {
          k++;
          return out;
        }
        const key = toks[k++]!;
        if (key.t !== 'ident' && key.t !== 'str') throw new Error(`line ${key.line}: expected a key`);
        expect('=');
        if (key.v in out) throw new Error(`line ${key.line}: duplicate key ${key.v}`);
        out[key.v] = value();
        if (peek().v === ',') k++;
      }
    }
    throw new Error(`line ${t.line}: unexpected ${JSON.stringify(t.v)}`);
  };
  const bodyOf = (block: HclBlock, closing: string): void => {
    for (;;) {
      skipNl();
      const t = peek();
      if (t.v === closing || t.t === 'eof') {
        if (t.v !== closing) throw new Error('unexpected end of file');
        if (closing) k++;
        return;
      }
      const name = toks[k++]!;
      if (name.t !== 'ident') throw new Error(`line ${name.line}: expected an attribute or block`);
      if (peek().v === '=') {
        k++;
        if (name.v in block.attrs) throw new Error(`line ${name.line}: duplicate attribute ${name.v}`);
        block.attrs[name.v] = value();
        if (peek().t !== 'nl' && peek().t !== 'eof' && peek().v !== '}') throw new Error(`line ${peek().line}: expected a newline after an attribute`);
        continue;
      }
      const labels: string[] = [];
      while (peek().t === 'str') labels.push(toks[k++]!.v);
      expect('{');
      const child: HclBlock = { type: name.v, labels, attrs: {}, blocks: [] };
      bodyOf(child, '}');
      block.blocks.push(child);
    }
  };
  const root: HclBlock = { type: '', labels: [], attrs: {}, blocks: [] };
  bodyOf(root, '');
  return root.blocks;
}

/** Differences from terraform fmt's layout, as "line N: …" (empty: canonical). */
export function hclFormatProblems(text: string): string[] {
  const problems: string[] = [];
  if (text.includes('\r')) problems.push('CR line ends');
  if (text.includes('\t')) problems.push('tabs');
  if (!text.endsWith('\n') || text.endsWith('\n\n')) problems.push('the file must end with exactly one newline');
  const lines = text.split('\n').slice(0, -1);
  // Net bracket change of a line, strings skipped (a template interpolation is balanced inside its string).
  const net = (l: string): { lead: number; assignAt: number; afterAssign: number } => {
    let n = 0;
    let inStr = false;
    let assignAt = -1;
    let afterAssign = 0;
    for (let i = 0; i < l.length; i++) {
      const c = l[i]!;
      if (inStr) {
        if (c === '\\') i++;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === '=' && assignAt < 0 && i > 0 && l[i + 1] !== '=') assignAt = i;
      else if ('{[('.includes(c)) {
        n++;
        if (assignAt >= 0) afterAssign++;
      } else if ('}])'.includes(c)) {
        n--;
        if (assignAt >= 0) afterAssign--;
      }
    }
    return { lead: n, assignAt, afterAssign };
  };
  const indents: number[] = [];
  let chain: { line: number; keyEnd: number; eq: number }[] = [];
  const closeChain = (): void => {
    if (chain.length === 0) return;
    const want = Math.max(...chain.map((c) => c.keyEnd)) + 1;
    for (const c of chain) if (c.eq !== want) problems.push(`line ${c.line}: "=" at column ${c.eq + 1}, terraform fmt puts it at column ${want + 1}`);
    chain = [];
  };
  lines.forEach((l, idx) => {
    const n = idx + 1;
    if (/ +$/.test(l)) problems.push(`line ${n}: trailing spaces`);
    if (l.trim() === '') {
      if (l !== '') problems.push(`line ${n}: spaces on a blank line`);
      if (idx > 0 && lines[idx - 1]!.trim() === '') problems.push(`line ${n}: two blank lines`);
      closeChain();
      return;
    }
    const { lead, assignAt, afterAssign } = net(l);
    let want: number;
    if (lead > 0) {
      want = 2 * indents.length;
      indents.push(lead);
    } else if (lead < 0) {
      let closed = -lead;
      while (closed > 0 && indents.length > 0) {
        const top = indents[indents.length - 1]!;
        if (closed > top) {
          closed -= top;
          indents.pop();
        } else if (closed < top) {
          indents[indents.length - 1] = top - closed;
          closed = 0;
        } else {
          indents.pop();
          closed = 0;
        }
      }
      want = 2 * indents.length;
    } else want = 2 * indents.length;
    const have = l.length - l.trimStart().length;
    if (have !== want) problems.push(`line ${n}: indented ${have} spaces, terraform fmt indents ${want}`);
    const isAssign = assignAt > 0 && afterAssign === 0;
    if (isAssign) {
      if (l[assignAt + 1] !== ' ' || l[assignAt + 2] === ' ') problems.push(`line ${n}: one space after "="`);
      const keyEnd = l.slice(0, assignAt).trimEnd().length;
      chain.push({ line: n, keyEnd, eq: assignAt });
    } else closeChain();
  });
  closeChain();
  return problems;
}
