/** The match language: parsing, canonical printing, evaluation, and errors with their columns. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, selectProfile, type Candidate, type Device } from '../../src/match/eval.js';
import { matchDiagnostic } from '../../src/match/diagnose.js';
import { formatMatch, parseMatch, type MatchExpr } from '../../src/match/parse.js';

const ok = (text: string): MatchExpr => {
  const r = parseMatch(text);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.error)}`);
  return r.expr;
};

describe('match: parsing', () => {
  it('reads the documented examples', () => {
    const e = ok('identity.email in {"jdoe@example.com"} or any(identity.groups.name[*] in {"developers" "admin"}) and os.name == "windows"');
    // and binds tighter than or
    expect(e.kind).toBe('or');
    expect(e.kind === 'or' && e.right.kind).toBe('and');
    expect(ok('os.name in {"windows" "mac"}')).toMatchObject({ kind: 'in', selector: 'os.name', values: ['windows', 'mac'] });
    expect(ok('network == "Austin office"')).toMatchObject({ kind: 'compare', selector: 'network', op: '==', value: 'Austin office' });
    expect(ok('not (os.name == "ios" || os.name == "android") && !network != "x"').kind).toBe('and');
    expect(ok('any(identity.groups.id[*] == "abc")')).toMatchObject({ kind: 'any', values: ['abc'] });
    expect(ok('identity.email == "a\\"b\\\\c"')).toMatchObject({ value: 'a"b\\c' });
  });

  it('parentheses change grouping', () => {
    expect(ok('(os.name == "a" or os.name == "b") and network == "n"').kind).toBe('and');
    expect(ok('os.name == "a" or os.name == "b" and network == "n"').kind).toBe('or');
  });

  it('formatMatch prints text that parses back to the same tree (property)', () => {
    const str = fc.string({ maxLength: 6 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
    const leaf = fc.oneof(
      fc.record({ kind: fc.constant('compare' as const), selector: fc.constantFrom('identity.email' as const, 'os.name' as const, 'network' as const), op: fc.constantFrom('==' as const, '!=' as const), value: str }),
      fc.record({ kind: fc.constant('in' as const), selector: fc.constantFrom('os.version' as const, 'identity.service_token_uuid' as const), values: fc.array(str, { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('any' as const), selector: fc.constantFrom('identity.groups.name' as const, 'identity.saml_attributes' as const), values: fc.array(str, { minLength: 1, maxLength: 3 }) }),
    );
    type Shape = { kind: string; [k: string]: unknown };
    const tree: fc.Arbitrary<Shape> = fc.letrec<{ t: Shape }>((tie) => ({
      t: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ kind: fc.constantFrom('and', 'or'), left: tie('t'), right: tie('t') }), fc.record({ kind: fc.constant('not'), operand: tie('t') })),
    })).t;
    // Compare by evaluation on random devices (the printed form may re-associate a chain of one operator).
    const device = fc.record({ email: fc.option(str, { nil: undefined }), os: fc.constantFrom(undefined, 'linux' as const, 'mac' as const), network: fc.option(str, { nil: undefined }), groups: fc.array(str, { maxLength: 2 }) });
    fc.assert(
      fc.property(tree, fc.array(device, { minLength: 1, maxLength: 5 }), (t, devices) => {
        const text = formatMatch(t as unknown as MatchExpr);
        const back = ok(text);
        expect(formatMatch(back)).toBe(text);
        for (const d of devices) expect(evaluate(back, d as Device)).toBe(evaluate(t as unknown as MatchExpr, d as Device));
      }),
      { numRuns: 300 },
    );
  });
});

describe('match: errors point at the column inside the expression', () => {
  const cases: [string, string, number, RegExp][] = [
    ['', 'WARPC0180', 1, /empty/],
    ['os.name = "mac"', 'WARPC0180', 9, /"=" is not an operator/],
    ['os.name == mac', 'WARPC0180', 12, /expected a quoted string/],
    ['os.name == "mac', 'WARPC0180', 12, /not closed/],
    ['os.nam == "mac"', 'WARPC0181', 1, /unknown selector "os.nam"/],
    ['os.name in {}', 'WARPC0180', 12, /empty set/],
    ['os.name in {"a" "b"', 'WARPC0180', 12, /set is not closed/],
    ['os.name in ["a"]', 'WARPC0180', 12, /only "\[\*\]"/],
    ['(os.name == "a"', 'WARPC0180', 16, /expected "\)" to close the "\(" at column 1/],
    ['os.name == "a" and', 'WARPC0180', 19, /expected a selector/],
    ['os.name == "a" os.name == "b"', 'WARPC0180', 16, /expected "and", "or"/],
    ['identity.groups.name == "dev"', 'WARPC0182', 1, /several values per device/],
    ['network == "x" and any(os.name[*] in {"mac"})', 'WARPC0183', 24, /one value per device/],
    ['any(identity.groups.name in {"a"})', 'WARPC0180', 26, /expected "\[\*\]"/],
    ['os.name == "a\\nb"', 'WARPC0180', 14, /unknown escape/],
    ['os.name == "a" $ 1', 'WARPC0180', 16, /unexpected character "\$"/],
    ['os.version >= "10"', 'WARPC0180', 12, /unexpected character ">"|expected "==", "!=" or "in"/],
  ];
  it.each(cases)('%j → %s at column %i', (text, code, col, message) => {
    const r = parseMatch(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const d = matchDiagnostic(r.error, { line: 3, col: 10 });
    expect(d.code).toBe(code);
    expect(d.line).toBe(3);
    expect(d.col - 10 + 1).toBe(col);
    expect(d.message).toMatch(message);
  });
});

describe('match: choosing a profile', () => {
  const profiles: Candidate[] = [
    { name: 'b', policyId: 'p2', precedence: 20, enabled: true, match: 'os.name == "windows"' },
    { name: 'a', policyId: 'p1', precedence: 10, enabled: true, match: 'any(identity.groups.name[*] in {"dev"})' },
    { name: 'off', policyId: 'p0', precedence: 1, enabled: false, match: 'os.name == "windows"' },
  ];
  it('tries profiles by ascending precedence, skips disabled ones, falls back to the default', () => {
    const pick = (d: Device): string | null => selectProfile(profiles, d).chosen?.name ?? null;
    expect(pick({ os: 'windows', groups: ['dev'] })).toBe('a');
    expect(pick({ os: 'windows' })).toBe('b');
    expect(pick({ os: 'linux' })).toBeNull();
    const s = selectProfile(profiles, { os: 'linux' });
    expect(s.tried.map((t) => t.outcome)).toEqual(['disabled', 'not-matched', 'not-matched']);
    expect(s.tried[1]!.steps[0]).toMatchObject({ holds: false, saw: 'no groups given' });
  });
  it('an absent field: == and in are false, != is true; e-mail compares without case', () => {
    expect(evaluate(ok('identity.email != "a@x"'), {})).toBe(true);
    expect(evaluate(ok('identity.email in {"a@x"}'), {})).toBe(false);
    expect(evaluate(ok('identity.email == "Alice@Example.com"'), { email: 'alice@example.com' })).toBe(true);
    expect(evaluate(ok('network == "Austin"'), { network: 'austin' })).toBe(false);
  });
});

describe('match: the explanation of a negation', () => {
  it('shows a negated comparison as such, with what it read', () => {
    const steps: import('../../src/match/eval.js').Step[] = [];
    const r = parseMatch('network == "HQ" and not os.name in {"ios" "android"}');
    expect(r.ok && evaluate(r.expr, { network: 'HQ', os: 'linux' }, steps)).toBe(true);
    expect(steps).toEqual([
      { text: 'network == "HQ"', holds: true, saw: 'network is "HQ"' },
      { text: 'not os.name in {"ios" "android"}', holds: true, saw: 'os.name is "linux"' },
    ]);
  });
});
