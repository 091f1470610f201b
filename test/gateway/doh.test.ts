/**
 * The gateway DoH resolver's pure parts (src/gateway/doh.ts), no root: the block list
 * grammar and its file:line errors, the Lua quoting (round-tripped through dnsdist's
 * own LuaJIT with --check-config), the generated dnsdist configuration, option
 * validation, the generated TLS identity, and the CLI refusals of `warpc gateway`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedTls, givenTls, luaString, parseBlockList, parseCertName, parseDohPath, parseListen, parseUpstream, readBlockList, renderDnsdistConfig, type HostPort } from '../../src/gateway/doh.js';
import { runCli } from '../helpers/cli.js';

const execFileP = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'warpc-doh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasDnsdist = ((): boolean => {
  try {
    execFileSync('sh', ['-c', 'command -v dnsdist'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasDnsdist && process.env['WARPC_E2E'] === 'required') throw new Error('dnsdist is missing and WARPC_E2E=required');
const withDnsdist = hasDnsdist ? describe : describe.skip;

/** The code and message of what `f` throws. */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

const HOSTILE = [
  'evil.example.com") os.execute("id") --',
  "evil.example.com') os.execute('id') --",
  'a]]..os.exit()--[[',
  ']]',
  'evil.example.com\\',
  'evil.example.com"',
  'x.example.com;os.exit()',
  'x.example.com\u0000',
  'x.example.com\u000b',
  '*.example.com',
  'exa_mple.com',
  'example..com',
  '-bad.example.com',
  'bad-.example.com',
  `${'a'.repeat(64)}.example.com`,
  `${'abcdefghi.'.repeat(26)}com`,
  '10.0.0.1',
  '::1',
  'name with space',
  '.',
  '%41.example.com',
];

describe('block list', () => {
  it('one name a line: comments, blanks, CRLF, a trailing dot, upper case and Unicode names (as A-labels) are fine; sorted and deduplicated', () => {
    const text = '# blocked by the team\n\nBlocked.Example.COM\r\nads.example.net.   # trailing comment\n  tracker.example.org  \nblocked.example.com\nbücher.example\n';
    expect(parseBlockList(text, 'list')).toEqual(['ads.example.net', 'blocked.example.com', 'tracker.example.org', 'xn--bcher-kva.example']);
    expect(parseBlockList('', 'list')).toEqual([]);
    expect(parseBlockList('# only comments\n\n', 'list')).toEqual([]);
  });

  it('a bad line is WARPC0250 naming file:line and the value, escaped', () => {
    expect(thrown(() => parseBlockList('ok.example.com\n# c\n\n*.example.com\n', '/etc/blocked'))).toBe(
      'WARPC0250: /etc/blocked:4: "*.example.com" is not a name to block: a wildcard is not needed: a name blocks every name under it already (write example.com, not *.example.com)',
    );
    expect(thrown(() => parseBlockList('a.example\nx"); os.exit() --\n', 'f'))).toBe('WARPC0250: f:2: "x\\"); os.exit() --" is not a name to block: one name a line (it holds white space)');
    expect(thrown(() => parseBlockList('a.example\nb.example\nc\u0000.example\n', 'f'))).toMatch(/^WARPC0250: f:3: "c\\u0000\.example" is not a name to block: it holds a control character/);
    expect(thrown(() => parseBlockList('10.0.0.1\n', 'f'))).toMatch(/^WARPC0250: f:1: "10\.0\.0\.1" .*reads as an IP address/);
    expect(thrown(() => parseBlockList('two names.example\n', 'f'))).toMatch(/^WARPC0250: f:1: .*one name a line/);
    expect(thrown(() => parseBlockList(`${'a'.repeat(64)}.example\n`, 'f'))).toMatch(/label is longer than 63/);
    expect(thrown(() => parseBlockList(`${'abcdefghi.'.repeat(26)}com\n`, 'f'))).toMatch(/longer than 253/);
  });

  it.each(HOSTILE)('hostile line %j is refused with its line number', (line) => {
    expect(thrown(() => parseBlockList(`good.example.com\n${line}\n`, 'list'))).toMatch(/^WARPC0250: list:2: /);
  });

  it('whatever the text, every name that passes is lowercase LDH labels (nothing of Lua, quotes or newlines)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom(...HOSTILE, 'ok.example.com', 'A.B', 'x-y.z.')), { maxLength: 8 }), (lines) => {
        let names: string[];
        try {
          names = parseBlockList(lines.join('\n'), 'p');
        } catch (err) {
          expect((err as Error).message).toMatch(/^WARPC0250: p:\d+: /);
          return;
        }
        for (const n of names) expect(n).toMatch(/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('readBlockList: a missing file is WARPC0251; a file is parsed with its own name in errors', async () => {
    await expect(readBlockList(join(dir, 'nope'))).rejects.toThrow(/^WARPC0251: cannot read the block list .*nope: ENOENT/);
    await expect(readBlockList(dir)).rejects.toThrow(/^WARPC0251: .*not a regular file/);
    const f = join(dir, 'list');
    await writeFile(f, 'a.example\n\nb"c\n');
    await expect(readBlockList(f)).rejects.toThrow(`WARPC0250: ${f}:3: "b\\"c" is not a name to block`);
  });

  it('readBlockList with a settle time: a file caught halfway (truncated, then written) is read again until it stays the same', async () => {
    const f = join(dir, 'settling');
    await writeFile(f, '');
    const later = setTimeout(() => void writeFile(f, 'a.example\nb.example\n'), 60);
    await expect(readBlockList(f, 150)).resolves.toEqual(['a.example', 'b.example']);
    clearTimeout(later);
    // Without one, what is there now.
    await writeFile(f, '');
    const again = setTimeout(() => void writeFile(f, 'a.example\n'), 60);
    await expect(readBlockList(f)).resolves.toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    clearTimeout(again);
    // A file that is gone stays an error once it has settled.
    await expect(readBlockList(join(dir, 'gone'), 20)).rejects.toThrow(/^WARPC0251: .*gone: ENOENT/);
  });
});

const listen: HostPort = { host: '203.0.113.53', family: 4, port: 443 };
const upstream: HostPort = { host: '127.0.0.1', family: 4, port: 5301 };

describe('Lua quoting and the dnsdist configuration', () => {
  it('luaString escapes every byte that could end the literal or start code', () => {
    expect(luaString('/var/lib/warpc-gateway/doh/server.pem')).toBe('"/var/lib/warpc-gateway/doh/server.pem"');
    expect(luaString('a"b\\c\n]]\'')).toBe('"a\\034b\\092c\\010]]\'"');
    expect(luaString('é')).toBe('"\\195\\169"');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const q = luaString(s);
        // Between the delimiters: no quote, no newline, no backslash other than a \ddd escape.
        expect(q.slice(1, -1)).toMatch(/^(?:[^"\\\n\r]|\\[0-9]{3})*$/);
      }),
    );
  });

  it('the configuration: the DoH frontend, the upstream, the poll off, no console, no plain listener; names as quoted FQDNs in a SuffixMatchNode', () => {
    const conf = renderDnsdistConfig({ listen, certFile: '/s/doh/server.pem', keyFile: '/s/doh/server.key', path: '/dns-query', upstream, blocked: ['blocked.example.com', 'evil.test'] });
    expect(conf).toBe(`-- Written by warpc gateway (src/gateway/doh.ts) at every start and block-list change: edits are lost.
setSecurityPollSuffix('')
addDOHLocal("203.0.113.53:443", "/s/doh/server.pem", "/s/doh/server.key", "/dns-query")
newServer({address="127.0.0.1:5301"})
-- 2 blocked names (each with every name under it): NXDOMAIN
local blocked = newSuffixMatchNode()
do local function add()
  blocked:add("blocked.example.com.")
  blocked:add("evil.test.")
end add() end
addAction(SuffixMatchNodeRule(blocked), RCodeAction(DNSRCode.NXDOMAIN))
`);
    expect(conf).not.toMatch(/setLocal|addLocal\(|controlSocket|setKey/);
    const v6 = renderDnsdistConfig({ listen: { host: '2001:db8::53', family: 6, port: 8443 }, certFile: 'c', keyFile: 'k', path: '/q', upstream: { host: '::1', family: 6, port: 53 }, blocked: [] });
    expect(v6).toContain('addDOHLocal("[2001:db8::53]:8443", "c", "k", "/q")');
    expect(v6).toContain('newServer({address="[::1]:53"})');
  });

  it('a hostile certificate path stays one string: the configuration has exactly its lines', () => {
    const evil = '/tmp/x")\nos.execute("id")\n--[[';
    const conf = renderDnsdistConfig({ listen, certFile: evil, keyFile: ']]"..os.exit()', path: '/dns-query', upstream, blocked: [] });
    expect(conf.split('\n')).toHaveLength(8);
    expect(conf).not.toContain('os.execute("id")');
    expect(conf).toContain('"/tmp/x\\034)\\010os.execute(\\034id\\034)\\010--[["');
  });

  withDnsdist('through dnsdist (its --check-config runs the Lua)', () => {
    it('luaString round-trips any bytes through LuaJIT: what Lua writes is exactly the string', async () => {
      const samples = ['plain', 'a"b\\c\n]]\'[[x]]', '\u0000\u0001\u007f', 'é€😀', ...fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), 30)];
      const out = join(dir, 'lua-out');
      const lines = samples.map((s, i) => `local f${i} = io.open(${luaString(`${out}.${i}`)}, "wb") f${i}:write(${luaString(s)}) f${i}:close()`);
      const conf = join(dir, 'roundtrip.conf');
      await writeFile(conf, `${lines.join('\n')}\n`);
      await execFileP('dnsdist', ['--check-config', '-C', conf]);
      for (const [i, s] of samples.entries()) expect((await readFile(`${out}.${i}`)).equals(Buffer.from(s, 'utf8')), JSON.stringify(s)).toBe(true);
    });

    it('dnsdist accepts the generated configuration, also with 70,000 names (more constants than one Lua function may hold)', async () => {
      const names = Array.from({ length: 70_000 }, (_, i) => `n${i}.blocked.example`);
      const conf = join(dir, 'big.conf');
      await writeFile(conf, renderDnsdistConfig({ listen, certFile: '/nonexistent/c.pem', keyFile: '/nonexistent/k.pem', path: '/dns-query', upstream, blocked: names }));
      const r = await execFileP('dnsdist', ['--check-config', '-C', conf]);
      expect(r.stdout).toMatch(/OK/);
      const v6 = join(dir, 'v6.conf');
      await writeFile(v6, renderDnsdistConfig({ listen: parseListen('[2001:db8::53]:443'), certFile: '/c', keyFile: '/k', path: '/q', upstream: parseUpstream('::1'), blocked: ['a.example'] }));
      expect((await execFileP('dnsdist', ['--check-config', '-C', v6])).stdout).toMatch(/OK/);
    }, 60_000);
  });
});

describe('option values', () => {
  it('--doh-listen: ADDR:PORT or [V6]:PORT, canonical', () => {
    expect(parseListen('0.0.0.0:443')).toEqual({ host: '0.0.0.0', family: 4, port: 443 });
    expect(parseListen('[2001:DB8:0::53]:8443')).toEqual({ host: '2001:db8::53', family: 6, port: 8443 });
    expect(thrown(() => parseListen('203.0.113.53'))).toBe('WARPC0252: --doh-listen "203.0.113.53": the port is missing (expected ADDR:PORT or [IPV6]:PORT)');
    expect(thrown(() => parseListen('2001:db8::53:443'))).toMatch(/^WARPC0252: .*written \[IPV6\]:PORT/);
    expect(thrown(() => parseListen('doh.example.com:443'))).toMatch(/^WARPC0252: .*not an IP address/);
    expect(thrown(() => parseListen('1.2.3.4:0'))).toMatch(/^WARPC0252: .*not a port/);
    expect(thrown(() => parseListen('1.2.3.4:65536'))).toMatch(/^WARPC0252: .*not a port/);
    expect(thrown(() => parseListen('1.2.3.4:44"3'))).toMatch(/^WARPC0252: .*not a port/);
    expect(thrown(() => parseListen('1.2.3.4:443\nx'))).toMatch(/^WARPC0252: /);
  });

  it('--doh-upstream: port 53 unless given; bare IPv6 too', () => {
    expect(parseUpstream('127.0.0.1')).toEqual({ host: '127.0.0.1', family: 4, port: 53 });
    expect(parseUpstream('127.0.0.1:5301')).toEqual({ host: '127.0.0.1', family: 4, port: 5301 });
    expect(parseUpstream('::1')).toEqual({ host: '::1', family: 6, port: 53 });
    expect(parseUpstream('[::1]:5353')).toEqual({ host: '::1', family: 6, port: 5353 });
    expect(thrown(() => parseUpstream('resolver.example'))).toMatch(/^WARPC0253: --doh-upstream "resolver.example": .*not an IP address/);
    expect(thrown(() => parseUpstream('1.2.3.4:x'))).toMatch(/^WARPC0253: .*not a port/);
  });

  it('--doh-path: absolute, unreserved characters only', () => {
    expect(parseDohPath('/dns-query')).toBe('/dns-query');
    expect(parseDohPath('/a/b_c.d~e')).toBe('/a/b_c.d~e');
    for (const bad of ['dns-query', '/dns query', '/q?x=1', '/a"b', '/a\nb', '/%2e', '/a/../b', '//x', `/${'a'.repeat(128)}`]) expect(thrown(() => parseDohPath(bad)), bad).toMatch(/^WARPC0254: --doh-path /);
  });

  it('--doh-name: a DNS name or an address', () => {
    expect(parseCertName('DoH.Example.com.')).toBe('doh.example.com');
    expect(parseCertName('2001:DB8::1')).toBe('2001:db8::1');
    expect(thrown(() => parseCertName('*.example.com'))).toMatch(/^WARPC0259: --doh-name "\*\.example\.com": /);
    expect(thrown(() => parseCertName('a b'))).toMatch(/^WARPC0259: /);
  });
});

describe('the DoH TLS identity', () => {
  it('generated: a CA kept across starts (0600 key), a server certificate for the names issued by it at every start', async () => {
    const d = join(dir, 'tls');
    const a = await generatedTls(d, ['doh.gw.example', '203.0.113.53']);
    expect(a.created).toBe(true);
    expect(a.caFile).toBe(join(d, 'ca.pem'));
    for (const f of ['ca.key', 'server.key']) expect((await stat(join(d, f))).mode & 0o777, f).toBe(0o600);
    const ca = new X509Certificate(await readFile(join(d, 'ca.pem')));
    const leaf = new X509Certificate(await readFile(a.certFile));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.checkHost('doh.gw.example')).toBe('doh.gw.example');
    expect(leaf.checkIP('203.0.113.53')).toBe('203.0.113.53');
    expect(leaf.checkHost('other.example')).toBeUndefined();
    expect(leaf.checkPrivateKey(createPrivateKey(await readFile(a.keyFile)))).toBe(true);
    expect(a.caFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const b = await generatedTls(d, ['doh.gw.example']);
    expect(b.created).toBe(false);
    expect(b.caFingerprint).toBe(a.caFingerprint);
    expect(new X509Certificate(await readFile(b.certFile)).fingerprint256).not.toBe(leaf.fingerprint256);
    expect(new X509Certificate(await readFile(b.certFile)).verify(ca.publicKey)).toBe(true);
    expect((await readdir(d)).sort()).toEqual(['ca.key', 'ca.pem', 'server.key', 'server.pem']);
  });

  it('given: the key must be the certificate\'s (WARPC0255)', async () => {
    const one = await generatedTls(join(dir, 'g1'), ['a.example']);
    const two = await generatedTls(join(dir, 'g2'), ['b.example']);
    await expect(givenTls(one.certFile, one.keyFile)).resolves.toMatchObject({ certFile: one.certFile, caFile: null });
    await expect(givenTls(one.certFile, two.keyFile)).rejects.toThrow(/^WARPC0255: DoH certificate: --doh-key .* is not the key of the certificate/);
    await expect(givenTls(join(dir, 'missing.pem'), one.keyFile)).rejects.toThrow(/^WARPC0255: DoH certificate: --doh-cert .*missing\.pem: ENOENT/);
    await expect(givenTls(one.keyFile, one.keyFile)).rejects.toThrow(/^WARPC0255: DoH certificate: --doh-cert /);
  });
});

describe('warpc gateway: DoH options', () => {
  it.each([
    [['gateway'], /give --masque-listen .* or --doh-listen and --doh-upstream/],
    [['gateway', '--doh-listen', '127.0.0.1:8443'], /--doh-listen needs --doh-upstream/],
    [['gateway', '--block-list', '/etc/hosts'], /belong to the DoH resolver: give --doh-listen too/],
    [['gateway', '--doh-upstream', '127.0.0.1', '--masque-listen', '127.0.0.1:1', '--masque-clients', '/dev/null'], /belong to the DoH resolver/],
    [['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', '127.0.0.1', '--doh-cert', 'c.pem'], /--doh-cert and --doh-key go together/],
    [['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', '127.0.0.1', '--doh-cert', 'c', '--doh-key', 'k', '--doh-name', 'x.example'], /--doh-name names the generated certificate/],
    [['gateway', '--doh-listen', '127.0.0.1', '--doh-upstream', '127.0.0.1'], /WARPC0252: --doh-listen "127.0.0.1": the port is missing/],
    [['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', 'dns.example'], /WARPC0253: --doh-upstream "dns.example"/],
    [['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', '127.0.0.1', '--doh-path', 'query'], /WARPC0254: --doh-path "query": it must start with \//],
    [['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', '127.0.0.1', '--doh-name', 'a"b'], /WARPC0259: --doh-name "a\\"b"/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const r = await runCli(args);
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('a bad block list stops the gateway before anything starts: exit 1, WARPC0250 with file:line, nothing written to the state dir', async () => {
    const list = join(dir, 'cli-list');
    await writeFile(list, '# blocked\nads.example.com\nx.example.com") os.execute("id") --\n');
    const state = join(dir, 'cli-state');
    const r = await runCli(['gateway', '--doh-listen', '127.0.0.1:8443', '--doh-upstream', '127.0.0.1:5301', '--block-list', list, '--state-dir', state]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`WARPC0250: ${list}:3: "x.example.com\\") os.execute(\\"id\\") --" is not a name to block: one name a line`);
    await expect(stat(state)).rejects.toThrow(/ENOENT/);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
