/**
 * The reference MASQUE server over HTTP/2 (`warpc gateway --masque-listen`):
 * accepts TLS 1.3 sessions (ALPN h2) from clients whose certificate key is in
 * the clients file or the orchestrator's device list, answers a CONNECT with `cf-connect-proto: cf-connect-ip`,
 * and moves IP packets between each client's stream and one TUN device on the
 * gateway. It assigns nothing: each client's addresses come from the clients
 * file or the orchestrator (as the profile or the registration gave them), packets from a client
 * must come from them, and packets from the TUN go to the client owning the
 * destination. An unknown key is refused (TLS closed) with a log line naming it.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { formatPrefix, parsePrefix, type Prefix } from '../../net/ip.js';
import { CapsuleReader, encodeDatagrams } from './capsule.js';
import { parsePin, spkiSha256 } from './cert.js';
import type { PacketPort } from './client.js';

export interface ClientEntry {
  readonly pin: string;
  readonly name: string;
  readonly allowed: readonly Prefix[];
}

/**
 * The clients file: one client a line, `PIN ADDRESSES [NAME]`, where PIN is sha256/BASE64 (or the
 * bare base64) of the client's SPKI and ADDRESSES a comma-separated list of prefixes
 * (172.16.0.2/32,2606:4700:110:8a2e::2/128). `#` starts a comment.
 */
export function parseClientsFile(text: string, file = 'clients file'): ClientEntry[] {
  const out: ClientEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const where = `${file}:${i + 1}`;
    const [pinText, addrs, ...rest] = line.split(/\s+/);
    if (!pinText || !addrs) throw new Error(`${where}: expected "PIN ADDRESSES [NAME]"`);
    let pin: string;
    try {
      pin = parsePin(pinText);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    if (seen.has(pin)) throw new Error(`${where}: the key sha256/${pin} is listed twice`);
    seen.add(pin);
    const allowed = addrs.split(',').map((a) => {
      const r = parsePrefix(a);
      if (!r.ok) throw new Error(`${where}: ${JSON.stringify(a)} is not an IP prefix (${r.error})`);
      return r.prefix;
    });
    out.push({ pin, name: rest.join(' ') || `client ${i + 1}`, allowed });
  });
  return out;
}

/** The clients of a clients file, read again at every call (so at every new session). */
export function clientsFromFile(file: string): () => ClientEntry[] {
  return () => parseClientsFile(readFileSync(file, 'utf8'), file);
}

/** The packet's source (which: 'src') or destination address as a bigint and family; null for non-IP. */
export function packetAddress(p: Buffer, which: 'src' | 'dst'): { family: 4 | 6; value: bigint } | null {
  const v = (p[0] ?? 0) >> 4;
  if (v === 4 && p.length >= 20) return { family: 4, value: BigInt(p.readUInt32BE(which === 'src' ? 12 : 16)) };
  if (v === 6 && p.length >= 40) {
    const o = which === 'src' ? 8 : 24;
    return { family: 6, value: (p.readBigUInt64BE(o) << 64n) | p.readBigUInt64BE(o + 8) };
  }
  return null;
}

/**
 * A client's addresses, matched per packet: IPv4 with 32-bit integers (the hot path, no
 * allocation), IPv6 with bigints.
 */
export class AddressMatcher {
  private readonly v4: { net: number; mask: number }[] = [];
  private readonly v6: Prefix[] = [];

  constructor(prefixes: readonly Prefix[]) {
    for (const p of prefixes) {
      if (p.family === 4) {
        const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
        this.v4.push({ net: (Number(p.network) & mask) >>> 0, mask });
      } else this.v6.push(p);
    }
  }

  /** Does the packet's source (or destination) address belong to these prefixes? */
  matches(p: Buffer, which: 'src' | 'dst'): boolean {
    const v = (p[0] ?? 0) >> 4;
    if (v === 4) {
      if (p.length < 20) return false;
      const a = p.readUInt32BE(which === 'src' ? 12 : 16);
      for (const r of this.v4) if (((a & r.mask) >>> 0) === r.net) return true;
      return false;
    }
    if (this.v6.length === 0) return false;
    const a = packetAddress(p, which);
    if (!a || a.family !== 6) return false;
    for (const q of this.v6) {
      const bits = BigInt(128 - q.length);
      if (a.value >> bits === q.network >> bits) return true;
    }
    return false;
  }
}

interface Live {
  readonly entry: ClientEntry;
  readonly addresses: AddressMatcher;
  readonly stream: http2.ServerHttp2Stream;
  readonly peer: string;
}

export interface ServerStats {
  sessions: number;
  refused: number;
  rx_packets: number;
  tx_packets: number;
  /** Packets from a client with a source outside its addresses, or to no known client. */
  dropped_packets: number;
}

export interface MasqueServerOptions {
  readonly host: string;
  readonly port: number;
  readonly keyPem: string;
  readonly certPem: string;
  /** The known clients, asked at every new session (a clients file read again, or the orchestrator's list as last heard). */
  readonly clients: () => readonly ClientEntry[];
  /** Where they come from, for log lines (the clients file's path, or `the orchestrator's device list`). */
  readonly clientsSource: string;
  readonly log: (msg: string) => void;
  /** Called when a client's session starts, before it is answered (the gateway routes its addresses). */
  readonly onClient?: (client: ClientEntry) => Promise<void>;
}

export class MasqueServer {
  readonly stats: ServerStats = { sessions: 0, refused: 0, rx_packets: 0, tx_packets: 0, dropped_packets: 0 };
  private readonly server: http2.Http2SecureServer;
  private readonly live = new Set<Live>();
  private tun: PacketPort | null = null;

  constructor(private readonly o: MasqueServerOptions) {
    this.server = http2.createSecureServer({
      key: o.keyPem,
      cert: o.certPem,
      requestCert: true,
      // The client's certificate is self-signed: it is accepted by its key, checked against the clients file.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['h2'],
      settings: { initialWindowSize: 16 * 1024 * 1024 },
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('tlsClientError', (err, socket) => o.log(`TLS from ${socket.remoteAddress ?? '?'} failed: ${err.message}`));
  }

  /** The TUN the server forwards to (set before listen). */
  attach(tun: PacketPort): void {
    this.tun = tun;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    for (const l of this.live) l.stream.session?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * The known clients changed (the orchestrator's list moved): a live session whose key is no
   * longer known, or known with other addresses, is closed (a known client reconnects and is
   * authorized again). Returns how many were closed.
   */
  refresh(): number {
    let closed = 0;
    let known: readonly ClientEntry[];
    try {
      known = this.o.clients();
    } catch {
      return 0;
    }
    const byPin = new Map(known.map((c) => [c.pin, c]));
    for (const l of [...this.live]) {
      const now = byPin.get(l.entry.pin);
      const same = now !== undefined && now.allowed.map(formatPrefix).join(',') === l.entry.allowed.map(formatPrefix).join(',');
      if (same) continue;
      this.live.delete(l);
      closed++;
      this.o.log(`closing the MASQUE session of ${l.entry.name} from ${l.peer}: key sha256/${l.entry.pin} is ${now ? 'now known with other addresses' : `no longer in ${this.o.clientsSource}`}`);
      l.stream.session?.destroy();
    }
    return closed;
  }

  /** Who is on the other end: the clients-file entry of the certificate's key, or null (refused). */
  private authorize(socket: TLSSocket): ClientEntry | null {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const cert = socket.getPeerX509Certificate();
    if (!cert) {
      this.stats.refused++;
      this.o.log(`refused ${peer}: no client certificate (MASQUE clients authenticate with their registered P-256 key)`);
      return null;
    }
    const pin = spkiSha256(cert);
    let entry: ClientEntry | undefined;
    try {
      entry = this.o.clients().find((c) => c.pin === pin);
    } catch (err) {
      this.stats.refused++;
      this.o.log(`refused ${peer}: cannot read ${this.o.clientsSource}: ${(err as Error).message}`);
      return null;
    }
    if (!entry) {
      this.stats.refused++;
      this.o.log(`refused ${peer}: client key sha256/${pin} is not registered in ${this.o.clientsSource}`);
      return null;
    }
    return entry;
  }

  private onSession(session: http2.ServerHttp2Session): void {
    const socket = session.socket as TLSSocket;
    const entry = this.authorize(socket);
    if (!entry) {
      session.destroy();
      return;
    }
    (session as unknown as { warpcClient: ClientEntry }).warpcClient = entry;
    session.on('error', () => {});
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const entry = (stream.session as unknown as { warpcClient?: ClientEntry } | undefined)?.warpcClient;
    if (!entry) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (headers[':method'] !== 'CONNECT' || headers['cf-connect-proto'] !== 'cf-connect-ip') {
      stream.respond({ ':status': headers[':method'] === 'CONNECT' ? 400 : 405 }, { endStream: true });
      return;
    }
    const peer = `${stream.session?.socket.remoteAddress ?? '?'}`;
    // One stream per client: a reconnect replaces the previous one.
    for (const l of this.live) {
      if (l.entry.pin === entry.pin) {
        this.live.delete(l);
        l.stream.session?.destroy();
      }
    }
    const live: Live = { entry, addresses: new AddressMatcher(entry.allowed), stream, peer };
    this.live.add(live);
    this.stats.sessions++;
    this.o.log(`MASQUE session from ${peer}: ${entry.name} (sha256/${entry.pin})`);
    const ready = this.o.onClient ? this.o.onClient(entry).catch((err: Error) => this.o.log(`routing the addresses of ${entry.name} failed: ${err.message}`)) : Promise.resolve();
    void ready.then(() => {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ':status': 200, 'capsule-protocol': '?1' });
    });
    let batch: Buffer[] = [];
    const reader = new CapsuleReader((p) => {
      if (live.addresses.matches(p, 'src')) batch.push(p);
      else this.stats.dropped_packets++;
    });
    stream.on('data', (chunk: Buffer) => {
      batch = [];
      try {
        reader.push(chunk);
      } catch (err) {
        this.o.log(`closing the session of ${entry.name}: ${(err as Error).message}`);
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      this.stats.rx_packets += batch.length;
      if (batch.length > 0) this.tun?.write(batch);
    });
    const done = (): void => {
      this.tun?.resume();
      if (this.live.delete(live)) this.o.log(`MASQUE session of ${entry.name} from ${peer} ended`);
    };
    stream.on('end', () => stream.end()); // the client closed its side: close ours
    stream.on('close', done);
    stream.on('error', done);
  }

  /** Packets the gateway's TUN delivered: each to the client that owns its destination, batched per client. */
  fromTun(packets: Buffer[]): void {
    const per = new Map<Live, Buffer[]>();
    for (const p of packets) {
      let to: Live | null = null;
      for (const l of this.live) {
        if (l.addresses.matches(p, 'dst')) {
          to = l;
          break;
        }
      }
      if (!to) {
        this.stats.dropped_packets++;
        continue;
      }
      const list = per.get(to);
      if (list) list.push(p);
      else per.set(to, [p]);
    }
    for (const [l, list] of per) {
      if (l.stream.destroyed || l.stream.closed || !l.stream.headersSent) {
        this.stats.dropped_packets += list.length; // not answered yet (its addresses are being routed)
        continue;
      }
      this.stats.tx_packets += list.length;
      if (!l.stream.write(encodeDatagrams(list)) && this.tun) {
        const tun = this.tun;
        tun.pause();
        l.stream.once('drain', () => tun.resume());
      }
    }
  }
}

