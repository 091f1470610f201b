/**
 * The README demo (contrib/demo/demo.sh up [wireguard|masque]|status|down) works as
 * documented over either tunnel, in namespaces with a unique prefix, and leaves nothing behind.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { CLI, E2E_TOOLS, LOADER, REPO } from './helpers/topology.js';

const execFileP = promisify(execFile);

for (const tunnel of ['wireguard', 'masque'] as const) {
  const id = randomBytes(3).toString('hex');
  const env = {
    ...process.env,
    WARPC_DEMO_PREFIX: `warpc-${id}-demo`,
    WARPC_DEMO_DIR: join(tmpdir(), `warpc-${id}-demo`),
    WARPC_DEMO_IF: `wqm${id}`,
    WARPC_DEMO_GW_IF: `wgm${id}`,
    WARPC: `${process.execPath} --import ${LOADER} ${CLI}`,
  };
  const script = join(REPO, 'contrib/demo/demo.sh');
  const demo = (...args: string[]) => execFileP('bash', [script, ...args], { env, timeout: 150_000 });

  describeE2E(`contrib/demo/demo.sh (${tunnel})`, E2E_TOOLS, () => {
    afterAll(async () => {
      // Whatever happened, leave nothing: the script's own down, then the namespaces by name.
      await demo('down').catch(() => undefined);
      for (const ns of ['dev', 'gw', 'app']) {
        try {
          execFileSync('ip', ['netns', 'del', `${env.WARPC_DEMO_PREFIX}-${ns}`], { stdio: 'ignore' });
        } catch {
          /* gone */
        }
      }
    });

    it(`up ${tunnel} brings a tunnel up in namespaces; status reports it; down removes everything`, { timeout: 180_000 }, async () => {
      const up = await demo('up', tunnel);
      expect(up.stdout).toMatch(/demo: up\./);
      const dev = `${env.WARPC_DEMO_PREFIX}-dev`;
      const curl = await execFileP('ip', ['netns', 'exec', dev, 'curl', '-s', '-m', '5', 'http://203.0.113.10:8080/']);
      expect(curl.stdout).toBe('hello from the app on 8080, you are 172.16.0.2\n');
      const dig = await execFileP('ip', ['netns', 'exec', dev, 'dig', '+short', '+time=3', '@127.0.2.2', 'app.example.com']);
      expect(dig.stdout).toBe('203.0.113.10\n');
      const status = await demo('status');
      expect(status.stdout).toMatch(/state\s+committed/);
      if (tunnel === 'masque') expect(status.stdout).toMatch(/session\s+connected/);
      else expect(status.stdout).toMatch(/latest handshake\s+\d{4}-/);
      const down = await demo('down');
      expect(down.stdout).toMatch(/the demo device resolv\.conf/);
      expect(down.stdout).toMatch(/demo: down; namespaces deleted/);
      const left = (await execFileP('ip', ['netns', 'list'])).stdout;
      expect(left).not.toContain(env.WARPC_DEMO_PREFIX);
      await expect(access(env.WARPC_DEMO_DIR)).rejects.toThrow();
      const procs = await execFileP('pgrep', ['-af', `${env.WARPC_DEMO_IF}|${env.WARPC_DEMO_GW_IF}|${env.WARPC_DEMO_DIR}`]).catch(() => ({ stdout: '' }));
      expect(procs.stdout).toBe('');
    });
  });
}
