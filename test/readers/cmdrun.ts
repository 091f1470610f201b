/**
 * Runs the cmd.exe batch subset warpc emits against the modelled Windows state
 * (winstate.ts): labels, goto, call :label (with %1) and call "file",
 * exit /b, set "k=v", if [not] defined/exist/"a"=="b", for /f over a command's
 * output (tokens=, with ^| findstr /r /c:"…") or over a file's lines (usebackq
 * delims=; a goto in the body ends the loop), `a || b` chains, echo with
 * > and >> redirection, del, and the netsh commands, modelled from their
 * documentation. %var% is expanded when a line is read, %%X per for
 * iteration, as cmd does; findstr /x /c:"…" on a file. Anything else is an error.
 */
import { cmdWords } from './windows.js';
import { effectiveMetric, fileName, ipAdapter, SCRIPT_DIR, WinError, type WinState } from './winstate.js';

export interface CmdRun {
  readonly exitCode: number;
  /** Every netsh command that ran, as words. */
  readonly netsh: string[][];
  /** What echo printed (not redirected to a file or nul). */
  readonly stdout: string[];
}

class Exit {
  constructor(readonly code: number) {}
}

export function runCmd(src: string, state: WinState, args: string[] = [], env: Record<string, string> = {}): CmdRun {
  if (/(^|[^\r])\n/.test(src)) throw new Error('cmd: LF line endings (cmd.exe needs CRLF for labels)');
  const lines = src.split('\r\n');
  const vars: Record<string, string> = { ...env };
  const netshLog: string[][] = [];
  const stdout: string[] = [];
  const labels = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /^:([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(l.trim());
    if (m) labels.set(m[1]!.toLowerCase(), i);
  });

  const expand = (line: string, params: string[], forVars: Record<string, string>): string =>
    line.replace(/%%([A-Za-z])|%~dp0|%~([0-9])|%([0-9])|%([A-Za-z_][A-Za-z0-9_]*)%/g, (m, f: string | undefined, tilde: string | undefined, pos: string | undefined, v: string | undefined) => {
      if (f !== undefined) return forVars[f] ?? m; // a for variable: replaced per iteration
      if (m === '%~dp0') return `${SCRIPT_DIR}\\`;
      if (tilde !== undefined) return (params[Number(tilde)] ?? '').replace(/^"(.*)"$/, '$1');
      if (pos !== undefined) return params[Number(pos)] ?? '';
      return vars[v!] ?? '';
    });

  const unquote = (w: string): string => w.replace(/^"(.*)"$/, '$1');

  /** One simple command (no ||); returns its exit code. */
  const simple = (words: string[], params: string[], depth: number): number => {
    const w = words.filter((x) => x !== '');
    // Redirections: >nul 2>&1 drop output; > file / >> file for echo.
    let out: { file: string; append: boolean } | null = null;
    let toNul = false;
    const cmd: string[] = [];
    for (let i = 0; i < w.length; i++) {
      if (w[i] === '>' || w[i] === '>>') {
        const target = unquote(w[++i] ?? '');
        if (target.toLowerCase() !== 'nul') out = { file: fileName(target), append: w[i - 1] === '>>' };
        else toNul = true;
      } else if (w[i] === '2' && w[i + 1] === '>&' && w[i + 2] === '1') i += 2;
      else if (w[i] === '1' && w[i + 1] === '>&' && w[i + 2] === '2') i += 2;
      else cmd.push(w[i]!);
    }
    const [name, ...rest] = cmd;
    if (name === undefined) return 0;
    switch (name.toLowerCase()) {
      case 'echo': {
        if (out) {
          const text = `${rest.join(' ')}\r\n`;
          state.files[out.file] = (out.append ? (state.files[out.file] ?? '') : '') + text;
        } else if (!toNul) stdout.push(rest.join(' '));
        return 0;
      }
      case 'set': {
        const m = /^"([A-Za-z_][A-Za-z0-9_]*)=(.*)"$/.exec(rest.join(' '));
        if (!m) throw new Error(`cmd: set ${rest.join(' ')} is outside the subset`);
        if (m[2] === '') delete vars[m[1]!];
        else vars[m[1]!] = m[2]!;
        return 0;
      }
      case 'del': {
        const f = fileName(unquote(rest[0] ?? ''));
        if (!(f in state.files)) return 1;
        delete state.files[f];
        return 0;
      }
      case 'findstr': {
        // findstr /x /c:"TEXT" "file": 0 when a line is exactly TEXT.
        const m = /^\/x \/c:"([^"]*)" "([^"]*)"$/.exec(rest.join(' '));
        if (!m) throw new Error(`cmd: findstr ${rest.join(' ')} is outside the subset`);
        const f = fileName(m[2]!);
        if (!(f in state.files)) return 2;
        return state.files[f]!.split('\r\n').includes(m[1]!) ? 0 : 1;
      }
      case 'netsh':
        netshLog.push(cmd);
        try {
          netsh(state, rest);
          return 0;
        } catch (err) {
          if (err instanceof WinError) return 1;
          throw err;
        }
      case 'call': {
        const target = rest[0] ?? '';
        if (target.startsWith(':')) return run(labels.get(target.slice(1).toLowerCase()) ?? fail(`no label ${target}`), [target, ...rest.slice(1)], depth + 1);
        const f = fileName(unquote(target));
        if (!(f in state.files)) return 1;
        return runCmdLines(state.files[f]!.replace(/\r\n$/, '').split('\r\n'));
      }
      default:
        throw new Error(`cmd: command ${name} is outside the subset`);
    }
  };
  const fail = (m: string): never => {
    throw new Error(`cmd: ${m}`);
  };
  // A called file: only set lines (the adapter backup).
  const runCmdLines = (ls: string[]): number => {
    for (const l of ls) {
      const { words } = cmdWords(expand(l, [], {}), null);
      if (words[0] !== 'set') throw new Error(`cmd: a called file runs ${l}`);
      simple(words, [], 0);
    }
    return 0;
  };

  /** A command line after expansion: if/for/goto/exit prefixes, then `a || b || …` (and `(a& b)`). */
  const line = (text: string, params: string[], forVars: Record<string, string>, depth: number): number | { goto: string } => {
    const t = text.trim();
    let m: RegExpExecArray | null;
    if ((m = /^if (not )?defined ([A-Za-z_][A-Za-z0-9_]*) (.*)$/i.exec(t))) {
      return (m[2]! in vars) !== !!m[1] ? line(m[3]!, params, forVars, depth) : 0;
    }
    if ((m = /^if (not )?exist "([^"]*)" (.*)$/i.exec(t))) {
      return (fileName(m[2]!) in state.files) !== !!m[1] ? line(m[3]!, params, forVars, depth) : 0;
    }
    if ((m = /^if (not )?"([^"]*)"=="([^"]*)" (.*)$/i.exec(t))) {
      return (m[2] === m[3]) !== !!m[1] ? line(m[4]!, params, forVars, depth) : 0;
    }
    if ((m = /^for \/f "usebackq delims=" %%([A-Za-z]) in \("([^"]*)"\) do (.*)$/i.exec(t))) {
      // Each line of a file, whole (delims= : no splitting). cmd splits at LF and drops the CR
      // before it, skips empty lines and lines starting with ; (the default eol); a missing
      // file is an error message and no iteration.
      const f = fileName(m[2]!);
      if (!(f in state.files)) return 1;
      const letter = m[1]!;
      for (const row of state.files[f]!.split('\n').map((l) => l.replace(/\r$/, ''))) {
        if (row === '' || row.startsWith(';')) continue;
        const body = m[3]!.replace(/%%([A-Za-z])/g, (x, v: string) => (v === letter ? row : (forVars[v] ?? x)));
        const r = line(body, params, { ...forVars, [letter]: row }, depth);
        if (typeof r === 'object') return r;
      }
      return 0;
    }
    if ((m = /^for \/f "([^"]*)" %%([A-Za-z]) in \('([^']*)'\) do (.*)$/i.exec(t))) {
      const opts = m[1]!;
      const tm = /^tokens=([0-9,]+)(\*)?$/.exec(opts.replace(/^skip=\d+ /, ''));
      if (!tm) throw new Error(`cmd: for /f options ${opts}`);
      const skip = Number(/^skip=(\d+)/.exec(opts)?.[1] ?? 0);
      const picks = tm[1]!.split(',').map(Number);
      const letter = m[2]!.charCodeAt(0);
      const output = commandOutput(m[3]!).split('\r\n').slice(skip).filter((l) => l.trim() !== '');
      for (const row of output) {
        const toks = row.trim().split(/\s+/);
        const fv: Record<string, string> = { ...forVars };
        picks.forEach((n, k) => {
          fv[String.fromCharCode(letter + k)] = toks[n - 1] ?? '';
        });
        if (tm[2]) {
          // The rest of the line after the last picked token.
          const last = picks[picks.length - 1]!;
          const re = new RegExp(`^\\s*(?:\\S+\\s+){${last}}`);
          fv[String.fromCharCode(letter + picks.length)] = re.test(row) ? row.replace(re, '').trimEnd() : '';
        }
        if (picks.some((_, k) => fv[String.fromCharCode(letter + k)] === '')) continue;
        const body = m[4]!.replace(/%%([A-Za-z])/g, (x, f: string) => fv[f] ?? x);
        const r = line(body, params, fv, depth);
        if (typeof r === 'object') return r;
      }
      return 0;
    }
    if ((m = /^goto (\S+)$/i.exec(t))) return { goto: m[1]! };
    if ((m = /^exit \/b (\d+)$/i.exec(t))) throw new Exit(Number(m[1]));
    // (a& b): a group of commands.
    if ((m = /^\((.*)\)$/.exec(t))) {
      let code = 0;
      for (const part of m[1]!.split('&')) code = simple(cmdWords(part, null).words, params, depth);
      return code;
    }
    // a || b || goto fail / exit /b 1
    const parts = t.split(' || ');
    let code = 0;
    for (let i = 0; i < parts.length; i++) {
      if (i > 0 && code === 0) break;
      const p = parts[i]!.trim();
      if (/^goto |^exit \/b /i.test(p)) {
        const r = line(p, params, forVars, depth);
        if (typeof r === 'object') return r;
        continue;
      }
      code = simple(cmdWords(p, null).words, params, depth);
    }
    return code;
  };

  const commandOutput = (cmd: string): string => {
    const [first, ...filters] = cmd.split(' ^| ');
    const words = cmdWords(first!, null).words;
    if (words[0] !== 'netsh') throw new Error(`cmd: for /f over ${cmd}`);
    let text = netshShow(state, words.slice(1));
    for (const f of filters) {
      const fm = /^findstr \/r \/c:"([^"]*)"$/.exec(f.trim());
      if (!fm) throw new Error(`cmd: filter ${f}`);
      const re = new RegExp(fm[1]!);
      text = text
        .split('\r\n')
        .filter((l) => re.test(l))
        .join('\r\n');
    }
    return text;
  };

  /** Run from line `start` until exit /b or the end; returns the exit code. */
  const run = (start: number, params: string[], depth: number): number => {
    if (depth > 20) throw new Error('cmd: call depth');
    let pc = start;
    let code = 0;
    try {
      while (pc < lines.length) {
        const raw = lines[pc]!;
        pc++;
        const t = raw.trim();
        if (t === '' || /^rem( |$)/i.test(t) || t.startsWith(':') || /^@echo off$/i.test(t) || /^(setlocal|endlocal)$/i.test(t)) continue;
        const r = line(expand(t, params, {}), params, {}, depth);
        if (typeof r === 'object') {
          const to = labels.get(r.goto.toLowerCase());
          if (to === undefined) throw new Error(`cmd: no label ${r.goto}`);
          pc = to + 1;
        } else code = r;
      }
    } catch (e) {
      if (e instanceof Exit) return e.code;
      throw e;
    }
    return code;
  };
  vars['run'] = '';
  const exitCode = run(0, ['script', ...args], 0);
  return { exitCode, netsh: netshLog, stdout };
}

/** Does `text` read as an address/length of the family (a loose check, as netsh's parser: no canonical form asked)? */
export function routePrefix(text: string, f: 'v4' | 'v6'): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return false;
  if (f === 'v4') return /^\d{1,3}(\.\d{1,3}){3}$/.test(m[1]!) && m[1]!.split('.').every((o) => Number(o) <= 255) && Number(m[2]) <= 32;
  return /^[0-9A-Fa-f:.]+$/.test(m[1]!) && m[1]!.includes(':') && Number(m[2]) <= 128;
}

function kv(words: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of words) {
    const i = w.indexOf('=');
    if (i > 0) m.set(w.slice(0, i).toLowerCase(), w.slice(i + 1).replace(/^"(.*)"$/, '$1'));
  }
  return m;
}

/** `netsh interface ipv4|ipv6 show interfaces`, as Windows prints it. */
function netshShow(s: WinState, w: string[]): string {
  if (w.join(' ') === 'interface ipv4 show route' || w.join(' ') === 'interface ipv6 show route') {
    const v6 = w[1] === 'ipv6';
    const rows = [...s.routes]
      .map((r) => r.split('|') as [string, string])
      .filter(([, p]) => p.includes(':') === v6)
      .map(([alias, p]) => `No       System    256  ${p.padEnd(24)}  ${String(s.adapters.find((a) => a.name === alias)!.index).padStart(3)}  ${alias}`);
    return ['', 'Publish  Type      Met  Prefix                    Idx  Gateway/Interface Name', '-------  --------  ---  ------------------------  ---  ------------------------', ...rows, ''].join('\r\n');
  }
  if (w.join(' ') !== 'interface ipv4 show interfaces' && w.join(' ') !== 'interface ipv6 show interfaces') throw new Error(`cmd: netsh ${w.join(' ')} is not modelled`);
  const f = w[1] === 'ipv4' ? 'v4' : 'v6';
  const rows = [`  1          75  4294967295  connected     Loopback Pseudo-Interface 1`];
  for (const a of s.adapters) if (a.ip) rows.push(`${String(a.index).padStart(3)}  ${String(effectiveMetric(a[f])).padStart(10)}  ${String(a[f].mtu).padStart(10)}  connected     ${a.name}`);
  return ['', 'Idx     Met         MTU          State                Name', '---  ----------  ----------  ------------  ---------------------------', ...rows, ''].join('\r\n');
}

/** The netsh interface commands warpc uses, on the model; a failure is a WinError. */
function netsh(s: WinState, w: string[]): void {
  if (w[0] !== 'interface' || (w[1] !== 'ipv4' && w[1] !== 'ipv6')) throw new Error(`cmd: netsh ${w.join(' ')} is not modelled`);
  const f = w[1] === 'ipv4' ? 'v4' : 'v6';
  const verb = `${w[2]} ${w[3]}`;
  const p = kv(w.slice(4));
  const store = (): void => {
    if (p.get('store') !== 'active') throw new Error(`cmd: netsh ${verb} outside the active store`);
  };
  switch (verb) {
    case 'set address': {
      const a = ipAdapter(s, p.get('name') ?? p.get('interface') ?? '');
      store();
      if (f === 'v4') {
        if (p.get('source') !== 'static' || p.get('mask') !== '255.255.255.255') throw new Error('cmd: set address form');
        a.addresses = [...a.addresses.filter((x) => x.includes(':')), p.get('address')!];
      } else if (!a.addresses.includes(p.get('address')!)) throw new WinError('Element not found.');
      return;
    }
    case 'add address': {
      const a = ipAdapter(s, p.get('interface') ?? '');
      store();
      const addr = p.get('address')!.replace(/\/128$/, '');
      if (a.addresses.includes(addr)) throw new WinError('The object already exists.');
      a.addresses.push(addr);
      return;
    }
    case 'delete address': {
      const a = ipAdapter(s, p.get('name') ?? p.get('interface') ?? '');
      if (!a.addresses.includes(p.get('address')!)) throw new WinError('Element not found.');
      a.addresses = a.addresses.filter((x) => x !== p.get('address'));
      return;
    }
    case 'set subinterface': {
      const a = ipAdapter(s, w[4] ?? '');
      store();
      const mtu = Number(p.get('mtu'));
      if (!Number.isInteger(mtu) || mtu < 576) throw new WinError('The parameter is incorrect.');
      a[f].mtu = mtu;
      return;
    }
    case 'set interface': {
      const a = ipAdapter(s, w[4] ?? '');
      store();
      const metric = Number(p.get('metric'));
      if (!Number.isInteger(metric) || metric < 0) throw new WinError('The parameter is incorrect.');
      a[f].metric = metric;
      a[f].automatic = false;
      return;
    }
    case 'add route':
    case 'set route':
    case 'delete route': {
      const a = ipAdapter(s, p.get('interface') ?? '');
      store();
      // A prefix netsh cannot read as one of this family is refused.
      if (!routePrefix(p.get('prefix') ?? '', f)) throw new WinError('The parameter is incorrect.');
      const key = `${a.name}|${p.get('prefix')!}`;
      const has = s.routes.has(key);
      if (verb === 'add route') {
        if (has) throw new WinError('The object already exists.');
        s.routes.add(key);
      } else if (!has) throw new WinError('Element not found.');
      else if (verb === 'delete route') s.routes.delete(key);
      return;
    }
    case 'set dnsservers':
    case 'add dnsservers': {
      const a = ipAdapter(s, p.get('name') ?? '');
      const list = f === 'v4' ? 'v4' : 'v6';
      if (verb === 'set dnsservers') {
        if (p.get('source') === 'dhcp') a.dns[list] = [];
        else if (p.get('source') === 'static') a.dns[list] = [p.get('address')!];
        else throw new Error('cmd: set dnsservers source');
      } else {
        const at = Number(p.get('index')) - 1;
        a.dns[list] = [...a.dns[list].slice(0, at), p.get('address')!, ...a.dns[list].slice(at)];
      }
      return;
    }
    default:
      throw new Error(`cmd: netsh ${w.join(' ')} is not modelled`);
  }
}

