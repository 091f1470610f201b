/**
 * Every file that crosses from the compiler to the runtime has one writer and one
 * reader (src/contract/). The reader takes everything the writer produced (every
 * fixture's goldens), gives back exactly what was written, and refuses corrupt,
 * truncated and wrong-typed files with an error that names the file and the JSON
 * pointer of the value at fault.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDnsProxyConfig, serializeDnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { ContractError } from '../../src/contract/json-file.js';
import { parseManifest, serializeManifest } from '../../src/contract/manifest.js';
import { parseMasque, serializeMasque, type MasqueSettings } from '../../src/contract/masque.js';
import { parseLinuxSettings, serializeLinuxSettings } from '../../src/contract/settings.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

interface Contract {
  readonly name: string;
  /** Where the goldens keep it, relative to expected/. */
  readonly paths: readonly string[];
  readonly parse: (text: string, file?: string) => unknown;
  readonly serialize: (value: never) => string;
}

const CONTRACTS: readonly Contract[] = [
  { name: 'manifest.json', paths: ['manifest.json'], parse: parseManifest, serialize: serializeManifest },
  { name: 'settings.json', paths: ['linux/settings.json'], parse: parseLinuxSettings, serialize: serializeLinuxSettings },
  { name: 'dns-proxy.json', paths: ['linux/dns-proxy.json', 'macos/dns-proxy.json', 'windows/dns-proxy.json'], parse: parseDnsProxyConfig, serialize: serializeDnsProxyConfig },
];

function goldens(c: Contract): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const fixture of readdirSync(FIXTURES)) {
    if (fixture.startsWith('_')) continue;
    for (const p of c.paths) {
      const full = join(FIXTURES, fixture, 'expected', p);
      if (existsSync(full)) out.push({ path: `${fixture}/${p}`, text: readFileSync(full, 'utf8') });
    }
  }
  return out;
}

function refusal(c: Contract, text: string): ContractError {
  try {
    c.parse(text, `some/dir/${c.name}`);
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    return err as ContractError;
  }
  throw new Error(`${c.name}: accepted ${JSON.stringify(text).slice(0, 200)}`);
}

/** A JSON pointer resolved against a value: the test's own RFC 6901 reader. */
function at(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

/** Every path to a leaf (string, number, boolean, null) of a JSON value. */
function leaves(value: unknown, path: string[] = []): string[][] {
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

function setAt(value: unknown, path: readonly string[], leaf: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  let node = copy as Record<string, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[path[path.length - 1]!] = leaf;
  return copy;
}

describe.each(CONTRACTS)('$name', (c) => {
  const files = goldens(c);

  it('reads every golden back to exactly what was written', () => {
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(c.serialize(c.parse(f.text, f.path) as never), f.path).toBe(f.text);
  });

  it('refuses a truncated file, naming the file', () => {
    for (const f of files) {
      for (const cut of [0, 1, Math.floor(f.text.length / 2), f.text.length - 3]) {
        const err = refusal(c, f.text.slice(0, cut));
        expect(err.message).toContain(`some/dir/${c.name}`);
        expect(err.pointer).toBe('');
        expect(err.message).toMatch(/not JSON/);
      }
    }
  });

  it('refuses a wrong-typed value anywhere, with the pointer of that value', () => {
    const sample = JSON.parse(files[0]!.text) as unknown;
    let checked = 0;
    for (const path of leaves(sample)) {
      const old = at(sample, `/${path.join('/')}`);
      // A value of another JSON type: an object where a leaf was.
      const err = refusal(c, JSON.stringify(setAt(sample, path, { wrong: typeof old })));
      const pointers = err.problems.map((p) => p.pointer);
      // The pointer names the value itself or, for a choice between shapes, the object that holds it.
      expect(pointers.some((p) => `/${path.join('/')}`.startsWith(p) && p.length > 0), `${path.join('/')}: ${err.message}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('refuses an unknown key and a missing one, pointing at them', () => {
    const sample = JSON.parse(files[0]!.text) as Record<string, unknown>;
    expect(refusal(c, JSON.stringify({ ...sample, surprise: 1 })).pointer).toBe('/surprise');
    const first = Object.keys(sample)[0]!;
    const { [first]: _, ...rest } = sample;
    const err = refusal(c, JSON.stringify(rest));
    expect(err.pointer).toBe('');
    expect(err.message).toContain(`"${first}"`);
  });

  it('refuses a corrupt value that is still JSON (a flipped character in a hash or an address)', () => {
    const f = files[0]!;
    const corrupt = f.text.replace(/"([0-9a-f]{64}|\d+\.\d+\.\d+\.\d+)"/, (m) => `${m.slice(0, -2)}g"`);
    expect(corrupt).not.toBe(f.text);
    const err = refusal(c, corrupt);
    expect(err.pointer).toMatch(/^\/./);
  });
});

describe('what a schema cannot say', () => {
  const settings = JSON.parse(readFileSync(join(FIXTURES, 'corporate-exclude/expected/linux/settings.json'), 'utf8')) as Record<string, unknown>;
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'corporate-exclude/expected/manifest.json'), 'utf8')) as { files: { path: string }[] };

  it('settings.json: an interface address of the wrong family, a bad search domain', () => {
    const err = refusal(CONTRACTS[1]!, JSON.stringify({ ...settings, interface: { ...(settings['interface'] as object), ipv4: '::1' }, dns: { listen: ['127.0.2.2'], search: ['bad..name'] } }));
    expect(err.problems.map((p) => p.pointer)).toEqual(['/interface/ipv4', '/dns/search/0']);
  });

  it('masque.json: reads back what the writer wrote; refuses an endpoint that is not an address, a pin of the wrong size, unknown keys', () => {
    const m: MasqueSettings = { version: 1, transport: 'h2', endpoint: { host: '162.159.198.1', port: 443 }, sni: 'zt-masque.cloudflareclient.com', server_pin: `sha256/${Buffer.alloc(32, 7).toString('base64')}`, authority: 'cloudflareaccess.com:443', keepalive_seconds: 5 };
    const text = serializeMasque(m);
    expect(serializeMasque(parseMasque(text))).toBe(text);
    const bad = (v: unknown): ContractError => {
      try {
        parseMasque(JSON.stringify(v), 'some/dir/masque.json');
      } catch (err) {
        expect(err).toBeInstanceOf(ContractError);
        return err as ContractError;
      }
      throw new Error('accepted');
    };
    expect(bad({ ...m, endpoint: { host: 'masque.example.com', port: 443 } }).problems.map((p) => p.pointer)).toEqual(['/endpoint/host']);
    expect(bad({ ...m, server_pin: 'sha256/abc' }).problems.map((p) => p.pointer)).toEqual(['/server_pin']);
    expect(bad({ ...m, transport: 'h3' }).problems.map((p) => p.pointer)).toEqual(['/transport']);
    expect(bad({ ...m, extra: 1 }).problems.map((p) => p.pointer)).toEqual(['/extra']);
  });

  it('manifest.json: a path that climbs out, and one listed twice', () => {
    const files = [...manifest.files];
    files[0] = { ...files[0]!, path: 'linux/../../etc/passwd' };
    files[2] = { ...files[1]! };
    const err = refusal(CONTRACTS[0]!, JSON.stringify({ ...manifest, files }));
    expect(err.problems.map((p) => p.pointer)).toEqual(['/files/0/path', '/files/2/path']);
  });
});
