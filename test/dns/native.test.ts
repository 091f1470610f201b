/**
 * The native UDP layer (src/runtime/dns/native): datagrams in batches, replies by
 * sendmmsg to the right sources, both families, clean close. CI (WARPC_E2E=required)
 * requires it to be built on Linux, so a broken optional build cannot go unnoticed.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ADDR_LEN, udpBatch, type UdpBatchBinding } from '../../src/runtime/dns/udp-batch.js';

const native = udpBatch();

describe('native UDP layer', () => {
  it('is built and loaded on Linux (required in CI)', () => {
    if (process.env['WARPC_E2E'] === 'required' && process.platform === 'linux') expect(native, 'npm ci should have built @warpc/udp-batch').not.toBeNull();
  });

  const maybe = native ? it : it.skip;

  /** Echo server on the native layer: every datagram goes back to its sender, upper-cased. */
  function echo(b: UdpBatchBinding, address: string, v6: boolean): { port: number; batches: number[]; close: () => void } {
    const batches: number[] = [];
    const h = b.open(address, 0, v6, (data, offsets, addrs) => {
      const n = offsets.length - 1;
      batches.push(n);
      expect(addrs.length).toBe(n * ADDR_LEN);
      const out: Buffer[] = [];
      const idx = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        out.push(Buffer.from(data.subarray(offsets[i]!, offsets[i + 1]!).toString().toUpperCase()));
        idx[i] = i;
      }
      expect(b.send(h, out, addrs, idx)).toBe(n);
    });
    return { port: b.localPort(h), batches, close: () => b.close(h) };
  }

  async function exchange(type: 'udp4' | 'udp6', host: string, port: number, count: number): Promise<string[]> {
    // The native side answers faster than a default-sized client buffer drains (500 × ~1 KB skbs).
    const sock = dgram.createSocket({ type, recvBufferSize: 4 << 20 });
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} replies`)), 10_000);
      sock.on('message', (m) => {
        got.push(m.toString());
        if (got.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await new Promise<void>((r) => sock.bind(0, host, () => r()));
    for (let i = 0; i < count; i++) sock.send(`query ${i}`, port, host);
    try {
      await done;
    } finally {
      sock.close();
    }
    return got.sort();
  }

  maybe('answers every datagram to its sender, IPv4, in batches', async () => {
    const s = echo(native!, '127.0.0.1', false);
    try {
      const got = await exchange('udp4', '127.0.0.1', s.port, 500);
      expect(got).toEqual(Array.from({ length: 500 }, (_, i) => `QUERY ${i}`).sort());
      expect(s.batches.reduce((a, b) => a + b, 0)).toBe(500);
      expect(Math.max(...s.batches)).toBeLessThanOrEqual(64);
    } finally {
      s.close();
    }
  });

  maybe('IPv6 too', async () => {
    const s = echo(native!, '::1', true);
    try {
      expect(await exchange('udp6', '::1', s.port, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `QUERY ${i}`).sort());
    } finally {
      s.close();
    }
  });

  maybe('refuses what it cannot do, and is inert after close', () => {
    const b = native!;
    expect(() => b.open('not-an-address', 0, false, () => undefined)).toThrow(/IPv4/);
    const h = b.open('127.0.0.1', 0, false, () => undefined);
    const port = b.localPort(h);
    expect(() => b.open('127.0.0.1', port, false, () => undefined)).toThrow(/bind/);
    expect(() => b.send(h, [Buffer.from('x')], Buffer.alloc(ADDR_LEN), new Uint32Array([5]))).toThrow(/out of range/);
    b.close(h);
    b.close(h);
    expect(b.send(h, [Buffer.from('x')], Buffer.alloc(ADDR_LEN), new Uint32Array([0]))).toBe(0);
    expect(() => b.localPort(h)).toThrow(/closed/);
  });
});
