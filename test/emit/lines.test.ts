/** Lines rendered in code for long lists (src/emit/render.ts renderLines), and the template helper that inserts them. */
import { describe, expect, it } from 'vitest';
import { Lines, render, RenderError, renderLines } from '../../src/emit/render.js';

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
    const view = (entries: unknown) => ({ version: '1.0.0', name: 'p', family: 4, fwmark: 1, table: 2, priority: 3, ifname: 'wg0', exclude: true, entries, direct: renderLines([], () => ''), tunnel: renderLines([], () => ''), directCount: 0, tunnelCount: 0 });
    expect(render('linux', 'routes.batch.hbs', view(renderLines(['x'], (v, h) => `# ${h.ident(v)}`)))).toContain('\n# x\nrule add');
    // Text that did not go through renderLines (say, a profile's description) is refused.
    expect(() => render('linux', 'routes.batch.hbs', view('# x\nroute flush table main'))).toThrow(RenderError);
  });
});
