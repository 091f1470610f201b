/**
 * The native answer table (src/runtime/dns/native/answer_table.c): a mirror of the
 * TypeScript cache that answers UDP cache hits before they reach JavaScript.
 *
 * The property below is the contract: for any datagram, the table answers exactly
 * when the TypeScript hit path would answer from the cache without truncating
 * (parseQuery Ok, key present and unexpired, answer within udpLimit), and then with
 * the very bytes renderEntry produces. Anything else it leaves to JavaScript.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsCache, renderEntry, type CacheEntry } from '../../src/runtime/dns/cache.js';
import { startDnsProxy, type DnsProxyHandle } from '../../src/runtime/dns/index.js';
import { AnswerTable, udpBatch } from '../../src/runtime/dns/udp-batch.js';
import {
  buildQuery,
  cacheKey,
  HEADER_LEN,
  inspectResponse,
  newQueryInfo,
  Parse,
  parseQuery,
  TYPE_A,
  TYPE_AAAA,
  udpLimit,
} from '../../src/runtime/dns/wire.js';
import { decode, respond, testConfig, udpExchange, type Rr } from './helpers.js';

const native = udpBatch();
const maybe = native ? it : it.skip;

interface EntrySpec {
  name: string;
  qtype: number;
  edns: 'none' | 'plain' | 'do';
  cd: boolean;
  answers: number;
  ttl: number;
  /** How long ago it was stored; whole seconds plus 500 ms, so that a few ms of test time never cross a second. */
  ageMs: number;
  expired: boolean;
}

const TTLS = [0, 1, 2, 30, 300, 86_400, 0x7fffffff, 0x80000000, 0xffffffff];

const labelArb = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const entryArb: fc.Arbitrary<EntrySpec> = fc.record({
  name: fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')),
  qtype: fc.constantFrom(TYPE_A, TYPE_AAAA, 16),
  edns: fc.constantFrom('none' as const, 'plain' as const, 'do' as const),
  cd: fc.boolean(),
  // Up to 60 A records: some answers exceed 512 bytes, and some 1232.
  answers: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 20, max: 90 })),
  ttl: fc.constantFrom(...TTLS),
  // Half are fresh (under a second: TTLs as stored), so that every seed reaches plenty of
  // plain hits; over 300 seeds the rarest outcome was still seen 39 times (the check wants 11).
  ageMs: fc.oneof(fc.constant(500), fc.integer({ min: 1, max: 7 }).map((s) => s * 1000 + 500)),
  expired: fc.boolean(),
});

interface QuerySpec {
  entry: number;
  caseMask: number;
  id: number;
  rd: boolean;
  udpSize: number;
  /** Change the EDNS state, CD bit or type so that the key differs. */
  other: 'same' | 'edns' | 'cd' | 'type';
  /** Overwrite one byte (garbage in header, question or OPT). */
  mutate: { at: number; value: number } | null;
  /** Records after the question: as built, a second OPT (FORMERR), or an authority record with a compressed owner. */
  extra: 'none' | 'second opt' | 'authority';
}

const queryArb: fc.Arbitrary<QuerySpec> = fc.record({
  entry: fc.nat(),
  caseMask: fc.nat(),
  id: fc.integer({ min: 0, max: 0xffff }),
  rd: fc.boolean(),
  udpSize: fc.constantFrom(0, 100, 512, 513, 1232, 4096, 65_535),
  other: fc.constantFrom('same' as const, 'same' as const, 'same' as const, 'edns' as const, 'cd' as const, 'type' as const),
  mutate: fc.option(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { freq: 4 }),
  extra: fc.constantFrom('none' as const, 'none' as const, 'none' as const, 'second opt' as const, 'authority' as const),
});

/** An OPT record (root owner, UDP size 1232, DO clear, no options). */
const OPT = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
/** An authority record owned by the question name (a pointer), type A. */
const AUTHORITY = Buffer.from([0xc0, HEADER_LEN, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);

function ednsOf(kind: EntrySpec['edns'], udpSize: number): { udpSize: number; dnssecOk?: boolean } | null {
  return kind === 'none' ? null : { udpSize, dnssecOk: kind === 'do' };
}

function query(e: EntrySpec, s: Omit<QuerySpec, 'entry'> | null): Buffer {
  const spec = s ?? { caseMask: 0, id: 0, rd: true, udpSize: 1232, other: 'same', mutate: null, extra: 'none' };
  let name = e.name;
  if (spec.caseMask !== 0) name = [...name].map((c, i) => ((spec.caseMask >> i % 30) & 1 ? c.toUpperCase() : c)).join('');
  let edns = e.edns;
  let cd = e.cd;
  let qtype = e.qtype;
  if (spec.other === 'edns') edns = edns === 'none' ? 'plain' : edns === 'plain' ? 'do' : 'none';
  if (spec.other === 'cd') cd = !cd;
  if (spec.other === 'type') qtype = qtype === TYPE_A ? TYPE_AAAA : TYPE_A;
  let msg = buildQuery(spec.id, name, qtype, { edns: ednsOf(edns, spec.udpSize), rd: spec.rd });
  if (spec.extra === 'second opt') {
    msg = Buffer.concat([msg, OPT]);
    msg.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  } else if (spec.extra === 'authority') {
    // Authority records come before the OPT in the additional section.
    const qEnd = HEADER_LEN + name.length + 2 + 4;
    msg = Buffer.concat([msg.subarray(0, qEnd), AUTHORITY, msg.subarray(qEnd)]);
    msg.writeUInt16BE(1, 8);
  }
  if (cd) msg[3] = msg[3]! | 0x10;
  if (spec.mutate !== null) msg[spec.mutate.at % msg.length] = spec.mutate.value;
  return msg;
}

/** The stored response for an entry, as the proxy stores it (ID 0), and its cache entry. */
function stored(e: EntrySpec, now: number): CacheEntry {
  const canonical = query(e, null);
  const answers: Rr[] = Array.from({ length: e.answers }, (_, i) => ({ type: TYPE_A, ttl: (e.ttl + i) >>> 0, data: `192.0.2.${i % 250}` }));
  const resp = respond(canonical, { answers, aa: e.answers % 2 === 1 });
  resp[0] = 0;
  resp[1] = 0;
  const q = newQueryInfo();
  expect(parseQuery(canonical, q)).toBe(Parse.Ok);
  const info = inspectResponse(resp, canonical.subarray(HEADER_LEN, q.questionEnd), false);
  if (info === null) throw new Error('test response does not inspect');
  const ttls: number[] = [];
  for (const off of info.ttlOffsets) {
    const t = resp.readUInt32BE(off);
    ttls.push(off, t > 0x7fffffff ? 0 : t);
  }
  const storedAt = now - e.ageMs;
  const lifeMs = e.expired ? Math.max(1, e.ageMs - 400) : e.ageMs + 60_000;
  return { key: cacheKey(canonical, q, Buffer.alloc(512)), data: resp, ttls, storedAt, expiresAt: storedAt + lifeMs };
}

type Outcome = 'hit' | 'aged hit' | 'unparsed' | 'absent' | 'expired' | 'too big';

/** What the TypeScript UDP hit path sends from the cache for `msg` (null when it would not answer from it as is), and why. */
function tsHit(entries: Map<string, CacheEntry>, msg: Buffer, now: number): { out: Buffer | null; why: Outcome } {
  const q = newQueryInfo();
  if (parseQuery(msg, q) !== Parse.Ok) return { out: null, why: 'unparsed' };
  const e = entries.get(cacheKey(msg, q, Buffer.alloc(512)));
  if (e === undefined) return { out: null, why: 'absent' };
  if (now >= e.expiresAt) return { out: null, why: 'expired' };
  const out = renderEntry(e, msg, q.questionEnd, now);
  if (out.length > udpLimit(q)) return { out: null, why: 'too big' };
  return { out, why: now - e.storedAt >= 1000 ? 'aged hit' : 'hit' };
}

describe('native answer table', () => {
  maybe('answers exactly when the TypeScript hit path would, with the same bytes', () => {
    const b = native!;
    const table = b.tableCreate();
    const seen = new Map<Outcome, number>();
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 6 }), fc.array(queryArb, { minLength: 1, maxLength: 12 }), (specs, queries) => {
        b.tableClear(table);
        const now = Date.now();
        const entries = new Map<string, CacheEntry>();
        for (const spec of specs) {
          const e = stored(spec, now);
          entries.set(e.key, e);
          expect(b.tablePut(table, e.key, e.data, Uint32Array.from(e.ttls), e.expiresAt - e.storedAt, now - e.storedAt)).toBe(true);
        }
        expect(b.tableStats(table).entries).toBe(entries.size);
        for (const qs of queries) {
          const msg = query(specs[qs.entry % specs.length]!, qs);
          const want = tsHit(entries, msg, now);
          seen.set(want.why, (seen.get(want.why) ?? 0) + 1);
          const got = b.tableServe(table, msg);
          if (want.out === null) expect(got, want.why).toBeNull();
          else expect(got?.toString('hex')).toBe(want.out.toString('hex'));
        }
      }),
      { numRuns: 400 },
    );
    // The generators reach every outcome, and the table counted exactly its answers.
    for (const why of ['hit', 'aged hit', 'unparsed', 'absent', 'expired', 'too big'] as const) expect(seen.get(why) ?? 0, why).toBeGreaterThan(10);
    expect(b.tableStats(table).served).toBe((seen.get('hit') ?? 0) + (seen.get('aged hit') ?? 0));
  });

  maybe('keeps exactly what its owner puts, deletes and clears; refuses inconsistent entries', () => {
    const b = native!;
    const t = b.tableCreate();
    const spec: EntrySpec = { name: 'a.example', qtype: TYPE_A, edns: 'none', cd: false, answers: 1, ttl: 300, ageMs: 0, expired: false };
    const e = stored(spec, Date.now());
    const msg = query(spec, { caseMask: 5, id: 0xbeef, rd: true, udpSize: 0, other: 'same', mutate: null, extra: 'none' });
    expect(b.tableServe(t, msg)).toBeNull();
    expect(b.tablePut(t, e.key, e.data, Uint32Array.from(e.ttls), 60_000, 0)).toBe(true);
    const got = b.tableServe(t, msg)!;
    expect(decode(got).id).toBe(0xbeef);
    expect(got.subarray(HEADER_LEN, HEADER_LEN + 11)).toEqual(msg.subarray(HEADER_LEN, HEADER_LEN + 11));
    expect(b.tableStats(t)).toEqual({ served: 1, entries: 1, bytes: e.data.length });
    b.tableDelete(t, e.key);
    expect(b.tableServe(t, msg)).toBeNull();
    expect(b.tableStats(t)).toEqual({ served: 1, entries: 0, bytes: 0 });
    // Stored long enough ago to be past its life: never served.
    expect(b.tablePut(t, e.key, e.data, Uint32Array.from(e.ttls), 1000, 1000)).toBe(true);
    expect(b.tableServe(t, msg)).toBeNull();
    b.tableClear(t);
    expect(b.tableStats(t).entries).toBe(0);
    // A TTL offset past the data, a zero life, an age in the future or a runt response: refused, and the key is absent.
    expect(b.tablePut(t, e.key, e.data, Uint32Array.from([e.data.length - 2, 5]), 60_000, 0)).toBe(false);
    expect(b.tablePut(t, e.key, e.data, Uint32Array.from(e.ttls), 0, 0)).toBe(false);
    expect(b.tablePut(t, e.key, e.data, Uint32Array.from(e.ttls), 60_000, -1)).toBe(false);
    expect(b.tablePut(t, e.key, Buffer.alloc(5), new Uint32Array(0), 60_000, 0)).toBe(false);
    expect(b.tableStats(t).entries).toBe(0);
    expect(() => b.tablePut(t, '', e.data, new Uint32Array(0), 1, 0)).toThrow(/key/);
    expect(() => b.tablePut(t, 'x'.repeat(261), e.data, new Uint32Array(0), 1, 0)).toThrow(/key/);
    expect(() => b.tablePut(t, e.key, e.data, new Uint32Array(3), 1, 0)).toThrow(/pairs/);
    // Handles are not interchangeable.
    const sock = b.open('127.0.0.1', 0, false, () => undefined);
    try {
      expect(() => b.tableStats(sock)).toThrow(/not a table/);
      expect(() => b.localPort(t)).toThrow(/not a handle/);
      expect(() => b.open('127.0.0.1', 0, false, () => undefined, sock)).toThrow(/not a table/);
    } finally {
      b.close(sock);
    }
  });

  maybe('grows past its initial buckets without losing entries', () => {
    const b = native!;
    const t = b.tableCreate();
    const now = Date.now();
    const keys: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const e = stored({ name: `n${i}.example`, qtype: TYPE_A, edns: 'plain', cd: false, answers: 1, ttl: 60, ageMs: 0, expired: false }, now);
      keys.push(e.key);
      b.tablePut(t, e.key, e.data, Uint32Array.from(e.ttls), 60_000, 0);
    }
    expect(b.tableStats(t).entries).toBe(5000);
    for (let i = 0; i < 5000; i += 2) b.tableDelete(t, keys[i]!);
    expect(b.tableStats(t).entries).toBe(2500);
    const live = query({ name: 'n4999.example', qtype: TYPE_A, edns: 'plain', cd: false, answers: 1, ttl: 60, ageMs: 0, expired: false }, null);
    const gone = query({ name: 'n4998.example', qtype: TYPE_A, edns: 'plain', cd: false, answers: 1, ttl: 60, ageMs: 0, expired: false }, null);
    expect(b.tableServe(t, live)).not.toBeNull();
    expect(b.tableServe(t, gone)).toBeNull();
  });

  maybe('follows the cache it mirrors: set, replace, evict, expire, clear', () => {
    const b = native!;
    const table = new AnswerTable(b);
    const cache = new DnsCache({ maxEntries: 2, maxBytes: 1 << 20 });
    const now = Date.now();
    const spec = (name: string): EntrySpec => ({ name, qtype: TYPE_A, edns: 'none', cd: false, answers: 1, ttl: 30, ageMs: 0, expired: false });
    const put = (name: string, ttl: number): void => {
      const e = stored(spec(name), now);
      const offsets: number[] = [];
      for (let i = 0; i < e.ttls.length; i += 2) offsets.push(e.ttls[i]!);
      cache.set(e.key, e.data, offsets, ttl, now);
    };
    put('old.example', 30);
    cache.attachMirror(table, now);
    expect(b.tableServe(table.handle, query(spec('old.example'), null))).not.toBeNull();
    put('a.example', 30);
    put('b.example', 30); // evicts old.example
    expect(b.tableStats(table.handle).entries).toBe(2);
    expect(b.tableServe(table.handle, query(spec('old.example'), null))).toBeNull();
    put('a.example', 30); // replaces, evicting b.example (the oldest insertion)
    expect(b.tableStats(table.handle).entries).toBe(cache.size);
    cache.sweep(now + 31_000);
    expect(b.tableStats(table.handle).entries).toBe(0);
    put('c.example', 30);
    cache.clear();
    expect(b.tableStats(table.handle)).toMatchObject({ entries: 0, bytes: 0 });
  });
});

/** gcc, when this machine has it (CI does: it builds the native layer). */
function hasGcc(): boolean {
  return spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('answer table hash', () => {
  const gcc = hasGcc();
  it('is SipHash (the paper\'s vectors) with a key of its own per table', () => {
    if (!gcc) {
      if (process.env['WARPC_E2E'] === 'required') throw new Error('gcc is required (WARPC_E2E=required)');
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'warpc-hash-'));
    try {
      const exe = path.join(dir, 'hash');
      execFileSync('gcc', ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', exe, path.join(import.meta.dirname, 'answer-table-hash.c')]);
      expect(execFileSync(exe, { encoding: 'utf8' })).toBe('ok\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('answer table as a mirror', () => {
  type Op = { op: 'set'; name: number; ttl: number; answers: number } | { op: 'sweep'; after: number } | { op: 'clear' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), name: fc.integer({ min: 0, max: 15 }), ttl: fc.integer({ min: 0, max: 5 }), answers: fc.integer({ min: 0, max: 30 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('sweep' as const), after: fc.integer({ min: 0, max: 6000 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  );

  maybe('holds exactly the entries and bytes of its cache after any sequence of sets, evictions, sweeps and clears', () => {
    const b = native!;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 200, max: 4000 }), (ops, maxEntries, maxBytes) => {
        const table = new AnswerTable(b);
        const cache = new DnsCache({ maxEntries, maxBytes });
        const t0 = Date.now();
        cache.attachMirror(table, t0);
        let now = t0;
        for (const o of ops) {
          if (o.op === 'set') {
            const e = stored({ name: `n${o.name}.example`, qtype: TYPE_A, edns: 'none', cd: false, answers: o.answers, ttl: 60, ageMs: 0, expired: false }, now);
            const offsets: number[] = [];
            for (let i = 0; i < e.ttls.length; i += 2) offsets.push(e.ttls[i]!);
            cache.set(e.key, e.data, offsets, o.ttl, now);
          } else if (o.op === 'sweep') {
            now += o.after;
            cache.sweep(now);
          } else cache.clear();
          expect(b.tableStats(table.handle)).toMatchObject({ entries: cache.size, bytes: cache.byteSize });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('proxy with the answer table', () => {
  let proxy: DnsProxyHandle | null = null;
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  maybe('answers repeated UDP queries natively, counts them, and still truncates in TypeScript', async () => {
    let upstream = 0;
    proxy = await startDnsProxy({
      config: testConfig(),
      listen: [{ address: '127.0.0.1', port: 0 }],
      dohUpstream: {
        query: async (msg) => {
          upstream++;
          const m = Buffer.from(msg);
          const many = decode(m).question.startsWith('big.');
          const answers: Rr[] = Array.from({ length: many ? 40 : 1 }, (_, i) => ({ type: TYPE_A, ttl: 300, data: `198.51.100.${i + 1}` }));
          return respond(m, { answers });
        },
      },
    });
    const port = proxy.addresses.find((a) => a.transport === 'udp')!.port;
    const first = decode(await udpExchange(buildQuery(1, 'www.example', TYPE_A), port));
    expect(first.answers).toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      const again = decode(await udpExchange(buildQuery(100 + i, i % 2 ? 'WWW.Example' : 'www.example', TYPE_A), port));
      expect(again.id).toBe(100 + i);
      expect(again.question).toBe('www.example');
      expect(again.raw.subarray(HEADER_LEN + 1, HEADER_LEN + 4).toString()).toBe(i % 2 ? 'WWW' : 'www');
      expect(again.answers.map((a) => a.address)).toEqual(first.answers.map((a) => a.address));
    }
    expect(upstream).toBe(1);
    expect(proxy.stats()).toMatchObject({ cacheHits: 20, nativeCacheHits: 20, cacheMisses: 1, queries: 21 });
    // Over the client's limit: the table leaves it to TypeScript, which answers TC.
    await udpExchange(buildQuery(2, 'big.example', TYPE_A, { edns: { udpSize: 4096 } }), port);
    const small = decode(await udpExchange(buildQuery(3, 'big.example', TYPE_A, { edns: { udpSize: 4096 } }), port));
    expect(small.answers).toHaveLength(40);
    expect(proxy.stats()).toMatchObject({ nativeCacheHits: 21, truncated: 0 });
    // Same key (EDNS, no DO), but 512 bytes is too small: TypeScript answers with TC.
    const tc = decode(await udpExchange(buildQuery(4, 'big.example', TYPE_A, { edns: { udpSize: 512 } }), port));
    expect(tc).toMatchObject({ id: 4, tc: true, ancount: 0 });
    expect(proxy.stats()).toMatchObject({ nativeCacheHits: 21, truncated: 1, cacheHits: 22 });
  });
});
