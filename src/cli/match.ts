/** `warpc match <import-dir> [device flags] [--format json]`: which profile a device gets, and why. */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { deviceOptions, formatOption, type DeviceFlags, type Format } from './options.js';

export function register(program: Command): void {
  const cmd = program
    .command('match')
    .description("say which of an imported account's profiles a device gets: each profile in precedence order, the first whose match holds, else the default")
    .argument('<import-dir>', 'a folder written by warpc import --out');
  for (const o of deviceOptions()) cmd.addOption(o);
  cmd
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc match profiles --email alice@example.com --group engineering --os windows\n  $ warpc match profiles --network "Austin office" --os mac --format json')
    .action(async (dir: string, opts: DeviceFlags & { format: Format }) => {
      const { readImportFolder } = await import('../interop/folder.js');
      const { selectProfile } = await import('../match/eval.js');
      const { deviceOf, selectionJson, selectionText } = await import('./match-format.js');
      const { diagnosticsJson, printDiagnostics, writeJson } = await import('./common.js');
      const r = readImportFolder(dir);
      if (!r.folder) {
        if (opts.format === 'json') writeJson({ ok: false, diagnostics: diagnosticsJson(r.diagnostics) });
        else printDiagnostics(r.diagnostics, r.indexText);
        throw new CliExit(EXIT.failure);
      }
      const device = deviceOf(opts);
      const selection = selectProfile(r.folder.candidates, device);
      if (opts.format === 'json') writeJson({ ok: true, diagnostics: [], ...selectionJson(r.folder, device, selection) });
      else process.stdout.write(selectionText(r.folder, device, selection));
    });
}
