/**
 * The MASQUE client over HTTP/2: one TLS 1.3 connection (ALPN h2) to the
 * endpoint with the device's P-256 certificate, the server accepted by its
 * pinned SPKI SHA-256 only (no CA), one CONNECT stream with
 * `cf-connect-proto: cf-connect-ip`, and IP packets both ways as DATAGRAM
 * capsules. When TCP, TLS or the stream breaks it reconnects with backoff; the
 * TUN device, its addresses and the routes stay, and packets sent meanwhile are
 * dropped and counted (never sent anywhere else). HTTP/2 PINGs are the
 * keepalive. It decides nothing about routes or addresses.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { CapsuleError, CapsuleReader, encodeDatagrams } from './capsule.js';
import { spkiSha256 } from './cert.js';

/** Where packets from the server go, and the source to pause when the connection is full. */
export interface PacketPort {
  write(packets: Buffer[]): void;
  pause(): void;
  resume(): void;
}

export type SessionState = 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface MasqueClientOptions {
  readonly host: string;
  readonly port: number;
  readonly sni: string;
  /** base64 SHA-256 of the server's SPKI. */
  readonly pin: string;
  /** The device's key and certificate, read again at every connect (the certificate is rotated). */
  readonly identity: () => Promise<{ keyPem: string; certPem: string }>;
  readonly tun: PacketPort;
  readonly log: (msg: string) => void;
  /** The CONNECT authority (default cloudflareaccess.com:443, as the real client sends). */
  readonly authority?: string;
  readonly keepaliveMs?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** Called on every state change (status file). */
  readonly onState?: (state: SessionState) => void;
}

export interface MasqueStats {
  state: SessionState;
  /** Packets and bytes sent into the tunnel / received from it. */
  tx_packets: number;
  tx_bytes: number;
  rx_packets: number;
  rx_bytes: number;
  /** Packets from the device dropped because no session was up. */
  dropped_packets: number;
  reconnects: number;
  connected_since: string | null;
  last_error: string | null;
}

/** A connection was refused for a reason that backoff will not fix soon (logged prominently). */
export class PinMismatch extends Error {}

const WINDOW = 16 * 1024 * 1024;

export class MasqueClient {
  readonly stats: MasqueStats = { state: 'stopped', tx_packets: 0, tx_bytes: 0, rx_packets: 0, rx_bytes: 0, dropped_packets: 0, reconnects: 0, connected_since: null, last_error: null };
  private session: http2.ClientHttp2Session | null = null;
  private stream: http2.ClientHttp2Stream | null = null;
  private socket: tls.TLSSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private backoff: number;
  private everConnected = false;
  private stopped = true;
  private firstUp: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: MasqueClientOptions) {
    this.backoff = o.backoffMinMs ?? 250;
  }

  /** Start; resolves when the first session is up, rejects when the first attempt fails (the client keeps retrying). */
  start(): Promise<void> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      this.firstUp = { resolve, reject };
      void this.connect();
    });
  }

  /** True once a session is up, false when `ms` pass first (the client goes on trying either way). */
  waitConnected(ms: number): Promise<boolean> {
    if (this.stats.state === 'connected') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.teardown();
    this.setState('stopped');
  }

  /** Packets the OS sent into the tunnel. */
  send(packets: Buffer[]): void {
    const stream = this.stream;
    if (!stream || this.stats.state !== 'connected' || stream.destroyed) {
      this.stats.dropped_packets += packets.length;
      return;
    }
    let bytes = 0;
    for (const p of packets) bytes += p.length;
    this.stats.tx_packets += packets.length;
    this.stats.tx_bytes += bytes;
    if (!stream.write(encodeDatagrams(packets))) {
      this.o.tun.pause();
      stream.once('drain', () => this.o.tun.resume());
    }
  }

  private setState(s: SessionState): void {
    if (this.stats.state === s) return;
    this.stats.state = s;
    this.o.onState?.(s);
    if (s === 'connected') {
      for (const w of this.waiters) w();
      this.waiters.clear();
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting');
    let id: { keyPem: string; certPem: string };
    try {
      id = await this.o.identity();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (this.stopped) return;
    const socket = tls.connect({
      host: this.o.host,
      port: this.o.port,
      servername: this.o.sni,
      key: id.keyPem,
      cert: id.certPem,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.3',
      // No CA: the server is accepted by its pinned key alone, checked below before a byte of HTTP.
      rejectUnauthorized: false,
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out after 10 s')));
    socket.once('error', (err) => this.fail(err));
    socket.once('close', () => {
      if (this.socket === socket) this.fail(new Error('connection closed'));
    });
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      const cert = socket.getPeerX509Certificate();
      const got = cert ? spkiSha256(cert) : null;
      if (got !== this.o.pin) {
        socket.destroy();
        this.fail(new PinMismatch(`the server at ${this.o.host}:${this.o.port} presented key sha256/${got ?? 'none'}, not the pinned sha256/${this.o.pin}: refused, nothing sent`));
        return;
      }
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        this.fail(new Error(`the server did not agree to HTTP/2 (ALPN ${String(socket.alpnProtocol)})`));
        return;
      }
      this.openStream(socket);
    });
  }

  private openStream(socket: tls.TLSSocket): void {
    const session = http2.connect(`https://${this.o.sni}:${this.o.port}`, { createConnection: () => socket, settings: { enablePush: false, initialWindowSize: WINDOW } });
    this.session = session;
    session.on('error', (err) => this.fail(err));
    session.on('close', () => {
      if (this.session === session) this.fail(new Error('HTTP/2 session closed'));
    });
    session.on('goaway', (code) => this.fail(new Error(`server sent GOAWAY (code ${code})`)));
    session.on('connect', () => session.setLocalWindowSize(WINDOW));
    const stream = session.request(
      { ':method': 'CONNECT', ':authority': this.o.authority ?? 'cloudflareaccess.com:443', 'cf-connect-proto': 'cf-connect-ip', 'pq-enabled': 'false' },
      { endStream: false },
    );
    this.stream = stream;
    const reader = new CapsuleReader((p) => batch.push(p)); // views into the chunk, written to the TUN before it is released
    let batch: Buffer[] = [];
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status !== 200) {
        this.fail(new Error(`the server refused the CONNECT-IP request with status ${status}`));
        return;
      }
      this.backoff = this.o.backoffMinMs ?? 250;
      this.stats.connected_since = new Date().toISOString();
      this.stats.last_error = null;
      if (this.everConnected) this.stats.reconnects++;
      this.o.log(this.everConnected ? `MASQUE session to ${this.o.host}:${this.o.port} is back (reconnect ${this.stats.reconnects})` : `MASQUE session to ${this.o.host}:${this.o.port} up (HTTP/2, TLS 1.3, server key pinned)`);
      this.everConnected = true;
      this.setState('connected');
      this.startKeepalive(session);
      this.firstUp?.resolve();
      this.firstUp = null;
    });
    stream.on('data', (chunk: Buffer) => {
      batch = [];
      try {
        reader.push(chunk);
      } catch (err) {
        this.fail(err instanceof CapsuleError ? new Error(`the server sent a malformed capsule stream: ${err.message}`) : (err as Error));
        return;
      }
      if (batch.length > 0) {
        this.stats.rx_packets += batch.length;
        for (const p of batch) this.stats.rx_bytes += p.length;
        this.o.tun.write(batch);
      }
    });
    stream.on('error', (err) => this.fail(err));
    stream.on('close', () => {
      if (this.stream === stream) this.fail(new Error(`the CONNECT-IP stream closed (${stream.rstCode ?? 0})`));
    });
  }

  private startKeepalive(session: http2.ClientHttp2Session): void {
    const every = this.o.keepaliveMs ?? 5_000;
    let outstanding = false;
    this.keepalive = setInterval(() => {
      if (outstanding) {
        this.fail(new Error(`no answer to a keepalive PING within ${every} ms`));
        return;
      }
      outstanding = true;
      try {
        session.ping((err) => {
          outstanding = false;
          if (err && this.session === session) this.fail(err);
        });
      } catch (err) {
        this.fail(err as Error);
      }
    }, every);
    this.keepalive.unref();
  }

  private teardown(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    const { stream, session, socket } = this;
    this.stream = null;
    this.session = null;
    this.socket = null;
    this.o.tun.resume();
    stream?.destroy();
    session?.destroy();
    socket?.destroy();
  }

  /** Tear the session down and retry after the backoff (doubling up to the maximum, with jitter). */
  private fail(err: Error): void {
    if (this.stopped || (this.stats.state === 'backoff' && this.timer)) return;
    this.teardown();
    this.stats.connected_since = null;
    const msg = err.message || String(err);
    if (this.stats.last_error !== msg || this.stats.state === 'connected') this.o.log(`MASQUE: ${msg}; retrying in ${this.backoff} ms`);
    this.stats.last_error = msg;
    this.setState('backoff');
    this.firstUp?.reject(err);
    this.firstUp = null;
    const delay = this.backoff;
    this.backoff = Math.min(this.o.backoffMaxMs ?? 10_000, this.backoff * 2);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.connect();
      },
      Math.round(delay * (0.8 + 0.4 * Math.random())),
    );
    this.timer.unref();
  }
}
