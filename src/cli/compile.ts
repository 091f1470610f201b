/** `warpc compile <profile> [--target linux] [--out DIR] [--format text|json]` */
import type { Command } from 'commander';
import { diag, hasErrors, withFile } from '../diagnostics/diagnostic.js';
import { compile } from '../compile.js';
import { OutputError, writeOutput } from '../emit/write.js';
import { CliExit, EXIT } from './exit.js';
import { diagnosticsJson, formatOption, printDiagnostics, readProfile, summary, targetsOrExit, writeJson, type Format } from './common.js';

export function register(program: Command): void {
  program
    .command('compile')
    .description('compile a profile into per-OS artifacts and a manifest')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .option('-t, --target <targets>', 'comma-separated targets, or "all"', 'linux')
    .option('-o, --out <dir>', 'output directory (replaced as a whole; must be empty or a previous warpc output)', 'out')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc compile profile.yaml --out build\n  $ warpc compile profile.yaml --target all --out build --format json')
    .action((profilePath: string, opts: { target: string; out: string; format: Format }) => {
      const targets = targetsOrExit(opts.target, profilePath, opts.format, { files: [] });
      const { source, diagnostics: readDiags, file } = readProfile(profilePath);
      let diagnostics = readDiags;
      let files: ReadonlyMap<string, { text: string; mode: number }> = new Map();
      if (source !== null) {
        const result = compile(source, targets);
        diagnostics = withFile(result.diagnostics, file);
        files = result.files;
      }
      if (!hasErrors(diagnostics)) {
        try {
          writeOutput(opts.out, files);
        } catch (err) {
          if (!(err instanceof OutputError)) throw err;
          const d = err.kind === 'not-warpc' ? diag('OutputNotWarpc', { path: err.path }) : diag('OutputUnwritable', { path: err.path, reason: err.message });
          diagnostics = [...diagnostics, ...withFile([d], file)];
          files = new Map();
        }
      }
      const ok = !hasErrors(diagnostics);
      if (opts.format === 'json') {
        writeJson({ ok, out: ok ? opts.out : null, diagnostics: diagnosticsJson(diagnostics), files: ok ? [...files.keys()].sort() : [] });
      } else {
        printDiagnostics(diagnostics, source);
        if (ok) process.stdout.write(`wrote ${files.size} files to ${opts.out} (${targets.map((t) => t.name).join(', ')}); ${summary(diagnostics)}\n`);
        else process.stderr.write(`nothing written: ${summary(diagnostics)}\n`);
      }
      if (!ok) throw new CliExit(EXIT.failure);
    });
}
