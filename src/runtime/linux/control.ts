/**
 * The agent's control socket: `<state-dir>/control.sock`, how `warpc apply` and
 * `warpc confirm` reach a running agent.
 *
 * Only root may use it. The state dir is 0700 and the socket 0600 (connecting to
 * a unix socket needs write permission on it), and every request carries the
 * token from `<state-dir>/control.token` (0600, new at every start): a peer
 * proves it can read a root-only file. (Node exposes no SO_PEERCRED; the file
 * permissions are what the kernel checks, the token makes a mistaken mode fail
 * closed.) One request per connection, one JSON line each way plus log lines;
 * a malformed request gets an error and changes nothing. Requests run one at a
 * time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { atomicWrite } from './resolv.js';

export const CONTROL_SOCKET = 'control.sock';
export const CONTROL_TOKEN = 'control.token';
const MAX_REQUEST = 64 * 1024;

export type ControlRequest = { op: 'apply'; dir: string; timeout?: number } | { op: 'confirm' } | { op: 'state' };

/** The final answer; `state` also carries the running DNS proxy's configuration (null: no proxy). */
export interface ControlAnswer {
  ok: boolean;
  message: string;
  summary?: string[];
  proxy_config?: string | null;
}

/** One line the agent sends back: a log line, or the final answer. */
export type ControlReply = { log: string } | ControlAnswer;

/** Validate a request object; a string says what is wrong. */
export function parseControlRequest(line: string): { token: string; req: ControlRequest } | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'malformed request: not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'malformed request: not an object';
  const o = v as Record<string, unknown>;
  if (typeof o['token'] !== 'string') return 'malformed request: no token';
  const token = o['token'];
  const extra = Object.keys(o).filter((k) => !['token', 'op', 'dir', 'timeout'].includes(k));
  if (extra.length > 0) return `malformed request: unknown field ${extra[0]}`;
  if (o['op'] === 'confirm') return { token, req: { op: 'confirm' } };
  if (o['op'] === 'state') return { token, req: { op: 'state' } };
  if (o['op'] !== 'apply') return `malformed request: unknown op ${JSON.stringify(o['op'])}`;
  if (typeof o['dir'] !== 'string' || o['dir'] === '' || !o['dir'].startsWith('/')) return 'malformed request: dir must be an absolute path';
  const t = o['timeout'];
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 86_400)) return 'malformed request: timeout must be 1 to 86400 seconds';
  return { token, req: t === undefined ? { op: 'apply', dir: o['dir'] } : { op: 'apply', dir: o['dir'], timeout: t } };
}

export type ControlHandler = (req: ControlRequest, log: (line: string) => void) => Promise<ControlAnswer>;

export interface ControlServer {
  close(): Promise<void>;
}

/** Listen on `<stateDir>/control.sock` with a fresh token; requests run one at a time. */
export async function startControlServer(stateDir: string, handler: ControlHandler): Promise<ControlServer> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const token = randomBytes(32).toString('hex');
  await atomicWrite(join(stateDir, CONTROL_TOKEN), Buffer.from(`${token}\n`), 0o600);
  const path = join(stateDir, CONTROL_SOCKET);
  // Our own state dir, and we are its agent (the journal said so): a leftover socket is stale.
  await rm(path, { force: true });
  let queue: Promise<void> = Promise.resolve();
  const conns = new Set<Socket>();
  const server: Server = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    let handled = false;
    const send = (r: ControlReply): void => {
      if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      if (handled) return;
      buf += chunk;
      if (buf.length > MAX_REQUEST) {
        handled = true;
        send({ ok: false, message: 'request too large' });
        sock.end();
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      handled = true;
      const parsed = parseControlRequest(buf.slice(0, nl));
      if (typeof parsed === 'string') {
        send({ ok: false, message: `${parsed}; nothing was changed` });
        sock.end();
        return;
      }
      const a = Buffer.from(parsed.token);
      const b = Buffer.from(token);
      if (a.length !== b.length || !timingSafeEqual(a, b)) {
        send({ ok: false, message: `wrong control token (read ${join(stateDir, CONTROL_TOKEN)} as root); nothing was changed` });
        sock.end();
        return;
      }
      const run = queue.then(async () => {
        try {
          send(await handler(parsed.req, (line) => send({ log: line })));
        } catch (err) {
          send({ ok: false, message: (err as Error).message });
        }
        sock.end();
      });
      queue = run.catch(() => undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return {
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      for (const c of conns) c.destroy();
      await rm(path, { force: true });
      await rm(join(stateDir, CONTROL_TOKEN), { force: true });
    },
  };
}

/** Send one request to the agent of `stateDir`; `onLog` gets its log lines; resolves with the final answer. */
export async function controlRequest(stateDir: string, req: ControlRequest, onLog: (line: string) => void, timeoutMs = 300_000): Promise<ControlAnswer> {
  let token: string;
  try {
    token = (await readFile(join(stateDir, CONTROL_TOKEN), 'utf8')).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'EACCES' ? `cannot read ${join(stateDir, CONTROL_TOKEN)}: only root may control the agent` : `no running agent with a control socket in ${stateDir} (${code ?? String(err)})`);
  }
  return new Promise((resolve, reject) => {
    const sock = createConnection(join(stateDir, CONTROL_SOCKET));
    let buf = '';
    let answered = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the agent did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ token, ...req })}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let r: ControlReply;
        try {
          r = JSON.parse(line) as ControlReply;
        } catch {
          continue;
        }
        if ('log' in r) onLog(r.log);
        else {
          answered = true;
          clearTimeout(timer);
          resolve(r);
        }
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`cannot reach the agent's control socket ${join(stateDir, CONTROL_SOCKET)}: ${err.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!answered) reject(new Error('the agent closed the control connection without an answer'));
    });
  });
}
