/**
 * `warpc explain --subtract A B…`: the minimal CIDRs of A minus the B's — the
 * subtraction the WARP docs send admins to a web calculator for (carving
 * 100.96.0.0/12 out of the default exclude 100.64.0.0/10).
 */
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatAddress, hostMaskOf, parseAddress, parsePrefix, type Prefix } from '../net/ip.js';
import { PrefixSet } from '../net/prefix-set.js';

function parse(text: string): Prefix | Diagnostic {
  const r = parsePrefix(text);
  if (r.ok) return r.prefix;
  if (r.error === 'host-bits') {
    const [addr, len] = text.split('/');
    const a = parseAddress(addr!)!;
    const network = a.value & ~hostMaskOf(a.family, Number(len));
    return diag('HostBitsSet', { value: text, suggestion: `${formatAddress(a.family, network)}/${len}` });
  }
  return diag('InvalidPrefix', { value: text, hint: r.error === 'length' ? ': the prefix length is out of range' : '' });
}

export function subtract(base: string, minus: readonly string[]): { cidrs: string[]; diagnostics: Diagnostic[] } {
  const parsed = [base, ...minus].map(parse);
  const bad = parsed.filter((p): p is Diagnostic => 'code' in p);
  if (bad.length > 0) return { cidrs: [], diagnostics: bad };
  const [a, ...bs] = parsed as Prefix[];
  const mixed = bs.map((b, i) => ({ b, text: minus[i]! })).filter(({ b }) => b.family !== a!.family);
  if (mixed.length > 0) return { cidrs: [], diagnostics: mixed.map(({ b, text }) => diag('SubtractMixedFamilies', { value: text, family: b.family, base, baseFamily: a!.family })) };
  return { cidrs: PrefixSet.fromPrefixes(a!.family, [a!]).subtract(PrefixSet.fromPrefixes(a!.family, bs)).toCidrs(), diagnostics: [] };
}
