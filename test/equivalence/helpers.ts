/**
 * Helpers for the equivalence tests. Every target, read back by its independent reader, sends every probe address
 * the way the plan does, and sets the plan's DNS. Random valid profiles × probes
 * at the edges of every prefix of the plan and at random.
 */
import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { stringify } from 'yaml';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import type { Plan } from '../../src/plan/types.js';
import { validProfile } from '../helpers/arbitraries.js';
import { readMacos } from '../readers/macos.js';
import { readAndroid, readIos } from '../readers/mobile.js';
import type { TargetModel } from '../readers/model.js';
import { readApplyNetsh, readApplyPs1 } from '../readers/windows.js';


/** Random profiles, plus what the shared arbitrary leaves out: an IPv6 interface address and search domains. */
export const profileArb = fc
  .tuple(validProfile, fc.boolean(), fc.array(fc.constantFrom('corp.example.com', 'example.net', 'a.b.c'), { maxLength: 2 }))
  .map(([p, v6, search]) => {
    const out: Record<string, unknown> = { ...p };
    if (v6) out['interface'] = { ipv6: '2606:4700:110:8a2e::2' };
    if (search.length) out['dns'] = { ...(p['dns'] as object), search: [...new Set(search)] };
    return out;
  });

/** Edges of every range of the plan's sets (first, last, just outside), from ip-cidr, not from the compiler. */
export function edges(plan: Plan): string[] {
  const out: string[] = [];
  for (const set of [plan.split.tunnel.v4, plan.split.tunnel.v6, plan.split.direct.v4, plan.split.direct.v6]) {
    for (const c of set.toCidrs()) {
      const r = new IPCIDR(c);
      out.push(r.start(), r.end());
      const fam = c.includes(':') ? 6 : 4;
      const lo = r.start({ type: 'bigInteger' }) as unknown as bigint;
      const hi = r.end({ type: 'bigInteger' }) as unknown as bigint;
      const max = fam === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
      if (lo > 0n) out.push(fromBig(fam, lo - 1n));
      if (hi < max) out.push(fromBig(fam, hi + 1n));
    }
  }
  for (const b of plan.split.bypass) out.push(b.address);
  return out;
}

function fromBig(fam: 4 | 6, v: bigint): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return g.join(':');
}

export const randomV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
export const randomV6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));

export function compileAll(profile: Record<string, unknown>): { plan: Plan; files: Map<string, Map<string, string>>; warnings: string[] } {
  const r = compile(stringify(profile), TARGETS);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r.plan) throw new Error(`compile failed: ${errors.map((d) => d.message).join('; ')}`);
  const files = new Map<string, Map<string, string>>();
  for (const [path, f] of r.files) {
    const [target, ...rest] = path.split('/');
    if (rest.length === 0) continue;
    if (!files.has(target!)) files.set(target!, new Map());
    files.get(target!)!.set(rest.join('/'), f.text);
  }
  return { plan: r.plan, files, warnings: r.diagnostics.map((d) => d.message) };
}

export function models(plan: Plan, files: Map<string, Map<string, string>>): Record<string, TargetModel> {
  const mac = files.get('macos') ?? new Map<string, string>();
  const win = files.get('windows') ?? new Map<string, string>();
  const out: Record<string, TargetModel> = {
    macos: readMacos(mac, plan.targets.macos.interface),
    ios: readIos(files.get('ios')!.get('network-settings.json')!),
    android33: readAndroid(files.get('android')!.get('vpn-service.json')!, 'calls'),
    android: readAndroid(files.get('android')!.get('vpn-service.json')!, 'callsBeforeApi33'),
  };
  if (win.has('apply.ps1')) {
    out['windows.ps1'] = readApplyPs1(win);
    out['windows.netsh'] = readApplyNetsh(win);
  }
  return out;
}

