/**
 * IPv6 neighbour discovery with ruleset.nft loaded, on a real kernel inside
 * throwaway namespaces. The firewall rejects tunnel-bound destinations off the
 * tunnel; the solicited-node multicast address a neighbour solicitation goes to
 * (ff02::1:ffXX:XXXX) is tunnel-bound in exclude mode unless ff02::/16 happens
 * to be excluded, so without an ND exception no on-link IPv6 neighbour could be
 * resolved: not a link-local one (even with fe80::/10 excluded), not an on-link
 * tunnel endpoint (a bypass address). The unicast rejection must still hold.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { TARGETS } from '../../src/emit/registry.js';
import { describeE2E } from '../helpers/e2e.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { Netns, NetnsPool } from '../helpers/netns.js';

const CORPORATE = readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml'), 'utf8');
const PEER = '2001:db8:ffff:1::1';
const PEER_LL = 'fe80::1';

/** The Linux ruleset of a profile, compiled here. */
function ruleset(source: string): string {
  const r = compile(source, TARGETS);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const f = r.files.get('linux/ruleset.nft');
  if (!f) throw new Error('no linux/ruleset.nft');
  return f.text;
}

describeE2E('IPv6 neighbours stay reachable with ruleset.nft loaded', ['ip', 'nft', 'ping'], () => {
  const pool = new NetnsPool();
  let dev: Netns;
  beforeAll(async () => {
    dev = await pool.create('nd');
    const peer = await pool.create('nd-p');
    await pool.link(dev, 'eth0', ['2001:db8:ffff:1::2/64', 'fe80::2/64'], peer, 'eth0', [`${PEER}/64`, `${PEER_LL}/64`]);
  });
  afterAll(async () => {
    await pool.cleanup();
  });

  /** Load a ruleset, forget every neighbour, ping once; the exit code (0: answered). */
  async function pingWith(rules: string, target: string): Promise<number> {
    await dev.run('nft', ['-f', '-'], { input: rules });
    await dev.run('ip', ['-6', 'neigh', 'flush', 'dev', 'eth0']);
    const r = await dev.tryRun('ping', ['-6', '-n', '-c', '1', '-W', '2', target]);
    return r.code;
  }

  it('a link-local neighbour answers (corporate-exclude: fe80::/10 excluded, ff02::/16 not)', async () => {
    const rules = readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'expected', 'linux', 'ruleset.nft'), 'utf8');
    expect(await pingWith(rules, `${PEER_LL}%eth0`)).toBe(0);
    const neigh = (await dev.run('ip', ['-6', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    expect(neigh).toMatch(new RegExp(`^${PEER_LL} .*(REACHABLE|STALE|DELAY|PROBE)`, 'm'));
  });

  it('an on-link tunnel endpoint (a bypass address) answers', async () => {
    const rules = ruleset(CORPORATE.replace('endpoint: "162.159.193.7:2408"', `endpoint: "[${PEER}]:2408"`));
    expect(rules).not.toContain('162.159.193.7'); // the profile changed
    expect(await pingWith(rules, PEER)).toBe(0);
  });

  it('a tunnel-bound on-link address is still rejected off the tunnel, after its solicitation passed', async () => {
    const rules = readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'expected', 'linux', 'ruleset.nft'), 'utf8');
    expect(await pingWith(rules, PEER)).not.toBe(0);
    const neigh = (await dev.run('ip', ['-6', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    // The echo request was rejected, not the solicitation: the neighbour was resolved.
    expect(neigh).not.toMatch(new RegExp(`^${PEER} .*(INCOMPLETE|FAILED)`, 'm'));
    const table = JSON.parse((await dev.run('nft', ['-j', 'list', 'table', 'inet', 'cloudflare-warp'])).stdout) as { nftables: { rule?: { expr: unknown[] } }[] };
    const counted = table.nftables.flatMap((x) => (x.rule ? [JSON.stringify(x.rule.expr)] : [])).filter((e) => e.includes('"@direct6"') && e.includes('"!="') && e.includes('"counter"'));
    expect(counted.length).toBe(1);
    expect(counted[0]).toMatch(/"packets":[1-9]/);
  });
});
