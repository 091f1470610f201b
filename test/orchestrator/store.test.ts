import { expect, it } from 'vitest';
import { describeStores } from '../helpers/stores.js';

const POOLS = { v4: '100.96.0.0/29', v6: 'fd01:5ca1:ab1e::/125', reserved: ['100.96.0.1', 'fd01:5ca1:ab1e::1'] };

describeStores('store smoke', (f) => {
  it('registers and allocates', async () => {
    const s = await f.open();
    await s.createToken({ kind: 'enroll', hash: 'h1', label: 'e', expiresAt: null, maxUses: null }, 'admin');
    const d = await s.registerDevice({ installId: 'i1', publicKey: 'k', tokenHash: 't1', model: 'm', osName: 'linux', osVersion: '1', serial: 's', enrolledWith: '' }, 'h1', POOLS, 1000);
    expect(d.addressV4).toBe('100.96.0.2');
    expect(d.addressV6).toBe('fd01:5ca1:ab1e::2');
    expect(await s.seq()).toBe(2);
  });
});
