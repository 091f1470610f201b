/**
 * `match` over every import fixture account: a table of device cases per account
 * (fixtures/import/<account>/match-cases.yaml, at least 30 each), whose expected profiles were
 * worked out by hand from each account's rules, not by warpc.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { selectProfile, type Candidate } from '../../src/match/eval.js';
import { readAccount, type InputFile } from '../../src/interop/read.js';
import { deviceOf, type DeviceCase } from './device-case.js';

const IMPORT = join(import.meta.dirname, '..', '..', 'fixtures', 'import');
const ACCOUNTS = readdirSync(IMPORT).filter((d) => !d.startsWith('_') && statSync(join(IMPORT, d)).isDirectory()).sort();

interface Case {
  device: DeviceCase;
  profile: string;
}

function inputs(dir: string): InputFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

describe.each(ACCOUNTS)('match over %s', (acc) => {
  const cases = parseYaml(readFileSync(join(IMPORT, acc, 'match-cases.yaml'), 'utf8')) as Case[];
  const account = readAccount(inputs(join(IMPORT, acc, 'input'))).account!;
  const candidates: Candidate[] = account.custom.map((p) => ({
    name: String(p.settings['name']),
    policyId: p.policyId!,
    precedence: p.settings['precedence'] as number,
    enabled: p.settings['enabled'] !== false,
    match: String(p.settings['match']),
  }));
  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));
  it.each(cases.map((c) => [JSON.stringify(c.device), c] as const))('%s', (_, c) => {
    const s = selectProfile(candidates, deviceOf(c.device));
    expect(s.chosen?.name ?? 'default').toBe(c.profile);
  });
});
