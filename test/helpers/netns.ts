/**
 * Throwaway network namespaces for privileged tests.
 *
 * Every namespace is named `warpc-<random>` and registered for deletion; the
 * `cleanup()` of a NetnsPool deletes them all and kills every process started
 * through it (by PID). Nothing here touches the root namespace: every command
 * runs through `ip netns exec <ns>` with an argument array.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class Netns {
  constructor(readonly name: string, private readonly pool: NetnsPool) {}

  /** Run a command inside the namespace; rejects on a non-zero exit. */
  async run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    if (opts.input !== undefined) {
      return runWithInput('ip', ['netns', 'exec', this.name, cmd, ...args], opts.input, opts.timeoutMs ?? 30_000);
    }
    const { stdout, stderr } = await execFileP('ip', ['netns', 'exec', this.name, cmd, ...args], {
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  }

  /** Like run, but resolves with the exit code instead of rejecting. */
  async tryRun(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult & { code: number }> {
    try {
      return { ...(await this.run(cmd, args, opts)), code: 0 };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), code: typeof e.code === 'number' ? e.code : 1 };
    }
  }

  /** Start a long-running process inside the namespace; the pool kills it on cleanup. */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.pool.track(child);
    return child;
  }
}

export class NetnsPool {
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly pids: number[] = [];
  readonly prefix = `warpc-${randomBytes(3).toString('hex')}`;

  /**
   * Create a namespace `warpc-<random>-<label>` with loopback up and IPv6 duplicate
   * address detection off: links created in it get their addresses at once, so a
   * snapshot taken before and after a change never differs by a `tentative` flag.
   */
  async create(label: string): Promise<Netns> {
    const name = `${this.prefix}-${label}`.slice(0, 40);
    await execFileP('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await execFileP('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    await execFileP('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return new Netns(name, this);
  }

  /** Connect two namespaces with a veth pair and address both ends. */
  async link(a: Netns, aIf: string, aAddrs: readonly string[], b: Netns, bIf: string, bAddrs: readonly string[]): Promise<void> {
    const tmpA = `wv${randomBytes(4).toString('hex')}`;
    const tmpB = `wv${randomBytes(4).toString('hex')}`;
    // Create the pair directly inside namespace a so the root namespace never holds it.
    await execFileP('ip', ['-n', a.name, 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB, 'netns', b.name]);
    await execFileP('ip', ['-n', a.name, 'link', 'set', tmpA, 'name', aIf]);
    await execFileP('ip', ['-n', b.name, 'link', 'set', tmpB, 'name', bIf]);
    for (const [ns, ifname, addrs] of [[a, aIf, aAddrs], [b, bIf, bAddrs]] as const) {
      for (const addr of addrs) {
        const args = ['-n', ns.name, 'addr', 'add', addr, 'dev', ifname];
        if (addr.includes(':')) args.push('nodad');
        await execFileP('ip', args);
      }
      await execFileP('ip', ['-n', ns.name, 'link', 'set', ifname, 'up']);
    }
  }

  track(child: ChildProcess): void {
    this.children.push(child);
  }

  /** Track a PID started some other way (e.g. a daemon that wrote a pid file). */
  trackPid(pid: number): void {
    this.pids.push(pid);
  }

  /** Kill every tracked process (by PID) and delete every namespace. Never throws. */
  async cleanup(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
    }
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await Promise.all(this.children.map((c) => waitExit(c, 3000)));
    for (const ns of this.namespaces) {
      // Anything still running inside the namespace (a daemon that forked) dies with it.
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    this.namespaces.length = 0;
    this.children.length = 0;
    this.pids.length = 0;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function runWithInput(cmd: string, args: readonly string[], input: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
