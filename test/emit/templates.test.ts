/**
 * Template safety: every interpolation in every shipped template goes through
 * a helper (typed value or quoting), and nothing else is possible: no bare
 * `{{value}}`, no triple-stash, no partials, no sub-expressions, no unknown blocks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_BLOCKS, ALLOWED_HELPERS, parseTemplate } from '../../src/emit/render.js';

const TARGETS_DIR = join(import.meta.dirname, '..', '..', 'targets');

function templates(): string[] {
  const out: string[] = [];
  for (const t of readdirSync(TARGETS_DIR, { withFileTypes: true })) {
    if (!t.isDirectory()) continue;
    for (const f of readdirSync(join(TARGETS_DIR, t.name))) if (f.endsWith('.hbs')) out.push(join(t.name, f));
  }
  return out.sort();
}

type Node = { type: string; [k: string]: unknown };

/** Problems in a template's AST; empty when every interpolation is through an allowed helper. */
export function unsafeInterpolations(text: string): string[] {
  const problems: string[] = [];
  const where = (n: Node): string => {
    const loc = n['loc'] as { start: { line: number; column: number } } | undefined;
    return loc ? `${loc.start.line}:${loc.start.column + 1}` : '?';
  };
  const pathName = (p: unknown): string => (p as { original?: string }).original ?? String((p as { type: string }).type);
  const checkParams = (n: Node): void => {
    for (const p of (n['params'] as Node[]) ?? []) {
      if (p.type !== 'PathExpression' && p.type !== 'StringLiteral' && p.type !== 'NumberLiteral') problems.push(`${where(n)}: parameter of type ${p.type}`);
    }
    if ((n['hash'] as { pairs: unknown[] } | undefined)?.pairs?.length) problems.push(`${where(n)}: hash arguments are not allowed`);
  };
  const visit = (n: Node | null | undefined): void => {
    if (!n) return;
    switch (n.type) {
      case 'Program':
        for (const s of n['body'] as Node[]) visit(s);
        return;
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement': {
        const name = pathName(n['path']);
        if (n['escaped'] === false) problems.push(`${where(n)}: triple-stash {{{${name}}}}`);
        if (!ALLOWED_HELPERS.has(name)) problems.push(`${where(n)}: {{${name}}} is not a typed-value or quoting helper`);
        else if ((n['params'] as unknown[]).length !== 1) problems.push(`${where(n)}: {{${name}}} takes exactly one value`);
        checkParams(n);
        return;
      }
      case 'BlockStatement': {
        const name = pathName(n['path']);
        if (!ALLOWED_BLOCKS.has(name)) problems.push(`${where(n)}: block {{#${name}}} is not allowed`);
        checkParams(n);
        visit(n['program'] as Node);
        visit(n['inverse'] as Node);
        return;
      }
      default:
        problems.push(`${where(n)}: ${n.type} is not allowed`);
    }
  };
  visit(parseTemplate(text) as unknown as Node);
  return problems;
}

describe('templates', () => {
  const all = templates();
  it('there are templates to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(7);
  });
  for (const t of all) {
    it(`${t}: every interpolation goes through a helper`, () => {
      expect(unsafeInterpolations(readFileSync(join(TARGETS_DIR, t), 'utf8'))).toEqual([]);
    });
  }
  it('the walker catches what it must', () => {
    expect(unsafeInterpolations('a {{description}} b')).toHaveLength(1);
    expect(unsafeInterpolations('{{{sh x}}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{> partial}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{sh (lookup x y)}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{#with x}}{{/with}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{#each xs}}{{this}}{{/each}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{sh a b}}')).toHaveLength(1);
    expect(unsafeInterpolations('{{#each xs}}{{cidr this}}{{#unless @last}},{{/unless}}{{/each}}')).toEqual([]);
  });
});
