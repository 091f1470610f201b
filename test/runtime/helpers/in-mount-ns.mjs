// Test helper, run as `unshare -m --propagation private node in-mount-ns.mjs MODE FILE -- CMD ARGS…`:
// inside the private mount namespace, bind-mount FILE over itself (MODE "bind") or
// read-only (MODE "ro"), then run CMD with inherited stdio and forward SIGTERM/SIGINT.
import { execFileSync, spawn } from 'node:child_process';

const [mode, file, sep, cmd, ...args] = process.argv.slice(2);
if (sep !== '--' || !cmd || !['bind', 'ro'].includes(mode)) {
  process.stderr.write('usage: in-mount-ns.mjs bind|ro FILE -- CMD ARGS...\n');
  process.exit(2);
}
execFileSync('mount', ['--bind', file, file]);
if (mode === 'ro') execFileSync('mount', ['-o', 'remount,bind,ro', file]);
const child = spawn(cmd, args, { stdio: 'inherit' });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
