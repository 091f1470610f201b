/**
 * The seams between the parts, walked from the import statements themselves:
 * - the compiler side (targets/, src/emit/) never imports the runtime;
 * - the runtime (src/runtime/) imports only itself, src/contract/, src/net/ and
 *   the leaf modules src/version.ts and src/schemas.ts, never the profile, the
 *   plan, the emitters or the targets;
 * - src/contract/ imports only src/net/ and those leaf modules: a contract is
 *   what both sides agree on, so it may lean on neither;
 * - the CLI reaches a runtime platform only through src/runtime/platform.ts;
 * - src/profile/ never imports targets/ or src/emit/: each target's options reach the
 *   validator through its registry row;
 * - the agent (src/agent/) imports itself, the runtime, the contracts, src/net, the
 *   diagnostics table and the leaf modules: never the compiler (profile, plan, emit,
 *   targets, compile) — it applies what the orchestrator compiled; and it reaches a
 *   platform only through src/runtime/platform.ts and the runtime's shared helpers;
 * - src/orchestrator/ never imports the runtime, the agent or the CLI, and outside
 *   store/ only the Store interface (store/types.ts), never SQL.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const full = join(dir, e);
    if (statSync(full).isDirectory()) out.push(...tsFiles(full));
    else if (e.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** Every relative module a file imports or re-exports (static and dynamic), as repo-relative paths. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

function violations(dirs: readonly string[], allowed: (target: string) => boolean): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    for (const f of tsFiles(join(ROOT, d))) {
      for (const target of importsOf(f)) if (!allowed(target)) out.push(`${relative(ROOT, f)} imports ${target}`);
    }
  }
  return out;
}

/** Modules every part may use: where warpc is installed (version.ts) and its schema validators (schemas.ts). */
const LEAVES = ['src/version.ts', 'src/schemas.ts'];

const under = (target: string, ...prefixes: string[]): boolean => prefixes.some((p) => target === p || target.startsWith(`${p}/`));

describe('module boundaries', () => {
  it('the import reader sees static, re-exported and dynamic imports', () => {
    const seen = importsOf(join(ROOT, 'src/runtime/dns/config.ts'));
    expect(seen).toContain('src/contract/dns-proxy.ts');
    expect(seen).toContain('src/contract/json-file.ts');
  });

  it('targets/ and src/emit/ never import the runtime', () => {
    expect(violations(['targets', 'src/emit'], (t) => !under(t, 'src/runtime'))).toEqual([]);
  });

  it('src/runtime/ imports only the runtime, the contracts, src/net and the leaf modules', () => {
    expect(violations(['src/runtime'], (t) => under(t, 'src/runtime', 'src/contract', 'src/net', ...LEAVES))).toEqual([]);
  });

  it('the CLI never imports a platform folder: it talks to src/runtime/platform.ts', () => {
    expect(violations(['src/cli'], (t) => !under(t, 'src/runtime/linux'))).toEqual([]);
  });

  it('a runtime command on an OS without a platform is a clear failure, not a crash', async () => {
    const { AgentExit, currentPlatform } = await import('../../src/runtime/platform.js');
    await expect(currentPlatform('win32')).rejects.toBeInstanceOf(AgentExit);
    await expect(currentPlatform('win32')).rejects.toThrow(/does not run on win32 yet \(it runs on linux\)/);
    expect((await currentPlatform('linux')).target).toBe('linux');
  });

  it('src/profile/ never imports a target or the registry: targets hand their options in (src/compile.ts)', () => {
    expect(violations(['src/profile'], (t) => !under(t, 'targets', 'src/emit'))).toEqual([]);
  });

  it('src/contract/ imports only itself, src/net and the leaf modules', () => {
    expect(violations(['src/contract'], (t) => under(t, 'src/contract', 'src/net', ...LEAVES))).toEqual([]);
  });

  it('src/agent/ imports only itself, the runtime (never a platform\'s apply machinery), the contracts, src/net, the diagnostics and the leaf modules', () => {
    expect(violations(['src/agent'], (t) => under(t, 'src/agent', 'src/runtime', 'src/contract', 'src/net', 'src/diagnostics', ...LEAVES))).toEqual([]);
    const platformInternals = (t: string): boolean => under(t, 'src/runtime/linux') && !['src/runtime/linux/resolv.ts'].includes(t);
    expect(violations(['src/agent'], (t) => !platformInternals(t))).toEqual([]);
  });

  it('src/orchestrator/ may use the compiler and interop, never the runtime, the agent or the CLI; outside store/ it knows the Store interface only', () => {
    expect(violations(['src/orchestrator'], (t) => !under(t, 'src/runtime', 'src/agent', 'src/cli'))).toEqual([]);
    const serverSide = tsFiles(join(ROOT, 'src/orchestrator')).filter((f) => !f.includes('/store/'));
    const sql = serverSide.flatMap((f) => importsOf(f).filter((t) => under(t, 'src/orchestrator/store') && t !== 'src/orchestrator/store/types.ts').map((t) => `${relative(ROOT, f)} imports ${t}`));
    expect(sql).toEqual([]);
  });

  it('the orchestrator store imports only itself and src/net: it decides nothing about HTTP, tokens or bundles', () => {
    expect(violations(['src/orchestrator/store'], (t) => under(t, 'src/orchestrator/store', 'src/net'))).toEqual([]);
  });

  it('src/gateway/ (the reference gateway\'s peer sync, MASQUE clients and DoH resolver) imports only itself, the agent\'s client, the runtime\'s tunnel, MASQUE server and shared helpers, the contracts and the leaf modules', () => {
    expect(violations(['src/gateway'], (t) => under(t, 'src/gateway', 'src/agent', 'src/runtime/tunnel', 'src/runtime/masque', 'src/runtime/linux/resolv.ts', 'src/contract', 'src/net', 'src/diagnostics', ...LEAVES))).toEqual([]);
  });

  it('the leaf modules import nothing of warpc but each other', () => {
    for (const leaf of LEAVES)
      expect(
        importsOf(join(ROOT, leaf)).filter((t) => !LEAVES.includes(t)),
        leaf,
      ).toEqual([]);
  });
});
