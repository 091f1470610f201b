/**
 * The MASQUE client alone, for bench/tunnel/run.sh: the same TUN + HTTP/2 client
 * `warpc up` runs (src/runtime/masque/tunnel.ts), without routes, firewall or DNS.
 *
 *   node dist/bench/tunnel/client.js IFNAME ADDR/32 HOST:PORT SERVER_PIN STATE_DIR
 *
 * Prints "ready" when the session is up; stops on SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { MasqueTunnel } from '../../src/runtime/masque/tunnel.js';

const [ifname, addr, endpoint, pin, stateDir] = process.argv.slice(2) as [string, string, string, string, string];
const [host, port] = endpoint.split(':') as [string, string];
const t = await MasqueTunnel.start({
  ifname,
  stateDir,
  settings: { version: 1, transport: 'h2', endpoint: { host, port: Number(port) }, sni: 'zt-masque.cloudflareclient.com', server_pin: pin, authority: 'cloudflareaccess.com:443', keepalive_seconds: 5 },
  log: (m) => process.stderr.write(`${m}\n`),
});
execFileSync('ip', ['addr', 'add', addr, 'dev', ifname]);
execFileSync('ip', ['link', 'set', 'dev', ifname, 'mtu', '1280', 'up']);
const wait = setInterval(() => {
  if (t.client.stats.state === 'connected') {
    clearInterval(wait);
    process.stdout.write('ready\n');
  }
}, 20);
process.once('SIGTERM', () => {
  t.stop();
  process.exit(0);
});
