/** The DNS health check after `up`: a probe query (A, RD set) to the local DNS proxy, resolving with the answer's rcode. */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';

/** A DNS query (RD set) for `name`/`qtype`, wire format. */
export function buildProbeQuery(name: string, qtype: number, id: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

/** Ask `server:port` for `name`; resolves with the response's rcode, rejects on timeout. */
export function dnsProbe(server: string, name: string, opts: { port?: number; timeoutMs?: number; tries?: number } = {}): Promise<number> {
  const port = opts.port ?? 53;
  const timeoutMs = opts.timeoutMs ?? 1500;
  const tries = opts.tries ?? 3;
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(server) === 6 ? 'udp6' : 'udp4');
    const id = randomInt(0, 0xffff);
    const q = buildProbeQuery(name, 1, id);
    let attempt = 0;
    let timer: NodeJS.Timeout | undefined;
    const send = (): void => {
      attempt++;
      sock.send(q, port, server);
      timer = setTimeout(() => {
        if (attempt >= tries) {
          sock.close();
          reject(new Error(`no DNS answer from ${server}:${port} for ${name} after ${tries} tries`));
        } else send();
      }, timeoutMs);
    };
    sock.on('message', (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(msg[3]! & 0x0f);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    send();
  });
}
