/**
 * `warpc status --diff`, the Linux side: read the live state of everything warpc
 * changes (its policy rules, its routing table, its nft table, resolv.conf or
 * the systemd-resolved link, the running DNS proxy's configuration) and what a
 * compiled plan wants there, and turn both into the same canonical lines
 * (src/contract/live-state.ts). It compares nothing and decides nothing about
 * drift (src/status-diff/ does); it changes nothing on the device.
 *
 * Both sides go through one reader where the kernel's form and the compiled form
 * agree (nft's text for the whole table, sets, elements and chains alike; the
 * batch readers of plan-diff.ts and netstate.ts for the compiled routes and
 * rules, `ip -j` for the live ones), and the reader brings the kernel's way of
 * printing to the compiled form (a /32 printed as a bare address, a throw route
 * printed with `dev lo`, IPv6's default metric 1024, `counter packets N bytes M`,
 * marks printed zero-padded, `timeout … expires …` on timed elements).
 */
import { canonicalAddress, formatPrefix, parsePrefix } from '../../net/ip.js';
import type { LiveGroup, LiveStateReport, RuntimeEntry } from '../../contract/live-state.js';
import { RealExecutor, type Executor } from '../exec.js';
import { loadCompiled, withDeviceOverride, type CompiledLinux } from './compiled.js';
import { controlRequest } from './control.js';
import { detectDnsManager } from './dns-manager.js';
import { agentAlive, readJournal } from './journal.js';
import { rulesOfBatch, type IpRule } from './netstate.js';
import { routeFields } from './plan-diff.js';
import { inspectResolv } from './resolv.js';

/** The kernel's metric for a route added without one. */
const DEFAULT_METRIC: Record<'-4' | '-6', string> = { '-4': '0', '-6': '1024' };

/** A prefix as the compiled files write it (always with its length), or the text as it is. */
const V4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(\/\d{1,2})?$/;

function canonicalPrefix(text: string, fam: '-4' | '-6'): string {
  if (text === 'default') return 'default';
  // IPv4 as iproute2, nft and the compiler print it is canonical already: only the /32 may be left out.
  const v4 = V4.exec(text);
  if (v4) return v4[1] === undefined ? `${text}/32` : v4[1] === '/0' ? 'default' : text;
  const withLen = text.includes('/') ? text : `${text}/${fam === '-4' ? 32 : 128}`;
  const p = parsePrefix(withLen);
  if (!p.ok) return text;
  return p.prefix.length === 0 ? 'default' : formatPrefix(p.prefix);
}

function routeLine(fam: '-4' | '-6', type: string, prefix: string, dev: string | null, via: string | null, metric: string | null): string {
  const parts = [type, canonicalPrefix(prefix, fam)];
  if (via) parts.push('via', canonicalAddress(via) ?? via);
  // Only a unicast route has a device to compare; the kernel shows IPv6 throw routes `dev lo`.
  if (dev && type === 'unicast') parts.push('dev', dev);
  if (metric !== null && metric !== DEFAULT_METRIC[fam]) parts.push('metric', metric);
  return parts.join(' ');
}

const batchLines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '' && !l.startsWith('#'));

/** The routes a batch file puts into `table`, as canonical lines. */
export function expectedRoutes(batch: string, fam: '-4' | '-6', table: number): string[] {
  const out: string[] = [];
  for (const line of batchLines(batch)) {
    const f = routeFields(line);
    if (f && f.table === String(table)) out.push(routeLine(fam, f.type, f.prefix, f.dev, f.via, f.metric));
  }
  return out;
}

interface IpRoute {
  readonly type?: string;
  readonly dst?: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly metric?: number;
}

/** `ip -j route show table N` output as canonical lines. */
export function liveRoutes(json: string, fam: '-4' | '-6'): string[] {
  if (json.trim() === '') return [];
  const routes = JSON.parse(json) as IpRoute[];
  return routes.map((r) => routeLine(fam, r.type ?? 'unicast', r.dst ?? 'default', r.dev ?? null, r.gateway ?? null, r.metric === undefined ? null : String(r.metric)));
}

const hexMark = (m: string): string => `0x${Number(m.split('/')[0]).toString(16)}`;

/** The policy rules a batch file adds that use `table`, as canonical lines. */
export function expectedRules(batch: string, fam: '-4' | '-6', table: number): string[] {
  // Only the few rule lines go to the rule reader (a batch is mostly routes).
  const ruleLines = batchLines(batch).filter((l) => l.startsWith('rule '));
  return rulesOfBatch(ruleLines.join('\n'), fam)
    .filter((r) => r.table === String(table))
    .map((r) => [r.priority === null ? null : `priority ${r.priority}`, r.not ? 'not' : null, r.fwmark ? `fwmark ${r.fwmark}` : null, `lookup ${r.table}`].filter((x) => x !== null).join(' '));
}

/** Selectors of `ip -j rule` output besides the ones expectedRules writes, shown as they come. */
const RULE_KNOWN = new Set(['priority', 'not', 'src', 'fwmark', 'table']);

/** `ip -j rule show` output: the rules that use `table`, as canonical lines. */
export function liveRules(json: string, table: number): string[] {
  if (json.trim() === '') return [];
  const rules = JSON.parse(json) as IpRule[];
  return rules
    .filter((r) => r.table === String(table))
    .map((r) => {
      const parts: string[] = [];
      if (r.priority !== undefined) parts.push(`priority ${r.priority}`);
      if ('not' in r) parts.push('not');
      if (r.src !== undefined && r.src !== 'all') parts.push(`from ${String(r.src)}${r['srclen'] !== undefined ? `/${String(r['srclen'])}` : ''}`);
      if (r.fwmark !== undefined) parts.push(`fwmark ${hexMark(r.fwmark)}`);
      for (const [k, v] of Object.entries(r)) if (!RULE_KNOWN.has(k) && k !== 'srclen') parts.push(`${k} ${typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
      parts.push(`lookup ${String(r.table)}`);
      return parts.join(' ');
    });
}

export interface NftSet {
  readonly decl: string[];
  readonly elements: string[];
  /** Seconds left per element that carries `expires` (timeout sets), by canonical value. */
  readonly expires: Map<string, number>;
}

export interface NftTable {
  readonly sets: Map<string, NftSet>;
  /** Chain name → its lines in order (the type/hook line first). */
  readonly chains: Map<string, string[]>;
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}

/** An nft rule or declaration line as both the compiled file and `nft list` write it. */
export function canonicalNftLine(line: string): string {
  return line
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\bcounter packets \d+ bytes \d+/g, 'counter')
    .replace(/\b0x0*([0-9a-f]+)\b/gi, (_, h: string) => `0x${h.toLowerCase()}`);
}

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** An nft duration (`4m56s496ms`, `1h`, `30s`) in seconds, or null. */
export function nftSeconds(text: string): number | null {
  const parts = [...text.matchAll(/(\d+)(ms|d|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return null;
  return parts.reduce((n, p) => n + Number(p[1]) * (UNIT_SECONDS[p[2] as string] as number), 0);
}

/** Elements of an `elements = { … }` list: each one's value, canonical, without `timeout`/`expires` (kept apart). */
function elementValues(body: string, fam: '-4' | '-6' | null, expires: Map<string, number>): string[] {
  const out: string[] = [];
  for (const raw of body.split(',')) {
    const words = raw.trim().split(/\s+/);
    if (!words[0]) continue;
    const value = canonicalElement(words[0], fam);
    const i = words.indexOf('expires');
    const left = i > 0 ? nftSeconds(words[i + 1] ?? '') : null;
    if (left !== null) expires.set(value, left);
    out.push(value);
  }
  return out;
}

function canonicalElement(e: string, fam: '-4' | '-6' | null): string {
  const f = fam ?? (e.includes(':') ? '-6' : '-4');
  if (e.includes('-') && !e.startsWith('-')) {
    const [a, b] = e.split('-');
    return `${canonicalAddress(a ?? '') ?? a}-${canonicalAddress(b ?? '') ?? b}`;
  }
  return canonicalPrefix(e, f);
}

/**
 * The sets and chains of `table inet NAME` in nft's text form: a compiled
 * ruleset.nft or `nft list table inet NAME`. Other tables, comments and
 * one-line declarations (`table inet x {}`, `delete table …`) are skipped.
 */
export function parseNftText(text: string, table: string): NftTable {
  const sets = new Map<string, NftSet>();
  const chains = new Map<string, string[]>();
  const lines = text.split('\n').map((l) => stripComment(l).trim());
  let i = 0;
  const depthOf = (l: string): number => (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
  while (i < lines.length) {
    const l = lines[i++] as string;
    const head = new RegExp(`^table inet ${table.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')} \\{$`).exec(l);
    if (!head) continue;
    // Inside our table until its closing brace.
    while (i < lines.length) {
      const m = lines[i++] as string;
      if (m === '}') break;
      const block = /^(set|chain) (\S+) \{$/.exec(m);
      if (!block) continue;
      const [, kind, name] = block as unknown as [string, string, string];
      const body: string[] = [];
      let depth = 1;
      while (i < lines.length) {
        const n = lines[i++] as string;
        depth += depthOf(n);
        if (depth <= 0) break;
        body.push(n);
      }
      if (kind === 'chain') {
        chains.set(name, body.filter((b) => b !== '').map(canonicalNftLine));
        continue;
      }
      const decl: string[] = [];
      const elements: string[] = [];
      const expires = new Map<string, number>();
      let fam: '-4' | '-6' | null = null;
      for (let k = 0; k < body.length; k++) {
        const b = body[k] as string;
        if (b === '') continue;
        if (b.startsWith('elements')) {
          let all = b;
          let d = depthOf(b);
          while (d > 0 && k + 1 < body.length) {
            const more = body[++k] as string;
            all += ` ${more}`;
            d += depthOf(more);
          }
          elements.push(...elementValues(all.replace(/^elements\s*=\s*\{/, '').replace(/\}\s*$/, ''), fam, expires));
          continue;
        }
        const line = canonicalNftLine(b);
        if (line === 'type ipv4_addr') fam = '-4';
        if (line === 'type ipv6_addr') fam = '-6';
        decl.push(line);
      }
      sets.set(name, { decl, elements, expires });
    }
  }
  return { sets, chains };
}

/** The lines of resolv.conf that configure something (comments and blank lines dropped). */
export function resolvLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
}

/** What resolved.sh's `up` sets on the link: `dns …`, `domain …`, `default-route …`. */
export function resolvedExpected(script: string): string[] {
  const out: string[] = [];
  for (const raw of script.split('\n')) {
    const m = /^\s*resolvectl (dns|domain|default-route) "\$link" (.*)$/.exec(raw);
    if (m) out.push(`${m[1]} ${(m[2] as string).replace(/'/g, '').trim().replace(/\s+/g, ' ')}`);
  }
  return out;
}

/** `resolvectl dns|domain|default-route LINK` output ("Link 5 (wg0): a b"), as the same lines. */
export function resolvedLive(outputs: Record<'dns' | 'domain' | 'default-route', string>): string[] {
  const out: string[] = [];
  for (const key of ['dns', 'domain', 'default-route'] as const) {
    const m = /^Link \d+ \([^)]*\):\s*(.*)$/m.exec(outputs[key]);
    const v = (m?.[1] ?? '').trim().replace(/\s+/g, ' ');
    if (v !== '') out.push(`${key} ${v}`);
  }
  return out;
}

/** dns-proxy.json as lines: one per top-level scalar, one per item of a top-level list (compact JSON). */
export function proxyLines(text: string): string[] {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (Array.isArray(v)) for (const item of v) out.push(`${k} ${JSON.stringify(item)}`);
    else out.push(`${k} ${JSON.stringify(v)}`);
  }
  return out;
}

/** What was read from the device, as the tools print it; null where an area is not read. */
export interface LiveCapture {
  /** `ip -j -4|-6 rule show`. */
  readonly rules4: string;
  readonly rules6: string;
  /** `ip -j -4|-6 route show table N` ('' when the table does not exist). */
  readonly routes4: string;
  readonly routes6: string;
  /** `nft list table inet NAME`; null when the table does not exist. */
  readonly nftText: string | null;
  /** resolv.conf's bytes as text ('' when missing), when the manager is resolv.conf. */
  readonly resolvConf: string | null;
  /** `resolvectl dns|domain|default-route LINK` output, when the manager is systemd-resolved. */
  readonly resolved: { link: string; dns: string; domain: string; 'default-route': string } | null;
  /** The running proxy's dns-proxy.json (null: no agent or no proxy). */
  readonly proxyConfig: string | null;
}

/** The plan side: settings and the compiled files by name (CompiledLinux fits). */
export interface PlanFiles {
  readonly settings: CompiledLinux['settings'];
  readonly files: ReadonlyMap<string, Buffer>;
}

/**
 * Both sides as canonical line groups, from plain data: the plan's files and
 * what the tools printed. Host entries the agent added (elements of the host_*
 * sets, and the /32 or /128 routes to those addresses) go to `runtime`.
 */
export function buildGroups(plan: PlanFiles, live: LiveCapture): { groups: LiveGroup[]; runtime: RuntimeEntry[] } {
  const s = plan.settings;
  const file = (name: string): string => (plan.files.get(name) ?? Buffer.alloc(0)).toString('utf8');
  const table = s.routing.table;
  const groups: LiveGroup[] = [];
  const runtime: RuntimeEntry[] = [];
  const hostAddrs = new Set<string>();
  if (s.features.firewall) {
    const want = parseNftText(file('ruleset.nft'), s.nft_table);
    const have = live.nftText !== null ? parseNftText(live.nftText, s.nft_table) : { sets: new Map<string, NftSet>(), chains: new Map<string, string[]>() };
    for (const name of new Set([...want.sets.keys(), ...have.sets.keys()])) {
      const w = want.sets.get(name);
      const h = have.sets.get(name);
      const liveElems = h?.elements ?? [];
      const decl = (x: NftSet | undefined): string[] => (x ? [`set ${name}`, ...x.decl.map((d) => `set ${name} ${d}`)] : []);
      if (name.startsWith('host_') && w) {
        // Filled by the agent from DNS answers: shown, not compared. Elements the plan itself lists
        // (an enrolled device's bypass, src/contract/device-override.ts) are compared like any set's.
        const planned = new Set(w.elements);
        for (const e of liveElems) {
          if (planned.has(e)) continue;
          runtime.push({ kind: 'element', value: `${name} ${e}`, expires_seconds: h?.expires.get(e) ?? null });
          hostAddrs.add(e);
        }
        const elements = (xs: readonly string[]): string[] => xs.map((e) => `element ${e}`);
        groups.push({ area: 'nft', name: `set ${name}`, ordered: false, expected: [...decl(w), ...elements(w.elements)], live: [...decl(h), ...elements(liveElems.filter((e) => planned.has(e)))] });
        continue;
      }
      groups.push({ area: 'nft', name: `set ${name}`, ordered: false, expected: [...decl(w), ...(w?.elements ?? []).map((e) => `element ${e}`)], live: [...decl(h), ...liveElems.map((e) => `element ${e}`)] });
    }
    for (const name of new Set([...want.chains.keys(), ...have.chains.keys()])) {
      const lines = (x: string[] | undefined): string[] => (x ? [`chain ${name}`, ...x] : []);
      groups.push({ area: 'nft', name: `chain ${name}`, ordered: true, expected: lines(want.chains.get(name)), live: lines(have.chains.get(name)) });
    }
  }
  if (s.features.routes) {
    for (const [fam, batchName, v, rules, routes] of [
      ['-4', 'routes4.batch', 'IPv4', live.rules4, live.routes4],
      ['-6', 'routes6.batch', 'IPv6', live.rules6, live.routes6],
    ] as const) {
      const batch = file(batchName);
      groups.push({ area: 'rules', name: `${v} rules to table ${table}`, ordered: false, expected: expectedRules(batch, fam, table), live: liveRules(rules, table) });
      const expected = expectedRoutes(batch, fam, table);
      const planned = new Set(expected);
      const kept: string[] = [];
      for (const line of liveRoutes(routes, fam)) {
        const w = line.split(' ');
        // A host route the agent added for a host entry: its address is in a host_* set (and the
        // plan does not list the route itself, as it does a device override's bypass).
        if (/\/(32|128)$/.test(w[1] ?? '') && hostAddrs.has(w[1] ?? '') && !planned.has(line)) runtime.push({ kind: 'route', value: line, expires_seconds: null });
        else kept.push(line);
      }
      groups.push({ area: 'routes', name: `${v} table ${table}`, ordered: false, expected, live: kept });
    }
  }
  if (s.features.dns) {
    if (live.resolved) {
      groups.push({ area: 'dns', name: `systemd-resolved link ${live.resolved.link}`, ordered: true, expected: resolvedExpected(file('resolved.sh')), live: resolvedLive(live.resolved) });
    } else {
      groups.push({ area: 'dns', name: '/etc/resolv.conf', ordered: true, expected: resolvLines(file('resolv.conf')), live: resolvLines(live.resolvConf ?? '') });
    }
    if (plan.files.has('dns-proxy.json')) {
      groups.push({ area: 'proxy', name: 'DNS proxy configuration', ordered: true, expected: proxyLines(file('dns-proxy.json')), live: live.proxyConfig === null ? [] : proxyLines(live.proxyConfig) });
    }
  }
  return { groups, runtime };
}

export interface LiveStateRequest {
  readonly stateDir: string;
  /** OUT/linux to compare against; default: the plan the journal records. */
  readonly compiledDir?: string;
  readonly root?: string;
}

/** A failure to compare at all (no plan, unreadable state): exit 2. */
export class LiveStateError extends Error {}

/** Read the plan (verified against its manifest) and the device; compare nothing. */
export async function collectLiveState(req: LiveStateRequest, execOverride?: Executor): Promise<LiveStateReport> {
  const j = await readJournal(req.stateDir).catch((err: unknown) => {
    throw new LiveStateError((err as Error).message);
  });
  const dir = req.compiledDir ?? j?.compiled_dir;
  if (!dir) throw new LiveStateError(`no plan to compare against: no journal in ${req.stateDir}; give the compiled folder (warpc status --diff OUT/linux)`);
  let c: CompiledLinux;
  try {
    // An enrolled device runs the plan with its registration's override (src/contract/device-override.ts).
    c = withDeviceOverride(await loadCompiled(dir), j?.override);
  } catch (err) {
    throw new LiveStateError(`${(err as Error).message}${req.compiledDir ? '' : `\n(the plan the journal in ${req.stateDir} records; give a compiled folder to compare against another)`}`);
  }
  const exec = execOverride ?? new RealExecutor({ root: req.root ?? j?.root ?? '/', stateDir: req.stateDir });
  const open = j !== null && j.state !== 'closed';
  const alive = open && (await agentAlive(j));
  const s = c.settings;
  const notes: string[] = [];
  if (!alive) notes.push(j === null ? `warpc is not running (no journal in ${req.stateDir}): what the plan wants is missing` : `warpc is not running (journal ${j.state}${open ? ', agent gone: warpc recover restores the device' : ''}): what the plan wants is missing`);
  if (!s.features.firewall) notes.push('the plan has no firewall (features.firewall is false): the nft table is not compared');
  if (!s.features.routes) notes.push('the plan has no routes (features.routes is false): the routing table is not compared');
  if (!s.features.dns) notes.push('the plan has no DNS (features.dns is false): resolv.conf and the proxy are not compared');

  const need = async (cmd: string, args: string[], absent?: RegExp): Promise<string | null> => {
    const r = await exec.run(cmd, args, { allowFail: true });
    if (r.code === 0) return r.stdout;
    if (absent?.test(r.stderr)) return null;
    throw new LiveStateError(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}${process.getuid?.() !== 0 ? " (status --diff reads the kernel state and the agent's control socket: run it as root)" : ''}`);
  };
  const table = String(s.routing.table);
  // An absent table is state too (everything missing), not a failure.
  const noNft = /No such file or directory|does not exist/i;
  const noTable = /table does not exist/i;
  const nftText = s.features.firewall ? await need('nft', ['list', 'table', 'inet', s.nft_table], noNft) : null;
  const routesRead = async (fam: '-4' | '-6'): Promise<string> => (s.features.routes ? ((await need('ip', ['-j', fam, 'route', 'show', 'table', table], noTable)) ?? '') : '');
  const rulesRead = async (fam: '-4' | '-6'): Promise<string> => (s.features.routes ? ((await need('ip', ['-j', fam, 'rule', 'show'])) ?? '') : '');

  let manager: string | null = null;
  let resolvConf: string | null = null;
  let resolved: LiveCapture['resolved'] = null;
  let proxyConfig: string | null = null;
  if (s.features.dns) {
    const snap = await inspectResolv(exec);
    // The manager the agent chose (the journal), else what it would choose now.
    manager = j?.dns?.manager ?? (await detectDnsManager(exec, s.dns_manager, snap, 'settings.json dns_manager').catch(() => ({ manager: 'resolv.conf' }))).manager;
    if (manager === 'systemd-resolved') {
      const link = j?.dns?.resolved_link ?? s.interface.name;
      const ask = async (what: string): Promise<string> => (await exec.run('resolvectl', [what, link], { allowFail: true })).stdout;
      resolved = { link, dns: await ask('dns'), domain: await ask('domain'), 'default-route': await ask('default-route') };
    } else resolvConf = snap.contentB64 === null ? '' : Buffer.from(snap.contentB64, 'base64').toString('utf8');
    if (alive && c.files.has('dns-proxy.json')) {
      const r = await controlRequest(req.stateDir, { op: 'state' }, () => undefined, 10_000).catch((err: unknown) => {
        throw new LiveStateError(`cannot ask the agent for its DNS proxy configuration: ${(err as Error).message}`);
      });
      proxyConfig = r.proxy_config ?? null;
    }
  }
  const live: LiveCapture = { rules4: await rulesRead('-4'), rules6: await rulesRead('-6'), routes4: await routesRead('-4'), routes6: await routesRead('-6'), nftText, resolvConf, resolved, proxyConfig };
  const { groups, runtime } = buildGroups(c, live);
  return {
    state_dir: req.stateDir,
    compiled_dir: c.dir,
    plan_source: req.compiledDir ? 'argument' : 'journal',
    manifest_sha256: c.manifestSha256,
    plan_is_running: alive && j.manifest_sha256 === c.manifestSha256,
    journal_state: j ? j.state : 'none',
    agent_running: alive,
    dns_manager: manager,
    groups,
    runtime,
    notes,
  };
}
