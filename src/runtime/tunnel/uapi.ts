/**
 * The cross-platform WireGuard configuration protocol (UAPI) over a unix
 * socket, as wireguard-go serves it at /var/run/wireguard/<ifname>.sock.
 * https://www.wireguard.com/xplatform/
 */
import { createConnection } from 'node:net';

export const UAPI_SOCKET_DIR = '/var/run/wireguard';

export function uapiSocketPath(ifname: string, dir = UAPI_SOCKET_DIR): string {
  return `${dir}/${ifname}.sock`;
}

export interface UapiPeer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  /** Seconds since the epoch, 0 = never. */
  lastHandshake: number;
  rxBytes: number;
  txBytes: number;
}

export interface UapiDevice {
  privateKeyHex: string | null;
  listenPort: number;
  fwmark: number;
  peers: UapiPeer[];
}

/** One request/response exchange; the response ends with an empty line after `errno=N`. */
export function uapiExchange(socketPath: string, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`UAPI ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (/(^|\n)errno=-?\d+\n\n$/.test(buf)) {
        clearTimeout(timer);
        sock.end();
        resolve(buf);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!/errno=/.test(buf)) reject(new Error(`UAPI ${socketPath}: connection closed without an answer`));
      else resolve(buf);
    });
    sock.write(request);
  });
}

function errnoOf(response: string): number {
  const m = /(?:^|\n)errno=(-?\d+)\n/.exec(response);
  if (!m) throw new Error(`UAPI: malformed answer: ${JSON.stringify(response.slice(0, 200))}`);
  return Number(m[1]);
}

export async function uapiSet(socketPath: string, lines: readonly string[]): Promise<void> {
  const response = await uapiExchange(socketPath, `set=1\n${lines.join('\n')}\n\n`);
  const errno = errnoOf(response);
  if (errno !== 0) throw new Error(`UAPI set failed with errno ${errno}`);
}

export function parseUapiGet(response: string): UapiDevice {
  const dev: UapiDevice = { privateKeyHex: null, listenPort: 0, fwmark: 0, peers: [] };
  let peer: UapiPeer | null = null;
  let hsSec = 0;
  for (const line of response.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'private_key':
        dev.privateKeyHex = value;
        break;
      case 'listen_port':
        dev.listenPort = Number(value);
        break;
      case 'fwmark':
        dev.fwmark = Number(value);
        break;
      case 'public_key':
        peer = { publicKey: Buffer.from(value, 'hex').toString('base64'), endpoint: null, allowedIps: [], lastHandshake: 0, rxBytes: 0, txBytes: 0 };
        dev.peers.push(peer);
        break;
      case 'endpoint':
        if (peer) peer.endpoint = value;
        break;
      case 'allowed_ip':
        peer?.allowedIps.push(value);
        break;
      case 'last_handshake_time_sec':
        hsSec = Number(value);
        if (peer) peer.lastHandshake = hsSec;
        break;
      case 'rx_bytes':
        if (peer) peer.rxBytes = Number(value);
        break;
      case 'tx_bytes':
        if (peer) peer.txBytes = Number(value);
        break;
      default:
        break;
    }
  }
  return dev;
}

export async function uapiGet(socketPath: string): Promise<UapiDevice> {
  const response = await uapiExchange(socketPath, 'get=1\n\n');
  const errno = errnoOf(response);
  if (errno !== 0) throw new Error(`UAPI get failed with errno ${errno}`);
  return parseUapiGet(response);
}
