/**
 * Reads the Windows artifacts by running them: apply.ps1 through the PowerShell
 * interpreter (psrun.ts), apply.netsh.cmd through the cmd interpreter
 * (cmdrun.ts), each against a modelled machine (winstate.ts); the model is
 * what the script leaves behind.
 */
import { runCmd } from './cmdrun.js';
import { AddressSet, RouteTable, type TargetModel } from './model.js';
import { tokenize } from './powershell.js';
import { runPs, type PV } from './psrun.js';
import { effectiveDns, sampleState, type WinState } from './winstate.js';

/** Windows scripts use CRLF line endings (cmd.exe finds `goto` labels reliably only then): a bare LF is an error. */
export function requireCrlf(text: string, file: string): void {
  const i = text.search(/(^|[^\r])\n/);
  if (i >= 0) throw new Error(`${file}: line ${text.slice(0, i + 1).split('\n').length} ends in LF, not CRLF`);
}

/** The name the script gives the tunnel adapter ($IfName = '…'). */
function scriptIfName(text: string): string {
  const m = /^\$IfName = '([A-Za-z0-9_.-]+)'\r?$/m.exec(text);
  if (!m) throw new Error('apply.ps1: no $IfName');
  return m[1]!;
}

/**
 * The machine the readers apply a script to: sampleState with an empty search list and no
 * route yet (the table is what apply adds), and the script's folder as warpc writes it
 * (every file next to the script: the route lists the scripts read).
 */
function readerState(ifname: string, folder: ReadonlyMap<string, string>): WinState {
  return { ...sampleState(ifname), search: [], routes: new Set(), files: Object.fromEntries(folder) };
}

function script(folder: ReadonlyMap<string, string>, name: string): string {
  const text = folder.get(name);
  if (text === undefined) throw new Error(`no ${name} in the Windows folder`);
  return text;
}

/** The routes on the tunnel adapter after a run. */
function tunnelTable(state: WinState, ifname: string): { routes: RouteTable; count: number } {
  const routes = new RouteTable();
  let count = 0;
  for (const r of state.routes) {
    const [alias, prefix] = r.split('|') as [string, string];
    if (alias !== ifname) throw new Error(`a route on another adapter: ${r}`);
    routes.add(prefix, 'tunnel');
    count++;
  }
  return { routes, count };
}

/**
 * The DNS servers the machine's queries go to: Windows asks the servers of every
 * adapter with an IP interface, so this is the union over all of them, in order.
 */
export function machineDnsServers(state: WinState): string[] {
  const out: string[] = [];
  for (const a of state.adapters) if (a.ip) for (const x of effectiveDns(a)) if (!out.includes(x)) out.push(x);
  return out;
}

/** apply.ps1 of the Windows folder (file name -> text), run by the PowerShell interpreter (psrun.ts) on a modelled machine; the model is what it leaves. */
export function readApplyPs1(folder: ReadonlyMap<string, string>): TargetModel & { tunnelRoutes: number; group: string | null; ruleNames: string[]; state: WinState } {
  const text = script(folder, 'apply.ps1');
  requireCrlf(text, 'apply.ps1');
  const ifname = scriptIfName(text);
  const state = readerState(ifname, folder);
  const run = runPs(text, state);
  const { routes, count } = tunnelTable(state, ifname);
  const others = state.adapters.filter((a) => a.name !== ifname).map((a) => a.name);
  const blocked = new AddressSet();
  const group = typeof run.vars.get('Group') === 'string' ? (run.vars.get('Group') as string) : null;
  for (const r of state.rules) {
    if (r.direction !== 'Outbound' || r.action !== 'Block') throw new Error('apply.ps1: unexpected firewall rule');
    if (r.group !== group) throw new Error('apply.ps1: firewall rule outside the group');
    if (r.interfaces.join('|') !== others.join('|')) throw new Error(`apply.ps1: firewall rule ${r.name} not on exactly the other adapters`);
    for (const a of r.remote) blocked.add(a);
  }
  const setDns = run.calls.some((c) => c.name === 'Set-DnsClientServerAddress');
  const entries = run.vars.get('SplitTunnelEntries');
  const texts = entries === undefined ? [] : (entries as PV[]).map((e) => {
    const d = (e as PV[])[2];
    if (typeof d !== 'string') throw new Error('apply.ps1: entry description is not a string');
    return d;
  });
  // foreach ($HostName in @( … ))
  const toks = tokenize(text);
  const hosts: string[] = [];
  for (let i = 0; i + 3 < toks.length; i++) {
    const t = toks[i]!;
    const u = toks[i + 1]!;
    if (t.t === 'var' && t.v === 'HostName' && u.t === 'word' && u.v === 'in') {
      let j = i + 3;
      while (toks[j] && !(toks[j]!.t === 'punct' && (toks[j] as { v: string }).v === ')')) {
        const w = toks[j]!;
        if (w.t === 'str') hosts.push(w.v);
        j++;
      }
    }
  }
  return {
    // The script exists in every mode, so no route lines means no routes, not "cannot route": an empty table.
    routes,
    // The firewall section sets $OtherInterfaces; with no rule in it, it blocks nothing.
    blockedOffTunnel: run.vars.has('OtherInterfaces') ? (a) => blocked.has(a) : null,
    dns: setDns ? { servers: machineDnsServers(state), search: state.search, matchDomains: [''] } : null,
    texts,
    hosts,
    tunnelRoutes: count,
    group,
    ruleNames: state.rules.map((r) => r.name),
    state,
  };
}

/**
 * cmd.exe: one line into words; "…" quoting (no escapes inside), special characters outside quotes.
 * With `vars` null, %…% references stay as written (a lexer's view, for comparing two decodings).
 */
export function cmdWords(line: string, vars: Record<string, string> | null): { words: string[]; ops: string[] } {
  // Percent expansion happens first, on the whole line: %name%, %%X (a for variable), %~1 and %~dp0.
  const expanded =
    vars === null
      ? line
      : line.replace(/%%|%~(?:dp)?[0-9]|%([A-Za-z_][A-Za-z0-9_]*)%/g, (m, v: string | undefined) => {
          if (m === '%%') return '%';
          if (v === undefined) return m;
          if (!(v in vars)) throw new Error(`cmd: unknown variable %${v}%`);
          return vars[v]!;
        });
  if (vars !== null && /%/.test(expanded.replace(/%~(?:dp)?[0-9]|%[A-Za-z]\b/g, ''))) throw new Error(`cmd: stray % in ${line}`);
  const words: string[] = [];
  const ops: string[] = [];
  let cur = '';
  let inQ = false;
  let had = false;
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i]!;
    if (c === '"') {
      inQ = !inQ;
      cur += c;
      had = true;
    } else if (inQ) cur += c;
    else if (c === ' ' || c === '\t') {
      if (had) words.push(cur);
      cur = '';
      had = false;
    } else if ('&|<>^()'.includes(c)) {
      if (had) words.push(cur);
      cur = '';
      had = false;
      let op = c;
      while (i + 1 < expanded.length && '&|<>'.includes(expanded[i + 1]!) && op.length < 2) op += expanded[++i];
      ops.push(op);
      words.push(op);
    } else {
      cur += c;
      had = true;
    }
  }
  if (inQ) throw new Error(`cmd: unterminated quote in ${line}`);
  if (had) words.push(cur);
  return { words, ops };
}

/** apply.netsh.cmd of the Windows folder, run by the cmd interpreter (cmdrun.ts) on a modelled machine. */
export function readApplyNetsh(folder: ReadonlyMap<string, string>): TargetModel & { tunnelRoutes: number; state: WinState } {
  const text = script(folder, 'apply.netsh.cmd');
  requireCrlf(text, 'apply.netsh.cmd');
  const m = /^%run% netsh interface ipv4 set address name=([A-Za-z0-9_.-]+) /m.exec(text);
  const ifname = m ? m[1]! : 'CloudflareWARP';
  const state = readerState(ifname, folder);
  const run = runCmd(text, state);
  if (run.exitCode !== 0) throw new Error(`apply.netsh.cmd: exit code ${run.exitCode}`);
  const { routes, count } = tunnelTable(state, ifname);
  const setDns = run.netsh.some((w) => w.includes('dnsservers'));
  return {
    // As for apply.ps1: no route lines means nothing is routed into the tunnel.
    routes,
    blockedOffTunnel: null,
    dns: setDns ? { servers: machineDnsServers(state), search: [], matchDomains: [''] } : null,
    texts: [],
    hosts: [],
    tunnelRoutes: count,
    state,
  };
}
