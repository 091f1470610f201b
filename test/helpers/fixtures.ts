/** The fixture profiles: fixtures/<case>/profile.yaml and fixtures/_error_/<case>/profile.yaml. */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES_DIR = join(import.meta.dirname, '..', '..', 'fixtures');

export interface Fixture {
  readonly name: string;
  readonly dir: string;
  readonly source: string;
}

function casesIn(dir: string): Fixture[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(join(dir, d.name, 'profile.yaml')))
    .map((d) => ({ name: d.name, dir: join(dir, d.name), source: readFileSync(join(dir, d.name, 'profile.yaml'), 'utf8') }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export const validFixtures = (): Fixture[] => casesIn(FIXTURES_DIR);
export const errorFixtures = (): Fixture[] => casesIn(join(FIXTURES_DIR, '_error_'));

/** The text of every YAML file below fixtures/ (profiles of every case, error cases and others), a BOM dropped. */
export function fixtureYamlTexts(): string[] {
  return listFiles(FIXTURES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(FIXTURES_DIR, f), 'utf8').replace(/^\ufeff/, ''));
}

/** Every file below `dir`, as `/`-separated relative paths. */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}
