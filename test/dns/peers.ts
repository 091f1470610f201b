/**
 * Real DNS peers for namespace tests, all from Debian:
 * - unbound, answering local zones only, as the Gateway's backend and as the
 *   private (fallback) resolver;
 * - dnsdist serving DoH with a certificate made here by openssl, as the
 *   Gateway, with one policy rule (a blocked name answers 0.0.0.0) and a
 *   query log so tests can see exactly which names reached it.
 * Every process is started through a Netns (tracked by the pool, stopped by PID).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Netns } from '../helpers/netns.js';

const execFileP = promisify(execFile);

/** Make a CA and a leaf certificate for `host` in `dir`; returns the file names. */
export async function makeCertificates(dir: string, host: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'key.pem');
  const csr = join(dir, 'leaf.csr');
  const cert = join(dir, 'cert.pem');
  const ext = join(dir, 'leaf.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execFileP('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=warpc test CA']);
  await execFileP('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${host}`]);
  await writeFile(ext, `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  await execFileP('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  await chmod(key, 0o644);
  return { ca, cert, key };
}

export interface UnboundZone {
  readonly zone: string;
  /** Lines for local-data, e.g. "www.example.com. 300 IN A 192.0.2.10". */
  readonly records: readonly string[];
}

/** unbound answering only its local zones; everything else REFUSED (it never recurses). */
export async function startUnbound(ns: Netns, dir: string, name: string, address: string, zones: readonly UnboundZone[], port = 53): Promise<ChildProcess> {
  const conf = join(dir, `${name}.conf`);
  const lines = [
    'server:',
    `  interface: ${address}`,
    `  port: ${port}`,
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  num-threads: 1',
    '  do-ip6: no',
    '  access-control: 0.0.0.0/0 allow',
    '  module-config: "iterator"',
    '  local-zone: "." refuse',
    '  max-udp-size: 4096',
    '  edns-buffer-size: 4096',
    ...zones.flatMap((z) => [`  local-zone: "${z.zone}." static`, ...z.records.map((r) => `  local-data: "${r}"`)]),
    'remote-control:',
    '  control-enable: no',
  ];
  await writeFile(conf, `${lines.join('\n')}\n`);
  await execFileP('unbound-checkconf', [conf]).catch((e: { stderr?: string }) => {
    throw new Error(`unbound config ${conf} rejected: ${e.stderr ?? String(e)}`);
  });
  const child = ns.spawn('unbound', ['-d', '-c', conf]);
  await waitFor(async () => (await ns.tryRun('dig', [`@${address}`, '-p', String(port), '+time=1', '+tries=1', `${zones[0]!.zone}.`, 'SOA'])).stdout.includes('status: NOERROR'), `unbound ${name}`, child);
  return child;
}

export interface Gateway {
  readonly child: ChildProcess;
  readonly queryLog: string;
  /** Names the gateway has seen so far (lowercased, no trailing dot). */
  seen(): Promise<string[]>;
}

/** dnsdist serving DoH on address:443 with the given certificate, forwarding to `backend`. */
export async function startDnsdistDoh(
  ns: Netns,
  dir: string,
  opts: { address: string; host: string; cert: string; key: string; ca: string; backend: string; blocked: string; packetCache?: boolean },
): Promise<Gateway> {
  const queryLog = join(dir, 'dnsdist-queries.log');
  const conf = join(dir, 'dnsdist.conf');
  await writeFile(
    conf,
    [
      'setSecurityPollSuffix("")',
      // The default ACL only admits private ranges; the test addresses are 198.18.0.0/15.
      'setACL({"0.0.0.0/0", "::/0"})',
      `newServer({address="${opts.backend}", name="backend", checkInterval=3600})`,
      `addDOHLocal("${opts.address}:443", "${opts.cert}", "${opts.key}", "/dns-query", {idleTimeout=30})`,
      `addAction(AllRule(), LogAction("${queryLog}", false, true, false))`,
      `addAction(QNameRule("${opts.blocked}"), SpoofAction({"0.0.0.0", "::"}))`,
      ...(opts.packetCache ? ['getPool(""):setCache(newPacketCache(10000))'] : []),
      '',
    ].join('\n'),
  );
  await writeFile(queryLog, '');
  await chmod(dir, 0o755);
  const child = ns.spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf]);
  await waitFor(
    async () =>
      (
        await ns.tryRun('kdig', [`@${opts.address}`, `+https=/dns-query`, `+tls-ca=${opts.ca}`, `+tls-hostname=${opts.host}`, '+timeout=1', '+retry=0', `${opts.blocked}`, 'A'])
      ).stdout.includes('NOERROR'),
    'dnsdist DoH',
    child,
  );
  await writeFile(queryLog, '');
  return {
    child,
    queryLog,
    async seen() {
      const text = await readFile(queryLog, 'utf8');
      // LogAction text lines: "Packet from ADDR:PORT for NAME TYPE with id N"
      return [...text.matchAll(/ for (\S+) /g)].map((m) => m[1]!.toLowerCase().replace(/\.$/, ''));
    },
  };
}

/** Poll `check` until it is true; fail early when `child` exits. */
export async function waitFor(check: () => Promise<boolean>, what: string, child?: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let stderr = '';
  child?.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
    if (await check()) return;
    if (Date.now() > end) throw new Error(`${what} not ready within ${timeoutMs} ms: ${stderr}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface Dig {
  status: string;
  flags: string[];
  answers: { name: string; ttl: number; type: string; data: string }[];
  raw: string;
}

/** Parse dig's default output (header, flags, answer section). */
export function parseDig(out: string): Dig {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const answers: Dig['answers'] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(out)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m) answers.push({ name: m[1]!.replace(/\.$/, '').toLowerCase(), ttl: Number(m[2]), type: m[3]!, data: m[4]! });
  }
  return { status, flags, answers, raw: out };
}

/** Is the compiled CLI present and at least as new as the proxy sources? */
export function builtCli(root: string): string {
  const main = join(root, 'dist', 'src', 'cli', 'main.js');
  const proxy = join(root, 'dist', 'src', 'runtime', 'dns', 'proxy.js');
  if (!existsSync(main) || !existsSync(proxy)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const src = join(root, 'src', 'runtime', 'dns', 'proxy.ts');
  if (statSync(src).mtimeMs > statSync(proxy).mtimeMs + 1000) throw new Error(`${proxy} is older than ${src}: run \`npm run build\` first`);
  return main;
}
