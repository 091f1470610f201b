/** src/read-bounded.ts: a file read whole, never more than max + 1 bytes whatever it is. */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBounded } from '../../src/read-bounded.js';

const dir = mkdtempSync(join(tmpdir(), 'warpc-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readPath(path: string, max: number): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    return readBounded(fd, max);
  } finally {
    closeSync(fd);
  }
}

describe('readBounded', () => {
  it('reads a regular file whole, up to exactly max bytes', () => {
    const f = join(dir, 'a');
    const data = Buffer.from('x'.repeat(3000) + 'é');
    writeFileSync(f, data);
    expect(readPath(f, data.length)!.equals(data)).toBe(true);
    expect(readPath(f, data.length - 1)).toBeNull();
    writeFileSync(f, '');
    expect(readPath(f, 10)!.length).toBe(0);
  });
  it('stops an endless input after max + 1 bytes', () => {
    expect(readPath('/dev/zero', 3 * 1024 * 1024)).toBeNull();
  });
});
