/**
 * The supervision of src/gateway/doh.ts without root: startDoh runs a stand-in `dnsdist`
 * (a node script answering --version and --check-config, and listening on the DoH port
 * of its config) so start, restart with backoff, reload on a block-list change, a refused
 * edit, a stale process of a previous gateway and stop are checked by PID on any machine.
 * The namespace test (doh-e2e) does the same with the real dnsdist.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { checkDnsdist, generatedTls, parseListen, parseUpstream, startDoh, type DohServer } from '../../src/gateway/doh.js';
import { pidExists } from '../helpers/proc.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-doh-sup-'));
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The stand-in: --version, --check-config (refuses a config naming refuse.example), or serve TCP on addDOHLocal's address until SIGTERM. */
const FAKE = join(dir, 'dnsdist');
writeFileSync(
  FAKE,
  `#!${process.execPath}
const fs = require('node:fs');
const net = require('node:net');
const args = process.argv.slice(2);
if (args[0] === '--version') { console.log('dnsdist 0.0-fake (test)\\nEnabled features: dns-over-https(DOH)'); process.exit(0); }
const conf = fs.readFileSync(args[args.indexOf('-C') + 1], 'utf8');
if (args[0] === '--check-config') { if (conf.includes('refuse.example')) { console.log('Fatal error: refused'); process.exit(1); } console.log('Configuration OK!'); process.exit(0); }
const m = /addDOHLocal\\("([0-9.]+):(\\d+)"/.exec(conf);
console.log('Listening on ' + m[1] + ':' + m[2] + ' for DoH');
net.createServer((s) => s.destroy()).listen(Number(m[2]), m[1]);
process.on('SIGTERM', () => process.exit(0));
`,
);
chmodSync(FAKE, 0o755);
const NO_DOH = join(dir, 'dnsdist-no-doh');
writeFileSync(NO_DOH, `#!/bin/sh\necho 'dnsdist 1.0 (plain)'\necho 'Enabled features: dnscrypt'\n`);
chmodSync(NO_DOH, 0o755);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}


async function until(what: string, ok: () => boolean | Promise<boolean>, log: string[], ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let n = 0;
let state: string;
let list: string;
let log: string[];
let server: DohServer | null = null;
beforeEach(async () => {
  if (server) await server.stop();
  server = null;
  state = join(dir, `s${++n}`);
  list = join(dir, `list${n}`);
  log = [];
});

async function start(blockList: string | null = list): Promise<DohServer> {
  const tls = await generatedTls(join(state, 'doh'), ['doh.test']);
  server = await startDoh({ listen: parseListen(`127.0.0.1:${await freePort()}`), upstream: parseUpstream('127.0.0.1:5301'), path: '/dns-query', blockList, tls, dir: join(state, 'doh'), log: (m) => log.push(m), dnsdist: FAKE, backoffMinMs: 50, backoffMaxMs: 200, pollMs: 50 });
  return server;
}

it('dnsdist is checked: missing, or built without DoH, is WARPC0257', async () => {
  await expect(checkDnsdist(join(dir, 'nope'))).rejects.toThrow(/^WARPC0257: dnsdist: cannot run .*nope --version .*install dnsdist/);
  await expect(checkDnsdist(NO_DOH)).rejects.toThrow(/^WARPC0257: dnsdist: .* was built without DNS over HTTPS/);
  await expect(checkDnsdist(FAKE)).resolves.toBe('dnsdist 0.0-fake (test)');
});

it('start: the config (0600) holds the list, the pid file the child; a child that dies is started again after a logged backoff', async () => {
  await writeFile(list, 'blocked.example.com\n');
  const s = await start();
  const pid = s.pid() as number;
  expect(pidExists(pid)).toBe(true);
  expect(Number(await readFile(join(state, 'doh', 'dnsdist.pid'), 'utf8'))).toBe(pid);
  expect((await stat(join(state, 'doh', 'dnsdist.conf'))).mode & 0o777).toBe(0o600);
  expect(await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8')).toContain('blocked:add("blocked.example.com.")');
  expect(log).toContain('doh: dnsdist: Listening on ' + (/DoH on https:\/\/([0-9.:]+)\//.exec(log.join('\n'))?.[1] ?? '?') + ' for DoH');
  process.kill(pid, 'SIGKILL');
  await until('a restart', () => s.pid() !== null && s.pid() !== pid, log);
  expect(log.join('\n')).toMatch(new RegExp(`doh: WARPC0258: dnsdist \\(pid ${pid}\\) exited \\(signal SIGKILL\\); starting it again in 0\\.\\d s`));
  // And again: the backoff grows but stays within its bound.
  const second = s.pid() as number;
  process.kill(second, 'SIGKILL');
  await until('a second restart', () => s.pid() !== null && s.pid() !== second, log);
  const next = s.pid() as number;
  await s.stop();
  expect(pidExists(next)).toBe(false);
  await expect(stat(join(state, 'doh', 'dnsdist.pid'))).rejects.toThrow(/ENOENT/);
  expect(log.at(-1)).toBe(`doh: dnsdist (pid ${next}) stopped`);
});

it('a changed list restarts dnsdist on the new config; an unchanged or bad one does not (WARPC0256, previous list kept)', async () => {
  await writeFile(list, 'a.example\n');
  const s = await start();
  const first = s.pid() as number;
  await writeFile(list, 'a.example\nb.example\n');
  await until('the reload', () => s.blocked().length === 2 && s.pid() !== null && s.pid() !== first, log);
  expect(pidExists(first)).toBe(false);
  expect(log.join('\n')).toContain(`doh: block list ${list} changed: 1 added, 0 removed; restarting dnsdist with the new list`);
  expect(await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8')).toContain('blocked:add("b.example.")');
  const second = s.pid() as number;
  // Same names, other text: nothing to do.
  await writeFile(list, '# reordered\nB.example.\na.example\n');
  // A bad line: refused, dnsdist and its config untouched.
  await new Promise((r) => setTimeout(r, 300));
  expect(s.pid()).toBe(second);
  const conf = await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8');
  await writeFile(list, 'a.example\nc.example"); os.exit() --\n');
  await until('the refusal', () => log.some((l) => l.includes('WARPC0256')), log);
  expect(log.find((l) => l.includes('WARPC0256'))).toMatch(new RegExp(`^doh: WARPC0256: the block list changed but is not used: WARPC0250: ${list}:2: .*; dnsdist keeps the previous list \\(2 names\\)$`));
  // A list dnsdist itself refuses (the stand-in refuses refuse.example): also kept.
  await writeFile(list, 'a.example\nrefuse.example\n');
  await until('the second refusal', () => log.filter((l) => l.includes('WARPC0256')).length === 2, log);
  expect(log.filter((l) => l.includes('WARPC0256'))[1]).toMatch(/WARPC0257: dnsdist: it refused the generated configuration .*dnsdist\.conf\.next: Fatal error: refused/);
  expect(s.pid()).toBe(second);
  expect(await readFile(join(state, 'doh', 'dnsdist.conf'), 'utf8')).toBe(conf);
  expect(s.blocked()).toEqual(['a.example', 'b.example']);
  await s.stop();
});

it('a dnsdist a killed gateway left running (its pid file, our config) is stopped at the next start; a stranger\'s PID is not', async () => {
  await writeFile(list, 'a.example\n');
  const s = await start();
  const orphan = s.pid() as number;
  // Simulate a gateway that died without stopping dnsdist: a new dnsdist on the same config keeps running, pid file left.
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(log.join('\n'))?.[1]);
  await s.stop();
  expect(pidExists(orphan)).toBe(false);
  const leftover = spawn(FAKE, ['--supervised', '-C', join(state, 'doh', 'dnsdist.conf')], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => leftover.stdout?.once('data', r));
  await until('the leftover to listen', () => new Promise<boolean>((r) => {
    const c = connect({ host: '127.0.0.1', port }, () => (c.destroy(), r(true)));
    c.once('error', () => r(false));
  }), log);
  await writeFile(join(state, 'doh', 'dnsdist.pid'), `${leftover.pid}\n`);
  const exited = new Promise((r) => leftover.once('exit', r));
  log = [];
  const tls = await generatedTls(join(state, 'doh'), ['doh.test']);
  server = await startDoh({ listen: parseListen(`127.0.0.1:${port}`), upstream: parseUpstream('127.0.0.1'), path: '/dns-query', blockList: list, tls, dir: join(state, 'doh'), log: (m) => log.push(m), dnsdist: FAKE, backoffMinMs: 50, backoffMaxMs: 200, pollMs: 50 });
  const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!gone) leftover.kill('SIGKILL');
  expect(gone, log.join('\n')).toBe(true);
  expect(log).toContain(`doh: stopping dnsdist pid ${leftover.pid}, left running by a previous gateway`);
  await server.stop();
  server = null;
  // A pid file naming some other process is left alone.
  const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  await writeFile(join(state, 'doh', 'dnsdist.pid'), `${stranger.pid}\n`);
  const s2 = await start();
  expect(pidExists(stranger.pid as number)).toBe(true);
  await s2.stop();
  server = null;
  stranger.kill();
});

it('a block list with a bad line stops the start (WARPC0250) before dnsdist runs', async () => {
  await writeFile(list, 'ok.example\n*.bad.example\n');
  await expect(start()).rejects.toThrow(new RegExp(`^WARPC0250: ${list}:2: `));
  expect(log.some((l) => l.includes('dnsdist started'))).toBe(false);
  await expect(stat(join(state, 'doh', 'dnsdist.conf'))).rejects.toThrow(/ENOENT/);
});
