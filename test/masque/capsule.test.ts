import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapsuleError, CapsuleReader, encodeCapsule, encodeDatagram, encodeDatagrams, encodeVarint, MAX_PACKET, readVarint, varintLength } from '../../src/runtime/masque/capsule.js';

/** Split bytes at the given cut points (fast-check chooses them). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

function readAll(parts: Buffer[]): { packets: Buffer[]; reader: CapsuleReader } {
  const packets: Buffer[] = [];
  const reader = new CapsuleReader((p) => packets.push(Buffer.from(p)));
  for (const c of parts) reader.push(c);
  return { packets, reader };
}

describe('QUIC varints (RFC 9000 §16)', () => {
  it('encodes the RFC examples', () => {
    // RFC 9000 appendix A.1: 151288809941952652 needs 2^62 range (bigint), the rest fit numbers.
    expect(encodeVarint(37).toString('hex')).toBe('25');
    expect(encodeVarint(15293).toString('hex')).toBe('7bbd');
    expect(encodeVarint(494878333).toString('hex')).toBe('9d7f3e7d');
    expect(readVarint(Buffer.from('c2197c5eff14e88c', 'hex'))?.value).toBe(151288809941952652n);
    expect(readVarint(Buffer.from('4025', 'hex'))).toEqual({ value: 37n, length: 2 }); // non-shortest is valid
    expect(readVarint(Buffer.from('9d7f3e', 'hex'))).toBeNull();
  });

  it('round-trips every safe integer in its shortest length', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const b = encodeVarint(n);
        expect(b.length).toBe(varintLength(n));
        expect(readVarint(b)).toEqual({ value: BigInt(n), length: b.length });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses negative and unsafe values', () => {
    expect(() => encodeVarint(-1)).toThrow(RangeError);
    expect(() => encodeVarint(2 ** 53)).toThrow(RangeError);
  });
});

describe('DATAGRAM capsules (RFC 9297, context ID 0)', () => {
  it('frames a packet as type 0, length, context 0, packet', () => {
    const pkt = Buffer.from('4500001c', 'hex');
    expect(encodeDatagram(pkt).toString('hex')).toBe('000500' + '4500001c');
    const big = Buffer.alloc(1280, 7);
    const c = encodeDatagram(big);
    expect(c.subarray(0, 4).toString('hex')).toBe('00450100'); // length 1281 as a 2-byte varint
    expect(c.length).toBe(1284);
  });

  it('skips unknown capsule types and other context IDs, keeping the packets around them', () => {
    const a = Buffer.from('aa', 'hex');
    const b = Buffer.from('bbbb', 'hex');
    const stream = Buffer.concat([
      encodeCapsule(0x1234, Buffer.alloc(300, 1)),
      encodeDatagram(a),
      encodeCapsule(0, Buffer.from('05ffff', 'hex')), // context ID 5: not IP
      encodeCapsule(0x3fffffff, Buffer.alloc(0)),
      Buffer.from('c000000000000001' + '02' + 'abcd', 'hex'), // type 1 in a non-shortest 8-byte varint
      encodeDatagram(b),
    ]);
    const { packets, reader } = readAll([stream]);
    expect(packets.map((p) => p.toString('hex'))).toEqual(['aa', 'bbbb']);
    expect(reader.stats).toEqual({ packets: 2, unknownCapsules: 3, unknownContexts: 1 });
    expect(reader.atBoundary).toBe(true);
  });

  it('skips a huge unknown capsule without buffering it', () => {
    const packets: Buffer[] = [];
    const reader = new CapsuleReader((p) => packets.push(Buffer.from(p)));
    reader.push(Buffer.from('2140' + '7fffffff', 'hex').subarray(0, 1)); // type 0x21 (1 byte)
    reader.push(Buffer.from('bfffffff', 'hex')); // length 2^30 - 1 as a 4-byte varint
    const block = Buffer.alloc(1 << 24);
    for (let i = 0; i < 63; i++) reader.push(block); // 1 GiB of it, as chunks
    expect(reader.atBoundary).toBe(false);
    reader.push(Buffer.concat([block.subarray(1), encodeDatagram(Buffer.from('cc', 'hex'))]));
    expect(packets.map((p) => p.toString('hex'))).toEqual(['cc']);
    expect(reader.atBoundary).toBe(true);
  });

  it('refuses a DATAGRAM capsule bigger than any IP packet, an empty one, and one whose context ID overruns it', () => {
    const r1 = new CapsuleReader(() => {});
    expect(() => r1.push(Buffer.concat([encodeVarint(0), encodeVarint(MAX_PACKET + 100)]))).toThrow(CapsuleError);
    expect(() => r1.push(Buffer.alloc(1))).toThrow(/already failed/);
    expect(() => new CapsuleReader(() => {}).push(Buffer.from('0000', 'hex'))).toThrow(/without a context ID/);
    expect(() => new CapsuleReader(() => {}).push(Buffer.from('000140', 'hex'))).toThrow(/overruns/);
    // A packet one byte over the bound behind a 1-byte context ID (the capsule is within the
    // bound that allows for an 8-byte context ID, so only the packet check can refuse it).
    const small = new CapsuleReader(() => {}, 100);
    expect(() => small.push(Buffer.concat([encodeVarint(0), encodeVarint(102), Buffer.alloc(102)]))).toThrow(CapsuleError);
    const ok: Buffer[] = [];
    new CapsuleReader((p) => ok.push(p), 100).push(Buffer.concat([encodeVarint(0), encodeVarint(101), Buffer.alloc(101)]));
    expect(ok.map((p) => p.length)).toEqual([100]);
  });

  it('property: any packets, any capsules between them, any chunking → the same packets in order', () => {
    const item = fc.oneof(
      fc.record({ kind: fc.constant('ip' as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 1500 }) }),
      fc.record({ kind: fc.constant('other' as const), type: fc.integer({ min: 1, max: 2 ** 40 }), bytes: fc.uint8Array({ maxLength: 200 }) }),
      fc.record({ kind: fc.constant('ctx' as const), ctx: fc.integer({ min: 1, max: 2 ** 20 }), bytes: fc.uint8Array({ maxLength: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (items, cuts) => {
        const parts: Buffer[] = [];
        const want: string[] = [];
        for (const it of items) {
          if (it.kind === 'ip') {
            parts.push(encodeDatagram(it.bytes));
            want.push(Buffer.from(it.bytes).toString('hex'));
          } else if (it.kind === 'other') parts.push(encodeCapsule(it.type, it.bytes));
          else parts.push(encodeCapsule(0, Buffer.concat([encodeVarint(it.ctx), it.bytes])));
        }
        const stream = Buffer.concat(parts);
        const { packets, reader } = readAll(chunks(stream, cuts));
        expect(packets.map((p) => p.toString('hex'))).toEqual(want);
        expect(reader.atBoundary).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encodeDatagrams is the concatenation of encodeDatagram', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20000 }), { maxLength: 8 }), (pkts) => {
        expect(encodeDatagrams(pkts).equals(Buffer.concat(pkts.map((p) => encodeDatagram(p))))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('fuzz: random bytes either parse or throw CapsuleError, never anything else, and never yield oversized packets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        // A small bound, so random input can reach it.
        const reader = new CapsuleReader((p) => {
          expect(p.length).toBeLessThanOrEqual(100);
        }, 100);
        try {
          for (const c of chunks(Buffer.from(bytes), cuts)) reader.push(c);
        } catch (err) {
          expect(err).toBeInstanceOf(CapsuleError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
