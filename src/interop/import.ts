/**
 * `warpc import` end to end, pure: input texts in, the files of the import folder (profiles, the
 * index) and diagnostics out. Every profile is checked as `warpc check` would; any error means no
 * files. Same input → same bytes: nothing depends on input order, file names or the clock.
 *
 * Decides: the import folder's layout (README "warpc import"). Must not touch: the file system.
 */
import { Document, isMap, isSeq, visit } from 'yaml';
import { analyze } from '../compile.js';
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { readAccount, type InputFile } from './read.js';
import { accountToProfiles, type ImportedFile } from './to-profile.js';

export type ImportFormat = 'yaml' | 'json';

export const INDEX_BASE = 'index';

const HEADER = '# Imported by `warpc import` from a Cloudflare account export. The selector: and cloudflare:\n# sections say which devices get this profile and keep the fields warpc does not model yet.\n';
const INDEX_HEADER = '# Profiles of the account in the order a device tries them (ascending precedence);\n# the first whose match holds applies, else the default. Read by `warpc match` and `warpc explain`.\n';

/** A profile document as YAML: block style, each list entry on one line. */
export function profileYaml(value: Record<string, unknown>, header = HEADER): string {
  const doc = new Document(value, { version: '1.2' });
  visit(doc, {
    Map(_, node, path) {
      // entries of split_tunnel.entries, fallback_domains, cloudflare.exclude/include and search suffix lists: one line each
      const parent = path[path.length - 1];
      if (isSeq(parent) && path.length >= 3) node.flow = true;
    },
    Seq(_, node) {
      if (node.items.every((i) => !isMap(i) && !isSeq(i))) node.flow = true;
    },
  });
  return header + doc.toString({ lineWidth: 0, flowCollectionPadding: true, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
}

export function renderFile(value: Record<string, unknown>, format: ImportFormat, header?: string): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : profileYaml(value, header);
}

export interface IndexEntry {
  readonly file: string;
  readonly name: string;
  readonly default?: true;
  readonly policy_id?: string;
  readonly precedence?: number;
  readonly enabled?: boolean;
  readonly match?: string;
}

export function indexOf(files: readonly ImportedFile[], format: ImportFormat): { version: 1; profiles: IndexEntry[] } {
  return {
    version: 1,
    profiles: files.map((f) => {
      const file = `${f.base}.${format}`;
      const s = f.profile.settings;
      if (f.profile.policyId === null) return { file, name: 'default', default: true as const };
      return {
        file,
        name: typeof s['name'] === 'string' ? s['name'] : f.base,
        policy_id: f.profile.policyId,
        ...(typeof s['precedence'] === 'number' ? { precedence: s['precedence'] } : {}),
        enabled: s['enabled'] !== false,
        ...(typeof s['match'] === 'string' ? { match: s['match'] } : {}),
      };
    }),
  };
}

export interface ImportResult {
  /** Relative file name → bytes; empty when there are errors. */
  readonly files: ReadonlyMap<string, string>;
  readonly diagnostics: Diagnostic[];
  /** In precedence order, the default last. */
  readonly index: { version: 1; profiles: IndexEntry[] } | null;
}

export function importAccount(inputs: readonly InputFile[], format: ImportFormat = 'yaml', outLabel = '.'): ImportResult {
  // Inputs sorted by name, so the order they were given in changes nothing.
  const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const read = readAccount(sorted);
  // What is about the account as a whole (no input position) is said of the folder it goes to.
  const diagnostics = read.diagnostics.map((d) => (d.file === undefined ? { ...d, file: outLabel } : d));
  if (!read.account) return { files: new Map(), diagnostics, index: null };
  const mapped = accountToProfiles(read.account);
  diagnostics.push(...mapped.diagnostics.map((d) => ({ ...d, file: outLabel })));
  const files = new Map<string, string>();
  for (const f of mapped.files) {
    const name = `${f.base}.${format}`;
    const text = renderFile(f.document, format);
    // Each profile must pass `warpc check`; its diagnostics name the file it would be.
    const checked = analyze(text);
    diagnostics.push(...checked.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ ...d, file: `${outLabel}/${name}` })));
    files.set(name, text);
  }
  const index = indexOf(mapped.files, format);
  files.set(`${INDEX_BASE}.${format}`, renderFile(index, format, INDEX_HEADER));
  if (hasErrors(diagnostics)) return { files: new Map(), diagnostics, index: null };
  return { files, diagnostics, index };
}
