/**
 * The whole in-process proxy suite again over node:dgram: the path every
 * platform without the native UDP layer takes (and WARPC_UDP_BATCH=0).
 * Test files run in their own processes, so this setting stays in this file.
 */
process.env['WARPC_UDP_BATCH'] = '0';
const { udpBatch } = await import('../../src/runtime/dns/udp-batch.js');
if (udpBatch() !== null) throw new Error('WARPC_UDP_BATCH=0 must turn the native layer off');
await import('./proxy.test.js');
