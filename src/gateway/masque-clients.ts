/**
 * The MASQUE server's known clients from the orchestrator's peer list
 * (GET /v0/gateway/peers): each device that registered a MASQUE key
 * (`masque_pin`) is accepted with that key for its own tunnel addresses
 * (`allowed_ips`), as a clients-file line would say. Devices without a MASQUE
 * key are WireGuard-only and not listed.
 *
 * Decides only the translation. Must not touch: the TUN, routes, sessions.
 */
import type { GatewayPeers } from '../contract/orchestrator.js';
import { parsePrefix, type Prefix } from '../net/ip.js';
import type { ClientEntry } from '../runtime/masque/server.js';

export function masqueClientsOf(peers: GatewayPeers['peers'], log: (msg: string) => void = () => undefined): ClientEntry[] {
  const out: ClientEntry[] = [];
  const seen = new Set<string>();
  for (const p of peers) {
    if (p.masque_pin === undefined) continue;
    const m = /^sha256\/([A-Za-z0-9+/]{43}=)$/.exec(p.masque_pin);
    if (!m || Buffer.from(m[1]!, 'base64').length !== 32) {
      log(`device ${p.device_id}: masque_pin ${JSON.stringify(p.masque_pin)} is not sha256/BASE64: not accepted over MASQUE`);
      continue;
    }
    if (seen.has(m[1]!)) {
      log(`device ${p.device_id}: its MASQUE key is another device's too: not accepted over MASQUE`);
      continue;
    }
    const allowed: Prefix[] = [];
    for (const ip of p.allowed_ips) {
      const r = parsePrefix(ip);
      if (r.ok) allowed.push(r.prefix);
      else log(`device ${p.device_id}: allowed IP ${JSON.stringify(ip)} is not a prefix: left out`);
    }
    seen.add(m[1]!);
    out.push({ pin: m[1]!, name: `device ${p.device_id}`, allowed });
  }
  return out;
}
