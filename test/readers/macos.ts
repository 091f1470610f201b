/** Reads the macOS artifacts (routes.sh, pf.conf, dns.scutil, and the tunnel files they read) back into a TargetModel. */
import { AddressSet, familyOf, RouteTable, type DnsModel, type TargetModel } from './model.js';
import { commentBack, shWords } from './sh.js';

export type Files = ReadonlyMap<string, string>;

/** The directory a script finds its data files in, as `here` reads back. */
const HERE = '<here>';

/**
 * A data file a script or pf.conf names, from the artifacts beside it: `name` must be a
 * plain file name of the directory, and the file must be there (the OS would fail too).
 */
function dataFile(files: Files | undefined, name: string, where: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') throw new Error(`${where}: data file ${name} is not a file of the directory`);
  const text = files?.get(name);
  if (text === undefined) throw new Error(`${where}: data file ${name} is missing`);
  return text;
}

/**
 * routes.sh as run with `add`: which prefixes go to the utun, which hosts via the gateway.
 * A `while read -r VAR; do ...; done < "$here/FILE"` loop runs its body once per line of
 * FILE (from `files`, the artifacts beside routes.sh), with VAR set to the line as `read -r`
 * leaves it (blanks at either end trimmed).
 */
export function readRoutesSh(text: string, files?: Files): { table: RouteTable; tunnelRoutes: number; hosts: string[]; comments: string[] } {
  const vars: Record<string, string> = { op: 'add', gw4: '<gw4>', gw6: '<gw6>' };
  const table = new RouteTable();
  let tunnelRoutes = 0;
  const hosts: string[] = [];
  const comments: string[] = [];
  let header = true;
  let rtBody: string[] | null = null;
  let rtDeleteFirst = false;
  let loop: { variable: string; body: { line: string; n: number }[] } | null = null;
  const rtLine = (line: string, n: number): void => {
    if (!rtDeleteFirst) throw new Error(`routes.sh:${n + 1}: rt used before its definition`);
    if (line.includes('"$addr"')) return; // resolved host entries: addresses known at run time
    const { words } = shWords(line, vars, n + 1);
    // rt -inet|-inet6 (-net P -interface IF | -host A GW), run as `route -n add ...`
    const args = ['route', '-n', 'add', ...words.slice(1)];
    const family = args[3] === '-inet' ? 4 : args[3] === '-inet6' ? 6 : 0;
    if (!family) throw new Error(`routes.sh:${n + 1}: no address family`);
    if (args[4] === '-net' && args[6] === '-interface' && args.length === 8) {
      if (args[7] !== vars['ifname']) throw new Error(`routes.sh:${n + 1}: route on ${args[7]}`);
      if (familyOf(args[5]!) !== family) throw new Error(`routes.sh:${n + 1}: family mismatch`);
      table.add(args[5]!, 'tunnel');
      tunnelRoutes++;
    } else if (args[4] === '-host' && args.length === 7 && args[6] === (family === 4 ? '<gw4>' : '<gw6>')) {
      table.add(args[5]!, 'direct');
    } else if (args[4] === '-host' && args[5] === '$addr') {
      /* resolved host entries: run-time addresses */
    } else throw new Error(`routes.sh:${n + 1}: unexpected route ${args.join(' ')}`);
  };
  const lines = text.split('\n');
  const handle = (raw: string, n: number): void => {
    const line = raw.trim();
    if (loop !== null) {
      const done = /^done < (\S+)$/.exec(line);
      if (!done) {
        loop.body.push({ line: raw, n });
        return;
      }
      const { variable, body } = loop;
      loop = null;
      if (done[1] === '"$state/hosts"') {
        // The resolved host entries: addresses known only at run time; the body is read as it stands.
        for (const b of body) handle(b.line, b.n);
        return;
      }
      const w = shWords(done[1]!, vars, n + 1).words;
      if (w.length !== 1 || !w[0]!.startsWith(`${HERE}/`)) throw new Error(`routes.sh:${n + 1}: a loop reads ${done[1]}, not a file next to the script`);
      const data = dataFile(files, w[0]!.slice(HERE.length + 1), `routes.sh:${n + 1}`);
      for (const b of body) if (!b.line.trim().startsWith('rt ')) throw new Error(`routes.sh:${b.n + 1}: a loop over a data file may only run rt: ${b.line.trim()}`);
      // read -r: one line at a time, the last one only if it ends in a newline; IFS blanks trimmed.
      const rows = data.split('\n');
      if (rows.pop() !== '') throw new Error(`routes.sh:${n + 1}: the last line of ${w[0]} has no newline (read drops it)`);
      for (const row of rows) {
        vars[variable] = row.replace(/^[ \t]+|[ \t]+$/g, '');
        for (const b of body) rtLine(b.line.trim(), b.n);
      }
      delete vars[variable];
      return;
    }
    const loopHead = /^while read -r ([a-z_][a-z0-9_]*); do$/.exec(line);
    if (loopHead) {
      loop = { variable: loopHead[1]!, body: [] };
      return;
    }
    if (header && line.startsWith('#')) {
      const m = /^# {3}(\S+) (\S+)(?: {2}(.*))?$/.exec(raw);
      if (m && m[3] !== undefined) comments.push(commentBack(m[3]));
      return;
    }
    if (line === 'set -eu') header = false;
    if (line === `here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)`) {
      vars['here'] = HERE;
      return;
    }
    const assign = /^ifname=(.*)$/.exec(line);
    if (assign) {
      const w = shWords(assign[1]!, vars, n + 1).words;
      if (w.length !== 1) throw new Error('routes.sh: ifname is not one word');
      vars['ifname'] = w[0]!;
      return;
    }
    const res = /^resolve (\S+) >>/.exec(line);
    if (res) {
      hosts.push(shWords(res[1]!, vars, n + 1).words[0]!);
      return;
    }
    if (line.startsWith('rt() {')) {
      rtBody = [];
      return;
    }
    if (rtBody !== null) {
      if (line === '}') {
        // The one way routes.sh may touch a route: delete first (a missing route is fine), add only on add.
        const want = ['route -n delete "$@" >/dev/null 2>&1 || :', 'if [ "$op" = add ]; then', 'route -n add "$@" >/dev/null', 'fi'];
        if (JSON.stringify(rtBody) !== JSON.stringify(want)) throw new Error(`routes.sh: rt() is not delete-then-add: ${JSON.stringify(rtBody)}`);
        rtDeleteFirst = true;
        rtBody = null;
      } else rtBody.push(line);
      return;
    }
    if (line.startsWith('route ')) throw new Error(`routes.sh:${n + 1}: a route command outside rt(): ${line}`);
    if (!line.startsWith('rt ')) return;
    rtLine(line, n);
  };
  lines.forEach(handle);
  if (loop !== null) throw new Error('routes.sh: a loop without done');
  return { table, tunnelRoutes, hosts, comments };
}

/**
 * pf.conf: tables and quick rules, evaluated first match for a packet leaving on
 * `iface`: a packet of no particular protocol, or an ICMPv6 message of `icmp6Type`.
 * A table's `file "NAME"` is read from `files` (the artifacts beside pf.conf: up.sh loads
 * it from their directory) as pfctl reads a table file: addresses separated by blanks or
 * newlines, `#` to the end of a line a comment.
 */
export function readPf(
  text: string,
  tunnelIf: string,
  files?: Files,
): { blocked: (address: string, iface: string, icmp6Type?: number) => boolean; tables: Map<string, AddressSet>; comments: string[] } {
  const comments: string[] = [];
  const joined: string[] = [];
  // As pfctl reads it: a line ending in an odd run of backslashes continues (the
  // backslash-newline is dropped) before comments are dropped, so a comment can
  // swallow the next line.
  const raws = text.split('\n');
  for (let i = 0; i < raws.length; i++) {
    let line = raws[i]!;
    const first = i;
    // Pairs of backslashes read as one; pairing starts afresh on each raw line.
    while (/(^|[^\\])(\\\\)*\\$/.test(raws[i]!)) {
      if (i + 1 >= raws.length) throw new Error('pf.conf: dangling continuation');
      line = line.slice(0, -1) + raws[++i]!;
    }
    if (line.trimStart().startsWith('#')) {
      if (i !== first) throw new Error(`pf.conf:${first + 1}: a comment continues onto line ${first + 2}, which pfctl ignores`);
      const m = /^# {3}(\S+) (\S+)(?: {2}(.*))?$/.exec(line);
      if (m && m[3] !== undefined) comments.push(commentBack(m[3]));
      continue;
    }
    joined.push(line);
  }
  const tables = new Map<string, AddressSet>();
  type Rule = { action: 'pass' | 'block'; on: string | null; af: 4 | 6 | null; to: string | null; icmp6: Set<number> | null };
  const rules: Rule[] = [];
  for (const l of joined.map((s) => s.trim()).filter(Boolean)) {
    let m = /^table <([A-Za-z0-9_]+)> (const )?(?:\{(.*)\}|persist|persist file "([^"]*)")$/.exec(l);
    if (m) {
      if (tables.has(m[1]!)) throw new Error(`pf.conf: table ${m[1]} twice`);
      const set = new AddressSet();
      for (const item of (m[3] ?? '').split(/[\s,]+/).filter(Boolean)) set.add(item);
      if (m[4] !== undefined) {
        const data = dataFile(files, m[4], `pf.conf: table ${m[1]}`);
        for (const item of data.replace(/#[^\n]*/g, '').split(/\s+/).filter(Boolean)) set.add(item);
      }
      tables.set(m[1]!, set);
      continue;
    }
    m = /^(pass|block return) out quick(?: on (\S+))?(?: (inet6?))?(?: to <([A-Za-z0-9_]+)>| all)$/.exec(l);
    if (m) {
      if (m[4] && !tables.has(m[4])) throw new Error(`pf.conf: unknown table ${m[4]}`);
      rules.push({ action: m[1] === 'pass' ? 'pass' : 'block', on: m[2] ?? null, af: m[3] === 'inet' ? 4 : m[3] === 'inet6' ? 6 : null, to: m[4] ?? null, icmp6: null });
      continue;
    }
    m = /^pass out quick inet6 proto icmp6 icmp6-type \{ ([0-9, ]+) \}$/.exec(l);
    if (m) {
      const types = m[1]!.split(/, */).map(Number);
      if (types.some((t) => !Number.isInteger(t) || t < 0 || t > 255)) throw new Error(`pf.conf: bad icmp6-type in ${l}`);
      rules.push({ action: 'pass', on: null, af: 6, to: null, icmp6: new Set(types) });
      continue;
    }
    throw new Error(`pf.conf: unexpected line ${l}`);
  }
  if (!rules.some((r) => r.action === 'pass' && r.on === tunnelIf)) throw new Error('pf.conf: the tunnel is not passed');
  const blocked = (address: string, iface: string, icmp6Type?: number): boolean => {
    for (const r of rules) {
      if (r.icmp6 !== null && (icmp6Type === undefined || !r.icmp6.has(icmp6Type))) continue;
      if (r.on !== null && r.on !== iface) continue;
      if (r.af !== null && r.af !== familyOf(address)) continue;
      if (r.to !== null && !tables.get(r.to)!.has(address)) continue;
      return r.action === 'block';
    }
    return false;
  };
  return { blocked, tables, comments };
}

/** dns.scutil: the dictionary set under State:/Network/Service/<id>/DNS. */
export function readScutil(text: string): { key: string; dict: Map<string, string[]> } {
  let dict = new Map<string, string[]>();
  let key: string | null = null;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    const w = l.split(/\s+/);
    if (w[0] === 'open' || w[0] === 'close' || w[0] === 'quit') continue;
    if (w[0] === 'd.init') dict = new Map();
    else if (w[0] === 'd.add' && w[2] === '*') dict.set(w[1]!, w.slice(3));
    else if (w[0] === 'set' && w.length === 2) {
      if (key !== null) throw new Error('dns.scutil: set twice');
      key = w[1]!;
    } else throw new Error(`dns.scutil: unexpected ${l}`);
  }
  if (key === null || !/^State:\/Network\/Service\/[^/]+\/DNS$/.test(key)) throw new Error('dns.scutil: no dynamic-store DNS key');
  return { key, dict };
}

export function readMacos(files: Files, tunnelIf: string): TargetModel & { tunnelRoutes: number; matchDomains: string[] } {
  const routesSh = files.get('routes.sh');
  const pf = files.get('pf.conf');
  const scutil = files.get('dns.scutil');
  const r = routesSh ? readRoutesSh(routesSh, files) : null;
  const p = pf ? readPf(pf, tunnelIf, files) : null;
  let dns: DnsModel | null = null;
  let match: string[] = [];
  if (scutil) {
    const { dict } = readScutil(scutil);
    match = dict.get('SupplementalMatchDomains') ?? [];
    // up.sh points the primary service at the same servers: every name.
    dns = { servers: dict.get('ServerAddresses') ?? [], search: dict.get('SearchDomains') ?? [], matchDomains: [''] };
  }
  return {
    routes: r ? r.table : null,
    blockedOffTunnel: p ? (a) => p.blocked(a, 'en0') && !p.blocked(a, tunnelIf) : null,
    dns,
    texts: r ? r.comments : p ? p.comments : [],
    hosts: r ? r.hosts : [],
    tunnelRoutes: r ? r.tunnelRoutes : 0,
    matchDomains: match,
  };
}
