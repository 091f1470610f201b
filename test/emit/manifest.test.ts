/**
 * src/emit/manifest.ts: the profile's hash is SHA-256 of its UTF-8 bytes, though the text is
 * hashed a piece at a time (pieces never split a surrogate pair).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/emit/manifest.js';

const reference = (text: string): string => createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');

describe('sha256', () => {
  it('hashes text as its UTF-8 bytes, whatever falls at a piece boundary', () => {
    const piece = 64 * 1024;
    // Astral characters (surrogate pairs) and lone surrogates around each boundary.
    for (const around of ['😀', '\ud83d', '\ude00', 'é', 'a']) {
      for (const shift of [-2, -1, 0, 1]) {
        const text = `${'x'.repeat(piece + shift)}${around}${'y'.repeat(piece)}${around}`;
        expect(sha256(text), `${JSON.stringify(around)} at ${piece + shift}`).toBe(reference(text));
      }
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 0, max: 3 }), (s, n) => {
        const text = `${'z'.repeat(n * 32768)}${s}`;
        expect(sha256(text)).toBe(reference(text));
        expect(sha256(Buffer.from(text, 'utf8'))).toBe(reference(text));
      }),
      { numRuns: 100 },
    );
  });
});
