/**
 * Terraform (Cloudflare provider v5) configuration for a set of profiles, in `terraform fmt`'s
 * canonical layout (two-space indents; `=` aligned over each run of single-line attributes, as
 * hclwrite's format does). Existing profiles (those with a policy_id) get an `import` block, so
 * `terraform plan` adopts them instead of creating copies.
 *
 * Every string goes through hclString, the one quoting function: `"` and `\` escaped, control
 * characters as \uXXXX, and template sequences (`${`, `%{`) doubled so nothing is interpolated.
 *
 * Decides: resource names and layout. Must not touch: files.
 */
import { READ_ONLY_FIELDS, type CfProfile } from './model.js';

/** An HCL quoted string literal whose value is exactly `s`. */
export function hclString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if ((c === '$' || c === '%') && s[i + 1] === '{') out += `${c}${c}`;
    else out += c;
  }
  return `${out}"`;
}

/** A raw expression (a reference such as var.account_id), written as is. */
export interface Ref {
  readonly ref: string;
}
type Value = string | number | boolean | null | Ref | readonly Value[] | { readonly [k: string]: Value };
const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && 'ref' in v && Object.keys(v).length === 1;

function scalar(v: Value): string | null {
  if (v === null) return 'null';
  if (typeof v === 'string') return hclString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (isRef(v)) return v.ref;
  if (Array.isArray(v) && v.every((x) => scalar(x as Value) !== null && !Array.isArray(x) && (typeof x !== 'object' || x === null || isRef(x)))) return `[${v.map((x) => scalar(x as Value)).join(', ')}]`;
  return null;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The lines of a body: attributes in order, single-line ones aligned in runs. */
function body(attrs: readonly (readonly [string, Value])[], indent: number): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let run: [string, string][] = [];
  const flush = (): void => {
    const w = Math.max(0, ...run.map(([k]) => k.length));
    for (const [k, v] of run) lines.push(`${pad}${k.padEnd(w)} = ${v}`);
    run = [];
  };
  for (const [k0, v] of attrs) {
    const k = KEY.test(k0) ? k0 : hclString(k0);
    const s = scalar(v);
    if (s !== null) {
      run.push([k, s]);
      continue;
    }
    flush();
    lines.push(...multiline(`${pad}${k} = `, v, indent));
  }
  flush();
  return lines;
}

/** A tuple of objects or an object, over several lines; `head` is the text before it. */
function multiline(head: string, v: Value, indent: number, tail = ''): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${head}[]${tail}`];
    const inner: string[] = [];
    for (const item of v) {
      const s = scalar(item as Value);
      if (s !== null) inner.push(`${pad}  ${s},`);
      else inner.push(...multiline(`${pad}  `, item as Value, indent + 2, ','));
    }
    return [`${head}[`, ...inner, `${pad}]${tail}`];
  }
  const entries = Object.entries(v as Record<string, Value>);
  if (entries.length === 0) return [`${head}{}${tail}`];
  return [`${head}{`, ...body(entries, indent + 2), `${pad}}${tail}`];
}

/** A resource name from a profile name: letters, digits and underscores, starting with a letter. */
export function resourceName(name: string): string {
  const n = name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z]/.test(n) ? n : `p_${n}`;
}

const entryValue = (e: { address?: string; host?: string; description?: string }): Value => ({
  ...(e.address !== undefined ? { address: e.address } : {}),
  ...(e.host !== undefined ? { host: e.host } : {}),
  ...(e.description !== undefined ? { description: e.description } : {}),
});

export const TF_DEFAULT = 'cloudflare_zero_trust_device_default_profile';
export const TF_CUSTOM = 'cloudflare_zero_trust_device_custom_profile';
export const TF_DEFAULT_LDF = 'cloudflare_zero_trust_device_default_profile_local_domain_fallback';
export const TF_CUSTOM_LDF = 'cloudflare_zero_trust_device_custom_profile_local_domain_fallback';

/** `profiles` pairs each Cloudflare profile with the warpc profile name it came from (resource names follow it). */
export function terraformHcl(profiles: readonly { readonly name: string; readonly profile: CfProfile }[]): string {
  const blocks: string[][] = [['variable "account_id" {', '  type = string', '}']];
  const used = new Set<string>();
  for (const { name, profile: p } of profiles) {
    let rn = resourceName(name);
    for (let n = 2; used.has(rn); n++) rn = `${resourceName(name)}_${n}`;
    used.add(rn);
    const type = p.policyId === null ? TF_DEFAULT : TF_CUSTOM;
    const attrs: [string, Value][] = [['account_id', { ref: 'var.account_id' }]];
    for (const [k, v] of Object.entries(p.settings)) if (!READ_ONLY_FIELDS.has(k)) attrs.push([k, v as Value]);
    for (const l of ['exclude', 'include'] as const) if (p[l] !== undefined) attrs.push([l, p[l].map(entryValue)]);
    blocks.push([`resource ${hclString(type)} ${hclString(rn)} {`, ...body(attrs, 2), '}']);
    if (p.policyId !== null) blocks.push(['import {', ...body([['to', { ref: `${type}.${rn}` }], ['id', { ref: `"\${var.account_id}/${hclString(p.policyId).slice(1, -1)}"` }]], 2), '}']);
    else blocks.push(['import {', ...body([['to', { ref: `${type}.${rn}` }], ['id', { ref: 'var.account_id' }]], 2), '}']);
    if (p.fallback_domains !== undefined) {
      const ldf = p.policyId === null ? TF_DEFAULT_LDF : TF_CUSTOM_LDF;
      const la: [string, Value][] = [['account_id', { ref: 'var.account_id' }]];
      if (p.policyId !== null) la.push(['policy_id', { ref: `${type}.${rn}.policy_id` }]);
      la.push([
        'domains',
        p.fallback_domains.map((f) => ({ suffix: f.suffix, ...(f.description !== undefined ? { description: f.description } : {}), ...(f.dns_server !== undefined ? { dns_server: [...f.dns_server] } : {}) })),
      ]);
      blocks.push([`resource ${hclString(ldf)} ${hclString(rn)} {`, ...body(la, 2), '}']);
    }
  }
  return `${blocks.map((b) => b.join('\n')).join('\n\n')}\n`;
}
