/**
 * Bench: `warpc up` and `warpc down` with 10k routes, in a throwaway network namespace.
 *
 *   sudo node --import ./test/runtime/helpers/ts-loader.mjs bench/runtime/up-down.ts [--routes 10000] [--runs 3]
 *
 * Prints, from the same run: warpc up (spawn → committed), warpc down (command → agent gone,
 * device restored), the CLI's own start-up (warpc status) for reference, and the peers for the
 * route load itself: one `ip -4 -batch` of the compiled file (what warpc does) against one
 * `ip route add` per route (what it avoids). Ratios matter, not absolute times.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const LOADER = join(REPO, 'test/runtime/helpers/ts-loader.mjs');
const CLI = join(REPO, 'src/cli/main.ts');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ROUTES = arg('--routes', 10_000);
const RUNS = arg('--runs', 3);

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const ns = `warpc-bench-rt-${id}`;
  const ifname = `wqb${id}`;
  const tmp = await mkdtemp(join(tmpdir(), 'warpc-bench-rt-'));
  // Non-adjacent /25s: the minimal cover cannot merge them, so the batch has ROUTES throw lines.
  const entries = Array.from({ length: ROUTES }, (_, i) => `    - { address: 20.${i >> 8}.${i & 255}.0/25 }`).join('\n');
  await writeFile(
    join(tmp, 'p.yaml'),
    `version: 1\nname: bench\nsplit_tunnel:\n  mode: exclude\n  entries:\n${entries}\ntunnel: { protocol: wireguard, endpoint: "198.51.100.1:2408", peer_public_key: "Vzz2CgKQ5Y+T1ImANGm0W7EkWQ62PjmE2RfqfJ+gVVo=" }\ntargets:\n  linux: { interface: ${ifname} }\n`,
  );
  const node = [process.execPath, '--import', LOADER, CLI];
  let t = process.hrtime.bigint();
  await execFileP(node[0] as string, [...node.slice(1), 'compile', join(tmp, 'p.yaml'), '--out', join(tmp, 'out')], { maxBuffer: 1 << 26 });
  const compileMs = ms(t);
  const batch = await readFile(join(tmp, 'out/linux/routes4.batch'), 'utf8');
  const routeLines = batch.split('\n').filter((l) => l.startsWith('route add'));
  await execFileP('ip', ['netns', 'add', ns]);
  const inNs = (cmd: string, args: string[]): Promise<unknown> => execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { maxBuffer: 1 << 26 });
  const results = { up: [] as number[], down: [] as number[], cli: [] as number[], batch: [] as number[], perRoute: 0 };
  try {
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    for (let run = 0; run < RUNS; run++) {
      const root = join(tmp, `root${run}`);
      const state = join(tmp, `state${run}`);
      await mkdir(join(root, 'etc'), { recursive: true });
      await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53\n');
      t = process.hrtime.bigint();
      const agent = spawn('ip', ['netns', 'exec', ns, ...node, 'up', join(tmp, 'out/linux'), '--state-dir', state, '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      await new Promise<void>((res, rej) => {
        agent.stderr.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('warpc: up: ')) res();
        });
        agent.on('exit', () => rej(new Error(`up exited:\n${log}`)));
      });
      results.up.push(ms(t));
      const shown = String(((await execFileP('ip', ['netns', 'exec', ns, 'ip', '-4', 'route', 'show', 'table', '65743'], { maxBuffer: 1 << 26 })) as { stdout: string }).stdout);
      if (shown.split('\n').filter(Boolean).length < routeLines.length) throw new Error('routes missing after up');
      t = process.hrtime.bigint();
      await inNs(process.execPath, [...node.slice(1), 'status', '--state-dir', state]);
      results.cli.push(ms(t));
      t = process.hrtime.bigint();
      const exited = new Promise((r) => agent.on('exit', r));
      await inNs(process.execPath, [...node.slice(1), 'down', '--state-dir', state]);
      await exited;
      results.down.push(ms(t));
      // Peer 1: the route load alone, as warpc does it (one batch), onto a tun stand-in.
      await inNs('ip', ['tuntap', 'add', 'dev', ifname, 'mode', 'tun']);
      await inNs('ip', ['link', 'set', ifname, 'up']);
      t = process.hrtime.bigint();
      await inNs('ip', ['-4', '-batch', join(tmp, 'out/linux/routes4.batch')]);
      results.batch.push(ms(t));
      await inNs('ip', ['-4', 'rule', 'del', 'not', 'fwmark', '0x100cf', 'table', '65743', 'priority', '32000']);
      await inNs('ip', ['-4', 'route', 'flush', 'table', '65743']);
      if (run < RUNS - 1) await inNs('ip', ['link', 'del', ifname]);
    }
    // Peer 2: one `ip route add` per route (what warpc avoids); once, it is slow.
    t = process.hrtime.bigint();
    for (const line of routeLines) await inNs('ip', ['-4', ...line.split(' ')]);
    results.perRoute = ms(t);
  } finally {
    await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(`/var/run/wireguard/${ifname}.sock`, { force: true });
    await rm(tmp, { recursive: true, force: true });
  }
  const up = median(results.up);
  const down = median(results.down);
  const cli = median(results.cli);
  const b = median(results.batch);
  const lines = [
    `routes in routes4.batch: ${routeLines.length} (compile: ${compileMs.toFixed(0)} ms)`,
    `warpc up   (spawn → committed), median of ${RUNS}: ${up.toFixed(0)} ms   [${results.up.map((x) => x.toFixed(0)).join(', ')}]`,
    `warpc down (command → restored), median of ${RUNS}: ${down.toFixed(0)} ms   [${results.down.map((x) => x.toFixed(0)).join(', ')}]`,
    `CLI start-up alone (warpc status), median: ${cli.toFixed(0)} ms`,
    `route load, one ip -batch (warpc):     ${b.toFixed(0)} ms`,
    `route load, one ip route add per route: ${results.perRoute.toFixed(0)} ms  (${(results.perRoute / b).toFixed(0)}x the batch)`,
    `up / CLI start-up: ${(up / cli).toFixed(1)}x; down / CLI start-up: ${(down / cli).toFixed(1)}x`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
