/**
 * Client and reference server over loopback (no TUN: packet ports record what
 * each side would write): pinning both ways, the CONNECT-IP exchange, packets
 * both ways, anti-spoofing, reconnect after a server restart, and fuzzed
 * capsule streams into both ends.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CapsuleError, CapsuleReader, encodeDatagram } from '../../src/runtime/masque/capsule.js';
import { derToPem, selfSignedCertificate, spkiSha256 } from '../../src/runtime/masque/cert.js';
import { MasqueClient, type PacketPort } from '../../src/runtime/masque/client.js';
import { clientsFromFile, MasqueServer, parseClientsFile, type ClientEntry } from '../../src/runtime/masque/server.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-masque-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function identity(usage: 'client' | 'server') {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const certPem = derToPem(selfSignedCertificate(key, { commonName: usage, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), usage }));
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, certPem, pin: spkiSha256(key) };
}

class Port implements PacketPort {
  readonly got: Buffer[] = [];
  paused = 0;
  write(packets: Buffer[]): void {
    for (const p of packets) this.got.push(Buffer.from(p));
  }
  pause(): void {
    this.paused++;
  }
  resume(): void {}
}

/** A minimal IPv4 packet (header only plus payload) from src to dst. */
function ipv4(src: string, dst: string, payload = 'hello'): Buffer {
  const body = Buffer.from(payload);
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = 64;
  h[9] = 17;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, body]);
}

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const server = identity('server');
const device = identity('client');
const stranger = identity('client');
const clientsFile = join(dir, 'clients');
writeFileSync(clientsFile, `# test clients\nsha256/${device.pin} 172.16.0.2/32,2606:4700:110:8a2e::2/128 laptop\n`);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(port = 0, clients: () => readonly ClientEntry[] = clientsFromFile(clientsFile), clientsSource = clientsFile): Promise<{ srv: MasqueServer; port: number; tun: Port; logs: string[] }> {
  const logs: string[] = [];
  const srv = new MasqueServer({ host: '127.0.0.1', port, keyPem: server.keyPem, certPem: server.certPem, clients, clientsSource, log: (m) => logs.push(m) });
  const tun = new Port();
  srv.attach(tun);
  const addr = await srv.listen();
  cleanups.push(() => srv.close());
  return { srv, port: addr.port, tun, logs };
}

function startClient(port: number, id = device, pin = server.pin): { client: MasqueClient; tun: Port; logs: string[] } {
  const logs: string[] = [];
  const tun = new Port();
  const client = new MasqueClient({ host: '127.0.0.1', port, sni: 'zt-masque.cloudflareclient.com', pin, identity: async () => id, tun, log: (m) => logs.push(m), backoffMinMs: 50, backoffMaxMs: 200, keepaliveMs: 500 });
  cleanups.push(() => client.stop());
  return { client, tun, logs };
}

describe('MASQUE over HTTP/2 on loopback', () => {
  it('carries packets both ways, checking the client source and routing by destination', async () => {
    const s = await startServer();
    const c = startClient(s.port);
    await c.client.start();
    expect(c.client.stats.state).toBe('connected');
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'a'), ipv4('172.16.0.9', '203.0.113.10', 'spoofed'), ipv4('172.16.0.2', '203.0.113.10', 'b')]);
    await until('server packets', () => s.tun.got.length === 2);
    expect(s.tun.got.map((p) => p.subarray(20).toString())).toEqual(['a', 'b']);
    expect(s.srv.stats.dropped_packets).toBe(1);
    s.srv.fromTun([ipv4('203.0.113.10', '172.16.0.2', 'reply'), ipv4('203.0.113.10', '172.16.0.3', 'nobody')]);
    await until('client packets', () => c.tun.got.length === 1);
    expect(c.tun.got[0]?.subarray(20).toString()).toBe('reply');
    expect(c.client.stats).toMatchObject({ tx_packets: 3, rx_packets: 1, reconnects: 0 });
    expect(s.logs.join('\n')).toMatch(/MASQUE session from 127\.0\.0\.1: laptop/);
  });

  it('the server refuses a key it does not know, with a log line naming it; the client sends nothing', async () => {
    const s = await startServer();
    const c = startClient(s.port, stranger);
    await expect(c.client.start()).rejects.toThrow();
    c.client.send([ipv4('172.16.0.2', '203.0.113.10')]);
    await until('refusal log', () => s.logs.some((l) => l.includes(`client key sha256/${stranger.pin} is not registered in ${clientsFile}`)));
    expect(s.tun.got).toEqual([]);
    expect(c.client.stats.dropped_packets).toBe(1);
    expect(s.srv.stats.sessions).toBe(0);
  });

  it('clients that follow a list (the orchestrator\'s): a key added is accepted without a restart; one removed is refused and its live session closed', async () => {
    const [laptop] = parseClientsFile(`sha256/${device.pin} 172.16.0.2/32 laptop\n`);
    let known: ClientEntry[] = [];
    const s = await startServer(0, () => known, "the orchestrator's device list");
    const c = startClient(s.port);
    await expect(c.client.start()).rejects.toThrow();
    await until('refusal log', () => s.logs.some((l) => l.includes(`client key sha256/${device.pin} is not registered in the orchestrator's device list`)));
    expect(s.srv.refresh()).toBe(0);
    known = [laptop!];
    await until('session', () => c.client.stats.state === 'connected');
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'in')]);
    await until('server packets', () => s.tun.got.length === 1);
    // Unchanged list: the session stays.
    expect(s.srv.refresh()).toBe(0);
    // Other addresses for the same key: closed, and the client comes back with the new ones.
    known = parseClientsFile(`sha256/${device.pin} 172.16.0.5/32 laptop\n`);
    expect(s.srv.refresh()).toBe(1);
    await until('reconnect', () => s.srv.stats.sessions === 2);
    // Removed: the live session is closed and every new one refused.
    known = [];
    const refusedBefore = s.srv.stats.refused;
    expect(s.srv.refresh()).toBe(1);
    expect(s.logs.join('\n')).toContain(`key sha256/${device.pin} is no longer in the orchestrator's device list`);
    await until('refused again', () => s.srv.stats.refused > refusedBefore);
    await until('client down', () => c.client.stats.state !== 'connected');
    const got = s.tun.got.length;
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'after')]);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.tun.got.length).toBe(got);
    expect(s.srv.stats.sessions).toBe(2);
  });

  it('the client refuses a server whose key is not the pinned one, before any HTTP', async () => {
    const s = await startServer();
    const c = startClient(s.port, device, identity('server').pin);
    await expect(c.client.start()).rejects.toThrow(/presented key sha256\/.* not the pinned/);
    expect(s.srv.stats.sessions).toBe(0);
    expect(c.client.stats.state).toBe('backoff');
  });

  it('reconnects after the server restarts; packets meanwhile are dropped and counted', async () => {
    const s = await startServer();
    const c = startClient(s.port);
    await c.client.start();
    await s.srv.close();
    await until('client notices', () => c.client.stats.state !== 'connected');
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'lost')]);
    expect(c.client.stats.dropped_packets).toBe(1);
    const s2 = await startServer(s.port);
    await until('reconnect', () => c.client.stats.state === 'connected', 10_000);
    expect(c.client.stats.reconnects).toBe(1);
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'again')]);
    await until('server 2 packets', () => s2.tun.got.length === 1);
    expect(s2.tun.got[0]?.subarray(20).toString()).toBe('again');
    expect(s.tun.got.some((p) => p.subarray(20).toString() === 'lost')).toBe(false);
  });

  it('fuzz: random capsule streams into the server close that session cleanly and leave the server serving', async () => {
    const s = await startServer();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), async (chunks) => {
        const session = http2.connect(`https://127.0.0.1:${s.port}`, { key: device.keyPem, cert: device.certPem, rejectUnauthorized: false });
        session.on('error', () => {});
        const stream = session.request({ ':method': 'CONNECT', ':authority': 'cloudflareaccess.com:443', 'cf-connect-proto': 'cf-connect-ip' }, { endStream: false });
        stream.on('error', () => {});
        await new Promise<void>((r) => stream.once('response', () => r()));
        for (const c of chunks) stream.write(Buffer.from(c));
        stream.end();
        await new Promise<void>((r) => {
          stream.once('close', () => r());
          setTimeout(() => {
            stream.close();
            r();
          }, 1000);
        });
        session.destroy();
      }),
      { numRuns: 25 },
    );
    // Still serving: a real client connects and gets a packet through.
    const c = startClient(s.port);
    await c.client.start();
    c.client.send([ipv4('172.16.0.2', '203.0.113.10', 'after fuzz')]);
    await until('after-fuzz packet', () => s.tun.got.some((p) => p.subarray(20).toString() === 'after fuzz'));
  });

  it('fuzz: random capsule streams from a server: a malformed one sends the client to backoff, any other keeps the session and delivers exactly its packets', async () => {
    let next: Buffer = Buffer.alloc(0);
    const evil = http2.createSecureServer({ key: server.keyPem, cert: server.certPem, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'] });
    evil.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.write(next);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => evil.close(() => r())));
    const port = (evil.address() as { port: number }).port;
    const samples = fc.sample(fc.uint8Array({ maxLength: 2000 }), 20);
    let malformedSeen = 0;
    for (const bytes of [...samples, encodeDatagram(ipv4('203.0.113.10', '172.16.0.2', 'ok')), Buffer.from('00ff', 'hex'), Buffer.from('0000', 'hex'), Buffer.from('00ffffffffffffffff', 'hex')]) {
      next = Buffer.from(bytes);
      // What the stream holds, read by a reader of our own: its packets, or that it is malformed.
      const expected: Buffer[] = [];
      let malformed = false;
      try {
        new CapsuleReader((p) => expected.push(Buffer.from(p))).push(Buffer.from(next));
      } catch (err) {
        if (!(err instanceof CapsuleError)) throw err;
        malformed = true;
      }
      const c = startClient(port);
      await c.client.start();
      if (malformed) {
        malformedSeen++;
        await until('backoff after a malformed stream', () => c.client.stats.state === 'backoff');
        expect(c.client.stats.last_error).toMatch(/malformed capsule stream/);
      } else {
        await until('its packets', () => c.tun.got.length >= expected.length);
        await new Promise((r) => setTimeout(r, 20));
        expect(c.client.stats.state).toBe('connected');
        expect(c.tun.got).toEqual(expected);
      }
      c.client.stop();
    }
    expect(malformedSeen).toBeGreaterThanOrEqual(2);
  });
});

describe('clients file', () => {
  it('reads pins, prefixes and names; refuses duplicates and bad prefixes with their line', () => {
    const [a] = parseClientsFile(`sha256/${device.pin} 172.16.0.2/32 my laptop # x\n`);
    expect(a?.name).toBe('my laptop');
    expect(a?.allowed).toHaveLength(1);
    expect(() => parseClientsFile(`${device.pin} 172.16.0.2/32\n${device.pin} 172.16.0.3/32\n`, 'f')).toThrow(/f:2: .*listed twice/);
    expect(() => parseClientsFile(`${device.pin} 172.16.0.1/24\n`, 'f')).toThrow(/f:1: "172\.16\.0\.1\/24" is not an IP prefix/);
    expect(() => parseClientsFile('nope 1.2.3.4/32\n', 'f')).toThrow(/f:1: .*not a pin/);
  });
});

describe('address matching per packet', () => {
  it('property: AddressMatcher agrees with prefixContains on random prefixes and packets, both families', async () => {
    const { AddressMatcher } = await import('../../src/runtime/masque/server.js');
    const { formatAddress, parsePrefix, prefixContains, hostMaskOf } = await import('../../src/net/ip.js');
    const v4 = fc.tuple(fc.constant(4 as const), fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.integer({ min: 0, max: 32 }));
    const v6 = fc.tuple(fc.constant(6 as const), fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v6), { maxLength: 5 }), fc.oneof(v4, v6), fc.boolean(), (raw, [fam, addr], src) => {
        const prefixes = raw.map(([f, n, len]) => {
          const r = parsePrefix(`${formatAddress(f, n & ~hostMaskOf(f, len))}/${len}`);
          if (!r.ok) throw new Error('bad prefix');
          return r.prefix;
        });
        const pkt = Buffer.alloc(fam === 4 ? 20 : 40);
        pkt[0] = fam === 4 ? 0x45 : 0x60;
        if (fam === 4) pkt.writeUInt32BE(Number(addr), src ? 12 : 16);
        else {
          pkt.writeBigUInt64BE(addr >> 64n, src ? 8 : 24);
          pkt.writeBigUInt64BE(addr & (2n ** 64n - 1n), src ? 16 : 32);
        }
        const want = prefixes.some((p) => prefixContains(p, { family: fam, value: addr }));
        expect(new AddressMatcher(prefixes).matches(pkt, src ? 'src' : 'dst')).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});
