/**
 * Plain DNS client for Local Domain Fallback servers (RFC 1035, RFC 7766).
 *
 * A query goes to every server of the rule at once over UDP with a random
 * ID, from one connected socket per server (a random source port each), so a
 * server that refuses (ICMP port unreachable: ECONNREFUSED) has failed at once.
 * The first acceptable answer wins, negative answers included. A server
 * that answers with TC=1 is asked again over TCP; one that answers SERVFAIL,
 * REFUSED, NOTIMP or FORMERR has failed, and the others are still awaited.
 * When every server has failed, or the deadline passes, the promise rejects.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { HEADER_LEN, inspectResponse, isTruncated, rcodeOf, RCODE_FORMERR, RCODE_NOTIMP, RCODE_REFUSED, RCODE_SERVFAIL } from './wire.js';

export interface PlainServer {
  readonly address: string;
  readonly port: number;
}

export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'failed',
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

const MAX_TCP_MESSAGE = 65_535;

/**
 * Ask `servers` for `query` (any ID; `questionEnd` marks its question) and
 * resolve with the first acceptable response, ID as sent by the caller.
 */
export function queryPlain(query: Uint8Array, questionEnd: number, servers: readonly PlainServer[], timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (servers.length === 0) {
      reject(new UpstreamError('no servers', 'failed'));
      return;
    }
    const clientId = (query[0]! << 8) | query[1]!;
    const id = randomInt(0, 0x10000);
    const wire = Buffer.from(query);
    wire.writeUInt16BE(id, 0);
    const question = wire.subarray(HEADER_LEN, questionEnd);
    const sockets: dgram.Socket[] = [];
    const tcpConns: net.Socket[] = [];
    const failed = new Set<PlainServer>();
    let done = false;
    const errors: string[] = [];

    const finish = (err: Error | null, resp?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          /* already closed */
        }
      }
      for (const c of tcpConns) c.destroy();
      if (err) reject(err);
      else {
        resp!.writeUInt16BE(clientId, 0);
        resolve(resp!);
      }
    };
    const timer = setTimeout(() => finish(new UpstreamError(`no answer within ${timeoutMs} ms from ${servers.map(fmt).join(', ')}`, 'timeout')), timeoutMs);

    const serverFailed = (s: PlainServer, why: string): void => {
      if (done || failed.has(s)) return;
      failed.add(s);
      errors.push(`${fmt(s)}: ${why}`);
      if (failed.size >= servers.length) finish(new UpstreamError(errors.join('; '), 'failed'));
    };

    /** Check a response from `s`: an answer ends the query, a TC retries over TCP, an error fails `s`. */
    const accept = (s: PlainServer, resp: Buffer, overTcp: boolean): void => {
      if (done) return;
      if (resp.length < HEADER_LEN || resp.readUInt16BE(0) !== id) return;
      if (inspectResponse(resp, question, false) === null) return;
      if (!overTcp && isTruncated(resp)) {
        retryTcp(s);
        return;
      }
      const rcode = rcodeOf(resp);
      if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED || rcode === RCODE_NOTIMP || rcode === RCODE_FORMERR) {
        serverFailed(s, `rcode ${rcode}`);
        return;
      }
      finish(null, resp);
    };

    const retryTcp = (s: PlainServer): void => {
      const conn = net.connect({ host: s.address, port: s.port });
      tcpConns.push(conn);
      const frame = Buffer.allocUnsafe(wire.length + 2);
      frame.writeUInt16BE(wire.length, 0);
      wire.copy(frame, 2);
      let acc: Buffer = Buffer.alloc(0);
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        conn.destroy();
        serverFailed(s, why);
      };
      conn.on('connect', () => conn.write(frame));
      conn.on('data', (chunk: Buffer) => {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        while (acc.length >= 2) {
          const n = acc.readUInt16BE(0);
          if (acc.length < n + 2) return;
          const msg = Buffer.from(acc.subarray(2, n + 2));
          acc = acc.subarray(n + 2);
          if (msg.length >= HEADER_LEN && msg.readUInt16BE(0) === id) {
            settled = true;
            conn.destroy();
            if (inspectResponse(msg, question, false) === null) {
              serverFailed(s, 'malformed TCP response');
              return;
            }
            accept(s, msg, true);
            return;
          }
        }
        if (acc.length > MAX_TCP_MESSAGE + 2) fail('oversized TCP response');
      });
      conn.on('error', (e) => fail(`tcp: ${e.message}`));
      conn.on('close', () => fail('tcp: closed without an answer'));
    };

    // One connected socket per server (a random source port each): the kernel then
    // reports an ICMP port or host unreachable from that server as ECONNREFUSED (or
    // EHOSTUNREACH…) on the socket, so a server that refuses fails at once instead of
    // after the whole timeout; a silent server still waits for the deadline.
    for (const s of servers) {
      const sock = dgram.createSocket(net.isIPv6(s.address) ? 'udp6' : 'udp4');
      sockets.push(sock);
      sock.on('error', (e: NodeJS.ErrnoException) => serverFailed(s, e.code === 'ECONNREFUSED' ? 'udp: refused (port unreachable)' : `udp: ${e.message}`));
      // Connected: the kernel delivers only datagrams from this server's address and port.
      sock.on('message', (msg) => {
        accept(s, msg, false);
      });
      sock.connect(s.port, s.address, () => {
        if (done) return;
        sock.send(wire, (err) => {
          if (err) serverFailed(s, `udp send: ${err.message}`);
        });
      });
    }
  });
}

function fmt(s: PlainServer): string {
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}
