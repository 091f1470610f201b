import { describe, expect, it } from 'vitest';
import { masqueClientsOf } from '../../src/gateway/masque-clients.js';
import { planPeerSync } from '../../src/gateway/peer-sync.js';
import { formatPrefix } from '../../src/net/ip.js';
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

describe("the MASQUE server's clients from the orchestrator's peer list", () => {
  it('lists each device with a masque_pin for its allowed IPs; leaves out WireGuard-only devices, bad pins and a pin two devices claim', () => {
    const pin = (n: number): string => `sha256/${Buffer.alloc(32, n).toString('base64')}`;
    const logs: string[] = [];
    const clients = masqueClientsOf(
      [
        { device_id: 'a', public_key: k(1), allowed_ips: ['100.96.0.2/32', 'fd01::2/128'], masque_pin: pin(1) },
        { device_id: 'b', public_key: k(2), allowed_ips: ['100.96.0.3/32'] },
        { device_id: 'c', public_key: k(3), allowed_ips: ['100.96.0.4/32'], masque_pin: 'sha256/short' },
        { device_id: 'd', public_key: k(4), allowed_ips: ['100.96.0.5/32', 'nonsense'], masque_pin: pin(4) },
        { device_id: 'e', public_key: k(5), allowed_ips: ['100.96.0.6/32'], masque_pin: pin(1) },
      ],
      (m) => logs.push(m),
    );
    expect(clients.map((c) => [c.name, c.pin, c.allowed.map(formatPrefix)])).toEqual([
      ['device a', Buffer.alloc(32, 1).toString('base64'), ['100.96.0.2/32', 'fd01::2/128']],
      ['device d', Buffer.alloc(32, 4).toString('base64'), ['100.96.0.5/32']],
    ]);
    expect(logs).toEqual([expect.stringMatching(/^device c: masque_pin/), expect.stringMatching(/^device d: allowed IP "nonsense"/), expect.stringMatching(/^device e: its MASQUE key is another device's too/)]);
  });
});
