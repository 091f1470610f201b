/**
 * linux/masque.json: the MASQUE tunnel a compiled Linux folder asks for (in
 * place of wireguard.conf): endpoint, SNI, the server's pinned key, the CONNECT
 * authority, the keepalive. The Linux target writes it with serializeMasque;
 * the runtime reads it with parseMasque and nothing else.
 * Shape: schema/masque.schema.json.
 */
import { parseAddress } from '../net/ip.js';
import { parseContract, stableJson, type ContractProblem } from './json-file.js';

export const MASQUE_FILE = 'masque.json';
export const MASQUE_SCHEMA = 'masque.schema.json';

export interface MasqueSettings {
  readonly version: 1;
  readonly transport: 'h2';
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly sni: string;
  /** `sha256/` + base64 SHA-256 of the server's SPKI. */
  readonly server_pin: string;
  readonly authority: string;
  readonly keepalive_seconds: number;
}

export function serializeMasque(m: MasqueSettings): string {
  return stableJson({
    version: m.version,
    transport: m.transport,
    endpoint: { host: m.endpoint.host, port: m.endpoint.port },
    sni: m.sni,
    server_pin: m.server_pin,
    authority: m.authority,
    keepalive_seconds: m.keepalive_seconds,
  });
}

export function parseMasque(text: string, file = MASQUE_FILE): MasqueSettings {
  return parseContract<MasqueSettings>(file, text, MASQUE_SCHEMA, (m, problems: ContractProblem[]) => {
    if (!parseAddress(m.endpoint.host)) problems.push({ pointer: '/endpoint/host', detail: `${JSON.stringify(m.endpoint.host)} is not an IP address` });
    if (Buffer.from(m.server_pin.slice(7), 'base64').length !== 32) problems.push({ pointer: '/server_pin', detail: 'is not the base64 of 32 bytes' });
  });
}
