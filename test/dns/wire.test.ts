import { describe, expect, it } from 'vitest';
import { DnsCache, renderEntry } from '../../src/runtime/dns/cache.js';
import {
  buildQuery,
  cacheKey,
  errorResponse,
  inspectResponse,
  newQueryInfo,
  Parse,
  parseQuery,
  questionName,
  readName,
  TYPE_A,
  TYPE_AAAA,
  udpLimit,
} from '../../src/runtime/dns/wire.js';
import { negative, respond } from './helpers.js';

const qi = newQueryInfo();

describe('parseQuery', () => {
  it('reads header, question and OPT (UDP size, DO)', () => {
    const m = buildQuery(0x1234, 'WWW.Example.com', TYPE_AAAA, { edns: { udpSize: 1400, dnssecOk: true } });
    expect(parseQuery(m, qi)).toBe(Parse.Ok);
    expect(qi.id).toBe(0x1234);
    expect(qi.qtype).toBe(TYPE_AAAA);
    expect(qi.hasOpt).toBe(true);
    expect(qi.udpSize).toBe(1400);
    expect(qi.dnssecOk).toBe(true);
    expect(udpLimit(qi)).toBe(1400);
    expect(questionName(m, qi)).toBe('www.example.com');
    const plain = buildQuery(1, 'a.b', TYPE_A);
    expect(parseQuery(plain, qi)).toBe(Parse.Ok);
    expect(qi.hasOpt).toBe(false);
    expect(udpLimit(qi)).toBe(512);
    // An advertised size below 512 means 512 (RFC 6891 §6.2.5).
    expect(parseQuery(buildQuery(1, 'a.b', TYPE_A, { edns: { udpSize: 100 } }), qi)).toBe(Parse.Ok);
    expect(udpLimit(qi)).toBe(512);
  });

  it('drops what is not a query and FORMERRs what is malformed', () => {
    expect(parseQuery(Buffer.alloc(11), qi)).toBe(Parse.Drop);
    const resp = respond(buildQuery(1, 'a.b', TYPE_A));
    expect(parseQuery(resp, qi)).toBe(Parse.Drop);
    const noQ = buildQuery(1, 'a.b', TYPE_A);
    noQ.writeUInt16BE(0, 4);
    expect(parseQuery(noQ, qi)).toBe(Parse.FormErr);
    const cut = buildQuery(1, 'abc.def', TYPE_A).subarray(0, 18);
    expect(parseQuery(cut, qi)).toBe(Parse.FormErr);
    const pointer = Buffer.concat([buildQuery(1, 'a', TYPE_A).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(parseQuery(pointer, qi)).toBe(Parse.FormErr);
    const longLabel = Buffer.concat([buildQuery(1, 'a', TYPE_A).subarray(0, 12), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
    expect(parseQuery(longLabel, qi)).toBe(Parse.FormErr);
    // A name longer than 255 bytes.
    const labels = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.');
    const tooLong = Buffer.concat([buildQuery(1, 'a', TYPE_A).subarray(0, 12), ...labels.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
    expect(parseQuery(tooLong, qi)).toBe(Parse.FormErr);
    // Two OPT records.
    const one = buildQuery(1, 'a.b', TYPE_A, { edns: { udpSize: 1232 } });
    const two = Buffer.concat([one, one.subarray(one.length - 11)]);
    two.writeUInt16BE(2, 10);
    expect(parseQuery(two, qi)).toBe(Parse.FormErr);
    // ARCOUNT says 1 but nothing follows.
    const missing = buildQuery(1, 'a.b', TYPE_A);
    missing.writeUInt16BE(1, 10);
    expect(parseQuery(missing, qi)).toBe(Parse.FormErr);
  });

  it('NOTIMP for opcodes other than QUERY', () => {
    const m = buildQuery(1, 'a.b', TYPE_A);
    m[2] = (m[2]! & 0x87) | (5 << 3);
    expect(parseQuery(m, qi)).toBe(Parse.NotImp);
    const r = errorResponse(m, qi, 4);
    expect(r[3]! & 0xf).toBe(4);
    expect(r.readUInt16BE(4)).toBe(1);
  });
});

describe('cacheKey', () => {
  const key = (m: Buffer): string => {
    expect(parseQuery(m, qi)).toBe(Parse.Ok);
    return cacheKey(m, qi, Buffer.alloc(512));
  };
  it('folds ASCII case only and separates type, class, EDNS, DO and CD', () => {
    expect(key(buildQuery(1, 'WwW.ExAmple.COM', TYPE_A))).toBe(key(buildQuery(2, 'www.example.com', TYPE_A)));
    const base = key(buildQuery(1, 'www.example.com', TYPE_A));
    expect(key(buildQuery(1, 'www.example.com', TYPE_AAAA))).not.toBe(base);
    expect(key(buildQuery(1, 'www.example.com', TYPE_A, { qclass: 3 }))).not.toBe(base);
    expect(key(buildQuery(1, 'www.example.com', TYPE_A, { edns: { udpSize: 1232 } }))).not.toBe(base);
    expect(key(buildQuery(1, 'www.example.com', TYPE_A, { edns: { udpSize: 1232, dnssecOk: true } }))).not.toBe(key(buildQuery(1, 'www.example.com', TYPE_A, { edns: { udpSize: 1232 } })));
    // EDNS sizes do not split the cache.
    expect(key(buildQuery(1, 'x.y', TYPE_A, { edns: { udpSize: 1232 } }))).toBe(key(buildQuery(1, 'x.y', TYPE_A, { edns: { udpSize: 4096 } })));
    const cd = buildQuery(1, 'www.example.com', TYPE_A);
    cd[3] = cd[3]! | 0x10;
    expect(key(cd)).not.toBe(base);
    // Non-ASCII bytes are not folded (0xC0 'À' vs 0xE0 'à').
    const a = buildQuery(1, 'x', TYPE_A);
    const b = buildQuery(1, 'x', TYPE_A);
    a[13] = 0xc0;
    b[13] = 0xe0;
    expect(key(a)).not.toBe(key(b));
  });
});

describe('inspectResponse and readName', () => {
  it('finds TTLs, the negative TTL from the SOA and the answer addresses', () => {
    const query = buildQuery(1, 'www.example.com', TYPE_A);
    const resp = respond(query, {
      answers: [
        { type: TYPE_A, ttl: 300, data: '192.0.2.1' },
        { type: TYPE_AAAA, ttl: 100, data: '2001:db8::1' },
      ],
    });
    const info = inspectResponse(resp, query.subarray(12, 12 + 17 + 4), true)!;
    expect(info.minTtl).toBe(100);
    expect(info.ttlOffsets).toHaveLength(2);
    expect(info.addresses).toEqual([
      { owner: 'www.example.com', address: '192.0.2.1', ttl: 300 },
      { owner: 'www.example.com', address: '2001:db8::1', ttl: 100 },
    ]);
    const nx = negative(query, 3, 900, 60);
    const ni = inspectResponse(nx, null, false)!;
    expect(ni.rcode).toBe(3);
    expect(ni.negativeTtl).toBe(60);
    expect(inspectResponse(negative(query, 3, 20, 60), null, false)!.negativeTtl).toBe(20);
  });

  it('rejects a response to another question, and a query', () => {
    const query = buildQuery(1, 'www.example.com', TYPE_A);
    const other = respond(buildQuery(1, 'www.example.org', TYPE_A));
    expect(inspectResponse(other, query.subarray(12, 33), false)).toBeNull();
    expect(inspectResponse(query, null, false)).toBeNull();
  });

  it('reads compressed names and refuses pointer loops', () => {
    const loop = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12]);
    expect(readName(loop, 12)).toBeNull();
    const escaped = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x2e, 0x20, 0]);
    expect(readName(escaped, 12)).toBe('a\\046\\032');
  });
});

describe('cache', () => {
  it('decrements TTLs by whole seconds, patches the ID and the question case, and expires', () => {
    const cache = new DnsCache({ maxEntries: 10, maxBytes: 1 << 20 });
    const query = buildQuery(7, 'Www.Example.com', TYPE_A);
    const resp = respond(query, { answers: [{ type: TYPE_A, ttl: 60, data: '192.0.2.1' }, { type: TYPE_A, ttl: 30, data: '192.0.2.2' }] });
    const info = inspectResponse(resp, null, false)!;
    cache.set('k', resp, info.ttlOffsets, 30, 1_000_000);
    const q2 = buildQuery(0xabcd, 'WWW.EXAMPLE.COM', TYPE_A);
    parseQuery(q2, qi);
    const out = renderEntry(cache.get('k', 1_010_500)!, q2, qi.questionEnd, 1_010_500);
    expect(out.readUInt16BE(0)).toBe(0xabcd);
    expect(out.subarray(12, qi.questionEnd)).toEqual(q2.subarray(12, qi.questionEnd));
    expect(out.readUInt32BE(info.ttlOffsets[0]!)).toBe(50);
    expect(out.readUInt32BE(info.ttlOffsets[1]!)).toBe(20);
    expect(cache.get('k', 1_030_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts in insertion order across re-insertions, and stays linear under churn', () => {
    const cache = new DnsCache({ maxEntries: 3, maxBytes: 1 << 20 });
    const b = Buffer.alloc(20, 1);
    cache.set('a', b, [], 60, 0);
    cache.set('b', b, [], 60, 0);
    cache.set('a', b, [], 60, 0); // re-inserted: now the newest
    cache.set('c', b, [], 60, 0);
    cache.set('d', b, [], 60, 0); // evicts b, the oldest still present
    expect(cache.get('b', 1)).toBeUndefined();
    expect(['a', 'c', 'd'].every((k) => cache.get(k, 1) !== undefined)).toBe(true);
    // 800k insertions through a 50k cache. A complexity bound, not a stopwatch: linear
    // eviction takes about a second; Map-iterator eviction is quadratic (V8 walks the
    // deleted slots) and does not finish within this test's 20 s.
    const big = new DnsCache({ maxEntries: 50_000, maxBytes: 1 << 30 });
    for (let i = 0; i < 800_000; i++) big.set(`k${i}`, b, [], 60, 0);
    expect(big.size).toBe(50_000);
    expect(big.get('k749999', 1)).toBeUndefined();
    expect(big.get('k750000', 1)).toBeDefined();
  }, 20_000);

  it('keeps each answer in memory of its own, never in a slice of the shared Buffer pool', () => {
    // A pool slice would keep its whole 8 KiB slab (and the garbage in it) alive as long as the entry.
    const cache = new DnsCache({ maxEntries: 10, maxBytes: 1 << 20 });
    cache.set('k', Buffer.from('answer bytes'), [], 60, 0);
    const data = cache.get('k', 1)!.data;
    expect(data.buffer.byteLength).toBe(data.length);
  });

  it('counts what an entry costs (answer, key and overhead) against the byte bound', () => {
    const cache = new DnsCache({ maxEntries: 100, maxBytes: 10_000, entryOverheadBytes: 1000 });
    for (let i = 0; i < 50; i++) cache.set(`key${i}`, Buffer.alloc(100, 1), [], 60, 0);
    // 100 + 4 or 5 + 1000 bytes each: 9 fit in 10,000, not the 50 the answers' bytes alone would allow.
    expect(cache.size).toBe(9);
    expect(cache.byteSize).toBe(900);
    expect(cache.costBytes).toBeLessThanOrEqual(10_000);
    expect(cache.get('key49', 1)).toBeDefined();
    expect(cache.get('key40', 1)).toBeUndefined();
    cache.clear();
    expect(cache.costBytes).toBe(0);
  });

  it('is bounded by entries and by bytes, oldest first', () => {
    const cache = new DnsCache({ maxEntries: 3, maxBytes: 1000 });
    const b = (n: number): Buffer => Buffer.alloc(n, 1);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, b(100), [], 60, 0);
    expect(cache.size).toBe(3);
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('big', b(900), [], 60, 0);
    expect(cache.byteSize).toBeLessThanOrEqual(1000);
    expect(cache.get('big', 1)).toBeDefined();
    cache.set('huge', b(2000), [], 60, 0);
    expect(cache.get('huge', 1)).toBeUndefined();
    cache.set('zero', b(10), [], 0, 0);
    expect(cache.get('zero', 0)).toBeUndefined();
    const before = cache.size;
    expect(before).toBeGreaterThan(0);
    expect(cache.sweep(120_000)).toBe(before);
    expect(cache.size).toBe(0);
    expect(cache.byteSize).toBe(0);
  });
});
