/** The agent's commands as a user types them: refusals are coded, on stderr, with exit codes; status adds the orchestration rows. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeOrchestrator, type FakeOrchestrator } from '../agent/helpers/fake-orchestrator.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-enroll-cli-'));
let orch: FakeOrchestrator;
beforeAll(async () => {
  orch = await startFakeOrchestrator();
});
afterAll(async () => {
  await orch.close();
  rmSync(dir, { recursive: true, force: true });
});

it('up with no folder on a state dir that is not enrolled, and unenroll there: WARPC0230, exit 1, nothing changed', async () => {
  const sd = join(dir, 'none');
  const up = await runCli(['up', '--state-dir', sd, '--root', dir]);
  expect(up.code).toBe(1);
  expect(up.err).toMatch(/WARPC0230: .*none holds no registration: run warpc enroll https:\/\/ORCHESTRATOR --token T --state-dir .*none first/);
  const un = await runCli(['unenroll', '--state-dir', sd]);
  expect(un.code).toBe(1);
  expect(un.err).toMatch(/WARPC0230/);
});

it('enroll, status (orchestrator, registration, no bundle yet), unenroll; --pin with --ca is a usage error', async () => {
  const sd = join(dir, 'a');
  const e = await runCli(['enroll', orch.url, '--token', orch.enrollToken, '--state-dir', sd, '--pin', orch.tlsPin]);
  expect(e.code, e.err).toBe(0);
  expect(e.err).toMatch(/warpc: enrolled with https:\/\/127.0.0.1:\d+ as device \w+/);
  const s = await runCli(['status', '--state-dir', sd]);
  expect(s.out).toMatch(/orchestrator\s+https:\/\/127.0.0.1:\d+\n/);
  expect(s.out).toMatch(/registration\s+\w+ \(100\.96\.0\.\d+, fd00:96::\d+\)\n/);
  expect(s.out).toMatch(/bundle\s+none yet\n/);
  const j = JSON.parse((await runCli(['status', '--state-dir', sd, '--format', 'json'])).out) as { orchestration: { orchestrator: string } };
  expect(j.orchestration.orchestrator).toBe(orch.url);
  const u = await runCli(['unenroll', '--state-dir', sd]);
  expect(u.code, u.err).toBe(0);
  expect(u.err).toMatch(/deleted registration/);
  expect((await runCli(['status', '--state-dir', sd])).out).not.toMatch(/orchestrator/);
  const both = await runCli(['enroll', orch.url, '--token', 't', '--state-dir', join(dir, 'b'), '--pin', orch.tlsPin, '--ca', '/dev/null']);
  expect(both.code).toBe(2);
  expect(both.err).toMatch(/give --pin or --ca, not both/);
});
