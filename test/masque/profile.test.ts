/**
 * tunnel.protocol: masque from profile to compiled folder: validation, the plan, the Linux
 * target's masque.json (read back by the runtime's own reader) and up.sh's refusal, and the
 * other targets' coded refusal.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { normalizeMasquePin, parseMasque } from '../../src/contract/masque.js';
import { TARGETS } from '../../src/emit/registry.js';
import { spkiSha256 } from '../../src/runtime/masque/cert.js';
import { loadCompiled } from '../../src/runtime/linux/compiled.js';
import { linux } from '../../targets/linux/index.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
const der64 = key.export({ type: 'spki', format: 'der' }).toString('base64');
const pin = `sha256/${spkiSha256(key)}`;
const profile = (tunnel: string): string => `version: 1\nname: m\ntunnel: ${tunnel}\n`;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('tunnel.protocol: masque', () => {
  it('the key as base64 DER, PEM or sha256/ all give the same pin; other keys and text are refused', () => {
    expect(normalizeMasquePin(der64)).toEqual({ ok: true, pin });
    expect(normalizeMasquePin(key.export({ type: 'spki', format: 'pem' }) as string)).toEqual({ ok: true, pin });
    expect(normalizeMasquePin(pin)).toEqual({ ok: true, pin });
    expect(normalizeMasquePin(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64'))).toMatchObject({ ok: false, reason: /not EC P-256/ });
    expect(normalizeMasquePin('Vzz2CgKQ5Y+T1ImANGm0W7EkWQ62PjmE2RfqfJ+gVVo=')).toMatchObject({ ok: false });
  });

  it('compiles for Linux to masque.json (no wireguard.conf) that the runtime reads and applies', async () => {
    const r = compile(profile(`{ protocol: masque, endpoint: "198.51.100.1:443", peer_public_key: "${der64}", sni: gw.example.net }`), [linux]);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.files.has('linux/wireguard.conf')).toBe(false);
    const m = parseMasque(r.files.get('linux/masque.json')!.text);
    expect(m).toEqual({ version: 1, transport: 'h2', endpoint: { host: '198.51.100.1', port: 443 }, sni: 'gw.example.net', server_pin: pin, authority: 'cloudflareaccess.com:443', keepalive_seconds: 5 });
    // The endpoint is routed outside the tunnel, as WireGuard's is.
    expect(r.files.get('linux/routes4.batch')!.text).toMatch(/route add throw 198\.51\.100\.1\/32 table 65743/);
    // The folder as written passes the runtime's verification and yields the MASQUE settings.
    const out = mkdtempSync(join(tmpdir(), 'warpc-masque-profile-'));
    dirs.push(out);
    for (const [path, f] of r.files) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      writeFileSync(join(out, path), f.text);
    }
    const c = await loadCompiled(join(out, 'linux'));
    expect(c.masque).toEqual(m);
    expect(createHash('sha256').update(c.files.get('masque.json')!).digest('hex')).toBeTruthy();
  });

  it("up.sh (the admin's hand-apply script) refuses before changing anything: MASQUE needs the warpc runtime", () => {
    const r = compile(profile(`{ protocol: masque, peer_public_key: "${pin}" }`), [linux]);
    const up = r.files.get('linux/up.sh')!.text;
    const lines = up.split('\n');
    const refusal = lines.findIndex((l) => l.includes('only the warpc runtime carries'));
    expect(refusal).toBeGreaterThan(0);
    expect(lines[refusal + 1]).toBe('exit 1');
    // Nothing but comments, `set -eu` and variable assignments before it.
    expect(lines.slice(0, refusal).filter((l) => l !== '' && !l.startsWith('#') && l !== 'set -eu')).toEqual([]);
    execFileSync('sh', ['-n'], { input: up });
    // The defaults: the consumer MASQUE endpoint and SNI.
    expect(parseMasque(r.files.get('linux/masque.json')!.text)).toMatchObject({ endpoint: { host: '162.159.198.1', port: 443 }, sni: 'zt-masque.cloudflareclient.com' });
  });

  it('every other target refuses it with WARPC0154; a WireGuard profile is unchanged and tunnel.sni there is WARPC0152', () => {
    const r = compile(profile(`{ protocol: masque, peer_public_key: "${pin}" }`), TARGETS);
    expect(r.diagnostics.filter((d) => d.code === 'WARPC0154').map((d) => /target (\w+)/.exec(d.message)?.[1]).sort()).toEqual(['android', 'ios', 'macos', 'windows']);
    const wg = compile(profile('{ protocol: wireguard, sni: x.example.com, peer_public_key: "Vzz2CgKQ5Y+T1ImANGm0W7EkWQ62PjmE2RfqfJ+gVVo=" }'), [linux]);
    expect(wg.diagnostics.map((d) => d.code)).toEqual(['WARPC0152']);
    expect(wg.files.has('linux/wireguard.conf')).toBe(true);
    expect(wg.files.has('linux/masque.json')).toBe(false);
  });
});
