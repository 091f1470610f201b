/** `warpc import <file|dir>… [--out DIR] [--format yaml|json]`: a Cloudflare account export → warpc profiles and an index. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliExit, EXIT } from './exit.js';

export function register(program: Command): void {
  program
    .command('import')
    .description('read a Cloudflare account export (API responses, terraform show -json) into one warpc profile per device profile')
    .argument('<inputs...>', 'JSON files, or folders of them (each recognised by its content)')
    .option('-o, --out <dir>', 'write the profiles and index here (without it, nothing is written: a dry run)')
    .addOption(new Option('--format <format>', 'format of the written files').choices(['yaml', 'json']).default('yaml'))
    .addHelpText('after', '\nExamples:\n  $ warpc import export/ --out profiles\n  $ warpc import terraform-show.json --out profiles && warpc check profiles/default.yaml')
    .action(async (inputs: string[], opts: { out?: string; format: 'yaml' | 'json' }) => {
      const { readImportInputs, writeImportFolder } = await import('../interop/files.js');
      const { importAccount } = await import('../interop/import.js');
      const { hasErrors } = await import('../diagnostics/diagnostic.js');
      const { printDiagnostics, summary } = await import('./common.js');
      const read = readImportInputs(inputs);
      let diagnostics = read.diagnostics;
      let result = null;
      if (!hasErrors(diagnostics)) {
        result = importAccount(read.files, opts.format, opts.out ?? 'import');
        diagnostics = [...diagnostics, ...result.diagnostics];
      }
      if (result && !hasErrors(diagnostics) && opts.out !== undefined) diagnostics = [...diagnostics, ...writeImportFolder(opts.out, result.files)];
      printForFiles(diagnostics, read.texts, printDiagnostics);
      if (hasErrors(diagnostics) || !result?.index) {
        process.stderr.write(`import: ${summary(diagnostics)}; nothing written\n`);
        throw new CliExit(EXIT.failure);
      }
      const where = opts.out ?? '(dry run, not written)';
      const lines = result.index.profiles.map((p, i) => `  ${String(i + 1).padStart(2)}. ${p.file}  ${p.default ? '(default: when no match holds)' : `precedence ${p.precedence ?? '-'}${p.enabled === false ? ', disabled' : ''}: ${JSON.stringify(p.name)}`}`);
      process.stdout.write(`${where}: ${result.index.profiles.length} profiles (${summary(diagnostics)}), in the order devices try them:\n${lines.join('\n')}\n`);
    });
}

/** Print each diagnostic with the source line of its input file, when there is one. */
function printForFiles(
  diags: readonly import('../diagnostics/diagnostic.js').Diagnostic[],
  texts: ReadonlyMap<string, string>,
  print: (d: readonly import('../diagnostics/diagnostic.js').Diagnostic[], source: string | null) => void,
): void {
  for (const d of diags) print([d], d.file !== undefined ? (texts.get(d.file) ?? null) : null);
}
