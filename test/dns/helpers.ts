/**
 * Test helpers for the DNS proxy: a tiny DNS client (UDP and TCP), a response
 * builder, and scripted upstreams (plain DNS over UDP+TCP on loopback) whose
 * behaviour each test chooses per query.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildQuery, CLASS_IN, encodeName, HEADER_LEN, newQueryInfo, Parse, parseQuery, readName, TYPE_A, TYPE_AAAA, TYPE_SOA, type QueryInfo } from '../../src/runtime/dns/wire.js';
import type { DnsProxyConfig } from '../../src/runtime/dns/config.js';

export interface Rr {
  name?: string;
  type: number;
  ttl: number;
  /** Raw rdata, or an address for A/AAAA. */
  data: Buffer | string;
}

export function addressBytes(text: string): Buffer {
  if (!text.includes(':')) return Buffer.from(text.split('.').map(Number));
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined ? [] : tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function soaRdata(minimum: number): Buffer {
  const mname = encodeName('ns.example');
  const rname = encodeName('hostmaster.example');
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(1, 0);
  nums.writeUInt32BE(3600, 4);
  nums.writeUInt32BE(600, 8);
  nums.writeUInt32BE(86400, 12);
  nums.writeUInt32BE(minimum, 16);
  return Buffer.concat([mname, rname, nums]);
}

/** Build a response to `query` (header and question copied). */
export function respond(query: Buffer, opts: { rcode?: number; answers?: Rr[]; authority?: Rr[]; tc?: boolean; opt?: boolean; aa?: boolean } = {}): Buffer {
  const q = newQueryInfo();
  if (parseQuery(query, q) !== Parse.Ok) throw new Error('respond: bad query');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(HEADER_LEN);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8000 | (q.flags & 0x0100) | 0x0080 | (opts.aa ? 0x0400 : 0) | (opts.tc ? 0x0200 : 0) | ((opts.rcode ?? 0) & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(opts.answers?.length ?? 0, 6);
  header.writeUInt16BE(opts.authority?.length ?? 0, 8);
  header.writeUInt16BE(opts.opt ?? q.hasOpt ? 1 : 0, 10);
  parts.push(header, query.subarray(HEADER_LEN, q.questionEnd));
  const rr = (r: Rr): Buffer => {
    const name = r.name === undefined ? Buffer.from([0xc0, HEADER_LEN]) : encodeName(r.name);
    const data = typeof r.data === 'string' ? addressBytes(r.data) : r.data;
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(r.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(r.ttl, 4);
    fixed.writeUInt16BE(data.length, 8);
    return Buffer.concat([name, fixed, data]);
  };
  for (const r of opts.answers ?? []) parts.push(rr(r));
  for (const r of opts.authority ?? []) parts.push(rr(r));
  if (opts.opt ?? q.hasOpt) parts.push(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

export function negative(query: Buffer, rcode: number, soaTtl: number, soaMin: number): Buffer {
  return respond(query, { rcode, authority: [{ name: 'example', type: TYPE_SOA, ttl: soaTtl, data: soaRdata(soaMin) }] });
}

export interface Answer {
  id: number;
  rcode: number;
  tc: boolean;
  qr: boolean;
  ancount: number;
  arcount: number;
  /** A/AAAA addresses and TTLs of the answer section, in order. */
  answers: { name: string; type: number; ttl: number; address: string }[];
  raw: Buffer;
  question: string;
}

/** Decode what tests look at. */
export function decode(raw: Buffer): Answer {
  const an = raw.readUInt16BE(6);
  let off = HEADER_LEN;
  const qd = raw.readUInt16BE(4);
  let question = '';
  for (let i = 0; i < qd; i++) {
    question = readName(raw, off) ?? '?';
    while (raw[off] !== 0) off += raw[off]! + 1;
    off += 5;
  }
  const answers: Answer['answers'] = [];
  for (let i = 0; i < an; i++) {
    const name = readName(raw, off) ?? '?';
    if ((raw[off]! & 0xc0) === 0xc0) off += 2;
    else {
      while (raw[off] !== 0) off += raw[off]! + 1;
      off++;
    }
    const type = raw.readUInt16BE(off);
    const ttl = raw.readUInt32BE(off + 4);
    const len = raw.readUInt16BE(off + 8);
    const data = raw.subarray(off + 10, off + 10 + len);
    let address = '';
    if (type === TYPE_A) address = [...data].join('.');
    else if (type === TYPE_AAAA) address = Array.from({ length: 8 }, (_, k) => data.readUInt16BE(k * 2).toString(16)).join(':');
    answers.push({ name, type, ttl, address });
    off += 10 + len;
  }
  return {
    id: raw.readUInt16BE(0),
    qr: (raw[2]! & 0x80) !== 0,
    tc: (raw[2]! & 0x02) !== 0,
    rcode: raw[3]! & 0xf,
    ancount: an,
    arcount: raw.readUInt16BE(10),
    answers,
    raw,
    question,
  };
}

/** Send one UDP message and wait for the reply (rejects after timeoutMs). */
export function udpExchange(msg: Buffer, port: number, host = '127.0.0.1', timeoutMs = 8000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP reply within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, host);
  });
}

/** Expect no reply within `ms` (resolves true when none came). */
export function udpSilence(msg: Buffer, port: number, ms: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(true);
    }, ms);
    sock.on('message', () => {
      clearTimeout(timer);
      sock.close();
      resolve(false);
    });
    sock.send(msg, port, host);
  });
}

/** Send several length-prefixed queries on one TCP connection (in one write) and collect as many replies. */
export function tcpExchange(msgs: Buffer[], port: number, host = '127.0.0.1', timeoutMs = 8000, expected = msgs.length): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const conn = net.connect({ host, port });
    const out: Buffer[] = [];
    let acc = Buffer.alloc(0);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`only ${out.length}/${expected} TCP replies within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('connect', () => {
      conn.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
    });
    conn.on('data', (chunk: Buffer) => {
      acc = Buffer.concat([acc, chunk]);
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        const n = acc.readUInt16BE(0);
        out.push(Buffer.from(acc.subarray(2, 2 + n)));
        acc = acc.subarray(2 + n);
      }
      if (out.length >= expected) {
        clearTimeout(timer);
        conn.destroy();
        resolve(out);
      }
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export type Script = (query: Buffer, q: QueryInfo, name: string, transport: 'udp' | 'tcp') => Buffer | null | Promise<Buffer | null>;

/** A plain-DNS server on loopback (UDP and TCP on one port) that answers as `script` says (null: silence). */
export class ScriptedDns {
  readonly seen: { name: string; qtype: number; transport: 'udp' | 'tcp' }[] = [];
  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    readonly port: number,
    readonly address: string,
  ) {}

  script: Script = () => null;

  /** Bind UDP and TCP on `address` and one port (`port`, or any free one). */
  static async start(address = '127.0.0.1', fixedPort = 0): Promise<ScriptedDns> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
      const bound = await new Promise<boolean>((r) => {
        udp.once('error', () => r(false));
        udp.bind(fixedPort, address, () => r(true));
      });
      if (!bound) throw new Error(`cannot bind UDP ${address}:${fixedPort}`);
      const port = udp.address().port;
      const tcp = net.createServer();
      const ok = await new Promise<boolean>((r) => {
        tcp.once('error', () => r(false));
        tcp.listen(port, address, () => r(true));
      });
      if (!ok) {
        udp.close();
        if (fixedPort !== 0) throw new Error(`cannot bind TCP ${address}:${fixedPort}`);
        continue;
      }
      const s = new ScriptedDns(udp, tcp, port, address);
      s.wire();
      return s;
    }
    throw new Error('cannot bind a scripted DNS server');
  }

  private async answer(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const q = newQueryInfo();
    if (parseQuery(msg, q) !== Parse.Ok) return null;
    const name = readName(msg, HEADER_LEN) ?? '';
    this.seen.push({ name, qtype: q.qtype, transport });
    return this.script(msg, q, name, transport);
  }

  private wire(): void {
    this.udp.on('message', (msg, rinfo) => {
      void this.answer(msg, 'udp').then((r) => {
        if (r !== null) this.udp.send(r, rinfo.port, rinfo.address);
      });
    });
    this.tcp.on('connection', (conn) => {
      let acc = Buffer.alloc(0);
      conn.on('error', () => conn.destroy());
      conn.on('data', (chunk: Buffer) => {
        acc = Buffer.concat([acc, chunk]);
        while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
          const msg = Buffer.from(acc.subarray(2, 2 + acc.readUInt16BE(0)));
          acc = acc.subarray(2 + msg.length);
          void this.answer(msg, 'tcp').then((r) => {
            if (r !== null && !conn.destroyed) conn.write(Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r]));
          });
        }
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.udp.close(() => r()));
    await new Promise<void>((r) => this.tcp.close(() => r()));
  }
}

export function q(name: string, qtype = TYPE_A, opts: Parameters<typeof buildQuery>[3] = {}): Buffer {
  return buildQuery(Math.floor(Math.random() * 0x10000), name, qtype, opts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A config for in-process tests; DoH is replaced by a scripted upstream in most of them. */
export function testConfig(over: Partial<DnsProxyConfig> = {}): DnsProxyConfig {
  return {
    version: 1,
    listen: [{ address: '127.0.0.1', port: 0 }],
    doh: { url: 'https://doh.test/dns-query', addresses: ['127.0.0.1'], via: 'direct' },
    fallback: [],
    search: [],
    host_rules: [],
    local_answers: [{ name: 'connectivity-check.warp-svc', addresses: ['127.0.2.2', '127.0.2.3'], ttl: 0 }],
    ...over,
  };
}
