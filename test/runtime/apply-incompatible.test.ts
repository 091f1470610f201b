/**
 * What `warpc apply` refuses to change in place (the answer names it, nothing changes):
 * among them the tunnel protocol and a MASQUE session's settings, which a running
 * session cannot take over.
 */
import { describe, expect, it } from 'vitest';
import type { MasqueSettings } from '../../src/contract/masque.js';
import type { LinuxSettings } from '../../src/contract/settings.js';
import { incompatibilities } from '../../src/runtime/linux/apply.js';
import type { CompiledLinux } from '../../src/runtime/linux/compiled.js';

const settings = {
  features: { tunnel: true, routes: true, firewall: true, dns: true },
  interface: { name: 'CloudflareWARP', ipv4: '172.16.0.2', ipv6: null, mtu: 1280 },
  routing: { table: 65743, fwmark: 0x100cf },
  nft_table: 'cloudflare-warp',
  dns: { listen: ['127.0.2.2', '127.0.2.3'] },
} as unknown as LinuxSettings;

function plan(masque: Partial<MasqueSettings> | null, files: string[] = ['wireguard.conf']): CompiledLinux {
  return {
    dir: '/x/linux',
    settings,
    masque: masque as MasqueSettings | null,
    files: new Map(files.map((f) => [f, Buffer.from('')])),
    manifestSha256: '0'.repeat(64),
    compilerVersion: '0',
  };
}

describe('incompatibilities', () => {
  it('two WireGuard plans with the same names: nothing refused', () => {
    expect(incompatibilities(plan(null), plan(null))).toEqual([]);
  });

  it('WireGuard <-> MASQUE is refused both ways, naming the protocol', () => {
    const m = plan({ endpoint: { host: '198.51.100.1', port: 443 } }, ['masque.json']);
    expect(incompatibilities(plan(null), m).join()).toMatch(/tunnel protocol \("wireguard" -> "masque"\)/);
    expect(incompatibilities(m, plan(null)).join()).toMatch(/tunnel protocol \("masque" -> "wireguard"\)/);
  });

  it("a MASQUE session's endpoint, pin or SNI is refused; the same settings pass", () => {
    const a = plan({ endpoint: { host: '198.51.100.1', port: 443 }, sni: 'a.example' }, ['masque.json']);
    expect(incompatibilities(a, plan({ endpoint: { host: '198.51.100.1', port: 443 }, sni: 'a.example' }, ['masque.json']))).toEqual([]);
    expect(incompatibilities(a, plan({ endpoint: { host: '198.51.100.2', port: 443 }, sni: 'a.example' }, ['masque.json'])).join()).toMatch(/MASQUE settings/);
  });
});
