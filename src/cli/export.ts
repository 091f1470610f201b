/** `warpc export <profile…> --format cloudflare-api|terraform [--out DIR]`: profiles → the API requests or Terraform that make an account match them. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliExit, EXIT } from './exit.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('write the Cloudflare API requests (PATCH settings, PUT each list) or Terraform v5 configuration that make an account match these profiles')
    .argument('<profiles...>', 'profile YAML files, or import folders (their index lists the profiles); a profile without selector.policy_id is the default profile')
    .addOption(new Option('--format <format>', 'what to write').choices(['cloudflare-api', 'terraform']).makeOptionMandatory())
    .option('-o, --out <dir>', 'write cloudflare-api.json or warp-profiles.tf into this folder (default: print to standard output)')
    .addHelpText('after', '\nExamples:\n  $ warpc export profiles --format terraform --out tf\n  $ warpc export profiles/default.yaml --format cloudflare-api | jq .requests')
    .action(async (paths: string[], opts: { format: 'cloudflare-api' | 'terraform'; out?: string }) => {
      const { analyze } = await import('../compile.js');
      const { diag, hasErrors } = await import('../diagnostics/diagnostic.js');
      const { loadProfileSource } = await import('../profile/load.js');
      const { profileToCf } = await import('../interop/to-profile.js');
      const { apiExportJson } = await import('../interop/export-api.js');
      const { terraformHcl } = await import('../interop/export-terraform.js');
      const { printDiagnostics, readProfile } = await import('./common.js');
      const { mkdirSync, statSync, writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { readImportFolder } = await import('../interop/folder.js');
      const profiles: { name: string; file: string; profile: ReturnType<typeof profileToCf> }[] = [];
      let failed = false;
      // An import folder stands for the profiles its index lists, in precedence order.
      const expanded: string[] = [];
      for (const p of paths) {
        let isDir = false;
        try {
          isDir = statSync(p).isDirectory();
        } catch {
          /* read as a file below, which reports it */
        }
        if (!isDir) {
          expanded.push(p);
          continue;
        }
        const r = readImportFolder(p);
        if (!r.folder) {
          printDiagnostics(r.diagnostics, r.indexText);
          failed = true;
          continue;
        }
        expanded.push(...r.folder.candidates.map((c) => join(p, c.file!)), join(p, r.folder.defaultFile));
      }
      for (const p of expanded) {
        const { source, diagnostics, file } = readProfile(p);
        if (source === null) {
          printDiagnostics(diagnostics, null);
          failed = true;
          continue;
        }
        const checked = analyze(source).diagnostics.map((d) => ({ ...d, file }));
        if (hasErrors(checked)) {
          printDiagnostics(checked, source);
          failed = true;
          continue;
        }
        const doc = loadProfileSource(source).doc!.value as Record<string, unknown>;
        profiles.push({ name: String(doc['name'] ?? 'default'), file, profile: profileToCf(doc) });
      }
      const defaults = profiles.filter((p) => p.profile.policyId === null);
      if (defaults.length > 1) {
        printDiagnostics([{ ...diag('ExportTwoDefaults', { first: defaults[0]!.file, second: defaults[1]!.file }), file: defaults[1]!.file }], null);
        failed = true;
      }
      const ids = new Map<string, string>();
      for (const p of profiles) {
        if (p.profile.policyId === null) continue;
        const prev = ids.get(p.profile.policyId);
        if (prev !== undefined) {
          printDiagnostics([{ ...diag('ImportDuplicatePolicy', { policyId: p.profile.policyId, first: prev, second: p.file }), file: p.file }], null);
          failed = true;
        }
        ids.set(p.profile.policyId, p.file);
      }
      if (failed) throw new CliExit(EXIT.failure);
      const text = opts.format === 'terraform' ? terraformHcl(profiles) : apiExportJson(profiles.map((p) => p.profile));
      if (opts.out === undefined) {
        process.stdout.write(text);
        return;
      }
      const target = join(opts.out, opts.format === 'terraform' ? 'warp-profiles.tf' : 'cloudflare-api.json');
      try {
        mkdirSync(opts.out, { recursive: true });
        writeFileSync(target, text);
      } catch (err) {
        printDiagnostics([{ ...diag('OutputUnwritable', { path: target, reason: (err as Error).message }), file: target }], null);
        throw new CliExit(EXIT.failure);
      }
      process.stdout.write(`${target}: ${profiles.length} profile${profiles.length === 1 ? '' : 's'}\n`);
    });
}
