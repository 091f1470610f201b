/** Reads the Windows artifacts: apply.ps1 through the PowerShell tokenizer, apply.netsh.cmd through a cmd tokenizer. */
import { AddressSet, RouteTable, type TargetModel } from './model.js';
import { extract, RUNTIME, type Value } from './powershell.js';

const CMDLETS = ['New-NetRoute', 'New-NetFirewallRule', 'Set-DnsClientServerAddress', 'Set-DnsClientGlobalSetting', 'New-NetIPAddress', 'Set-NetIPInterface'] as const;

function str(v: Value | undefined, what: string): string {
  if (typeof v !== 'string') throw new Error(`apply.ps1: ${what} is not a literal string`);
  return v;
}
function strs(v: Value | undefined, what: string): string[] {
  if (!Array.isArray(v)) throw new Error(`apply.ps1: ${what} is not a literal array`);
  return v.map((x) => str(x, what));
}

/** Windows scripts use CRLF line endings (cmd.exe finds `goto` labels reliably only then): a bare LF is an error. */
export function requireCrlf(text: string, file: string): void {
  const i = text.search(/(^|[^\r])\n/);
  if (i >= 0) throw new Error(`${file}: line ${text.slice(0, i + 1).split('\n').length} ends in LF, not CRLF`);
}

export function readApplyPs1(text: string): TargetModel & { tunnelRoutes: number; group: string | null; ruleNames: string[] } {
  requireCrlf(text, 'apply.ps1');
  const { calls, vars, toks } = extract(text, CMDLETS);
  const ifname = str(vars.get('IfName'), '$IfName');
  const routes = new RouteTable();
  let tunnelRoutes = 0;
  const blocked = new AddressSet();
  const ruleNames: string[] = [];
  let servers: string[] | null = null;
  let search: string[] = [];
  for (const c of calls) {
    const p = c.params;
    if (c.name === 'New-NetRoute') {
      const prefix = p.get('DestinationPrefix');
      if (prefix === RUNTIME) continue; // resolved host entries
      if (str(p.get('InterfaceAlias'), 'InterfaceAlias') !== ifname) throw new Error('apply.ps1: a route on another adapter');
      routes.add(str(prefix, 'DestinationPrefix'), 'tunnel');
      tunnelRoutes++;
    } else if (c.name === 'New-NetFirewallRule') {
      if (p.get('Direction') !== 'Outbound' || p.get('Action') !== 'Block') throw new Error('apply.ps1: unexpected firewall rule');
      if (p.get('InterfaceAlias') !== RUNTIME || vars.get('OtherInterfaces') !== RUNTIME) throw new Error('apply.ps1: firewall rule not limited to the other adapters');
      if (str(p.get('Group'), 'Group') !== str(vars.get('Group'), '$Group')) throw new Error('apply.ps1: firewall rule outside the group');
      ruleNames.push(str(p.get('Name'), 'Name'));
      const remote = p.get('RemoteAddress');
      if (remote === RUNTIME) continue; // resolved host entries
      for (const a of strs(remote, 'RemoteAddress')) blocked.add(a);
    } else if (c.name === 'Set-DnsClientServerAddress') {
      servers = strs(p.get('ServerAddresses'), 'ServerAddresses');
    } else if (c.name === 'Set-DnsClientGlobalSetting') {
      search = strs(p.get('SuffixSearchList'), 'SuffixSearchList');
    }
  }
  const entries = vars.get('SplitTunnelEntries');
  const texts = entries === undefined ? [] : (entries as Value[]).map((e) => str((e as Value[])[2], 'entry description'));
  // foreach ($HostName in @( … ))
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
    // The firewall section sets $OtherInterfaces (every rule checks it above); with no rule in it, it blocks nothing.
    blockedOffTunnel: vars.has('OtherInterfaces') ? (a) => blocked.has(a) : null,
    dns: servers ? { servers, search, matchDomains: [''] } : null,
    texts,
    hosts,
    tunnelRoutes,
    group: typeof vars.get('Group') === 'string' ? (vars.get('Group') as string) : null,
    ruleNames,
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

export function readApplyNetsh(text: string): TargetModel & { tunnelRoutes: number } {
  requireCrlf(text, 'apply.netsh.cmd');
  const vars: Record<string, string> = { run: '', dnsif: '<dnsif>' };
  const routes = new RouteTable();
  let tunnelRoutes = 0;
  let ifname: string | null = null;
  const dns4: [number, string][] = [];
  const dns6: [number, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('%run% netsh ')) continue;
    const { words } = cmdWords(line, vars);
    const fail = words.indexOf('||');
    if (fail < 0 || words.slice(fail).join(' ') !== '|| goto fail') throw new Error(`apply.netsh.cmd: a command does not stop on error: ${line}`);
    const w = words.slice(0, fail);
    const kv = new Map<string, string>();
    const positional: string[] = [];
    for (const x of w.slice(4)) {
      const eq = x.indexOf('=');
      if (eq > 0) kv.set(x.slice(0, eq), x.slice(eq + 1).replace(/^"(.*)"$/, '$1'));
      else positional.push(x);
    }
    const [, , fam, verb, obj] = [w[0], w[1], w[2], w[3], w[4]];
    if (w[0] !== 'netsh' || w[1] !== 'interface' || (fam !== 'ipv4' && fam !== 'ipv6')) throw new Error(`apply.netsh.cmd: unexpected ${line}`);
    const what = `${verb} ${obj ?? ''}`.trim();
    if (what === 'set address' || what === 'add address') ifname = kv.get('name') ?? kv.get('interface') ?? null;
    if (verb === 'add' && positional[0] === 'route') {
      if (kv.get('interface') !== ifname) throw new Error('apply.netsh.cmd: route on another adapter');
      if (kv.get('store') !== 'active') throw new Error('apply.netsh.cmd: persistent route');
      routes.add(kv.get('prefix')!, 'tunnel');
      tunnelRoutes++;
    } else if (positional[0] === 'dnsservers') {
      const list = fam === 'ipv4' ? dns4 : dns6;
      if (verb === 'set') list.length = 0;
      list.push([verb === 'set' ? 1 : Number(kv.get('index')), kv.get('address')!]);
    }
  }
  const servers = [...dns4.sort((a, b) => a[0] - b[0]), ...dns6.sort((a, b) => a[0] - b[0])].map((x) => x[1]);
  return {
    // As for apply.ps1: no route lines means nothing is routed into the tunnel.
    routes,
    blockedOffTunnel: null,
    dns: servers.length ? { servers, search: [], matchDomains: [''] } : null,
    texts: [],
    hosts: [],
    tunnelRoutes,
  };
}
