/**
 * The orchestrated agent's follow loop (src/agent/follow.ts runOrchestrated)
 * against the stand-in orchestrator, with a recording runtime platform in place
 * of the Linux runtime: what it hands the runtime (the first bundle, the
 * registration's override with the orchestrator outside the tunnel), that each
 * new bundle goes through the live apply, that posture follows the running
 * plan (a bundle without a firewall is reported at once, not at the next
 * interval), and that revocation stops the runtime and ends in AgentRevoked.
 * No root: nothing here touches the network.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enroll } from '../../src/agent/enroll.js';
import { AgentError } from '../../src/agent/errors.js';
import { runOrchestrated } from '../../src/agent/follow.js';
import type { AgentRequest, RuntimePlatform } from '../../src/runtime/platform.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { startFakeOrchestrator, type FakeOrchestrator } from './helpers/fake-orchestrator.js';

let orch: FakeOrchestrator;
let dir: string;
const profile = (name: string): string => readFileSync(join(FIXTURES_DIR, name, 'profile.yaml'), 'utf8');

beforeAll(async () => {
  orch = await startFakeOrchestrator();
  orch.publish(profile('corporate-exclude'));
  dir = mkdtempSync(join(tmpdir(), 'warpc-follow-'));
});
afterAll(async () => {
  await orch.close();
  rmSync(dir, { recursive: true, force: true });
});

const until = async (what: string, check: () => boolean, ms = 10_000): Promise<void> => {
  for (const t0 = Date.now(); Date.now() - t0 < ms; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: not within ${ms} ms`);
};

it('runs the first bundle with the override, applies each new one live, reports posture as the plan changes, and stops on revocation', async () => {
  const stateDir = join(dir, 'state');
  const logs: string[] = [];
  const log = (m: string): void => void logs.push(m);
  const reg = await enroll({ url: orch.url, token: orch.enrollToken, stateDir, log });
  const runs: AgentRequest[] = [];
  const applied: string[] = [];
  let stopped = false;
  const platform = {
    run: async (req: AgentRequest): Promise<void> => {
      runs.push(req);
      req.onReady?.(async (d: string) => {
        applied.push(d);
        return ['routes: 1 changed'];
      });
      await new Promise<void>((r) => req.stop?.addEventListener('abort', () => r(), { once: true }));
      stopped = true;
    },
  } as unknown as RuntimePlatform;
  const done = runOrchestrated(platform, { stateDir, root: '/', log, waitSeconds: 1, postureIntervalMs: 60_000, backoffMinMs: 50, backoffMaxMs: 100 }).then(
    () => null,
    (err: unknown) => err,
  );
  const dev = (): NonNullable<ReturnType<typeof orch.devices.get>> => orch.devices.get(reg.id)!;

  await until('the runtime runs the first bundle', () => runs.length === 1);
  expect(runs[0]!.compiledDir).toMatch(/bundles\/\d+\/linux$/);
  expect(runs[0]!.override).toEqual({ interface: { ipv4: reg.addresses.v4.replace(/\/\d+$/, ''), ipv6: reg.addresses.v6.replace(/\/\d+$/, '') }, peer: { public_key: orch.gatewayPeer.public_key, endpoint: orch.gatewayPeer.endpoint }, bypass: ['127.0.0.1', '192.0.2.1'] });
  await until('the first posture report', () => dev().posture.length === 1);
  expect(dev().posture[0]).toMatchObject({ firewall: true, checks: { warpc_agent: true } });

  // A plan without warpc's firewall (1.1.1.1 mode): applied live, and posture says so now, not in a minute.
  orch.publish(profile('dns-only'));
  await until('the new bundle applied live', () => applied.length === 1);
  expect(applied[0]).toMatch(/bundles\/\d+\/linux$/);
  expect(applied[0]).not.toBe(runs[0]!.compiledDir);
  await until('a posture report with firewall false', () => dev().posture.length === 2, 5000);
  expect(dev().posture[1]).toMatchObject({ firewall: false });
  expect(logs.join('\n')).toMatch(/now running bundle \d+/);

  orch.revoke(reg.id);
  const err = await done;
  expect(err).toBeInstanceOf(AgentError);
  expect((err as AgentError).code).toBe('WARPC0243');
  expect(stopped).toBe(true);
  expect(runs).toHaveLength(1);
}, 30_000);
