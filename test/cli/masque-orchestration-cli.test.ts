/** The flags of MASQUE through the orchestrator as a user types them: serve's --gateway-masque-*, and gateway --masque-listen with --orchestrator instead of a clients file. Usage errors only (nothing listens). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-masque-orch-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIN = `sha256/${Buffer.alloc(32, 1).toString('base64')}`;

it('serve: --gateway-masque-endpoint and --gateway-masque-pin go together; the endpoint is IP:PORT; the pin a P-256 pin', async () => {
  const serve = ['orchestrator', 'serve', '--data', join(dir, 'd'), '--listen', '127.0.0.1:0'];
  const cases: [string[], RegExp][] = [
    [['--gateway-masque-endpoint', '192.0.2.1:443'], /--gateway-masque-endpoint and --gateway-masque-pin go together/],
    [['--gateway-masque-pin', PIN], /--gateway-masque-endpoint and --gateway-masque-pin go together/],
    [['--gateway-masque-endpoint', 'gw.example:443', '--gateway-masque-pin', PIN], /--gateway-masque-endpoint "gw.example:443": expected IP:PORT/],
    [['--gateway-masque-endpoint', '192.0.2.1:0', '--gateway-masque-pin', PIN], /expected IP:PORT/],
    [['--gateway-masque-endpoint', '192.0.2.1:443', '--gateway-masque-pin', 'sha256/short'], /--gateway-masque-pin: .*sha256\/BASE64/],
  ];
  for (const [extra, message] of cases) {
    const r = await runCli([...serve, ...extra]);
    expect(r.code, extra.join(' ')).toBe(2);
    expect(r.err).toMatch(message);
  }
});

it('gateway: --masque-listen needs --masque-clients or --orchestrator; --orchestrator needs --interface only without --masque-listen', async () => {
  const noSource = await runCli(['gateway', '--masque-listen', '127.0.0.1:443']);
  expect(noSource.code).toBe(2);
  expect(noSource.err).toMatch(/--masque-listen needs --masque-clients FILE, or --orchestrator/);
  const clientsAlone = await runCli(['gateway', '--masque-clients', join(dir, 'c'), '--orchestrator', 'https://127.0.0.1:1', '--token', 't', '--interface', 'wg0', '--pin', PIN]);
  expect(clientsAlone.code).toBe(2);
  expect(clientsAlone.err).toMatch(/--masque-clients needs --masque-listen/);
  const wgOnly = await runCli(['gateway', '--orchestrator', 'https://127.0.0.1:1', '--token', 't', '--pin', PIN]);
  expect(wgOnly.code).toBe(2);
  expect(wgOnly.err).toMatch(/--interface \(WireGuard peer sync\) or --masque-listen/);
});
