/**
 * Disk full for real: the state dir on a 64 KiB tmpfs in a private mount
 * namespace (unshare -m; the host's mounts never see it). A bundle that does
 * not fit fails with WARPC0242 while the previous bundle stays byte for byte
 * and `current` still names it; after space is freed the same bundle goes in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { describeE2E } from '../helpers/e2e.js';
import { LOADER, REPO } from '../runtime/helpers/topology.js';

const execFileP = promisify(execFile);

const SCRIPT = `
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
const { storeBundle, readCurrentVersion } = await import(${JSON.stringify(join(REPO, 'src/agent/state.js'))});
const dir = process.argv[2];
const b = (version, size) => ({ version, statementBytes: Buffer.from('{}'), signature: Buffer.alloc(64), files: new Map([['manifest.json', Buffer.from('m' + version)], ['linux/big.bin', Buffer.alloc(size, version)]]) });
const snap = (d) => { const o = {}; const w = (p, r) => { for (const e of readdirSync(p, { withFileTypes: true })) e.isDirectory() ? w(join(p, e.name), r + e.name + '/') : (o[r + e.name] = readFileSync(join(p, e.name)).toString('base64')); }; w(d, ''); return o; };
await storeBundle(dir, b(1, 16 * 1024), null);
const before = JSON.stringify(snap(dir));
let message = null;
try { await storeBundle(dir, b(2, 80 * 1024), 1); } catch (e) { message = e.message; }
const after = JSON.stringify(snap(dir));
const current = await readCurrentVersion(dir);
await storeBundle(dir, b(2, 8 * 1024), 1).catch((e) => { message += ' | second: ' + e.message; });
console.log(JSON.stringify({ message, same: before === after, current, currentAfter: await readCurrentVersion(dir) }));
`;

describeE2E('bundle store on a full disk (private mount namespace)', ['unshare', 'mount'], () => {
  let tmp: string;
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ENOSPC while writing bundle 2: bundle 1 intact and current; bundle 2 goes in when it fits', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'warpc-diskfull-'));
    const script = join(tmp, 'store.mjs');
    await writeFile(script, SCRIPT);
    const state = join(tmp, 'state');
    const { stdout } = await execFileP('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mkdir -p "$1" && mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1" && exec "$2" --import "$3" "$4" "$1"', 'sh', state, process.execPath, LOADER, script], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { message: string; same: boolean; current: number; currentAfter: number };
    expect(r.message).toMatch(/^WARPC0242: cannot store bundle version 2 in .*: ENOSPC: no space left on device.*; nothing of it is kept and the device stays on bundle 1/);
    expect(r.same).toBe(true);
    expect(r.current).toBe(1);
    expect(r.currentAfter, r.message).toBe(2);
  }, 90_000);
});
