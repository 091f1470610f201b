/**
 * The kernel state warpc changes, captured before and restored after:
 * policy rules of its table, the routes of its table (both families, as
 * `ip route save` dumps), its nftables table, addresses on `lo`, and whether
 * its interface existed.
 */
import type { Executor } from '../exec.js';

export interface IpRule {
  readonly priority?: number;
  readonly not?: null;
  readonly src?: string;
  readonly fwmark?: string;
  readonly table?: string;
  readonly [k: string]: unknown;
}

export interface NetSnapshot {
  readonly rules4: readonly IpRule[];
  readonly rules6: readonly IpRule[];
  /** `ip route save table N` output (base64); null when the table was empty. */
  readonly routes4: string | null;
  readonly routes6: string | null;
  /** `ip route show table N` text, for people. */
  readonly routes4Text: string;
  readonly routes6Text: string;
  /** `nft list table inet NAME`, or null when absent. */
  readonly nftTable: string | null;
  /** `address/prefixlen` on lo. */
  readonly loAddrs: readonly string[];
  readonly linkExisted: boolean;
}

export interface NetNames {
  readonly ifname: string;
  readonly table: number;
  readonly nftTable: string;
}

async function rules(exec: Executor, fam: '-4' | '-6'): Promise<IpRule[]> {
  const r = await exec.run('ip', ['-j', fam, 'rule', 'show'], { allowFail: true });
  if (r.code !== 0 || r.stdout.trim() === '') return [];
  return JSON.parse(r.stdout) as IpRule[];
}

async function routeDump(exec: Executor, fam: '-4' | '-6', table: number): Promise<{ b64: string | null; text: string }> {
  const text = (await exec.run('ip', [fam, 'route', 'show', 'table', String(table)], { allowFail: true })).stdout;
  if (text.trim() === '') return { b64: null, text: '' };
  const saved = await exec.run('ip', [fam, 'route', 'save', 'table', String(table)], { binary: true });
  return { b64: (saved.stdoutBytes ?? Buffer.alloc(0)).toString('base64'), text };
}

export async function loAddresses(exec: Executor): Promise<string[]> {
  const r = await exec.run('ip', ['-j', 'addr', 'show', 'dev', 'lo'], { allowFail: true });
  if (r.code !== 0 || r.stdout.trim() === '') return [];
  const links = JSON.parse(r.stdout) as { addr_info?: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

export async function linkExists(exec: Executor, ifname: string): Promise<boolean> {
  return (await exec.run('ip', ['link', 'show', 'dev', ifname], { allowFail: true })).code === 0;
}

export async function nftTableText(exec: Executor, name: string): Promise<string | null> {
  const r = await exec.run('nft', ['list', 'table', 'inet', name], { allowFail: true });
  return r.code === 0 ? r.stdout : null;
}

/**
 * Does table inet `name` exist? From `nft -j list chains inet`, which reads no set
 * elements: listing the table itself makes nft read back every element of its
 * sets (hundreds of milliseconds for 10,000 intervals).
 */
export async function nftTableExists(exec: Executor, name: string): Promise<boolean> {
  const r = await exec.run('nft', ['-j', 'list', 'chains', 'inet'], { allowFail: true });
  if (r.code !== 0) return false;
  try {
    const doc = JSON.parse(r.stdout) as { nftables?: { chain?: { table?: string } }[] };
    return (doc.nftables ?? []).some((o) => o.chain?.table === name);
  } catch {
    return false;
  }
}

export async function snapshotNet(exec: Executor, names: NetNames, withNft: boolean): Promise<NetSnapshot> {
  const [r4, r6] = [await routeDump(exec, '-4', names.table), await routeDump(exec, '-6', names.table)];
  return {
    rules4: await rules(exec, '-4'),
    rules6: await rules(exec, '-6'),
    routes4: r4.b64,
    routes6: r6.b64,
    routes4Text: r4.text,
    routes6Text: r6.text,
    nftTable: withNft ? await nftTableText(exec, names.nftTable) : null,
    loAddrs: await loAddresses(exec),
    linkExisted: await linkExists(exec, names.ifname),
  };
}

/** A rule from a batch line `rule add <selector…>`, as `ip -j rule show` prints it. */
export interface RuleSpec {
  readonly fam: '-4' | '-6';
  /** The arguments after `rule add`. */
  readonly args: readonly string[];
  readonly priority: number | null;
  readonly table: string | null;
  readonly fwmark: string | null;
  readonly not: boolean;
}

export function rulesOfBatch(text: string, fam: '-4' | '-6'): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    if (words[0] !== 'rule' || words[1] !== 'add') continue;
    const args = words.slice(2);
    const after = (k: string[]): string | null => {
      const i = args.findIndex((w) => k.includes(w));
      return i >= 0 && i + 1 < args.length ? (args[i + 1] as string) : null;
    };
    const prio = after(['priority', 'pref', 'preference', 'prio']);
    const mark = after(['fwmark']);
    out.push({
      fam,
      args,
      priority: prio === null ? null : Number(prio),
      table: after(['table', 'lookup']),
      fwmark: mark === null ? null : `0x${Number(mark).toString(16)}`,
      not: args.includes('not'),
    });
  }
  return out;
}

function ruleMatches(spec: RuleSpec, r: IpRule): boolean {
  if (spec.priority !== null && r.priority !== spec.priority) return false;
  if (spec.table !== null && r.table !== spec.table) return false;
  if (spec.fwmark !== null && (r.fwmark === undefined || `0x${Number(r.fwmark.split('/')[0]).toString(16)}` !== spec.fwmark)) return false;
  if (spec.not !== ('not' in r)) return false;
  return true;
}

export interface RestoreReport {
  readonly done: string[];
  readonly errors: string[];
}

/**
 * Return rules, routes, nft table and lo addresses to the snapshot. Idempotent:
 * running it twice, or on a half-applied state, gives the same result.
 */
export async function restoreNet(exec: Executor, names: NetNames, snap: NetSnapshot, ruleSpecs: readonly RuleSpec[], loAdded: readonly string[], report: RestoreReport): Promise<void> {
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
      report.done.push(what);
    } catch (err) {
      report.errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  if (snap.nftTable === null) {
    await step(`nft table inet ${names.nftTable} removed`, async () => {
      if ((await nftTableText(exec, names.nftTable)) !== null) await exec.run('nft', ['delete', 'table', 'inet', names.nftTable]);
    });
  } else {
    const text = snap.nftTable;
    await step(`nft table inet ${names.nftTable} restored`, async () => {
      await exec.run('nft', ['-f', '-'], { input: `table inet ${names.nftTable} {}\ndelete table inet ${names.nftTable}\n${text}` });
    });
  }
  for (const spec of ruleSpecs) {
    await step(`rule ${spec.fam} ${spec.args.join(' ')} removed`, async () => {
      const before = (spec.fam === '-4' ? snap.rules4 : snap.rules6).filter((r) => ruleMatches(spec, r)).length;
      for (let i = 0; i < 64; i++) {
        const now = (await rules(exec, spec.fam)).filter((r) => ruleMatches(spec, r)).length;
        if (now <= before) return;
        await exec.run('ip', [spec.fam, 'rule', 'del', ...spec.args]);
      }
      throw new Error('rule still present after 64 deletions');
    });
  }
  for (const [fam, saved] of [['-4', snap.routes4], ['-6', snap.routes6]] as const) {
    await step(`table ${names.table} (${fam}) restored`, async () => {
      const shown = await exec.run('ip', [fam, 'route', 'show', 'table', String(names.table)], { allowFail: true });
      if (shown.stdout.trim() !== '') await exec.run('ip', [fam, 'route', 'flush', 'table', String(names.table)]);
      if (saved !== null) await exec.run('ip', [fam, 'route', 'restore'], { input: Buffer.from(saved, 'base64') });
    });
  }
  await step('lo addresses restored', async () => {
    const now = await loAddresses(exec);
    for (const addr of loAdded) {
      if (now.includes(addr) && !snap.loAddrs.includes(addr)) await exec.run('ip', ['addr', 'del', addr, 'dev', 'lo']);
    }
  });
}
