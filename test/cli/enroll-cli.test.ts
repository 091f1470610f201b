/** The agent's commands as a user types them: refusals are coded, on stderr, with exit codes; status adds the orchestration rows. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startFakeOrchestrator, type FakeOrchestrator } from '../agent/helpers/fake-orchestrator.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-enroll-cli-'));
let orch: FakeOrchestrator;
beforeAll(async () => {
  orch = await startFakeOrchestrator();
});
afterAll(async () => {
  await orch.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  try {
    return { code: await main(args), err, out };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

it('up with no folder on a state dir that is not enrolled, and unenroll there: WARPC0230, exit 1, nothing changed', async () => {
  const sd = join(dir, 'none');
  const up = await run(['up', '--state-dir', sd, '--root', dir]);
  expect(up.code).toBe(1);
  expect(up.err).toMatch(/WARPC0230: .*none holds no registration: run warpc enroll https:\/\/ORCHESTRATOR --token T --state-dir .*none first/);
  const un = await run(['unenroll', '--state-dir', sd]);
  expect(un.code).toBe(1);
  expect(un.err).toMatch(/WARPC0230/);
});

it('enroll, status (orchestrator, registration, no bundle yet), unenroll; --pin with --ca is a usage error', async () => {
  const sd = join(dir, 'a');
  const e = await run(['enroll', orch.url, '--token', orch.enrollToken, '--state-dir', sd, '--pin', orch.tlsPin]);
  expect(e.code, e.err).toBe(0);
  expect(e.err).toMatch(/warpc: enrolled with https:\/\/127.0.0.1:\d+ as device \w+/);
  const s = await run(['status', '--state-dir', sd]);
  expect(s.out).toMatch(/orchestrator\s+https:\/\/127.0.0.1:\d+\n/);
  expect(s.out).toMatch(/registration\s+\w+ \(100\.96\.0\.\d+, fd00:96::\d+\)\n/);
  expect(s.out).toMatch(/bundle\s+none yet\n/);
  const j = JSON.parse((await run(['status', '--state-dir', sd, '--format', 'json'])).out) as { orchestration: { orchestrator: string } };
  expect(j.orchestration.orchestrator).toBe(orch.url);
  const u = await run(['unenroll', '--state-dir', sd]);
  expect(u.code, u.err).toBe(0);
  expect(u.err).toMatch(/deleted registration/);
  expect((await run(['status', '--state-dir', sd])).out).not.toMatch(/orchestrator/);
  const both = await run(['enroll', orch.url, '--token', 't', '--state-dir', join(dir, 'b'), '--pin', orch.tlsPin, '--ca', '/dev/null']);
  expect(both.code).toBe(2);
  expect(both.err).toMatch(/give --pin or --ca, not both/);
});
