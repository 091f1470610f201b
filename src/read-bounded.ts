/**
 * Reading a file that may be huge or endless (/dev/zero, a pipe) with bounded
 * memory: at most `max` + 1 bytes, in chunks. Used for profiles (src/cli/common.ts)
 * and for a previous output's manifest.json (src/emit/write.ts).
 */
import { fstatSync, readSync } from 'node:fs';

const READ_CHUNK = 1024 * 1024;

/** Read at most `max` + 1 bytes from `fd`; null when there were more than `max`. */
export function readBounded(fd: number, max: number): Buffer | null {
  const size = fstatSync(fd).size;
  if (size > max) return null; // a regular file that says it is too large: no need to read it
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, max + 1 - total));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    total += n;
    if (total > max) return null;
  }
  return Buffer.concat(chunks, total);
}
