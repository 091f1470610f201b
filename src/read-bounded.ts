/**
 * Reading a file that may be huge or endless (/dev/zero, a pipe) with bounded
 * memory: at most `max` + 1 bytes. Used for profiles (src/cli/common.ts)
 * and for a previous output's manifest.json (src/emit/write.ts).
 */
import { fstatSync, readSync } from 'node:fs';

const READ_CHUNK = 1024 * 1024;

/** Read at most `max` + 1 bytes from `fd`; null when there were more than `max`. */
export function readBounded(fd: number, max: number): Buffer | null {
  const size = fstatSync(fd).size;
  if (size > max) return null; // a regular file that says it is too large: no need to read it
  // A regular file says its size: read it into one buffer of that size and a byte more (to
  // see it grew). A pipe says 0: chunks, the buffer doubling, never past `max` + 1.
  let buf = Buffer.allocUnsafe(Math.min(size > 0 ? size + 1 : READ_CHUNK, max + 1));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const n = readSync(fd, buf, total, buf.length - total, null);
    if (n === 0) break;
    total += n;
    if (total > max) return null;
  }
  return buf.subarray(0, total);
}
