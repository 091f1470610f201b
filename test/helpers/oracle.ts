/** Text for independent oracles (ip-cidr): IPv6 as eight plain hex groups, which every parser reads. */
import { formatAddress, type Family, type Prefix } from '../../src/net/ip.js';

export function oracleAddress(family: Family, value: bigint): string {
  if (family === 4) return formatAddress(4, value);
  return Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16)).join(':');
}

export function oraclePrefix(p: Prefix): string {
  return `${oracleAddress(p.family, p.network)}/${p.length}`;
}
