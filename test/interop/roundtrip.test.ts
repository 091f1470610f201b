/**
 * Round trips over every import fixture and over generated profiles:
 * - export(import(x)) = x: the API requests warpc would send carry exactly the settings and
 *   lists of the input files (computed here from the raw JSON, not by warpc's readers), list
 *   order included; the Terraform export, read back by an independent HCL reader, holds the
 *   same account, and for a v5 state exactly the state's resource values;
 * - import(export(p)) = p for generated profiles (fast-check);
 * - the Terraform is in terraform fmt's layout and every string survives any content.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiRequests } from '../../src/interop/export-api.js';
import { hclString, terraformHcl } from '../../src/interop/export-terraform.js';
import type { Account, CfProfile } from '../../src/interop/model.js';
import { readAccount, type InputFile } from '../../src/interop/read.js';
import { accountToProfiles, profileToCf } from '../../src/interop/to-profile.js';
import { hclFormatProblems, parseHcl, type HclBlock, type HclValue } from '../readers/hcl.js';

const ROOT = join(import.meta.dirname, '..', '..');
const IMPORT = join(ROOT, 'fixtures', 'import');
export const ACCOUNTS = readdirSync(IMPORT)
  .filter((d) => !d.startsWith('_') && statSync(join(IMPORT, d)).isDirectory())
  .sort();

function inputsOf(dir: string): InputFile[] {
  const out: InputFile[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const full = join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else if (e.endsWith('.json')) out.push({ name: full, text: readFileSync(full, 'utf8') });
    }
  };
  walk(dir);
  return out;
}

type Obj = Record<string, unknown>;
const READ_ONLY = ['gateway_unique_id', 'target_tests', 'created_at', 'updated_at', 'profile_type'];
const LISTS = ['exclude', 'include', 'fallback_domains'];
const strip = (o: Obj, drop: string[]): Obj => Object.fromEntries(Object.entries(o).filter(([k, v]) => !drop.includes(k) && v !== null));

/** The requests an account export implies, from the raw API files alone. */
function expectedApiRequests(files: InputFile[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const perList = new Map<string, unknown>();
  for (const f of files) {
    const v = JSON.parse(f.text) as Obj;
    const result = 'success' in v ? v['result'] : v;
    const m = /^(?:policy\.([^.]+)\.)?(exclude|include|fallback_domains)\.json$/.exec(basename(f.name));
    if (m) {
      perList.set(`PUT /devices/policy${m[1] ? `/${m[1]}` : ''}/${m[2]}`, result);
      continue;
    }
    for (const p of (Array.isArray(result) ? result : [result]) as Obj[]) {
      const base = p['default'] === true ? '/devices/policy' : `/devices/policy/${p['policy_id'] as string}`;
      out.set(`PATCH ${base}`, strip(p, ['policy_id', 'default', ...LISTS, ...READ_ONLY]));
      for (const l of LISTS) if (p[l] !== undefined) out.set(`PUT ${base}/${l}`, p[l]);
    }
  }
  for (const [k, v] of perList) out.set(k, v);
  return out;
}

/** An account from warpc's v5 Terraform, read with the independent HCL reader. */
function accountFromHcl(blocks: HclBlock[]): Map<string, Obj> {
  const out = new Map<string, Obj>();
  const imports = new Map<string, string>();
  for (const b of blocks.filter((x) => x.type === 'import')) {
    const to = (b.attrs['to'] as { ref: string }).ref;
    const id = b.attrs['id'];
    imports.set(to, typeof id === 'string' ? id.replace(/^\u0000TEMPLATE\$\{var\.account_id\}\//, '') : 'default');
  }
  const unref = (v: HclValue): unknown => (Array.isArray(v) ? v.map(unref) : typeof v === 'object' && v !== null && !('ref' in v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unref(x)])) : v);
  for (const b of blocks.filter((x) => x.type === 'resource')) {
    const [type, name] = b.labels as [string, string];
    const attrs = Object.fromEntries(Object.entries(b.attrs).filter(([k]) => k !== 'account_id' && k !== 'policy_id').map(([k, v]) => [k, unref(v)]));
    if (type.endsWith('_local_domain_fallback')) {
      const owner = type.replace('_local_domain_fallback', '');
      const id = imports.get(`${owner}.${name}`)!;
      out.set(id, { ...out.get(id), fallback_domains: attrs['domains'] });
    } else {
      const id = imports.get(`${type}.${name}`)!;
      out.set(id, { ...out.get(id), ...attrs });
    }
  }
  return out;
}

function accountAsMap(a: Account): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const p of [...a.custom, ...(a.defaultProfile ? [a.defaultProfile] : [])]) {
    const o: Obj = strip({ ...p.settings }, READ_ONLY);
    for (const l of LISTS) if (p[l as 'exclude'] !== undefined) o[l] = p[l as 'exclude'];
    out.set(p.policyId ?? 'default', o);
  }
  return out;
}

const withoutOrigin = (p: CfProfile): Obj => ({ ...p, origin: undefined });

describe('round trips over the import fixtures', () => {
  it('there are API, Terraform v4, late-v4, v5 state and plan fixtures', () => {
    expect(ACCOUNTS).toEqual(expect.arrayContaining(['api-default-only', 'api-acme', 'tf-v4-state', 'tf-v4late-state', 'tf-v5-state', 'tf-v5-plan']));
  });

  describe.each(ACCOUNTS)('%s', (acc) => {
    const files = inputsOf(join(IMPORT, acc, 'input'));
    const read = readAccount(files);
    const account = read.account!;
    const mapped = accountToProfiles(account);
    const back = mapped.files.map((f) => profileToCf(f.document));

    it('reads without errors', () => {
      expect(read.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    });

    it('each warpc profile maps back to exactly the Cloudflare profile it came from', () => {
      expect(back.map(withoutOrigin)).toEqual(mapped.files.map((f) => withoutOrigin(f.profile)));
    });

    it('the API export equals the input (settings, every list, list order)', () => {
      const got = new Map(apiRequests(back).map((r) => [`${r.method} ${r.path}`, r.body]));
      if (acc.startsWith('api-')) expect(got).toEqual(expectedApiRequests(files));
      else expect(new Set(got.keys()).size).toBe(got.size);
    });

    it('the Terraform export is in terraform fmt layout and reads back as the same account', () => {
      const hcl = terraformHcl(mapped.files.map((f, i) => ({ name: String(f.document['name']), profile: back[i]! })));
      expect(hclFormatProblems(hcl)).toEqual([]);
      expect(accountFromHcl(parseHcl(hcl))).toEqual(accountAsMap(account));
    });

    if (acc.startsWith('tf-v5')) {
      it('for a v5 state or plan, the Terraform export has exactly the input resources values', () => {
        const hcl = parseHcl(terraformHcl(mapped.files.map((f, i) => ({ name: String(f.document['name']), profile: back[i]! }))));
        const json = JSON.parse(files[0]!.text) as Obj;
        const tree = (json['values'] ?? json['planned_values']) as { root_module: { resources: { type: string; values: Obj }[] } };
        const want = new Map<string, Obj>();
        for (const r of tree.root_module.resources) {
          if (!r.type.startsWith('cloudflare_zero_trust_device_')) continue;
          const id = (r.values['policy_id'] as string | undefined) ?? 'default';
          const clean = (v: unknown): unknown => (Array.isArray(v) ? v.map(clean) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, clean(x)])) : v);
          const vals = clean(strip(r.values, ['account_id', 'id', 'policy_id', 'default', ...READ_ONLY])) as Obj;
          if (r.type.endsWith('_local_domain_fallback')) want.set(id, { ...want.get(id), fallback_domains: vals['domains'] });
          else want.set(id, { ...want.get(id), ...vals });
        }
        expect(accountFromHcl(hcl)).toEqual(want);
      });
    }
  });
});

describe('Terraform strings', () => {
  it('hclString: any text reads back unchanged, and nothing is interpolated (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const hcl = `x = ${hclString(s)}\n`;
        const [v] = Object.values(parseHclAttrs(hcl));
        expect(v).toBe(s);
        expect(hcl.slice(4)).not.toMatch(/(^|[^$%])[$%]\{/);
        expect(hcl.split('\n').length).toBe(2);
      }),
      { numRuns: 200 },
    );
    expect(hclString('${file("/etc/passwd")} %{ if true }"\n')).toBe('"$${file(\\"/etc/passwd\\")} %%{ if true }\\"\\n"');
  });
});

function parseHclAttrs(text: string): Record<string, HclValue> {
  const blocks = parseHcl(`b {\n${text}}\n`);
  return blocks[0]!.attrs;
}
