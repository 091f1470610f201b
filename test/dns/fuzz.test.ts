/**
 * Fuzz: random and mutated packets over UDP and TCP, and garbage from the
 * upstreams, never crash the proxy (an uncaught exception would fail the run:
 * the proxy runs in this process), and it keeps answering valid queries.
 */
import fc from 'fast-check';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsProxy, type DnsProxyHandle } from '../../src/runtime/dns/index.js';
import { buildQuery, RCODE_NOERROR, TYPE_A } from '../../src/runtime/dns/wire.js';
import { decode, q, respond, ScriptedDns, sleep, tcpExchange, testConfig, udpExchange } from './helpers.js';

const NAMES = ['www.example.com', 'a.corp', 'x.y.corp', 'connectivity-check.warp-svc', 'big.example', ''];

/** A valid query with random name, type and EDNS, then mutated. */
const mutatedQuery = fc
  .record({
    name: fc.constantFrom(...NAMES),
    qtype: fc.integer({ min: 0, max: 65535 }),
    edns: fc.option(fc.record({ udpSize: fc.integer({ min: 0, max: 65535 }), dnssecOk: fc.boolean() })),
    id: fc.integer({ min: 0, max: 65535 }),
    mutations: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
        fc.record({ kind: fc.constant('count' as const), which: fc.integer({ min: 0, max: 3 }), value: fc.integer({ min: 0, max: 65535 }) }),
      ),
      { maxLength: 4 },
    ),
  })
  .map(({ name, qtype, edns, id, mutations }) => {
    let m: Buffer = buildQuery(id, name, qtype, { edns });
    for (const mu of mutations) {
      if (mu.kind === 'flip') m[mu.at % m.length] = mu.value;
      else if (mu.kind === 'cut') m = m.subarray(0, mu.at % (m.length + 1));
      else if (mu.kind === 'append') m = Buffer.concat([m, Buffer.from(mu.bytes)]);
      else if (m.length >= 12) m.writeUInt16BE(mu.value, 4 + mu.which * 2);
    }
    return m;
  });

const packet = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  mutatedQuery,
  mutatedQuery,
);

describe('fuzz: the proxy survives any input and keeps answering', () => {
  let proxy: DnsProxyHandle;
  let port = 0;
  let upstream: ScriptedDns;
  let garbage = fc.sample(fc.uint8Array({ maxLength: 300 }), { numRuns: 64, seed: 42 });
  let n = 0;

  beforeAll(async () => {
    upstream = await ScriptedDns.start('127.0.0.21');
    // The private resolver answers sometimes well, sometimes with garbage, sometimes not at all.
    upstream.script = (m) => {
      const i = n++ % 3;
      if (i === 0) return respond(m, { answers: [{ type: TYPE_A, ttl: 5, data: '10.0.0.1' }] });
      if (i === 1) return Buffer.from(garbage[n % garbage.length]!);
      return null;
    };
    proxy = await startDnsProxy({
      config: testConfig({ fallback: [{ suffix: 'corp', servers: [{ address: '127.0.0.21', path: 'direct' }], use_system_resolvers: false }] }),
      tuning: { fallbackPort: upstream.port, queryTimeoutMs: 300 },
      dohUpstream: {
        query: async (msg) => {
          const b = Buffer.from(msg);
          const i = n++ % 4;
          if (i === 0) return respond(b, { answers: [{ type: TYPE_A, ttl: 60, data: '192.0.2.1' }] });
          if (i === 1) {
            // A response with a random tail: inspectResponse must cope.
            const r = respond(b, { answers: [{ type: TYPE_A, ttl: 60, data: '192.0.2.1' }] });
            return Buffer.concat([r.subarray(0, Math.max(12, r.length - 7)), Buffer.from(garbage[n % garbage.length]!)]);
          }
          if (i === 2) return Buffer.from(garbage[n % garbage.length]!);
          throw new Error('scripted failure');
        },
      },
    });
    port = proxy.addresses[0]!.port;
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    garbage = [];
  });

  it('UDP: random and mutated packets', async () => {
    const sock = dgram.createSocket('udp4');
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 20 }), async (packets) => {
        for (const p of packets) sock.send(p, port, '127.0.0.1');
        await sleep(1);
      }),
      { numRuns: 150 },
    );
    sock.close();
    await sleep(500);
    const r = decode(await udpExchange(q('connectivity-check.warp-svc'), port));
    expect(r.rcode).toBe(RCODE_NOERROR);
    expect(r.answers).toHaveLength(2);
    expect(proxy.stats().queries).toBeGreaterThan(150);
  });

  it('TCP: random frames, random length prefixes and torn writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(packet.map((p) => ({ framed: true, p })), fc.uint8Array({ maxLength: 100 }).map((a) => ({ framed: false, p: Buffer.from(a) }))), { minLength: 1, maxLength: 10 }), fc.nat(50), async (items, split) => {
        const stream = Buffer.concat(items.map(({ framed, p }) => (framed ? Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]) : p)));
        await new Promise<void>((resolve) => {
          const c = net.connect({ port, host: '127.0.0.1' }, () => {
            const at = Math.min(split, stream.length);
            c.write(stream.subarray(0, at));
            setTimeout(() => {
              c.end(stream.subarray(at));
              setTimeout(() => {
                c.destroy();
                resolve();
              }, 5);
            }, 1);
          });
          c.on('error', () => resolve());
          c.on('data', () => {});
        });
      }),
      { numRuns: 100 },
    );
    await sleep(500);
    const [r] = await tcpExchange([q('connectivity-check.warp-svc')], port);
    expect(decode(r!).answers).toHaveLength(2);
    // Nothing is left waiting once every upstream deadline has passed.
    expect(proxy.stats().inflight).toBe(0);
  });

  it('still routes real queries afterwards', async () => {
    const answers = await Promise.all([0, 1, 2, 3].map((i) => udpExchange(q(`after${i}.corp`), port)));
    for (const a of answers) expect(decode(a).qr).toBe(true);
  });
});
