/**
 * src/orchestrator/gzip.ts: a gzip answer made of a per-answer head and a shared, compressed-once
 * tail is one valid gzip member (Node's zlib and GNU gzip both check its CRC-32 and length) that
 * decompresses to head + tail; Accept-Encoding parsing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, crc32, SharedTail } from '../../src/orchestrator/gzip.js';

const text = (n: number): Buffer =>
  Buffer.from(
    Array.from({ length: n }, (_, i) => `line ${i % 97} of a profile, "quoted"\n`)
      .join('')
      .slice(0, n),
  );

describe('shared-tail gzip', () => {
  it('crc32 is gzip CRC-32 (check value, continuation)', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    const a = randomBytes(1000);
    const b = randomBytes(777);
    expect(crc32(b, crc32(a))).toBe(crc32(Buffer.concat([a, b])));
    const z = zlib as unknown as { crc32?: (d: Buffer, v?: number) => number };
    if (z.crc32) expect(crc32(a)).toBe(z.crc32(a));
  });

  const cases: [string, Buffer, Buffer][] = [
    ['empty head, text tail', Buffer.alloc(0), text(24_000)],
    [
      'a statement-sized head, text tail',
      Buffer.from(`{"statement":"${randomBytes(300).toString('base64')}","signature":"${randomBytes(64).toString('base64')}"`),
      Buffer.from(`,"files":{"a":"${text(30_000).toString('base64')}"}}`),
    ],
    ['largest head, incompressible tail over several deflate blocks', randomBytes(0xffff), randomBytes(200_000)],
    ['head, empty tail', Buffer.from('{"x":1'), Buffer.alloc(0)],
  ];
  for (const [name, head, tail] of cases) {
    it(`decompresses to head + tail: ${name}`, () => {
      const t = new SharedTail(tail);
      const gz = Buffer.concat(t.gzip(head));
      expect(gunzipSync(gz).equals(Buffer.concat([head, tail]))).toBe(true);
      expect(Buffer.concat(t.identity(head)).equals(Buffer.concat([head, tail]))).toBe(true);
      // A second answer shares the compressed tail (the same Buffer) and still has its own CRC.
      const other = Buffer.from(head.map((c) => c ^ 1));
      const parts = t.gzip(other);
      expect(parts[1]).toBe(t.gzip(head)[1]);
      expect(gunzipSync(Buffer.concat(parts)).equals(Buffer.concat([other, tail]))).toBe(true);
    });
  }

  it('GNU gzip (another inflater) accepts the member and its CRC', () => {
    const head = Buffer.from('{"statement":"abc","signature":"def"');
    const tail = Buffer.from(`,"files":{"f":"${text(20_000).toString('base64')}"}}`);
    const gz = Buffer.concat(new SharedTail(tail).gzip(head));
    const r = spawnSync('gzip', ['-dc'], { input: gz });
    if (r.error) return; // no gzip binary on this machine: Node's zlib above is the check
    expect(r.status).toBe(0);
    expect(r.stdout.equals(Buffer.concat([head, tail]))).toBe(true);
    // A corrupted CRC is refused: the trailer is checked.
    const bad = Buffer.from(gz);
    bad.writeUInt8(bad.readUInt8(bad.length - 8) ^ 1, bad.length - 8);
    expect(spawnSync('gzip', ['-dc'], { input: bad }).status).not.toBe(0);
    expect(() => gunzipSync(bad)).toThrow();
  });

  it('refuses a head over one stored block', () => {
    expect(() => new SharedTail(Buffer.from('x')).gzip(Buffer.alloc(0x10000))).toThrow(/65535/);
  });
});

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['GZIP', true],
    ['deflate, gzip;q=0.5', true],
    ['x-gzip', true],
    ['br', false],
    ['gzip;q=0', false],
    ['gzip; q=0.0', false],
    ['*', true],
    ['*;q=0', false],
    ['*, gzip;q=0', false],
    ['identity', false],
    [['br', 'gzip'], true],
  ] as [string | string[] | undefined, boolean][])('%j → %s', (h, want) => {
    expect(acceptsGzip(h)).toBe(want);
  });
});
