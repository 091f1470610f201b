/**
 * Hostile input: quotes, $( ), backticks, ;, newlines, NUL, Unicode quotes and
 * very long strings in every string field of random profiles. The compiler
 * either reports coded diagnostics (never throws) or writes artifacts that still
 * pass their language's checker, with the text only where it is safely quoted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { missingPrerequisites } from '../helpers/e2e.js';
import { validProfile } from '../helpers/arbitraries.js';
import { Netns, NetnsPool } from '../helpers/netns.js';

const NASTY = [
  `'`, `"`, '`id`', '$(reboot)', '${HOME}', '; rm -rf /', '\n', '\r\n', '\u0000', '\t', '\\', '#', '%PATH%', '^&|<>',
  '‘', '’', '‚', '‛', '“', '”', '\u2028', '\u202e', '}', '{', '*', '..', ' ', '-', '\u00a0', 'é', '𝔘',
];
const nasty = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.array(fc.constantFrom(...NASTY, 'a', 'x.y', '10.0.0.0/8', 'corp'), { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
  fc.string({ maxLength: 12 }),
  fc.constant('x'.repeat(5000)),
);

/** Every string field of the profile, by path. */
const STRING_FIELDS: (string | number)[][] = [
  ['name'],
  ['split_tunnel', 'entries', 0, 'description'],
  ['split_tunnel', 'entries', 0, 'address'],
  ['split_tunnel', 'entries', 1, 'host'],
  ['split_tunnel', 'entries', 1, 'description'],
  ['fallback_domains', 0, 'suffix'],
  ['fallback_domains', 0, 'description'],
  ['fallback_domains', 0, 'dns_server', 0],
  ['always_tunnel', 0],
  ['interface', 'ipv4'],
  ['interface', 'ipv6'],
  ['tunnel', 'endpoint'],
  ['tunnel', 'peer_public_key'],
  ['dns', 'doh_url'],
  ['dns', 'doh_addresses', 0],
  ['dns', 'search', 0],
  ['orchestration', 'url'],
  ['targets', 'linux', 'interface'],
  ['targets', 'linux', 'nft_table'],
  ['targets', 'macos', 'pf_anchor'],
  ['targets', 'windows', 'interface'],
];

function setIn(obj: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur: Record<string | number, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    if (cur[k] === undefined || typeof cur[k] !== 'object') cur[k] = typeof path[i + 1] === 'number' ? [] : {};
    cur = cur[k] as Record<string | number, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

const hostileProfile = fc
  .tuple(validProfile, fc.array(fc.tuple(fc.constantFrom(...STRING_FIELDS), nasty), { minLength: 1, maxLength: 4 }), fc.constantFrom('descriptions-only', 'anything'))
  .map(([p, edits, kind]) => {
    const q = structuredClone(p) as Record<string, unknown>;
    if (!q['split_tunnel']) q['split_tunnel'] = { entries: [] };
    const st = q['split_tunnel'] as { entries: Record<string, unknown>[] };
    while (st.entries.length < 2) st.entries.push({ address: '10.0.0.0/8' });
    if (q['service_mode'] !== 'warp_tunnel_only') st.entries[1] = { host: 'h.example.com' };
    for (const [path, value] of edits) {
      if (kind === 'descriptions-only' && path[path.length - 1] !== 'description') continue;
      setIn(q, path, value);
    }
    return q;
  });

const canCheck = missingPrerequisites(['nft', 'ip', 'sh', 'bash']).length === 0;

describe('hostile strings in every field', () => {
  const pool = new NetnsPool();
  let ns: Netns | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warpc-hostile-'));
    if (canCheck) ns = await pool.create('hostile');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.cleanup();
  });

  it('give coded diagnostics or artifacts that pass sh -n / bash -n / nft -c with the text only in comments or JSON', async () => {
    if (process.env['WARPC_E2E'] === 'required') expect(canCheck, 'nft, ip, sh and bash are needed').toBe(true);
    const samples = fc.sample(hostileProfile, { numRuns: 120, seed: 20261125 });
    let compiled = 0;
    let refused = 0;
    for (const [i, p] of samples.entries()) {
      let source: string;
      try {
        source = stringify(p);
      } catch {
        continue; // not representable as YAML (a lone surrogate, say)
      }
      const result = compile(source, TARGETS);
      for (const d of result.diagnostics) {
        expect(d.code).toMatch(/^WARPC\d{4}$/);
        expect(d.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
      }
      if (result.diagnostics.some((d) => d.severity === 'error')) {
        refused++;
        expect(result.files.size).toBe(0);
        continue;
      }
      compiled++;
      const out = join(dir, String(i));
      const descriptions = collectDescriptions(p);
      for (const [path, f] of result.files) {
        const full = join(out, path);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, f.text);
        if (path.endsWith('.sh')) {
          execFileSync('sh', ['-n', full]);
          execFileSync('bash', ['-n', full]);
        }
        if (path.endsWith('.json')) JSON.parse(f.text);
        if (path.startsWith('linux/') && !path.endsWith('.json')) {
          // Free text may only appear on comment lines.
          for (const line of f.text.split('\n')) {
            for (const d of descriptions) {
              if (d.length >= 4 && /['"`$;\\{}%^&|<>‘’‚‛“”]/.test(d) && line.includes(d)) expect(line.trimStart().startsWith('#'), `${path}: "${line}"`).toBe(true);
            }
          }
        }
      }
      if (ns && result.files.has('linux/ruleset.nft')) await ns.run('nft', ['-c', '-f', join(out, 'linux', 'ruleset.nft')]);
    }
    // Both outcomes must really happen, or the test proves nothing.
    expect(compiled).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
  });
});

function collectDescriptions(p: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
    else if (typeof v === 'string' && key === 'description') out.push(v);
  };
  walk(p, '');
  return out;
}

describe('fuzz: the compiler never throws', () => {
  const yamlish = fc.array(fc.constantFrom('version: 1\n', 'split_tunnel:\n', '  entries:\n', '    - ', '{', '}', '[', ']', ':', '&a ', '*a', '!!str ', '"', "'", '\n', '  ', 'address: 10.0.0.0/8', 'host: x', '---\n', '#', '\u0000', '\t', '0x100cf', 'null', '~', '- ', 'mode: include\n', 'entries: []\n'), { maxLength: 30 }).map((a) => a.join(''));
  it('on random YAML-ish text and random structures', () => {
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 }), fc.jsonValue().map((v) => stringify({ version: 1, split_tunnel: v }))), (text) => {
        const r = analyze(text);
        for (const d of r.diagnostics) expect(d.code).toMatch(/^WARPC\d{4}$/);
        expect(r.plan === null).toBe(r.diagnostics.some((d) => d.severity === 'error'));
      }),
      { numRuns: 1500 },
    );
  });
});
