/**
 * Split Tunnel host entries at run time: when the DNS proxy answers a name that
 * matches a host rule, its addresses become routes in warpc's table and
 * elements of the nft timeout sets, before the answer reaches the application.
 * They expire with the DNS TTL, never earlier than the proxy caches the answer,
 * and never sooner than HOST_ENTRY_MIN_SECONDS (an application connects right
 * after it gets an answer, even one with TTL 0).
 */
import { isIP } from 'node:net';
import type { Executor } from '../exec.js';

export const HOST_ENTRY_MIN_SECONDS = 10;

export interface HostAnswer {
  readonly name: string;
  readonly addresses: readonly string[];
  /** Smallest TTL of the answer's address records. */
  readonly ttl: number;
  /** How long the proxy keeps the answer in its cache, when it says. */
  readonly cacheSeconds?: number;
  /** `direct`: around the tunnel; `tunnel`: into it. */
  readonly action: 'tunnel' | 'direct';
}

export interface HostInstallerNames {
  readonly ifname: string;
  readonly table: number;
  readonly nftTable: string;
}

interface Entry {
  expires: number;
  timer: NodeJS.Timeout;
  route: string;
  fam: '-4' | '-6';
}

export class HostRuleInstaller {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Installed entries, for tests and status. */
  readonly log: string[] = [];

  constructor(
    private readonly exec: Executor,
    private readonly names: HostInstallerNames,
    private readonly opts: { routes: boolean; firewall: boolean; onError: (msg: string) => void },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Install (or extend) the entries of one answer; resolves when the kernel has them. */
  apply(answer: HostAnswer): Promise<void> {
    const run = this.queue.then(() => this.install(answer));
    this.queue = run.catch((err: unknown) => this.opts.onError(`host entry ${answer.name}: ${(err as Error).message}`));
    return run;
  }

  private async install(answer: HostAnswer): Promise<void> {
    if (this.stopped) return;
    const seconds = Math.max(HOST_ENTRY_MIN_SECONDS, Math.ceil(answer.ttl), Math.ceil(answer.cacheSeconds ?? 0));
    const expires = Date.now() + seconds * 1000;
    const direct = answer.action !== 'tunnel';
    const batch: Record<'-4' | '-6', string[]> = { '-4': [], '-6': [] };
    const nft: string[] = [];
    const t = this.names.nftTable;
    for (const addr of answer.addresses) {
      const v = isIP(addr);
      if (v === 0) continue;
      const fam = v === 4 ? '-4' : '-6';
      const prefix = `${addr}/${v === 4 ? 32 : 128}`;
      const route = direct ? `throw ${prefix} table ${this.names.table}` : `${prefix} dev ${this.names.ifname} table ${this.names.table}`;
      batch[fam].push(`route replace ${route}`);
      const set = `host_${direct ? 'bypass' : 'tunnel'}${v}`;
      // Ensure it exists, then replace it so the timeout is refreshed: one atomic transaction.
      nft.push(`add element inet ${t} ${set} { ${addr} timeout 1s }`, `delete element inet ${t} ${set} { ${addr} }`, `add element inet ${t} ${set} { ${addr} timeout ${seconds}s }`);
      const key = `${direct ? 'direct' : 'tunnel'} ${prefix}`;
      const old = this.entries.get(key);
      if (old) clearTimeout(old.timer);
      const until = Math.max(expires, old?.expires ?? 0);
      const timer = setTimeout(() => void this.expire(key), until - Date.now());
      this.entries.set(key, { expires: until, timer, route, fam });
      this.log.push(`${answer.name} ${key} ${seconds}s`);
    }
    if (this.opts.routes) {
      for (const fam of ['-4', '-6'] as const) {
        if (batch[fam].length > 0) await this.exec.run('ip', [fam, '-batch', '-'], { input: `${batch[fam].join('\n')}\n` });
      }
    }
    if (this.opts.firewall && nft.length > 0) await this.exec.run('nft', ['-f', '-'], { input: `${nft.join('\n')}\n` });
  }

  private async expire(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e || this.stopped) return;
    if (e.expires > Date.now()) {
      e.timer = setTimeout(() => void this.expire(key), e.expires - Date.now());
      return;
    }
    this.entries.delete(key);
    if (!this.opts.routes) return;
    this.queue = this.queue
      .then(async () => {
        if (this.entries.has(key)) return;
        await this.exec.run('ip', [e.fam, 'route', 'del', ...e.route.split(' ')], { allowFail: true });
      })
      .catch((err: unknown) => this.opts.onError(`expiring ${key}: ${(err as Error).message}`));
  }

  /** Stop timers; the routes go with the table flush of the restore. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    await this.queue.catch(() => undefined);
  }
}
