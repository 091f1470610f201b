/**
 * The proxy in-process against scripted upstreams on loopback: routing,
 * caching, truncation, coalescing, bounds, failures and host-rule events.
 * (Real peers in namespaces: e2e.test.ts. DoH wire details: doh.test.ts.)
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsProxy, type DnsProxyHandle, type HostRuleEvent } from '../../src/runtime/dns/index.js';
import { analyze } from '../../src/compile.js';
import type { DnsProxyConfig } from '../../src/contract/dns-proxy.js';
import { dnsProxyConfigFromPlan } from '../../src/emit/dns-proxy.js';
import { buildQuery, RCODE_FORMERR, RCODE_NOERROR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA, TYPE_CNAME, encodeName } from '../../src/runtime/dns/wire.js';
import { decode, negative, q, respond, ScriptedDns, sleep, tcpExchange, testConfig, udpExchange, udpSilence } from './helpers.js';

/** A scripted DoH upstream: records every query, answers as `script` says. */
class FakeDoh {
  calls: string[] = [];
  script: (msg: Buffer) => Promise<Buffer> = async (msg) => respond(msg, { answers: [{ type: TYPE_A, ttl: 300, data: '192.0.2.1' }] });
  async query(msg: Uint8Array): Promise<Buffer> {
    const b = Buffer.from(msg);
    this.calls.push(decode(b).question);
    return this.script(b);
  }
}

describe('dns proxy (in-process, scripted upstreams on loopback)', () => {
  let port = 0;
  let servers: ScriptedDns[] = [];
  let proxy: DnsProxyHandle | null = null;
  const doh = new FakeDoh();
  let events: HostRuleEvent[] = [];

  beforeAll(async () => {
    // Two fallback servers on one port (the config lists addresses only).
    const a = await ScriptedDns.start('127.0.0.11');
    port = a.port;
    const b = await ScriptedDns.start('127.0.0.12', port);
    servers = [a, b];
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    doh.calls = [];
    doh.script = new FakeDoh().script;
    for (const s of servers) {
      s.seen.length = 0;
      s.script = () => null;
    }
    events = [];
  });

  async function start(over: Partial<DnsProxyConfig> = {}, tuning: Record<string, unknown> = {}, extra: { systemResolvers?: string[] } = {}): Promise<number> {
    proxy = await startDnsProxy({
      config: testConfig({
        fallback: [
          { suffix: 'corp', servers: [{ address: '127.0.0.11', path: 'direct' }], use_system_resolvers: false },
          { suffix: 'eng.corp', servers: [{ address: '127.0.0.11', path: 'direct' }, { address: '127.0.0.12', path: 'direct' }], use_system_resolvers: false },
          { suffix: 'lan', servers: [], use_system_resolvers: true },
        ],
        host_rules: [
          { pattern: '*.zoom.us', action: 'direct' },
          { pattern: 'intra.example', action: 'tunnel' },
        ],
        ...over,
      }),
      dohUpstream: doh,
      systemResolvers: extra.systemResolvers,
      onHostRule: (e) => {
        events.push(e);
      },
      tuning: { fallbackPort: port, queryTimeoutMs: 1500, ...tuning },
    });
    return proxy.addresses.find((x) => x.transport === 'udp')!.port;
  }

  it('sends other names to DoH and fallback names to their servers, never the other way', async () => {
    const p = await start();
    servers[0]!.script = (m) => respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '10.1.1.1' }] });
    const r1 = decode(await udpExchange(q('www.example.com'), p));
    expect(r1.answers.map((x) => x.address)).toEqual(['192.0.2.1']);
    const r2 = decode(await udpExchange(q('Host.CORP'), p));
    expect(r2.answers.map((x) => x.address)).toEqual(['10.1.1.1']);
    expect(doh.calls).toEqual(['www.example.com']);
    expect(servers[0]!.seen.map((s) => s.name)).toEqual(['host.corp']);
    // Whole labels only: "xcorp" is not under "corp".
    await udpExchange(q('www.xcorp'), p);
    expect(doh.calls).toEqual(['www.example.com', 'www.xcorp']);
  });

  it('the longest matching suffix wins, and all of its servers are asked; the first answer wins even when negative', async () => {
    const p = await start();
    servers[0]!.script = async (m) => {
      await sleep(300);
      return respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '10.0.0.1' }] });
    };
    servers[1]!.script = (m) => negative(m, RCODE_NXDOMAIN, 60, 30);
    const r = decode(await udpExchange(q('build.eng.corp'), p));
    expect(r.rcode).toBe(RCODE_NXDOMAIN);
    expect(servers[1]!.seen.map((s) => s.name)).toEqual(['build.eng.corp']);
    await sleep(400);
    expect(servers[0]!.seen.map((s) => s.name)).toEqual(['build.eng.corp']);
    expect(doh.calls).toEqual([]);
  });

  it('a fallback server that answers SERVFAIL does not win over one that answers', async () => {
    const p = await start();
    servers[0]!.script = (m) => respond(m, { rcode: RCODE_SERVFAIL });
    servers[1]!.script = async (m) => {
      await sleep(100);
      return respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '10.0.0.2' }] });
    };
    const r = decode(await udpExchange(q('x.eng.corp'), p));
    expect(r.rcode).toBe(RCODE_NOERROR);
    expect(r.answers[0]!.address).toBe('10.0.0.2');
  });

  it('dead private resolvers yield SERVFAIL in bounded time and no DoH query', async () => {
    const p = await start();
    const r = decode(await udpExchange(q('dead.eng.corp'), p, '127.0.0.1', 5000));
    expect(r.rcode).toBe(RCODE_SERVFAIL);
    expect(servers[0]!.seen.length + servers[1]!.seen.length).toBe(2);
    expect(doh.calls).toEqual([]);
  });

  it('fallback servers that all refuse (ICMP port unreachable) yield SERVFAIL within 100 ms, not after the query timeout', async () => {
    // Nothing listens on 127.0.0.21/22 at the fallback port: the kernel answers port unreachable.
    const p = await start({ fallback: [{ suffix: 'refuse.corp', servers: [{ address: '127.0.0.21', path: 'direct' }, { address: '127.0.0.22', path: 'direct' }], use_system_resolvers: false }] }, { queryTimeoutMs: 5000 });
    const t0 = performance.now();
    const r = decode(await udpExchange(q('x.refuse.corp'), p, '127.0.0.1', 5000));
    const ms = performance.now() - t0;
    expect(r.rcode).toBe(RCODE_SERVFAIL);
    expect(ms).toBeLessThan(100);
    expect(doh.calls).toEqual([]);
  });

  it('reconfigure in place: same socket, a new fallback suffix routes its names at once, only the affected cached answers are dropped', async () => {
    const p = await start();
    servers[0]!.script = (m) => respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '10.0.0.1' }] });
    servers[1]!.script = (m) => respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '10.0.0.9' }] });
    expect(decode(await udpExchange(q('a.moved.example'), p)).answers[0]!.address).toBe('192.0.2.1');
    expect(decode(await udpExchange(q('b.kept.example'), p)).answers[0]!.address).toBe('192.0.2.1');
    expect(doh.calls).toEqual(['a.moved.example', 'b.kept.example']);
    const before = proxy!.stats().cacheEntries;
    const cfg = testConfig({
      fallback: [
        { suffix: 'corp', servers: [{ address: '127.0.0.11', path: 'direct' }], use_system_resolvers: false },
        { suffix: 'moved.example', servers: [{ address: '127.0.0.12', path: 'direct' }], use_system_resolvers: false },
      ],
    });
    const r = proxy!.reconfigure(cfg);
    expect(r).toEqual({ dropped: 1, dohReplaced: false });
    expect(proxy!.stats().cacheEntries).toBe(before - 1);
    // Same port; the moved name now goes to its fallback server, the other is still cached.
    expect(decode(await udpExchange(q('a.moved.example'), p)).answers[0]!.address).toBe('10.0.0.9');
    expect(decode(await udpExchange(q('b.kept.example'), p)).answers[0]!.address).toBe('192.0.2.1');
    expect(doh.calls).toEqual(['a.moved.example', 'b.kept.example']);
    expect(servers[1]!.seen.map((x) => x.name)).toEqual(['a.moved.example']);
    expect(() => proxy!.reconfigure(testConfig({ listen: [{ address: '127.0.0.1', port: 5353 }] }))).toThrow(/listen addresses cannot change in place/);
  });

  it('a fixed port whose TCP side is taken fails to start and leaves its UDP side unbound', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startDnsProxy({ config: testConfig(), listen: [{ address: '127.0.0.1', port: taken }], dohUpstream: doh })).rejects.toThrow(/EADDRINUSE/);
      const probe = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(taken, '127.0.0.1', () => resolve());
      });
      probe.close();
    } finally {
      blocker.close();
    }
  });

  it('a rule without servers uses the system resolvers, and SERVFAILs (no leak) when none are known', async () => {
    let p = await start();
    const r = decode(await udpExchange(q('printer.lan'), p));
    expect(r.rcode).toBe(RCODE_SERVFAIL);
    expect(doh.calls).toEqual([]);
    await proxy!.close();
    servers[1]!.script = (m) => respond(m, { answers: [{ type: TYPE_A, ttl: 60, data: '192.168.1.9' }] });
    p = await start({}, {}, { systemResolvers: [`127.0.0.12:${port}`] });
    const r2 = decode(await udpExchange(q('printer.lan'), p));
    expect(r2.answers[0]!.address).toBe('192.168.1.9');
    expect(doh.calls).toEqual([]);
  });

  it('retries a truncated fallback answer over TCP', async () => {
    const p = await start();
    const big = Array.from({ length: 60 }, (_, i) => ({ type: TYPE_A, ttl: 60, data: `10.9.0.${i}` }));
    servers[0]!.script = (m, _q, _n, transport) => (transport === 'udp' ? respond(m, { tc: true }) : respond(m, { answers: big }));
    const r = decode((await tcpExchange([q('big.corp')], p))[0]!);
    expect(r.answers).toHaveLength(60);
    expect(servers[0]!.seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
  });

  it('honours the client EDNS size: TC when the answer does not fit, the whole answer when it does', async () => {
    const p = await start();
    const big = Array.from({ length: 60 }, (_, i) => ({ type: TYPE_A, ttl: 300, data: `192.0.2.${i}` }));
    doh.script = async (m) => respond(m, { answers: big });
    // 60 A records ≈ 1000 bytes: too big for 512 (no EDNS), fits in 4096.
    const plain = decode(await udpExchange(q('big.example', TYPE_A), p));
    expect(plain.tc).toBe(true);
    expect(plain.ancount).toBe(0);
    const small = decode(await udpExchange(q('big.example', TYPE_A, { edns: { udpSize: 600 } }), p));
    expect(small.tc).toBe(true);
    expect(small.arcount).toBe(1);
    const large = decode(await udpExchange(q('big.example', TYPE_A, { edns: { udpSize: 4096 } }), p));
    expect(large.tc).toBe(false);
    expect(large.answers).toHaveLength(60);
    const tcp = decode((await tcpExchange([q('big.example', TYPE_A)], p))[0]!);
    expect(tcp.tc).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });

  it('caches by name (any case), type, class and DO bit, and decrements TTLs', async () => {
    const p = await start();
    const r1 = decode(await udpExchange(q('cache.example'), p));
    expect(r1.answers[0]!.ttl).toBe(300);
    const r2 = await udpExchange(q('CaChE.ExAmPlE'), p);
    expect(doh.calls).toEqual(['cache.example']);
    // The client's own spelling comes back in the question.
    expect(decode(r2).question).toBe('cache.example');
    expect(r2.subarray(12, 12 + 15).toString('latin1')).toContain('CaChE');
    await udpExchange(q('cache.example', TYPE_AAAA), p);
    await udpExchange(q('cache.example', TYPE_A, { edns: { udpSize: 1232, dnssecOk: true } }), p);
    expect(doh.calls).toHaveLength(3);
    await sleep(2100);
    const r3 = decode(await udpExchange(q('cache.example'), p));
    expect(r3.answers[0]!.ttl).toBeLessThanOrEqual(298);
    expect(r3.answers[0]!.ttl).toBeGreaterThan(290);
    expect(doh.calls).toHaveLength(3);
    expect(proxy!.stats().cacheHits).toBeGreaterThanOrEqual(2);
  });

  it('caches negative answers for the SOA minimum (RFC 2308) and expires them', async () => {
    const p = await start();
    doh.script = async (m) => negative(m, RCODE_NXDOMAIN, 3600, 1);
    expect(decode(await udpExchange(q('nx.example'), p)).rcode).toBe(RCODE_NXDOMAIN);
    expect(decode(await udpExchange(q('nx.example'), p)).rcode).toBe(RCODE_NXDOMAIN);
    expect(doh.calls).toEqual(['nx.example']);
    await sleep(1100);
    await udpExchange(q('nx.example'), p);
    expect(doh.calls).toEqual(['nx.example', 'nx.example']);
    // Without an SOA a negative answer is not cached at all.
    doh.script = async (m) => respond(m, { rcode: RCODE_NXDOMAIN });
    await udpExchange(q('nosoa.example'), p);
    await udpExchange(q('nosoa.example'), p);
    expect(doh.calls.filter((c) => c === 'nosoa.example')).toHaveLength(2);
  });

  it('caches fallback answers only briefly', async () => {
    const p = await start({}, { fallbackMaxTtl: 1 });
    servers[0]!.script = (m) => respond(m, { answers: [{ type: TYPE_A, ttl: 3600, data: '10.0.0.3' }] });
    await udpExchange(q('short.corp'), p);
    const hit = decode(await udpExchange(q('short.corp'), p));
    expect(servers[0]!.seen).toHaveLength(1);
    expect(hit.answers[0]!.ttl).toBe(3600);
    await sleep(1100);
    await udpExchange(q('short.corp'), p);
    expect(servers[0]!.seen).toHaveLength(2);
  });

  it('coalesces identical queries in flight into one upstream query', async () => {
    const p = await start();
    doh.script = async (m) => {
      await sleep(200);
      return respond(m, { answers: [{ type: TYPE_A, ttl: 300, data: '192.0.2.7' }] });
    };
    const rs = await Promise.all(Array.from({ length: 10 }, () => udpExchange(q('same.example'), p)));
    expect(doh.calls).toEqual(['same.example']);
    for (const r of rs) expect(decode(r).answers[0]!.address).toBe('192.0.2.7');
    expect(proxy!.stats().coalesced).toBe(9);
  });

  it('answers SERVFAIL in bounded time when DoH hangs, and REFUSED beyond the in-flight bound', async () => {
    const p = await start({}, { maxInflight: 3, queryTimeoutMs: 800 });
    doh.script = () => new Promise<Buffer>(() => {});
    const pending = ['a', 'b', 'c'].map((n) => udpExchange(q(`${n}.hang.example`), p, '127.0.0.1', 5000));
    await sleep(100);
    const refused = decode(await udpExchange(q('d.hang.example'), p));
    expect(refused.rcode).toBe(RCODE_REFUSED);
    for (const r of await Promise.all(pending)) expect(decode(r).rcode).toBe(RCODE_SERVFAIL);
    expect(proxy!.stats().inflight).toBe(0);
  });

  it('answers DoH failures with SERVFAIL and does not cache them', async () => {
    const p = await start();
    doh.script = async () => {
      throw new Error('boom');
    };
    expect(decode(await udpExchange(q('fail.example'), p)).rcode).toBe(RCODE_SERVFAIL);
    doh.script = new FakeDoh().script;
    expect(decode(await udpExchange(q('fail.example'), p)).rcode).toBe(RCODE_NOERROR);
    // An upstream answer to another question is not accepted.
    doh.script = async () => respond(buildQuery(1, 'other.example', TYPE_A));
    expect(decode(await udpExchange(q('mismatch.example'), p)).rcode).toBe(RCODE_SERVFAIL);
  });

  it('pipelines several queries on one TCP connection', async () => {
    const p = await start();
    doh.script = async (m) => {
      const name = decode(m).question;
      await sleep(name.startsWith('slow') ? 200 : 0);
      return respond(m, { answers: [{ type: TYPE_A, ttl: 300, data: name.startsWith('slow') ? '192.0.2.200' : '192.0.2.100' }] });
    };
    const msgs = [q('slow.example'), q('fast1.example'), q('fast2.example'), q('connectivity-check.warp-svc')];
    const replies = (await tcpExchange(msgs, p)).map(decode);
    expect(new Set(replies.map((r) => r.id))).toEqual(new Set(msgs.map((m) => m.readUInt16BE(0))));
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(msgs[0]!.readUInt16BE(0))!.answers[0]!.address).toBe('192.0.2.200');
    // Answered as they complete: the slow one last.
    expect(replies[replies.length - 1]!.id).toBe(msgs[0]!.readUInt16BE(0));
  });

  it('answers the connectivity check itself from local_answers', async () => {
    const p = await start({ local_answers: [{ name: 'connectivity-check.warp-svc', addresses: ['127.0.2.2', '127.0.2.3', 'fd01:db8:1111::2'], ttl: 0 }] });
    const a = decode(await udpExchange(q('connectivity-check.warp-svc'), p));
    expect(a.answers.map((x) => x.address)).toEqual(['127.0.2.2', '127.0.2.3']);
    const aaaa = decode(await udpExchange(q('connectivity-check.warp-svc', TYPE_AAAA), p));
    expect(aaaa.answers.map((x) => x.address)).toEqual(['fd01:db8:1111:0:0:0:0:2']);
    expect(doh.calls).toEqual([]);
  });

  it('answers warp-svc itself as well, with the same records as connectivity-check.warp-svc (as the reference client does)', async () => {
    // The local answers exactly as `warpc compile` writes them for a default profile.
    const { plan } = analyze('version: 1\n');
    const p = await start({ local_answers: dnsProxyConfigFromPlan(plan!)!.local_answers });
    const check = decode(await udpExchange(q('connectivity-check.warp-svc'), p));
    expect(check.answers.map((x) => x.address)).toEqual(['127.0.2.2', '127.0.2.3']);
    for (const name of ['warp-svc', 'WARP-SVC.']) {
      const a = decode(await udpExchange(q(name), p));
      expect(a.rcode).toBe(RCODE_NOERROR);
      expect(a.answers.map((x) => [x.address, x.ttl])).toEqual(check.answers.map((x) => [x.address, x.ttl]));
      const aaaa = decode(await udpExchange(q(name, TYPE_AAAA), p));
      const checkAaaa = decode(await udpExchange(q('connectivity-check.warp-svc', TYPE_AAAA), p));
      expect({ rcode: aaaa.rcode, answers: aaaa.answers }).toEqual({ rcode: checkAaaa.rcode, answers: checkAaaa.answers });
    }
    expect(doh.calls).toEqual([]);
  });

  it('emits host-rule events with addresses, TTL and action', async () => {
    const p = await start();
    doh.script = async (m) => {
      const name = decode(m).question;
      if (name === 'meet.zoom.us')
        return respond(m, {
          answers: [
            { type: TYPE_CNAME, ttl: 600, data: encodeName('edge.zoom.us') },
            { name: 'edge.zoom.us', type: TYPE_A, ttl: 120, data: '198.51.100.1' },
            { name: 'edge.zoom.us', type: TYPE_A, ttl: 60, data: '198.51.100.2' },
          ],
        });
      if (name === 'alias.example')
        return respond(m, {
          answers: [
            { type: TYPE_CNAME, ttl: 600, data: encodeName('intra.example') },
            { name: 'intra.example', type: TYPE_A, ttl: 30, data: '198.51.100.9' },
          ],
        });
      return respond(m, { answers: [{ type: TYPE_A, ttl: 300, data: '192.0.2.1' }] });
    };
    await udpExchange(q('meet.zoom.us'), p);
    await udpExchange(q('zoom.us'), p);
    await udpExchange(q('alias.example'), p);
    expect(events).toEqual([
      { name: 'meet.zoom.us', addresses: ['198.51.100.1', '198.51.100.2'], ttl: 60, action: 'direct' },
      { name: 'intra.example', addresses: ['198.51.100.9'], ttl: 30, action: 'tunnel' },
    ]);
  });

  it('waits (bounded) for an asynchronous host-rule listener before answering', async () => {
    let resolved = false;
    proxy = await startDnsProxy({
      config: testConfig({ host_rules: [{ pattern: 'slow.example', action: 'tunnel' }] }),
      dohUpstream: doh,
      onHostRule: () =>
        sleep(300).then(() => {
          resolved = true;
        }),
    });
    const p = proxy.addresses[0]!.port;
    await udpExchange(q('slow.example'), p);
    expect(resolved).toBe(true);
  });

  it('FORMERR for malformed queries, NOTIMP for other opcodes, silence for garbage and responses', async () => {
    const p = await start();
    const two = q('a.example');
    two.writeUInt16BE(2, 4);
    expect(decode(await udpExchange(two, p)).rcode).toBe(RCODE_FORMERR);
    const cut = q('a.example').subarray(0, 16);
    expect(decode(await udpExchange(cut, p)).rcode).toBe(RCODE_FORMERR);
    const notify = q('a.example');
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    expect(decode(await udpExchange(notify, p)).rcode).toBe(RCODE_NOTIMP);
    expect(await udpSilence(Buffer.from([1, 2, 3]), p, 300)).toBe(true);
    const resp = respond(q('a.example'));
    expect(await udpSilence(resp, p, 300)).toBe(true);
    expect(doh.calls).toEqual([]);
    expect(decode(await udpExchange(q('still.example'), p)).rcode).toBe(RCODE_NOERROR);
  });

  it('close() answers waiting queries and releases the ports', async () => {
    const p = await start();
    doh.script = () => new Promise<Buffer>(() => {});
    const pending = udpExchange(q('wait.example'), p, '127.0.0.1', 3000);
    await sleep(100);
    await proxy!.close();
    proxy = null;
    expect(decode(await pending).rcode).toBe(RCODE_SERVFAIL);
    // The same port can be bound again at once.
    proxy = await startDnsProxy({ config: testConfig({ listen: [{ address: '127.0.0.1', port: p }] }), dohUpstream: doh });
    expect(proxy.addresses[0]!.port).toBe(p);
  });
});
