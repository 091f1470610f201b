/**
 * The reference gateway's DoH resolver: dnsdist (Debian's) as a supervised child,
 * serving RFC 8484 DNS over HTTPS on --doh-listen in front of a real resolver
 * (--doh-upstream), with a block list answered NXDOMAIN for each name and every
 * name under it (a SuffixMatchNode).
 *
 * Decides: the dnsdist configuration (written to <state-dir>/doh/dnsdist.conf,
 * 0600, from validated values only, every string through luaString), the DoH TLS
 * identity when none is given (a CA kept in <state-dir>/doh and a server
 * certificate issued at each start through src/net/x509.ts), and dnsdist's life:
 * started, restarted with backoff when it dies, restarted with a new config when
 * the block list file changes (see reload()), stopped by PID.
 * Must not touch: routes, firewall, interfaces, the WireGuard peers, resolv.conf;
 * no process but the dnsdist it started (and a stale one of its own pid file).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentError, agentMessage } from '../agent/errors.js';
import { backoffMs } from '../agent/follow.js';
import { ensureStateDir } from '../agent/state.js';
import { canonicalAddress, parseAddress } from '../net/ip.js';
import { addressLike, aLabelOf, dropTrailingDot, parseDomainName, type NameError } from '../net/names.js';
import { certificate, derToPem, fingerprint } from '../net/x509.js';
import { atomicWrite } from '../runtime/linux/resolv.js';

const execFileP = promisify(execFile);

/** The largest block list read (a list past it is refused, not cut). */
export const BLOCK_LIST_MAX_BYTES = 16 * 1024 * 1024;

// ---- validated values ------------------------------------------------------------------------

export interface HostPort {
  /** Canonical address text. */
  readonly host: string;
  readonly family: 4 | 6;
  readonly port: number;
}

/** `ADDR:PORT` as dnsdist writes it (`[v6]:port`). */
export const hostPortText = (h: HostPort): string => (h.family === 6 ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`);

function splitHostPort(text: string, defaultPort: number | null): { host: string; port: string | null } | string {
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] ?? null };
  const colons = text.split(':').length - 1;
  if (colons > 1) return defaultPort === null ? 'an IPv6 address with a port is written [IPV6]:PORT' : { host: text, port: null };
  if (colons === 1) return { host: text.slice(0, text.indexOf(':')), port: text.slice(text.indexOf(':') + 1) };
  return { host: text, port: null };
}

function parseHostPortText(text: string, defaultPort: number | null): HostPort | string {
  const parts = splitHostPort(text, defaultPort);
  if (typeof parts === 'string') return parts;
  const a = parseAddress(parts.host);
  if (!a) return `${JSON.stringify(parts.host.slice(0, 80))} is not an IP address (a host name is not resolved here)`;
  if (parts.port === null && defaultPort === null) return 'the port is missing';
  const portText = parts.port ?? String(defaultPort);
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return `${JSON.stringify(portText.slice(0, 20))} is not a port (1 to 65535)`;
  return { host: canonicalAddress(parts.host) as string, family: a.family, port: Number(portText) };
}

/** --doh-listen: ADDR:PORT or [IPV6]:PORT (the port is required). */
export function parseListen(text: string): HostPort {
  const r = parseHostPortText(text, null);
  if (typeof r === 'string') throw agentError('DohListen', { value: JSON.stringify(text.slice(0, 80)), reason: r });
  return r;
}

/** --doh-upstream: ADDR, ADDR:PORT, IPV6 or [IPV6]:PORT (port 53 when none is given). */
export function parseUpstream(text: string): HostPort {
  const r = parseHostPortText(text, 53);
  if (typeof r === 'string') throw agentError('DohUpstream', { value: JSON.stringify(text.slice(0, 80)), reason: r });
  return r;
}

/** --doh-path: an absolute URL path of unreserved characters (no query, no percent escapes, no `..`). */
export function parseDohPath(text: string): string {
  let reason: string | null = null;
  if (!text.startsWith('/')) reason = 'it must start with /';
  else if (text.length > 128) reason = 'longer than 128 characters';
  else if (!/^[A-Za-z0-9._~/-]+$/.test(text)) reason = 'it holds a character outside the allowed set';
  else if (/\/\.\.?(\/|$)|\/\//.test(text)) reason = 'it holds an empty, . or .. segment';
  if (reason !== null) throw agentError('DohPath', { value: JSON.stringify(text.slice(0, 80)), reason });
  return text;
}

/** --doh-name: a DNS name (the DoH URL's host) or an IP address, for the generated certificate. */
export function parseCertName(text: string): string {
  const ip = canonicalAddress(text);
  if (ip !== null) return ip;
  const r = parseDomainName(dropTrailingDot(text));
  if (!r.ok) throw agentError('DohName', { value: JSON.stringify(text.slice(0, 80)), reason: NAME_REASON[r.error] });
  return r.name;
}

const NAME_REASON: Record<NameError, string> = {
  empty: 'it is empty',
  'too-long': 'longer than 253 characters',
  'label-length': 'a label is longer than 63 characters',
  'label-syntax': 'a label holds something other than letters, digits and inner hyphens (or is empty)',
  wildcard: 'a wildcard is not needed: a name blocks every name under it already (write example.com, not *.example.com)',
};

// ---- the block list --------------------------------------------------------------------------

/**
 * A block list's text: one name a line, `#` starts a comment, blank lines are skipped
 * (spaces and tabs around a name too; any other control character is an error),
 * a trailing dot and Unicode names (as their A-label) are accepted. Each name blocks
 * itself and every name under it. Returns the names sorted and deduplicated; the first
 * bad line is a WARPC0250 naming file:line.
 */
export function parseBlockList(text: string, file: string): string[] {
  const names = new Set<string>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    const hash = raw.indexOf('#');
    const entry = (hash < 0 ? raw : raw.slice(0, hash)).replace(/^[ \t]+|[ \t]+$/g, '');
    if (entry === '') continue;
    const bad = (reason: string): Error => agentError('DohBlockListName', { file, line: i + 1, value: JSON.stringify(entry.slice(0, 80)), reason });
    if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(entry)) throw bad('it holds a control character');
    if (/\s/.test(entry)) throw bad('one name a line (it holds white space)');
    const dotless = dropTrailingDot(entry);
    const ascii = aLabelOf(dotless) ?? dotless;
    if (ascii.startsWith('*.')) throw bad(NAME_REASON.wildcard);
    const r = parseDomainName(ascii);
    if (!r.ok) throw bad(NAME_REASON[r.error]);
    if (addressLike(r.name) !== null) throw bad('it reads as an IP address; the block list holds names');
    names.add(r.name);
  }
  return [...names].sort();
}

async function readListBytes(file: string): Promise<Buffer> {
  const st = await stat(file);
  if (!st.isFile()) throw new Error('not a regular file');
  if (st.size > BLOCK_LIST_MAX_BYTES) throw new Error(`larger than ${BLOCK_LIST_MAX_BYTES} bytes`);
  return readFile(file);
}

/**
 * Read and parse a block list file (WARPC0251 when it cannot be read or is too large).
 * With `settleMs`, the file must read the same twice that far apart (up to ten tries): an
 * editor or a script that truncates and then writes, or renames, is never caught halfway
 * (a half-written list would unblock names, or block a fragment, until the next look).
 */
export async function readBlockList(file: string, settleMs = 0): Promise<string[]> {
  /** The bytes, or why they cannot be read. */
  const read = (): Promise<Buffer | string> => readListBytes(file).catch((err: Error) => err.message);
  let bytes = await read();
  for (let i = 0; settleMs > 0 && i < 10; i++) {
    await new Promise((r) => setTimeout(r, settleMs));
    const again = await read();
    const same = typeof bytes === 'string' ? again === bytes : typeof again !== 'string' && again.equals(bytes);
    bytes = again;
    if (same) break;
  }
  if (typeof bytes === 'string') throw agentError('DohBlockListFile', { file, reason: bytes });
  return parseBlockList(bytes.toString('utf8'), file);
}

// ---- the dnsdist configuration ---------------------------------------------------------------

/**
 * A Lua string literal holding exactly `s`: printable ASCII but `"` and `\` is kept, every
 * other byte (quotes, backslashes, newlines, `]]`'s brackets stay; control and non-ASCII
 * bytes) is a decimal escape `\ddd`, so nothing in `s` can end the literal or start code.
 */
export function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  return `${out}"`;
}

export interface DnsdistConfigInput {
  readonly listen: HostPort;
  readonly certFile: string;
  readonly keyFile: string;
  readonly path: string;
  readonly upstream: HostPort;
  readonly blocked: readonly string[];
}

/** Names added per Lua function: LuaJIT allows at most 65,536 constants in one function. */
const CHUNK = 1000;

/**
 * The dnsdist configuration: only the DoH frontend (no plain listener: dnsdist needs
 * none when it has a DoH one, and no console, so no other port is opened), one
 * upstream, the security-status poll off (it would query the system's resolver), and
 * the block list. Every value is validated; every string is a luaString.
 */
export function renderDnsdistConfig(c: DnsdistConfigInput): string {
  const lines = [
    '-- Written by warpc gateway (src/gateway/doh.ts) at every start and block-list change: edits are lost.',
    "setSecurityPollSuffix('')",
    `addDOHLocal(${luaString(hostPortText(c.listen))}, ${luaString(c.certFile)}, ${luaString(c.keyFile)}, ${luaString(c.path)})`,
    `newServer({address=${luaString(hostPortText(c.upstream))}})`,
    `-- ${c.blocked.length} blocked names (each with every name under it): NXDOMAIN`,
    'local blocked = newSuffixMatchNode()',
  ];
  for (let i = 0; i < c.blocked.length; i += CHUNK) {
    lines.push('do local function add()');
    for (const name of c.blocked.slice(i, i + CHUNK)) lines.push(`  blocked:add(${luaString(`${name}.`)})`);
    lines.push('end add() end');
  }
  lines.push('addAction(SuffixMatchNodeRule(blocked), RCodeAction(DNSRCode.NXDOMAIN))', '');
  return lines.join('\n');
}

// ---- TLS -------------------------------------------------------------------------------------

export interface DohTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** The generated CA (null when --doh-cert was given). */
  readonly caFile: string | null;
  readonly caFingerprint: string | null;
  readonly created: boolean;
  readonly names: readonly string[];
}

const DAY = 86_400_000;

/** --doh-cert/--doh-key as given: both readable, a certificate and the private key that matches it. */
export async function givenTls(certFile: string, keyFile: string): Promise<DohTls> {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(await readFile(certFile));
  } catch (err) {
    throw agentError('DohTls', { reason: `--doh-cert ${certFile}: ${(err as Error).message}` });
  }
  try {
    key = createPrivateKey(await readFile(keyFile));
  } catch (err) {
    throw agentError('DohTls', { reason: `--doh-key ${keyFile}: ${(err as Error).message}` });
  }
  if (!cert.checkPrivateKey(key)) throw agentError('DohTls', { reason: `--doh-key ${keyFile} is not the key of the certificate in --doh-cert ${certFile}` });
  return { certFile, keyFile, caFile: null, caFingerprint: null, created: false, names: [] };
}

/**
 * The generated identity in `dir`: a CA (ca.key 0600, ca.pem; created once and kept, so
 * devices' --doh-ca stays valid) and a server certificate for `names` issued by it at every
 * start (server.key 0600, server.pem), through src/net/x509.ts.
 */
export async function generatedTls(dir: string, names: readonly string[], now = new Date()): Promise<DohTls> {
  await ensureStateDir(dir);
  const caKeyFile = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  let caKey: KeyObject | null = null;
  let caPem = '';
  let created = false;
  try {
    const [keyText, certText] = await Promise.all([readFile(caKeyFile), readFile(caFile, 'utf8')]);
    caKey = createPrivateKey(keyText);
    caPem = certText;
    if (!new X509Certificate(caPem).checkPrivateKey(caKey)) throw new Error(`it is not the certificate of ${caKeyFile}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw agentError('DohTls', { reason: `${caFile}: ${(err as Error).message} (remove ca.pem and ca.key to generate a new CA; devices then need the new ca.pem)` });
    caKey = null;
  }
  if (caKey === null) {
    caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    caPem = derToPem(certificate({ subjectKey: caKey, subject: 'warpc gateway DoH CA', issuerKey: caKey, issuer: 'warpc gateway DoH CA', notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + 3650 * DAY), ca: true }));
    await atomicWrite(caKeyFile, Buffer.from(caKey.export({ type: 'pkcs8', format: 'pem' }) as string), 0o600);
    await atomicWrite(caFile, Buffer.from(caPem), 0o644);
    created = true;
  }
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const der = certificate({ subjectKey: key, subject: names[0] ?? 'localhost', issuerKey: caKey, issuer: 'warpc gateway DoH CA', notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + 365 * DAY), usage: 'server', altNames: names.length > 0 ? names : ['localhost'] });
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  await atomicWrite(keyFile, Buffer.from(key.export({ type: 'pkcs8', format: 'pem' }) as string), 0o600);
  await atomicWrite(certFile, Buffer.from(derToPem(der)), 0o644);
  return { certFile, keyFile, caFile, caFingerprint: fingerprint(caPem), created, names: names.length > 0 ? names : ['localhost'] };
}

// ---- dnsdist, supervised ---------------------------------------------------------------------

export interface DohOptions {
  readonly listen: HostPort;
  readonly upstream: HostPort;
  readonly path: string;
  readonly blockList: string | null;
  readonly tls: DohTls;
  /** <state-dir>/doh: dnsdist.conf (0600) and dnsdist.pid. */
  readonly dir: string;
  readonly log: (msg: string) => void;
  readonly dnsdist?: string;
  /** Backoff bounds between restarts after dnsdist dies, ms (jittered ±50 %); default 1 s to 30 s. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** How often the block list file is looked at, ms (default 1000). */
  readonly pollMs?: number;
  /** How long a changed block list must stay the same before it is used, ms (default 200). */
  readonly settleMs?: number;
  /** How long a start may take until the DoH port accepts connections, ms (default 15 s). */
  readonly startTimeoutMs?: number;
}

export interface DohServer {
  /** The running dnsdist's PID (null between a death and its restart). */
  pid(): number | null;
  /** The names blocked now. */
  blocked(): readonly string[];
  /** Stop dnsdist (SIGTERM, SIGKILL after 5 s) and the file watch; resolves when it is gone. */
  stop(): Promise<void>;
}

/** dnsdist on PATH, with DoH compiled in (`dnsdist --version` lists dns-over-https). */
export async function checkDnsdist(bin = 'dnsdist'): Promise<string> {
  let out: string;
  try {
    out = (await execFileP(bin, ['--version'], { timeout: 10_000 })).stdout;
  } catch (err) {
    throw agentError('DohDnsdist', { reason: `cannot run ${bin} --version (${(err as Error).message.split('\n')[0] ?? ''}); install dnsdist (Debian: apt-get install dnsdist)` });
  }
  if (!/dns-over-https/i.test(out)) throw agentError('DohDnsdist', { reason: `${bin} was built without DNS over HTTPS (its --version lists no dns-over-https)` });
  return (out.split('\n')[0] ?? '').trim();
}

/** The unprivileged user dnsdist drops to after binding and loading its keys, when warpc runs as root and the system has it. */
async function dnsdistUser(): Promise<string[]> {
  if (process.getuid?.() !== 0) return [];
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return /^_dnsdist:/m.test(passwd) && (await readFile('/etc/group', 'utf8').catch(() => '')).match(/^_dnsdist:/m) ? ['-u', '_dnsdist', '-g', '_dnsdist'] : [];
}

async function checkConfig(bin: string, file: string): Promise<void> {
  try {
    await execFileP(bin, ['--check-config', '-C', file], { timeout: 30_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const text = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || e.message;
    throw agentError('DohDnsdist', { reason: `it refused the generated configuration ${file}: ${text.split('\n').slice(0, 5).join(' / ')}` });
  }
}

/** Can a TCP connection be made to the DoH port (from this namespace)? */
function accepts(h: HostPort): Promise<boolean> {
  const host = h.host === '0.0.0.0' ? '127.0.0.1' : h.host === '::' ? '::1' : h.host;
  return new Promise((resolve) => {
    const s = connect({ host, port: h.port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stop the dnsdist a previous gateway left running (its pid file, and only if that PID runs dnsdist with this config). */
async function stopStale(pidFile: string, confFile: string, log: (m: string) => void): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  if (!cmdline.some((a) => a.endsWith('dnsdist')) || !cmdline.includes(confFile)) return;
  log(`doh: stopping dnsdist pid ${pid}, left running by a previous gateway`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && (await readFile(`/proc/${pid}/cmdline`).then(() => true, () => false)); i++) await sleepMs(100);
}

const digest = (names: readonly string[]): string => createHash('sha256').update(names.join('\n')).digest('hex');

/**
 * Write the config, check it with `dnsdist --check-config`, start dnsdist and wait until
 * its DoH port accepts connections. Then supervise: a dnsdist that dies is started again
 * after a backoff (logged, WARPC0258); a changed block list is validated and, when good,
 * applied by a restart of dnsdist with the new config (WARPC0256 and the old list kept
 * when not). Restart rather than the console: the console needs a control port and a
 * shared key beside the DoH port, and a list changed through it lives only in dnsdist's
 * memory, while the config file written here stays the one description of what runs. A
 * restart costs the DoH clients their connections (they reconnect; warpc's client does
 * at once) and dnsdist's cache.
 */
export async function startDoh(o: DohOptions): Promise<DohServer> {
  const bin = o.dnsdist ?? 'dnsdist';
  const version = await checkDnsdist(bin);
  await ensureStateDir(o.dir);
  const confFile = join(o.dir, 'dnsdist.conf');
  const pidFile = join(o.dir, 'dnsdist.pid');
  const user = await dnsdistUser();
  let blocked = o.blockList === null ? [] : await readBlockList(o.blockList);
  let blockedDigest = digest(blocked);

  const writeConfig = async (names: readonly string[]): Promise<void> => {
    const text = renderDnsdistConfig({ listen: o.listen, certFile: o.tls.certFile, keyFile: o.tls.keyFile, path: o.path, upstream: o.upstream, blocked: names });
    const next = join(o.dir, 'dnsdist.conf.next');
    await atomicWrite(next, Buffer.from(text), 0o600);
    try {
      await checkConfig(bin, next);
    } catch (err) {
      await rm(next, { force: true });
      throw err;
    }
    await rename(next, confFile);
  };

  let child: ChildProcess | null = null;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | null = null;
  let attempt = 0;
  /** Start, stop, reload and restart run one at a time, in order. */
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f);
    queue = p.catch(() => undefined);
    return p;
  };

  const url = `https://${hostPortText(o.listen)}${o.path}`;
  const launch = async (): Promise<void> => {
    const c = spawn(bin, ['--supervised', '--disable-syslog', ...user, '-C', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const startedAt = Date.now();
    let output = '';
    const onData = (d: Buffer): void => {
      output += d.toString();
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') o.log(`doh: dnsdist: ${l.trim()}`);
    };
    c.stdout?.on('data', onData);
    c.stderr?.on('data', onData);
    const exited = new Promise<string>((resolve) => {
      c.once('exit', (code, signal) => resolve(signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`));
      c.once('error', (err) => resolve(`cannot run it: ${err.message}`));
    });
    let gone: string | null = null;
    void exited.then((how) => (gone = how));
    child = c;
    const until = Date.now() + (o.startTimeoutMs ?? 15_000);
    while (gone === null && !(await accepts(o.listen))) {
      if (Date.now() > until) {
        child = null;
        c.kill('SIGKILL');
        throw agentError('DohDnsdist', { reason: `it did not accept connections on ${hostPortText(o.listen)} within ${((o.startTimeoutMs ?? 15_000) / 1000).toFixed(0)} s` });
      }
      await sleepMs(50);
    }
    if (gone !== null) {
      child = null;
      throw agentError('DohDnsdist', { reason: `it exited while starting (${gone as string}); its last words are logged above` });
    }
    await atomicWrite(pidFile, Buffer.from(`${c.pid}\n`), 0o644);
    o.log(`doh: dnsdist started (pid ${c.pid}): DoH on ${url}, upstream ${hostPortText(o.upstream)}, ${blocked.length} blocked names`);
    void exited.then((how) => {
      if (child !== c) return; // stopped on purpose
      child = null;
      if (stopping) return;
      if (Date.now() - startedAt > 30_000) attempt = 0;
      scheduleRestart((ms) => `doh: ${agentMessage('DohDnsdistExited', { pid: c.pid ?? '?', how, seconds: (ms / 1000).toFixed(1) })}`);
    });
  };

  /** Start dnsdist again after a backoff; a start that fails schedules the next one. */
  const scheduleRestart = (message: (ms: number) => string): void => {
    const ms = backoffMs(attempt++, o.backoffMinMs ?? 1000, o.backoffMaxMs ?? 30_000);
    o.log(message(ms));
    restartTimer = setTimeout(() => {
      restartTimer = null;
      void serial(async () => {
        if (stopping || child !== null) return;
        try {
          await launch();
        } catch (err) {
          o.log(`doh: ${(err as Error).message}`);
          if (!stopping) scheduleRestart((next) => `doh: next try in ${(next / 1000).toFixed(1)} s`);
        }
      });
    }, ms);
  };

  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  /** The block list file changed: validate, write and check the new config, restart dnsdist on it; on any error keep what runs. */
  const reload = async (): Promise<void> => {
    if (o.blockList === null || stopping) return;
    let names: string[];
    try {
      names = await readBlockList(o.blockList, o.settleMs ?? 200);
    } catch (err) {
      o.log(`doh: ${agentMessage('DohReloadRefused', { reason: (err as Error).message, count: blocked.length })}`);
      return;
    }
    const d = digest(names);
    if (d === blockedDigest) return;
    try {
      await writeConfig(names);
    } catch (err) {
      o.log(`doh: ${agentMessage('DohReloadRefused', { reason: (err as Error).message, count: blocked.length })}`);
      return;
    }
    const before = new Set(blocked);
    const added = names.filter((n) => !before.has(n)).length;
    const removed = blocked.length - (names.length - added);
    blocked = names;
    blockedDigest = d;
    o.log(`doh: block list ${o.blockList} changed: ${added} added, ${removed} removed; restarting dnsdist with the new list`);
    await kill();
    attempt = 0;
    try {
      await launch();
    } catch (err) {
      o.log(`doh: ${(err as Error).message}`);
      scheduleRestart((ms) => `doh: next try in ${(ms / 1000).toFixed(1)} s`);
    }
  };

  o.log(`doh: ${version}`);
  await stopStale(pidFile, confFile, o.log);
  await writeConfig(blocked);
  await serial(launch);
  if (o.blockList !== null) {
    const file = o.blockList;
    watchFile(file, { interval: o.pollMs ?? 1000, persistent: false }, () => void serial(reload));
  }
  return {
    pid: () => child?.pid ?? null,
    blocked: () => blocked,
    stop: async () => {
      stopping = true;
      if (o.blockList !== null) unwatchFile(o.blockList);
      if (restartTimer) clearTimeout(restartTimer);
      const pid = child?.pid;
      await serial(kill);
      await rm(pidFile, { force: true });
      if (pid !== undefined) o.log(`doh: dnsdist (pid ${pid}) stopped`);
    },
  };
}
