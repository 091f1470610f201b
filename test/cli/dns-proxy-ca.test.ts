/**
 * `warpc dns-proxy --doh-ca FILE` trusts FILE besides NODE_EXTRA_CA_CERTS, as `warpc up` does:
 * a `ca` given to the DoH client replaces Node's default store, which is where
 * NODE_EXTRA_CA_CERTS lives, so the command must pass both along.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const seen: { dohCa?: string | Buffer }[] = [];
vi.mock('../../src/runtime/dns/index.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/runtime/dns/index.js')>()),
  // Record what the command hands the proxy, and start nothing.
  startDnsProxy: async (opts: { dohCa?: string | Buffer }) => {
    seen.push(opts);
    throw new Error('not started in this test');
  },
}));

const { main } = await import('../../src/cli/main.js');

const tmp = mkdtempSync(join(tmpdir(), 'warpc-dns-proxy-ca-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

it('--doh-ca keeps the NODE_EXTRA_CA_CERTS bundle', async () => {
  const extra = join(tmp, 'extra.pem');
  const given = join(tmp, 'given.pem');
  writeFileSync(extra, '-----BEGIN CERTIFICATE-----\nEXTRA\n-----END CERTIFICATE-----\n');
  writeFileSync(given, '-----BEGIN CERTIFICATE-----\nGIVEN\n-----END CERTIFICATE-----\n');
  vi.stubEnv('NODE_EXTRA_CA_CERTS', extra);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const code = await main(['dns-proxy', join(FIXTURES_DIR, 'corporate-exclude', 'expected', 'linux'), '--doh-ca', given]);
  stderr.mockRestore();
  expect(code).toBe(1); // the stub refuses to start
  expect(seen).toHaveLength(1);
  const ca = String(seen[0]!.dohCa);
  expect(ca).toContain('GIVEN');
  expect(ca).toContain('EXTRA');
});

it('an unreadable NODE_EXTRA_CA_CERTS is named as such', async () => {
  vi.stubEnv('NODE_EXTRA_CA_CERTS', join(tmp, 'missing.pem'));
  const given = join(tmp, 'given.pem');
  let err = '';
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await main(['dns-proxy', join(FIXTURES_DIR, 'corporate-exclude', 'expected', 'linux'), '--doh-ca', given]);
  stderr.mockRestore();
  expect(code).toBe(1);
  expect(err).toContain(`NODE_EXTRA_CA_CERTS ${join(tmp, 'missing.pem')}: ENOENT`);
});
