/**
 * `warpc up`: apply a compiled Linux folder step by step under a journal, keep
 * it running, and restore the snapshot on the way out (down, SIGTERM, a failed
 * step). `recoverFromJournal` restores after a crash.
 *
 * Order: verify → preflight → journal → tunnel → routes → firewall → dns →
 * proxy → health → commit. WARPC_FAULT_AFTER=<step> kills the process with
 * SIGKILL right after that step (fault-injection tests).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Executor } from '../exec.js';
import { processStartTime } from '../proc.js';
import { loadOrCreateKey } from '../tunnel/keys.js';
import { parseWgConf, type WgConf } from '../tunnel/wgconf.js';
import { tunBinding } from '../tunnel/tun.js';
import { assertUapiSocketFree, startTunnel, stopTunnel } from './link.js';
import { loadCompiled, withDeviceOverride, type CompiledLinux } from './compiled.js';
import type { DeviceOverride } from '../../contract/device-override.js';
import { detectDnsManager, systemResolvers, type DnsManagerChoice, type DnsManagerDecision } from './dns-manager.js';
import { dnsProbe } from './health.js';
import { HostRuleInstaller } from './hosts.js';
import { agentAlive, isOpen, readJournal, STEPS, writeJournal, type Journal, type Step } from './journal.js';

export { agentAlive };
import { linkExists, nftTableExists, restoreNet, rulesOfBatch, snapshotNet, type RestoreReport } from './netstate.js';
import { startProxy, type ProxyHandle } from './proxy.js';
import { inspectResolv, restoreResolv, sha256, writeBackup, writeResolv, type ResolvSnapshot } from './resolv.js';

export type Log = (msg: string) => void;

export interface UpOptions {
  readonly exec: Executor;
  readonly compiledDir: string;
  readonly dnsManager?: DnsManagerChoice;
  readonly mode: 'up' | 'try';
  readonly tryTimeoutSeconds?: number;
  readonly dohCa?: string;
  readonly log: Log;
  /** Set when a signal asks the agent to stop while it is still applying. */
  readonly aborted?: () => boolean;
  /** An enrolled device's addresses and gateway peer over the plan's (src/contract/device-override.ts). */
  readonly override?: DeviceOverride;
}

export class UpError extends Error {
  constructor(
    message: string,
    /** True when nothing was changed on the device. */
    readonly nothingChanged: boolean,
  ) {
    super(message);
  }
}

export interface RunningAgent {
  readonly journal: Journal;
  readonly compiled: CompiledLinux;
  readonly proxy: ProxyHandle | null;
  readonly hosts: HostRuleInstaller | null;
}

function faultHook(step: Step): void {
  if (process.env['WARPC_FAULT_AFTER'] === step) process.kill(process.pid, 'SIGKILL');
}

/** Tools each feature needs, checked before anything changes. */
async function checkTools(exec: Executor, c: CompiledLinux, dns: DnsManagerDecision | null): Promise<void> {
  const need = new Set<string>(['ip']);
  if (c.settings.features.firewall) need.add('nft');
  if (c.settings.features.tunnel && !c.masque) need.add('wireguard-go');
  if (c.settings.features.tunnel && c.masque && !tunBinding()) throw new UpError('MASQUE needs the TUN addon (src/runtime/tunnel/native, package @warpc/tun), which is not built here: run npm ci with g++, make and python3 installed; nothing was changed', true);
  if (dns?.manager === 'systemd-resolved') {
    need.add('resolvectl');
    need.add('sh');
  }
  const missing: string[] = [];
  for (const t of need) if (!(await exec.which(t))) missing.push(t);
  if (missing.length > 0) {
    const pkgs: Record<string, string> = { ip: 'iproute2', nft: 'nftables', 'wireguard-go': 'wireguard-go', resolvectl: 'systemd-resolved', sh: 'dash' };
    throw new UpError(`missing tools: ${missing.join(', ')} (Debian: apt-get install ${[...new Set(missing.map((m) => pkgs[m] ?? m))].join(' ')}); nothing was changed`, true);
  }
}

export async function up(opts: UpOptions): Promise<RunningAgent> {
  const { exec, log } = opts;
  const checkAbort = (): void => {
    if (opts.aborted?.()) throw new Error('stopped by a signal while applying');
  };
  // A journal left open by a crash is restored first.
  const previous = await readJournal(exec.stateDir);
  if (isOpen(previous)) {
    if (await agentAlive(previous)) throw new UpError(`warpc is already running (pid ${previous.pid}, state dir ${exec.stateDir}); use warpc down first`, true);
    if (previous.root !== exec.root) throw new UpError(`the open journal in ${exec.stateDir} was made with --root ${previous.root}; run warpc recover --state-dir ${exec.stateDir} first`, true);
    log(`found an open journal from pid ${previous.pid} (${previous.state}): restoring the device first`);
    const rep = await revert(exec, previous, null, null, log);
    if (rep.errors.length > 0) throw new UpError(`could not restore the previous run: ${rep.errors.join('; ')}`, false);
  }

  // 1. verify
  let compiled: CompiledLinux;
  try {
    compiled = withDeviceOverride(await loadCompiled(opts.compiledDir), opts.override);
  } catch (err) {
    throw new UpError(`${(err as Error).message}\nnothing was changed`, true);
  }
  log(`verified ${compiled.dir} against its manifest (${compiled.files.size} files, compiler ${compiled.compilerVersion})`);
  faultHook('verify');

  // 2. preflight: parse everything, decide, check tools and writability — still nothing changed.
  const s = compiled.settings;
  const text = (name: string): string => (compiled.files.get(name) ?? Buffer.alloc(0)).toString('utf8');
  let wg: WgConf | null = null;
  let resolvSnap: ResolvSnapshot | null = null;
  let dnsDecision: DnsManagerDecision | null = null;
  let resolvedLink: string | null = null;
  try {
    // First: never take over an interface warpc did not create (lo, eth0, someone's wg0). Its own
    // leftover from a crash is gone by now: an open journal was restored above, which deletes
    // the interface it had created.
    if (s.features.tunnel && (await linkExists(exec, s.interface.name))) {
      throw new Error(`an interface named ${s.interface.name} already exists and warpc did not create it (no open journal in ${exec.stateDir} records it); warpc will not take over, change or delete it: remove or rename that interface, or set targets.linux.interface to another name`);
    }
    if (s.features.tunnel && !compiled.masque) {
      wg = parseWgConf(text('wireguard.conf'));
      await assertUapiSocketFree(s.interface.name);
    }
    if (s.features.dns) {
      resolvSnap = await inspectResolv(exec);
      const requested = opts.dnsManager ?? s.dns_manager;
      dnsDecision = await detectDnsManager(exec, requested, resolvSnap, opts.dnsManager ? '--dns-manager' : 'settings.json dns_manager');
      log(`DNS manager: ${dnsDecision.manager} (${dnsDecision.reason})`);
      if (dnsDecision.manager === 'resolv.conf' && resolvSnap.readOnly) throw new Error(`cannot point DNS at the proxy: ${resolvSnap.readOnly}`);
      if (dnsDecision.manager === 'systemd-resolved' && !compiled.files.has('resolved.sh')) throw new Error('systemd-resolved chosen but the compiled folder has no resolved.sh');
      if (dnsDecision.manager === 'systemd-resolved') {
        // The proxy takes over DNS through one link: the tunnel, or (1dot1: no tunnel) the link of the default route.
        resolvedLink = s.features.tunnel ? s.interface.name : await defaultRouteLink(exec);
        log(`systemd-resolved link: ${resolvedLink}${s.features.tunnel ? ' (the tunnel)' : ' (carries the default route; service mode has no tunnel)'}`);
      }
    }
    await checkTools(exec, compiled, dnsDecision);
  } catch (err) {
    throw err instanceof UpError ? err : new UpError(`${(err as Error).message}\nnothing was changed`, true);
  }
  faultHook('preflight');
  checkAbort();

  // 3. journal: the snapshot of everything we are about to change.
  const names = { ifname: s.interface.name, table: s.routing.table, fwmark: s.routing.fwmark, nft_table: s.nft_table };
  const netNames = { ifname: names.ifname, table: names.table, nftTable: names.nft_table };
  await mkdir(exec.stateDir, { recursive: true, mode: 0o700 });
  const net = await snapshotNet(exec, netNames, s.features.firewall);
  const ruleSpecs = [...rulesOfBatch(text('routes4.batch'), '-4'), ...rulesOfBatch(text('routes6.batch'), '-6')];
  const now = new Date().toISOString();
  const journal: Journal = {
    version: 1,
    state: 'applying',
    mode: opts.mode,
    pid: process.pid,
    pid_start: await processStartTime(process.pid),
    started_at: now,
    updated_at: now,
    compiled_dir: compiled.dir,
    manifest_sha256: compiled.manifestSha256,
    root: exec.root,
    steps_done: [],
    names,
    rule_specs: ruleSpecs,
    snapshot: { net, resolv: resolvSnap },
    tunnel: null,
    lo_added: [],
    dns: dnsDecision
      ? {
          manager: dnsDecision.manager,
          reason: dnsDecision.reason,
          resolv_written_sha256: null,
          resolved_script: compiled.files.get('resolved.sh')?.toString('utf8') ?? null,
          resolved_link: resolvedLink,
          resolved_applied: false,
        }
      : null,
    try_deadline: null,
    applied_at: now,
    previous: null,
    transition: null,
    override: opts.override ?? null,
    apply_deadline: null,
    restore: null,
  };
  if (resolvSnap && dnsDecision?.manager === 'resolv.conf') await writeBackup(exec, resolvSnap);
  await writeJournal(exec, journal);
  const done = async (step: Step): Promise<void> => {
    journal.steps_done.push(step);
    await writeJournal(exec, journal);
    faultHook(step);
    checkAbort();
  };
  await done('journal');

  let proxy: ProxyHandle | null = null;
  let hosts: HostRuleInstaller | null = null;
  try {
    // 4. tunnel
    // The tunnel the plan chose: MASQUE (masque.json) or WireGuard (wireguard.conf).
    if (s.features.tunnel && (wg || compiled.masque)) {
      let privateKey: string | null = null;
      if (wg) {
        const k = await loadOrCreateKey(join(exec.stateDir, 'private.key'));
        if (k.created) log(`created the device key ${join(exec.stateDir, 'private.key')} (0600)`);
        privateKey = k.privateKey;
      }
      const masque = compiled.masque ? { settings: compiled.masque, log } : undefined;
      const handle = await startTunnel(exec, { ifname: names.ifname, ipv4: s.interface.ipv4, ipv6: s.interface.ipv6, mtu: s.interface.mtu, conf: wg, privateKey, ...(masque ? { masque } : {}) }, async (h) => {
        journal.tunnel = { backend: h.backend, pid: h.pid, pid_start: h.pidStart, socket: h.socket };
        await writeJournal(exec, journal);
      });
      log(`tunnel ${names.ifname} up (${handle.backend}${handle.pid ? `, pid ${handle.pid}` : ''})`);
    }
    await done('tunnel');

    // 5. routes: one batch per family.
    if (s.features.routes) {
      for (const [fam, file] of [['-4', 'routes4.batch'], ['-6', 'routes6.batch']] as const) {
        const bytes = compiled.files.get(file);
        if (bytes) await exec.run('ip', [fam, '-batch', '-'], { input: bytes });
      }
      log(`routes and rules loaded into table ${names.table}`);
    }
    await done('routes');

    // 6. firewall: nft -f replaces our table atomically.
    if (s.features.firewall) {
      await exec.run('nft', ['-f', '-'], { input: compiled.files.get('ruleset.nft') as Buffer });
      log(`nft table inet ${names.nft_table} loaded`);
    }
    await done('firewall');

    // 7. dns: listen addresses on lo, then point the OS at the proxy.
    if (s.features.dns && dnsDecision && journal.dns) {
      const v6 = (s.dns?.listen ?? []).filter((a) => a.includes(':'));
      const missing = v6.map((a) => `${a}/128`).filter((a) => !net.loAddrs.includes(a));
      journal.lo_added = missing;
      await writeJournal(exec, journal);
      for (const a of missing) await exec.run('ip', ['-6', 'addr', 'add', a, 'dev', 'lo', 'nodad']);
      if (dnsDecision.manager === 'resolv.conf' && resolvSnap) {
        const bytes = compiled.files.get('resolv.conf') as Buffer;
        journal.dns.resolv_written_sha256 = sha256(bytes);
        await writeJournal(exec, journal);
        await writeResolv(exec, resolvSnap, bytes);
        log(`/etc/resolv.conf now points at the proxy (${resolvSnap.kind}; backup in ${join(exec.stateDir, 'resolv.conf.backup')})`);
      } else {
        journal.dns.resolved_applied = true;
        await writeJournal(exec, journal);
        await runResolved(exec, journal, 'up');
        log(`systemd-resolved now sends every domain (~.) to the proxy on ${journal.dns.resolved_link ?? 'the default link'}`);
      }
    }
    await done('dns');

    // 8. the DNS proxy, in this process.
    if (s.features.dns && compiled.files.has('dns-proxy.json')) {
      const resolvers = resolvSnap && dnsDecision ? await systemResolvers(exec, dnsDecision, resolvSnap) : [];
      // Always there, so a later `warpc apply` can add host rules to a running proxy.
      hosts = new HostRuleInstaller(exec, netNames, { routes: s.features.routes, firewall: s.features.firewall, onError: (m) => log(`warning: ${m}`) });
      const installer = hosts;
      proxy = await startProxy({
        configText: text('dns-proxy.json'),
        systemResolvers: resolvers,
        ...(opts.dohCa ? { dohCaFile: opts.dohCa } : {}),
        onHostAnswer: installer ? (a) => installer.apply(a) : null,
        log,
      });
      log(`DNS proxy listening on ${(s.dns?.listen ?? []).join(', ')}; system resolvers for fallback: ${resolvers.join(', ') || 'none'}`);
    }
    await done('proxy');

    // 9. health
    await healthCheck(exec, compiled, journal);
    log('health check passed');
    await done('health');

    // 10. commit
    journal.state = 'committed';
    if (opts.mode === 'try') journal.try_deadline = new Date(Date.now() + (opts.tryTimeoutSeconds ?? 120) * 1000).toISOString();
    await done('commit');
    return { journal, compiled, proxy, hosts };
  } catch (err) {
    log(`up failed: ${(err as Error).message}; restoring the device`);
    const rep = await revert(exec, journal, proxy, hosts, log);
    const restored = rep.errors.length === 0 ? 'the device was restored to its snapshot' : `restore had errors: ${rep.errors.join('; ')}`;
    throw new UpError(`${(err as Error).message}\n${restored}`, false);
  }
}

export async function runResolved(exec: Executor, j: Journal, action: 'up' | 'down'): Promise<void> {
  if (!j.dns?.resolved_script) throw new Error('no resolved.sh in the journal');
  const script = join(exec.stateDir, 'resolved.sh');
  await writeFile(script, j.dns.resolved_script, { mode: 0o700 });
  await exec.run('sh', [script, action, ...(j.dns.resolved_link ? [j.dns.resolved_link] : [])]);
}

export async function healthCheck(exec: Executor, c: CompiledLinux, j: Journal): Promise<void> {
  const s = c.settings;
  // Every check runs side by side (each is a spawn or a query); problems are reported in a fixed order.
  const linkCheck = async (): Promise<string[]> => {
    if (!s.features.tunnel) return [];
    const link = await exec.run('ip', ['-j', 'link', 'show', 'dev', s.interface.name], { allowFail: true });
    return link.code !== 0 || !/"UP"|LOWER_UP|"operstate":"(UP|UNKNOWN)"/.test(link.stdout) ? [`interface ${s.interface.name} is not up`] : [];
  };
  // One listing per family, not per rule.
  const rulesCheck = async (): Promise<string[]> => {
    if (!s.features.routes) return [];
    const fams = [...new Set(j.rule_specs.map((r) => r.fam))];
    const shown = await Promise.all(fams.map(async (fam) => [fam, await exec.run('ip', ['-j', fam, 'rule', 'show', 'table', String(s.routing.table)], { allowFail: true })] as const));
    const present = new Map(shown.map(([fam, r]) => [fam, r.code === 0 && r.stdout.trim() !== '[]' && r.stdout.trim() !== '']));
    return j.rule_specs.filter((spec) => !present.get(spec.fam)).map((spec) => `rule ${spec.args.join(' ')} missing`);
  };
  const nftCheck = async (): Promise<string[]> => (s.features.firewall && !(await nftTableExists(exec, s.nft_table)) ? [`nft table inet ${s.nft_table} missing`] : []);
  const dnsCheck = async (): Promise<string[]> => {
    const server = s.features.dns && s.dns ? (s.dns.listen.find((a) => !a.includes(':')) ?? s.dns.listen[0]) : undefined;
    if (!server) return [];
    try {
      await dnsProbe(server, 'connectivity-check.warp-svc');
      return [];
    } catch (err) {
      return [`DNS proxy: ${(err as Error).message}`];
    }
  };
  const problems = (await Promise.all([linkCheck(), rulesCheck(), nftCheck(), dnsCheck()])).flat();
  if (problems.length > 0) throw new Error(`health check failed: ${problems.join('; ')}`);
}

/** Return the device to the journal's snapshot. Idempotent; the journal ends closed unless something failed. */
export async function revert(exec: Executor, j: Journal, proxy: ProxyHandle | null, hosts: HostRuleInstaller | null, log: Log): Promise<RestoreReport> {
  j.state = 'reverting';
  await writeJournal(exec, j);
  const report: RestoreReport = { done: [], errors: [] };
  let resolvOutcome = 'not managed';
  if (hosts) await hosts.stop();
  if (proxy) {
    try {
      await proxy.stop();
      report.done.push('DNS proxy stopped');
    } catch (err) {
      report.errors.push(`DNS proxy: ${(err as Error).message}`);
    }
  }
  if (j.dns) {
    if (j.dns.manager === 'systemd-resolved' && j.dns.resolved_applied) {
      try {
        await runResolved(exec, j, 'down');
        report.done.push('systemd-resolved settings removed');
      } catch (err) {
        report.errors.push(`systemd-resolved: ${(err as Error).message}`);
      }
    }
    if (j.dns.manager === 'resolv.conf' && j.snapshot.resolv) {
      try {
        // Mid-apply, the file holds what either plan wrote: both are ours.
        let written = j.dns.resolv_written_sha256;
        const alt = j.transition?.resolv_sha256 ?? null;
        if (alt !== null && (await inspectResolv(exec)).sha256 === alt) written = alt;
        const r = await restoreResolv(exec, j.snapshot.resolv, written);
        resolvOutcome = r.outcome;
        report.done.push(r.detail);
        if (r.outcome === 'left-alone') log(`warning: ${r.detail}`);
      } catch (err) {
        report.errors.push(`resolv.conf: ${(err as Error).message}`);
      }
    }
  }
  const names = { ifname: j.names.ifname, table: j.names.table, nftTable: j.names.nft_table };
  await restoreNet(exec, names, j.snapshot.net, j.rule_specs, j.lo_added, report);
  if (!j.snapshot.net.linkExisted) {
    try {
      await stopTunnel(exec, j.names.ifname, j.tunnel ? { pid: j.tunnel.pid, pidStart: j.tunnel.pid_start, socket: j.tunnel.socket } : null);
      report.done.push(`interface ${j.names.ifname} removed`);
    } catch (err) {
      report.errors.push(`tunnel: ${(err as Error).message}`);
    }
  }
  j.restore = { done: report.done, errors: report.errors, resolv: resolvOutcome };
  j.state = report.errors.length === 0 ? 'closed' : 'reverting';
  await writeJournal(exec, j);
  for (const e of report.errors) log(`restore error: ${e}`);
  log(report.errors.length === 0 ? 'device restored to its snapshot; journal closed' : 'restore incomplete; run warpc recover again after fixing the errors above');
  return report;
}

/** `warpc recover`: restore after a crash. Refuses while the agent still runs. */
export async function recoverFromJournal(exec: Executor, log: Log): Promise<{ restored: boolean; report: RestoreReport | null }> {
  const j = await readJournal(exec.stateDir);
  if (!isOpen(j)) {
    log(j ? 'journal is closed: nothing to recover' : `no journal in ${exec.stateDir}: nothing to recover`);
    return { restored: false, report: null };
  }
  if (await agentAlive(j)) throw new Error(`warpc is still running (pid ${j.pid}); stop it with warpc down`);
  log(`restoring the snapshot of the run started ${j.started_at} by pid ${j.pid} (state ${j.state}, steps done: ${j.steps_done.join(', ') || 'none'})`);
  log(describePlans(j));
  const report = await revert(exec, j, null, null, log);
  return { restored: report.errors.length === 0, report };
}

export { STEPS };

/** Which plan(s) a crashed agent ran, for `recover`: one whole plan is undone, never a mixture. */
export function describePlans(j: Journal): string {
  const short = (sha: string): string => sha.slice(0, 12);
  const running = `plan ${short(j.manifest_sha256)} (${j.compiled_dir}, applied ${j.applied_at ?? j.started_at})`;
  if (j.transition) {
    return `the agent was running ${running} and crashed while applying plan ${short(j.transition.to.manifest_sha256)} (${j.transition.to.compiled_dir}; ${j.transition.state}, steps done: ${j.transition.steps_done.join(', ') || 'none'}): neither is kept half-applied; the device returns whole to its state before warpc up`;
  }
  return `the agent was running ${running}${j.state === 'applying' ? ' (still coming up)' : ''}; the device returns whole to its state before warpc up`;
}

/** The link that carries the IPv4 (else IPv6) default route in the main table. */
export async function defaultRouteLink(exec: Executor): Promise<string> {
  for (const family of ['-4', '-6']) {
    const r = await exec.run('ip', ['-j', family, 'route', 'show', 'default', 'table', 'main'], { allowFail: true });
    if (r.code !== 0) continue;
    const routes = JSON.parse(r.stdout || '[]') as { dev?: string }[];
    const dev = routes.find((x) => typeof x.dev === 'string')?.dev;
    if (dev) return dev;
  }
  throw new Error('systemd-resolved needs a link to carry the proxy, and this device has no default route (service mode has no tunnel link)');
}
