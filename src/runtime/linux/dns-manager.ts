/**
 * Who manages DNS on this device: systemd-resolved when it really is the
 * resolver (resolv.conf points at its stub or its list, and it is running),
 * otherwise the resolv.conf file. The reasoning is returned so it can be
 * logged and shown by `warpc status`.
 */
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { hostPath, type Executor } from '../exec.js';
import { nameserversOf, RESOLV_CONF, type ResolvSnapshot } from './resolv.js';

export type { DnsManagerChoice } from '../../contract/settings.js';
import type { DnsManagerChoice } from '../../contract/settings.js';
export type DnsManager = 'resolv.conf' | 'systemd-resolved';

export interface DnsManagerDecision {
  readonly manager: DnsManager;
  readonly reason: string;
}

const RESOLVED_FILES = ['/run/systemd/resolve/stub-resolv.conf', '/run/systemd/resolve/resolv.conf', '/usr/lib/systemd/resolv.conf', '/lib/systemd/resolv.conf'];
const RESOLVED_STUB = '127.0.0.53';

/** Evidence that resolv.conf belongs to systemd-resolved, or null. */
function pointsAtResolved(snap: ResolvSnapshot): string | null {
  if (snap.kind === 'symlink' && snap.symlinkTarget) {
    const target = posix.resolve(posix.dirname(RESOLV_CONF), snap.symlinkTarget);
    if (RESOLVED_FILES.includes(target)) return `${RESOLV_CONF} is a symlink to ${target}`;
  }
  if (snap.contentB64) {
    const ns = nameserversOf(Buffer.from(snap.contentB64, 'base64').toString('utf8'));
    if (ns.length > 0 && ns.every((n) => n === RESOLVED_STUB || n === '127.0.0.54')) return `${RESOLV_CONF} lists only systemd-resolved's stub ${RESOLVED_STUB}`;
  }
  return null;
}

/** Is systemd-resolved running (its varlink socket exists and resolvectl answers)? */
async function resolvedRunning(exec: Executor): Promise<string | null> {
  try {
    if (!(await stat(hostPath(exec.root, '/run/systemd/resolve/io.systemd.Resolve'))).isSocket()) return null;
  } catch {
    return null;
  }
  if (!(await exec.which('resolvectl'))) return null;
  const r = await exec.run('resolvectl', ['status', '--no-pager'], { allowFail: true, timeoutMs: 5000 });
  return r.code === 0 ? 'systemd-resolved is running (resolvectl status answers)' : null;
}

export async function detectDnsManager(exec: Executor, requested: DnsManagerChoice, snap: ResolvSnapshot, source: string): Promise<DnsManagerDecision> {
  if (requested === 'resolv.conf') return { manager: 'resolv.conf', reason: `${source} asks for resolv.conf` };
  const evidence = pointsAtResolved(snap);
  const running = await resolvedRunning(exec);
  if (requested === 'systemd-resolved') {
    if (!running) throw new Error(`${source} asks for systemd-resolved, but it is not running (no ${hostPath(exec.root, '/run/systemd/resolve/io.systemd.Resolve')} or resolvectl fails)`);
    return { manager: 'systemd-resolved', reason: `${source} asks for systemd-resolved; ${running}` };
  }
  if (evidence && running) return { manager: 'systemd-resolved', reason: `auto: ${evidence} and ${running}` };
  if (evidence) return { manager: 'resolv.conf', reason: `auto: ${evidence}, but systemd-resolved is not running, so the file is what applications read` };
  return { manager: 'resolv.conf', reason: `auto: ${RESOLV_CONF} is ${describeKind(snap)}, not managed by systemd-resolved` };
}

function describeKind(snap: ResolvSnapshot): string {
  switch (snap.kind) {
    case 'regular':
      return 'a regular file';
    case 'symlink':
      return `a symlink to ${snap.symlinkTarget ?? '?'}`;
    case 'bind-mount':
      return 'a bind mount';
    case 'missing':
      return 'missing';
  }
}

/** The resolvers the device had before warpc: systemd-resolved's upstream list, or resolv.conf's. */
export async function systemResolvers(exec: Executor, decision: DnsManagerDecision, snap: ResolvSnapshot): Promise<string[]> {
  if (decision.manager === 'systemd-resolved') {
    const text = await readFile(hostPath(exec.root, '/run/systemd/resolve/resolv.conf'), 'utf8').catch(() => '');
    return nameserversOf(text).filter((n) => n !== RESOLVED_STUB);
  }
  if (!snap.contentB64) return [];
  return nameserversOf(Buffer.from(snap.contentB64, 'base64').toString('utf8'));
}
