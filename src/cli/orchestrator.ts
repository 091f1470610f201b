/**
 * `warpc orchestrator serve|token create`: run the orchestrator (README "Orchestration")
 * and manage its tokens directly on its data folder or database.
 */
import type { Command } from 'commander';
import type { RegistrationPeer } from '../contract/orchestrator.js';
import { CliExit, EXIT } from './exit.js';

interface StoreFlags {
  data: string;
  database?: string;
}
interface ServeFlags extends StoreFlags {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  hostname: string[];
  poolV4: string;
  poolV6: string;
  gatewayKey?: string;
  gatewayEndpoint?: string;
  gatewayMasqueEndpoint?: string;
  gatewayMasquePin?: string;
  gatewayAddress: string[];
  registerRate: string;
}
interface TokenFlags extends StoreFlags {
  admin?: boolean;
  enroll?: boolean;
  gateway?: boolean;
  expires?: string;
  uses?: string;
  label: string;
  email?: string;
  group: string[];
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const DEFAULT_DATA = 'warpc-orchestrator';

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data folder: the SQLite database, ca.pem', DEFAULT_DATA)
    .option('--database <url>', 'a postgres:// URL instead of SQLite (several orchestrator processes can share it)');
}

/** `24h`, `30m`, `7d`, `90s` → milliseconds. */
export function parseDuration(s: string): number | null {
  const m = /^(\d{1,9})([smhd])$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function register(program: Command): void {
  const orch = program.command('orchestrator').description('run the device orchestrator (registration, profile selection, signed bundles) and manage its tokens');

  storeOptions(orch.command('serve').description('serve the admin and device APIs over HTTPS until SIGINT or SIGTERM; with no flags: SQLite in ./warpc-orchestrator, a generated CA and certificate, a first admin token printed once'))
    .option('--listen <addr:port>', 'where to listen', '127.0.0.1:8443')
    .option('--tls-cert <file>', 'PEM certificate (chain) to serve instead of the generated one')
    .option('--tls-key <file>', 'its PEM private key')
    .option('--hostname <name>', 'a DNS name or IP the generated certificate also names (repeatable)', collect, [])
    .option('--pool-v4 <cidr>', 'IPv4 pool of device tunnel addresses', '100.96.0.0/12')
    .option('--pool-v6 <cidr>', 'IPv6 pool of device tunnel addresses', 'fd01:5ca1:ab1e::/64')
    .option('--gateway-key <base64>', "the gateway's WireGuard public key, given to every registration")
    .option('--gateway-endpoint <host:port>', "the gateway's WireGuard endpoint")
    .option('--gateway-masque-endpoint <ip:port>', "the gateway's MASQUE endpoint (TCP, e.g. 192.0.2.1:443), given to every registration as a tunnel_type masque peer")
    .option('--gateway-masque-pin <sha256/…>', "the pin of the gateway's MASQUE server key (warpc gateway prints it and writes masque.pin)")
    .option('--gateway-address <ip>', "an address of the pools never handed out (the gateway's own; repeatable)", collect, [])
    .option('--register-rate <n>', 'registrations per second per source address (bursts of up to 4 times as many)', '5')
    .addHelpText('after', '\nExamples:\n  $ warpc orchestrator serve\n  $ warpc orchestrator serve --listen 0.0.0.0:8443 --hostname orch.example.com --gateway-key "$(cat gw.pub)" --gateway-endpoint gw.example.com:51820')
    .action(async (o: ServeFlags) => serve(o));

  const token = orch.command('token').description('manage tokens directly on the data folder or database');
  storeOptions(token.command('create').description('create a token and print it once (only its SHA-256 is stored)'))
    .option('--admin', 'an admin token (the admin API)')
    .option('--enroll', 'an enrollment token (POST /v0/reg)')
    .option('--gateway', 'a gateway token (GET /v0/gateway/peers)')
    .option('--expires <duration>', 'expires after this long: 90s, 30m, 24h, 7d')
    .option('--uses <n>', 'enrollment tokens: how many devices may enroll with it')
    .option('--label <text>', 'a label for the token list and audit log', '')
    .option('--email <address>', 'enrollment tokens: identity.email of devices enrolled with it')
    .option('--group <name>', 'enrollment tokens: a group of devices enrolled with it (repeatable)', collect, [])
    .addHelpText('after', '\nExamples:\n  $ warpc orchestrator token create --enroll --expires 24h --uses 10\n  $ warpc orchestrator token create --gateway --label gw1')
    .action(async (o: TokenFlags) => createTokenCommand(o));
}

async function openStoreOrExit(o: StoreFlags, cmd: string): Promise<import('../orchestrator/store/types.js').Store> {
  const { openStore } = await import('../orchestrator/store/index.js');
  try {
    return await openStore({ dataDir: o.data, database: o.database });
  } catch (err) {
    throw new CliExit(EXIT.failure, `warpc orchestrator ${cmd}: ${(err as Error).message}`);
  }
}

async function createTokenCommand(o: TokenFlags): Promise<void> {
  const kinds = (['admin', 'enroll', 'gateway'] as const).filter((k) => o[k] === true);
  if (kinds.length !== 1) throw new CliExit(EXIT.usage, 'warpc orchestrator token create: give exactly one of --admin, --enroll, --gateway');
  const kind = kinds[0]!;
  const expires = o.expires === undefined ? null : parseDuration(o.expires);
  if (o.expires !== undefined && expires === null) throw new CliExit(EXIT.usage, `warpc orchestrator token create: --expires ${JSON.stringify(o.expires)}: expected a number and s, m, h or d (24h)`);
  const uses = o.uses === undefined ? null : Number(o.uses);
  if (uses !== null && (!Number.isInteger(uses) || uses < 1)) throw new CliExit(EXIT.usage, `warpc orchestrator token create: --uses ${JSON.stringify(o.uses)}: expected a positive whole number`);
  if (kind !== 'enroll' && (uses !== null || o.email !== undefined || o.group.length > 0)) throw new CliExit(EXIT.usage, 'warpc orchestrator token create: --uses, --email and --group are for --enroll tokens');
  const identity = o.email !== undefined || o.group.length > 0 ? { ...(o.email !== undefined ? { email: o.email } : {}), ...(o.group.length > 0 ? { groups: o.group } : {}) } : null;
  const store = await openStoreOrExit(o, 'token create');
  try {
    const { createToken } = await import('../orchestrator/admin.js');
    const made = await createToken(store, { kind, label: o.label, expiresAt: expires === null ? null : Date.now() + expires, maxUses: uses, identity }, 'cli');
    process.stderr.write(`warpc: orchestrator: ${kind} token ${made.row.id} created${expires !== null ? `, expires ${new Date(made.row.expiresAt!).toISOString()}` : ''}${uses !== null ? `, ${uses} use${uses === 1 ? '' : 's'}` : ''}; shown once:\n`);
    process.stdout.write(`${made.token}\n`);
  } finally {
    await store.close();
  }
}

async function serve(o: ServeFlags): Promise<void> {
  const log = (msg: string): void => {
    process.stderr.write(`warpc: orchestrator: ${msg}\n`);
  };
  const m = /^\[?([0-9A-Fa-f:.]+|localhost)\]?:(\d{1,5})$/.exec(o.listen);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new CliExit(EXIT.usage, `warpc orchestrator serve: --listen ${JSON.stringify(o.listen)}: expected ADDR:PORT or [V6]:PORT`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CliExit(EXIT.usage, 'warpc orchestrator serve: --tls-cert and --tls-key go together');
  if ((o.gatewayKey === undefined) !== (o.gatewayEndpoint === undefined)) throw new CliExit(EXIT.usage, 'warpc orchestrator serve: --gateway-key and --gateway-endpoint go together');
  if (o.gatewayKey !== undefined && Buffer.from(o.gatewayKey, 'base64').length !== 32) throw new CliExit(EXIT.usage, 'warpc orchestrator serve: --gateway-key: expected a WireGuard public key (base64 of 32 bytes, `wg pubkey` prints one)');
  if ((o.gatewayMasqueEndpoint === undefined) !== (o.gatewayMasquePin === undefined)) throw new CliExit(EXIT.usage, 'warpc orchestrator serve: --gateway-masque-endpoint and --gateway-masque-pin go together');
  let masquePeer: RegistrationPeer | null = null;
  if (o.gatewayMasqueEndpoint !== undefined && o.gatewayMasquePin !== undefined) {
    const ep = endpointOf(o.gatewayMasqueEndpoint);
    const portOk = /:(\d{1,5})$/.exec(o.gatewayMasqueEndpoint);
    if (ep.host !== undefined || !portOk || Number(portOk[1]) < 1 || Number(portOk[1]) > 65535)
      throw new CliExit(EXIT.usage, `warpc orchestrator serve: --gateway-masque-endpoint ${JSON.stringify(o.gatewayMasqueEndpoint)}: expected IP:PORT or [V6]:PORT (masque.json names its endpoint by address)`);
    const { normalizeMasquePin } = await import('../contract/masque.js');
    const pin = normalizeMasquePin(o.gatewayMasquePin);
    if (!pin.ok) throw new CliExit(EXIT.usage, `warpc orchestrator serve: --gateway-masque-pin: ${pin.reason} (give sha256/BASE64 as warpc gateway prints it)`);
    masquePeer = { tunnel_type: 'masque', public_key: pin.pin, endpoint: ep };
  }
  const rate = Number(o.registerRate);
  if (!Number.isFinite(rate) || rate <= 0) throw new CliExit(EXIT.usage, `warpc orchestrator serve: --register-rate ${JSON.stringify(o.registerRate)}: expected a positive number`);
  const { parsePrefix } = await import('../net/ip.js');
  for (const [flag, v] of [['--pool-v4', o.poolV4], ['--pool-v6', o.poolV6]] as const) {
    const p = parsePrefix(v);
    if (!p.ok || (flag === '--pool-v4') !== (p.prefix.family === 4)) throw new CliExit(EXIT.usage, `warpc orchestrator serve: ${flag} ${JSON.stringify(v)}: expected an IPv${flag === '--pool-v4' ? 4 : 6} prefix`);
  }
  const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (o.database === undefined) mkdirSync(o.data, { recursive: true, mode: 0o700 });
  const store = await openStoreOrExit(o, 'serve');
  let orch;
  try {
    const { generatedTls, fingerprint } = await import('../orchestrator/tls.js');
    let tls: { keyPem: string; certPem: string };
    if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
      tls = { certPem: readFileSync(o.tlsCert, 'utf8'), keyPem: readFileSync(o.tlsKey, 'utf8') };
      log(`TLS certificate ${o.tlsCert}, SHA-256 fingerprint ${fingerprint(tls.certPem)}`);
    } else {
      const g = await generatedTls(store, o.hostname);
      // The chain, not the leaf alone: a device that trusts on first use pins the topmost certificate
      // sent, and the CA outlives this process's fresh server key (a restart would break a leaf pin).
      tls = { keyPem: g.keyPem, certPem: g.certPem + g.caPem! };
      const caFile = join(o.data, 'ca.pem');
      mkdirSync(o.data, { recursive: true, mode: 0o700 });
      writeFileSync(caFile, g.caPem!);
      log(`generated CA ${caFile}, SHA-256 fingerprint ${g.caFingerprint!}`);
      log(`server certificate for localhost, 127.0.0.1, ::1${o.hostname.map((h) => `, ${h}`).join('')}: SHA-256 fingerprint ${g.certFingerprint}`);
    }
    const { createToken } = await import('../orchestrator/admin.js');
    if (!(await store.listTokens()).some((t) => t.kind === 'admin')) {
      const made = await createToken(store, { kind: 'admin', label: 'first admin token', expiresAt: null, maxUses: null }, 'system');
      log(`first admin token (shown once; create more with \`warpc orchestrator token create --admin\`):`);
      process.stdout.write(`${made.token}\n`);
    }
    const { startOrchestrator } = await import('../orchestrator/server.js');
    const first = (cidr: string): string => {
      const [addr] = cidr.split('/');
      return addr!.includes(':') ? `${addr!.replace(/::$/, '')}::1` : addr!.replace(/\d+$/, (n) => String(Number(n) + 1));
    };
    const reserved = o.gatewayAddress.length > 0 ? o.gatewayAddress : [first(o.poolV4), first(o.poolV6)];
    // WireGuard first: a reader that takes peers[0] for WireGuard keeps working.
    const peers: RegistrationPeer[] = o.gatewayKey !== undefined ? [{ public_key: o.gatewayKey, endpoint: endpointOf(o.gatewayEndpoint!) }] : [];
    if (masquePeer) peers.push(masquePeer);
    if (peers.length === 0) log('no --gateway-key/--gateway-endpoint nor --gateway-masque-endpoint/--gateway-masque-pin: registrations name no gateway peer');
    orch = await startOrchestrator({ store, host: m[1] === 'localhost' ? '127.0.0.1' : m[1]!, port, tls, pools: { v4: o.poolV4, v6: o.poolV6, reserved }, peers, log, limits: { registerPerSecond: rate, registerBurst: Math.max(20, Math.ceil(rate * 4)) } });
    log(`${store.kind} store${store.kind === 'sqlite' ? ` in ${o.data}` : ''}; listening on https://${m[1]!.includes(':') ? `[${m[1]}]` : m[1]}:${orch.port}`);
    log(`bundle-signing key (Ed25519) sha256/${orch.signer.publicKey.spki_sha256}`);
  } catch (err) {
    await store.close();
    if (err instanceof CliExit) throw err;
    throw new CliExit(EXIT.failure, `warpc orchestrator serve: ${(err as Error).message}`);
  }
  const running = orch;
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log(`${sig}: stopping`);
      void running
        .close()
        .then(() => store.close())
        .then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function endpointOf(s: string): { v4?: string; v6?: string; host?: string } {
  if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) return { v4: s };
  if (/^\[[0-9A-Fa-f:.]+\]:\d+$/.test(s)) return { v6: s };
  return { host: s };
}
