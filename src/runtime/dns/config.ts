/**
 * Reading dns-proxy.json from disk for `warpc dns-proxy` and the Linux runtime.
 * The file's type, writer and reader are the contract's (src/contract/dns-proxy.ts);
 * this only adds the file system.
 */
import { readFile } from 'node:fs/promises';
import { ContractError } from '../../contract/json-file.js';
import { parseDnsProxyConfig, type DnsProxyConfig } from '../../contract/dns-proxy.js';

export { parseDnsProxyConfig, type DnsProxyConfig, type HostAction } from '../../contract/dns-proxy.js';

/** Read and validate dns-proxy.json; throws ContractError (with every problem and its JSON pointer). */
export async function loadDnsProxyConfig(path: string): Promise<DnsProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ContractError(path, [{ pointer: '', detail: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseDnsProxyConfig(text, path);
}
