import { describe, expect, it } from 'vitest';
import { planPeerSync } from '../../src/gateway/peer-sync.js';
import { keyToHex } from '../../src/runtime/tunnel/keys.js';
import type { UapiPeer } from '../../src/runtime/tunnel/uapi.js';

const k = (n: number): string => Buffer.alloc(32, n).toString('base64');
const peer = (n: number, ips: string[]): UapiPeer => ({ publicKey: k(n), endpoint: null, allowedIps: ips, lastHandshake: 0, rxBytes: 0, txBytes: 0 });

describe('gateway peer sync (wg syncconf semantics for managed peers)', () => {
  it('adds new devices, updates changed ones, removes revoked ones, and leaves unchanged and unmanaged peers alone', () => {
    const current = [peer(1, ['100.96.0.2/32']), peer(2, ['100.96.0.3/32']), peer(3, ['100.96.0.4/32']), peer(9, ['10.0.0.9/32'])];
    const desired = [
      { device_id: 'a', public_key: k(1), allowed_ips: ['100.96.0.2/32'] },
      { device_id: 'b', public_key: k(2), allowed_ips: ['100.96.0.3/32', 'fd00::3/128'] },
      { device_id: 'n', public_key: k(4), allowed_ips: ['100.96.0.5/32'] },
    ];
    const plan = planPeerSync(current, desired, new Set([k(1), k(2), k(3)]));
    expect(plan).toMatchObject({ added: 1, updated: 1, removed: 1, managed: [k(1), k(2), k(4)].sort() });
    expect(plan.lines).toEqual([
      `public_key=${keyToHex(k(2))}`, 'replace_allowed_ips=true', 'allowed_ip=100.96.0.3/32', 'allowed_ip=fd00::3/128',
      `public_key=${keyToHex(k(4))}`, 'replace_allowed_ips=true', 'allowed_ip=100.96.0.5/32',
      `public_key=${keyToHex(k(3))}`, 'remove=true',
    ]);
    expect(plan.lines.join('\n')).not.toContain(keyToHex(k(9)));
    expect(plan.lines).not.toContain('replace_peers=true');
    expect(planPeerSync(current, desired.slice(0, 1), new Set()).lines).toEqual([]);
  });
});
