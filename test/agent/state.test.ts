import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/agent/errors.js';
import { bundleDir, readCurrentVersion, storeBundle, type BundleToStore } from '../../src/agent/state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'warpc-agent-state-'));
  dirs.push(d);
  return d;
};

const bundle = (version: number, fill: string): BundleToStore => ({
  version,
  statementBytes: Buffer.from(`{"version":${version}}`),
  signature: Buffer.alloc(64, version),
  files: new Map([
    ['manifest.json', Buffer.from(`manifest ${fill}`)],
    ['linux/settings.json', Buffer.from(`settings ${fill}`)],
    ['linux/routes4.batch', Buffer.from(`routes ${fill}`.repeat(100))],
  ]),
});

/** Every file under a folder with its bytes, for byte-exact comparison. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = readFileSync(join(d, e.name)).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

describe('the bundle store', () => {
  it('writes a bundle beside the old one, flips current, keeps one previous and prunes older ones; files 0600', async () => {
    const d = tmp();
    await storeBundle(d, bundle(1, 'a'), null);
    expect(await readCurrentVersion(d)).toBe(1);
    await storeBundle(d, bundle(2, 'b'), 1);
    await storeBundle(d, bundle(3, 'c'), 2);
    expect(await readCurrentVersion(d)).toBe(3);
    expect(readdirSync(join(d, 'bundles')).sort()).toEqual(['2', '3']);
    expect(readFileSync(join(bundleDir(d, 3), 'linux/settings.json'), 'utf8')).toBe('settings c');
    expect(statSync(join(bundleDir(d, 3), 'linux/settings.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'current')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'bundles')).mode & 0o777).toBe(0o700);
  });

  it('a write that fails (ENOSPC) at any file leaves the old bundle intact and current on it, and nothing of the new one', async () => {
    const d = tmp();
    await storeBundle(d, bundle(1, 'a'), null);
    const before = snapshot(d);
    const b2 = bundle(2, 'b');
    // Fail at each write in turn: every file of the bundle, then the pointer itself.
    for (let n = 0; n < b2.files.size + 3; n++) {
      let i = 0;
      const err = await storeBundle(d, b2, 1, {
        beforeWrite: () => {
          if (i++ === n) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      }).catch((e: unknown) => e);
      expect(err, `failure at write ${n}`).toBeInstanceOf(AgentError);
      expect((err as AgentError).message).toMatch(/^WARPC0242: cannot store bundle version 2 in .*: ENOSPC: no space left on device, write; nothing of it is kept and the device stays on bundle 1/);
      expect(snapshot(d), `failure at write ${n}`).toEqual(before);
      expect(await readCurrentVersion(d)).toBe(1);
    }
    // And with space again, it goes through.
    await storeBundle(d, b2, 1);
    expect(await readCurrentVersion(d)).toBe(2);
  });
});
