/** Lines rendered in code for long lists (src/emit/render.ts renderLines), and the template helper that inserts them. */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { Lines, render, RenderError, renderLines } from '../../src/emit/render.js';
import { COMMENT_LINES, entryCommentLines, ruleLines, type RuleLineForm } from '../../src/emit/view.js';
import { ENTRY_LINES as WINDOWS_ENTRY_LINES } from '../../targets/windows/index.js';
import type { AddressRule } from '../../src/plan/types.js';
import { validProfile } from '../helpers/arbitraries.js';

describe('renderLines', () => {
  it('writes one line per item through the helpers, each ended by the line end', () => {
    const l = renderLines(['10.0.0.0/8', '2001:db8::/32'], (c, h, i) => `route ${h.cidr(c)}${i === 0 ? ',' : ''}`);
    expect(l).toBeInstanceOf(Lines);
    expect(l.text).toBe('route 10.0.0.0/8,\nroute 2001:db8::/32\n');
    expect(renderLines(['a'], (x, h) => h.ident(x), '\r\n').text).toBe('a\r\n');
    expect(renderLines([], () => 'never').text).toBe('');
  });
  it('fails as a template would on a value its helper refuses', () => {
    expect(() => renderLines(['10.0.0.1/8'], (c, h) => h.cidr(c))).toThrow(RenderError);
    expect(() => renderLines(["x'; rm -rf /"], (c, h) => h.ident(c))).toThrow(RenderError);
  });
  it('the lines helper takes nothing but Lines', () => {
    const view = (entries: unknown) => ({
      version: '1.0.0',
      name: 'p',
      family: 4,
      fwmark: 1,
      table: 2,
      priority: 3,
      ifname: 'wg0',
      exclude: true,
      entries,
      direct: renderLines([], () => ''),
      tunnel: renderLines([], () => ''),
      directCount: 0,
      tunnelCount: 0,
    });
    expect(render('linux', 'routes.batch.hbs', view(renderLines(['x'], (v, h) => `# ${h.ident(v)}`)))).toContain('\n# x\nrule add');
    // Text that did not go through renderLines (say, a profile's description) is refused.
    expect(() => render('linux', 'routes.batch.hbs', view('# x\nroute flush table main'))).toThrow(RenderError);
  });
});

describe('ruleLines', () => {
  // What the lines are, as the form's line function through the helpers: the bytes written from entries' numbers must equal it.
  const reference = (rules: readonly AddressRule[], mode: string, form: RuleLineForm): string =>
    renderLines(rules, (r, h) => form.text(r, r.source === 'always_tunnel' ? 'always' : mode, h), form.eol).text;
  const forms: [string, RuleLineForm][] = [
    ['comments (Linux, macOS)', COMMENT_LINES],
    ['Windows entry rows', WINDOWS_ENTRY_LINES],
  ];

  it.each(forms)('%s: are the rules as the line function writes them, all of them and each family', (_, form) => {
    fc.assert(
      fc.property(validProfile, (p) => {
        const plan = analyze(stringify(p)).plan!;
        const rules = plan.split.rules;
        const mode = plan.split.mode;
        expect(ruleLines(plan, form).text).toBe(reference(rules, mode, form));
        expect(ruleLines(plan, form, 4).text).toBe(
          reference(
            rules.filter((r) => !r.cidr.includes(':')),
            mode,
            form,
          ),
        );
        expect(ruleLines(plan, form, 6).text).toBe(
          reference(
            rules.filter((r) => r.cidr.includes(':')),
            mode,
            form,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('write an entry as its canonical text, with its description quoted (non-ASCII kept)', () => {
    const plan = analyze(
      stringify({
        version: 1,
        name: 'p',
        split_tunnel: { mode: 'include', entries: [{ address: '10.0.0.0/8' }, { address: '2001:DB8::/32' }, { address: '192.0.2.0/24', description: 'Büro # 1' }, { address: '198.51.100.0/24' }] },
        always_tunnel: ['172.64.128.0/20'],
      }),
    ).plan!;
    expect(entryCommentLines(plan).text).toBe(
      ['#   include 10.0.0.0/8', '#   include 2001:db8::/32', '#   include 192.0.2.0/24  Büro # 1', '#   include 198.51.100.0/24', '#   always 172.64.128.0/20  always in the tunnel', ''].join('\n'),
    );
    expect(entryCommentLines(plan, 4).text).toBe(
      ['#   include 10.0.0.0/8', '#   include 192.0.2.0/24  Büro # 1', '#   include 198.51.100.0/24', '#   always 172.64.128.0/20  always in the tunnel', ''].join('\n'),
    );
    expect(entryCommentLines(plan, 6).text).toBe('#   include 2001:db8::/32\n');
  });
});
