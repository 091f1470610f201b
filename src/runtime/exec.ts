/**
 * Executors: the only way the runtime has side effects.
 *
 * A command is an argument array run with execFile (never `sh -c`). Files the
 * runtime touches on the host (resolv.conf) are named relative to a root
 * directory (`--root`, default `/`), and its own files live in a state
 * directory (`--state-dir`). Tests run the real executor inside throwaway
 * network namespaces with a temp root, or the RecordingExecutor, which keeps a
 * transcript of every command and answers from a table.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export interface RunOptions {
  /** Bytes for the command's standard input. */
  readonly input?: string | Buffer;
  /** Resolve with a non-zero code instead of rejecting. */
  readonly allowFail?: boolean;
  readonly timeoutMs?: number;
  /** Extra environment for the command. */
  readonly env?: Readonly<Record<string, string>>;
  /** Return stdout as raw bytes (`stdoutBytes`). */
  readonly binary?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes?: Buffer;
}

export interface SpawnedProcess {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export interface Executor {
  /** Host files are `root` + absolute path. */
  readonly root: string;
  readonly stateDir: string;
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Start a long-running process with its output appended to `logFile`. */
  spawn(cmd: string, args: readonly string[], opts: { logFile: string; env?: Readonly<Record<string, string>> }): Promise<SpawnedProcess>;
  /** Is a program on PATH? */
  which(cmd: string): Promise<string | null>;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${cmd} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Map an absolute host path into the root directory. */
export function hostPath(root: string, absolute: string): string {
  if (!absolute.startsWith('/')) throw new Error(`not an absolute path: ${absolute}`);
  return root === '/' ? absolute : join(root, absolute);
}

export class RealExecutor implements Executor {
  readonly root: string;
  readonly stateDir: string;

  constructor(opts: { root: string; stateDir: string }) {
    this.root = resolve(opts.root);
    this.stateDir = resolve(opts.stateDir);
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = execFile(
        cmd,
        args as string[],
        {
          timeout: opts.timeoutMs ?? 60_000,
          maxBuffer: 256 * 1024 * 1024,
          encoding: 'buffer',
          env: opts.env ? { ...process.env, ...opts.env } : process.env,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
          const result: RunResult = {
            code,
            stdout: stdout.toString('utf8'),
            stderr: stderr.toString('utf8') || (err && code === 127 ? String(err.message) : ''),
            ...(opts.binary ? { stdoutBytes: stdout } : {}),
          };
          if (code !== 0 && !opts.allowFail) reject(new CommandError(cmd, args, result));
          else resolvePromise(result);
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  async spawn(cmd: string, args: readonly string[], opts: { logFile: string; env?: Readonly<Record<string, string>> }): Promise<SpawnedProcess> {
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(opts.logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(cmd, args as string[], {
        stdio: ['ignore', fd, fd],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        detached: false,
      });
    } finally {
      closeSync(fd);
    }
    const pid = await new Promise<number>((res, rej) => {
      child.once('spawn', () => res(child.pid as number));
      child.once('error', rej);
    });
    const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? 'unknown')));
    return { pid, exited, kill: (signal = 'SIGTERM') => void process.kill(pid, signal) };
  }

  async which(cmd: string): Promise<string | null> {
    const { access, constants } = await import('node:fs/promises');
    for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
      if (!dir) continue;
      const p = join(dir, cmd);
      try {
        await access(p, constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
    return null;
  }
}

export interface RecordedCommand {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input?: string;
}

type Responder = (cmd: string, args: readonly string[]) => Partial<RunResult> | undefined;

/**
 * For unit tests: records every command instead of running it, and answers
 * from `responders` (first match wins; default: exit 0, no output). Files
 * still go to the (temp) root and state dir given, which are real folders.
 */
export class RecordingExecutor implements Executor {
  readonly transcript: RecordedCommand[] = [];
  private readonly responders: Responder[] = [];
  private nextPid = 40_000;

  constructor(
    readonly root: string,
    readonly stateDir: string,
    private readonly present: ReadonlySet<string> = new Set(['ip', 'nft', 'wireguard-go', 'wg', 'resolvectl']),
  ) {}

  respond(responder: Responder): this {
    this.responders.push(responder);
    return this;
  }

  /** The transcript as `cmd arg arg` lines. */
  lines(): string[] {
    return this.transcript.map((c) => [c.cmd, ...c.args].join(' '));
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const input = opts.input === undefined ? undefined : opts.input.toString();
    this.transcript.push(input === undefined ? { cmd, args: [...args] } : { cmd, args: [...args], input });
    let answer: Partial<RunResult> = {};
    for (const r of this.responders) {
      const a = r(cmd, args);
      if (a) {
        answer = a;
        break;
      }
    }
    const result: RunResult = { code: answer.code ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '', ...(opts.binary ? { stdoutBytes: Buffer.from(answer.stdout ?? '') } : {}) };
    if (result.code !== 0 && !opts.allowFail) throw new CommandError(cmd, args, result);
    return result;
  }

  async spawn(cmd: string, args: readonly string[]): Promise<SpawnedProcess> {
    this.transcript.push({ cmd, args: [...args] });
    const pid = this.nextPid++;
    return { pid, exited: new Promise(() => undefined), kill: () => undefined };
  }

  async which(cmd: string): Promise<string | null> {
    return this.present.has(cmd) ? `/usr/bin/${cmd}` : null;
  }
}
