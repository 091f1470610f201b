/**
 * A small POSIX sh reader for the subset warpc's macOS scripts use: one simple
 * command per line, words in single quotes, double quotes with $var / ${var},
 * `#` comments, `name=value` assignments. Anything it does not understand in a
 * word (an unterminated quote) is an error, so a broken quote is caught.
 */
export interface ShLine {
  readonly words: string[];
  readonly comment: string | null;
  readonly lineNo: number;
}

export function shWords(line: string, vars: Record<string, string>, lineNo = 0): ShLine {
  const words: string[] = [];
  let i = 0;
  let cur: string | null = null;
  const push = (): void => {
    if (cur !== null) words.push(cur);
    cur = null;
  };
  const expand = (): string => {
    // at '$'
    i++;
    let name = '';
    if (line[i] === '{') {
      const end = line.indexOf('}', i);
      if (end < 0) throw new Error(`sh line ${lineNo}: unterminated \${`);
      name = line.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < line.length && /[A-Za-z0-9_]/.test(line[i]!)) name += line[i++];
    }
    if (!(name in vars)) throw new Error(`sh line ${lineNo}: unknown variable ${name}`);
    return vars[name]!;
  };
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      push();
      i++;
    } else if (c === '#' && cur === null) {
      push();
      return { words, comment: line.slice(i + 1), lineNo };
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`sh line ${lineNo}: unterminated single quote`);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let s = '';
      for (;;) {
        if (i >= line.length) throw new Error(`sh line ${lineNo}: unterminated double quote`);
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && /["\\$`]/.test(line[i + 1] ?? '')) {
          s += line[i + 1];
          i += 2;
        } else if (d === '$') s += expand();
        else if (d === '`') throw new Error(`sh line ${lineNo}: command substitution in a quoted word`);
        else {
          s += d;
          i++;
        }
      }
      i++;
      cur = (cur ?? '') + s;
    } else if (c === '$' && /[A-Za-z_{]/.test(line[i + 1] ?? '')) {
      cur = (cur ?? '') + expand();
    } else if (c === '\\') {
      cur = (cur ?? '') + (line[i + 1] ?? '');
      i += 2;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  push();
  return { words, comment: null, lineNo };
}

/**
 * A description read back from the end of a generated comment line: the
 * compiler doubles a trailing run of backslashes there (pfctl would otherwise
 * continue the comment onto the next line), so the run is halved. An odd run
 * cannot come from the compiler.
 */
export function commentBack(shown: string): string {
  return shown.replace(/\\+$/, (run) => {
    if (run.length % 2 !== 0) throw new Error(`comment ends in an odd run of backslashes: ${JSON.stringify(shown)}`);
    return run.slice(0, run.length / 2);
  });
}
