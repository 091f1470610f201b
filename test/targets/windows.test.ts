/**
 * The Windows artifacts as Windows reads them: Windows PowerShell 5.1 reads a
 * script without a byte-order mark in the ANSI code page, cmd.exe always does,
 * so every file must lex the same decoded as cp1250/1251/1252 and as UTF-8.
 * Scripts have CRLF line endings. IPv6 neighbour discovery and MLD pass the
 * firewall.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { validFixtures } from '../helpers/fixtures.js';
import { compileAll } from '../equivalence/helpers.js';
import { tokenize } from '../readers/powershell.js';
import { cmdWords, readApplyNetsh, readApplyPs1, requireCrlf } from '../readers/windows.js';

const CODE_PAGES = ['windows-1250', 'windows-1251', 'windows-1252'] as const;

/** What a reader of this kind of file sees: PowerShell tokens, cmd words per line, or the text itself. */
function lex(path: string, text: string): unknown {
  if (path.endsWith('.ps1')) return tokenize(text);
  if (path.endsWith('.cmd')) return text.split('\r\n').map((l) => cmdWords(l, null).words);
  return text;
}

/** Every Windows file lexes the same in UTF-8 and in each ANSI code page (or the difference, for the message). */
function expectSameInEveryCodePage(files: ReadonlyMap<string, string>): void {
  for (const [path, text] of files) {
    const bytes = Buffer.from(text, 'utf8');
    const utf8 = lex(path, new TextDecoder('utf-8').decode(bytes));
    for (const cp of CODE_PAGES) {
      let seen: unknown;
      try {
        seen = lex(path, new TextDecoder(cp).decode(bytes));
      } catch (err) {
        seen = `does not lex: ${String(err)}`;
      }
      expect(seen, `${path} read as ${cp}`).toEqual(utf8);
    }
  }
}

const INJECTION = 'ő) + (Write-Host INJECTED) + (ő';
const ORDINARY = ['Połączenie', 'Сеть', 'Ünïcödé ‚quotes‘ ’', '\u{1F600} emoji'];

function withDescriptions(descs: readonly string[]): Record<string, unknown> {
  return {
    version: 1,
    name: 'codepages',
    split_tunnel: { mode: 'exclude', entries: descs.map((d, i) => ({ address: `10.${i}.0.0/16`, description: d })) },
    tunnel: { peer_public_key: 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=' },
  };
}

describe('Windows files read the same in every code page', () => {
  it('the injection description and ordinary Polish and Russian ones', () => {
    const descs = [INJECTION, ...ORDINARY];
    const { files } = compileAll(withDescriptions(descs));
    const win = files.get('windows')!;
    expectSameInEveryCodePage(win);
    expect(readApplyPs1(win.get('apply.ps1')!).texts.slice(0, descs.length)).toEqual(descs);
  });
  it('random descriptions', () => {
    const unit = fc.constantFrom("'", '‘', '’', '‚', '‛', '"', '`', '$', '(', ')', '+', ' ', 'a', 'ő', 'ł', 'т', 'С', 'é', 'ą', '€', '\u{1F600}', '中');
    fc.assert(
      fc.property(fc.array(fc.array(unit, { minLength: 1, maxLength: 10 }).map((u) => u.join('')), { minLength: 1, maxLength: 3 }), (descs) => {
        const { files } = compileAll(withDescriptions(descs));
        const win = files.get('windows')!;
        expectSameInEveryCodePage(win);
        expect(readApplyPs1(win.get('apply.ps1')!).texts.slice(0, descs.length)).toEqual(descs);
      }),
      { numRuns: 60 },
    );
  });
  it('every fixture', () => {
    for (const fx of validFixtures()) {
      const r = compile(fx.source, TARGETS);
      const win = new Map([...r.files].filter(([p]) => p.startsWith('windows/')).map(([p, f]) => [p, f.text]));
      expectSameInEveryCodePage(win);
      for (const [p, t] of win) expect(t, p).toMatch(/^[\x00-\x7f]*$/);
    }
  });
});

describe('Windows scripts have CRLF line endings', () => {
  it('every .ps1 and .cmd of every fixture, and the readers insist', () => {
    let n = 0;
    for (const fx of validFixtures()) {
      for (const [p, f] of compile(fx.source, TARGETS).files) {
        if (!/^windows\/.*\.(ps1|cmd)$/.test(p)) continue;
        requireCrlf(f.text, p);
        n++;
      }
    }
    expect(n).toBeGreaterThan(8);
    expect(() => requireCrlf('a\r\nb\n', 'x')).toThrow(/line 2 ends in LF/);
    const { files } = compileAll(withDescriptions(['x']));
    expect(() => readApplyNetsh(files.get('windows')!.get('apply.netsh.cmd')!.replace(/\r\n/g, '\n'))).toThrow(/CRLF/);
  });
});

describe('IPv6 neighbour discovery and MLD pass the Windows firewall', () => {
  // Solicited-node multicast (NS), all-nodes and all-routers (RA, RS), MLDv2 reports, a link-local neighbour.
  const NDP = ['ff02::1:ff00:1', 'ff02::1', 'ff02::2', 'ff02::16', 'fe80::1', 'fe80::abcd:1234'];
  it.each([
    ['include ::/0', { mode: 'include', entries: [{ address: '::/0' }] }],
    ['exclude without link-local', { mode: 'exclude', entries: [{ address: '10.0.0.0/8' }] }],
    ['include fe80::/10 and ff00::/8', { mode: 'include', entries: [{ address: 'fe80::/10' }, { address: 'ff00::/8' }] }],
  ])('%s: the tunnel set holds them, the firewall blocks none', (_, split) => {
    const { plan, files } = compileAll({ version: 1, name: 'ndp', split_tunnel: split, tunnel: { peer_public_key: 'bmXOC+F1FxEMF9dyiK2H5/1SUtzH0JuVo51h2wPfgyo=' } });
    const fw = readApplyPs1(files.get('windows')!.get('apply.ps1')!);
    for (const a of NDP) {
      expect(fw.routes!.lookup(a), `${a} is tunnel-bound in this profile`).toBe('tunnel');
      expect(fw.blockedOffTunnel!(a), `${a} blocked off the tunnel`).toBe(false);
    }
    // The rest of the tunnel set stays blocked: the neighbours of fe80::/10 and ff02::/16.
    for (const a of ['fec0::1', 'ff03::1', 'ff01::1'].filter((x) => fw.routes!.lookup(x) === 'tunnel')) expect(fw.blockedOffTunnel!(a), a).toBe(true);
    expect(plan.features.firewall).toBe(true);
  });
});
