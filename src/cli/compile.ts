/** `warpc compile <profile> [--target linux] [--out DIR] [--format text|json]` */
import type { Command } from 'commander';
import type { diag as Diag, Diagnostic } from '../diagnostics/diagnostic.js';
import type { OutputError } from '../emit/write.js';
import { CliExit, EXIT } from './exit.js';
import { formatOption, type Format } from './options.js';

function outputDiagnostic(diag: typeof Diag, err: OutputError): Diagnostic {
  switch (err.kind) {
    case 'not-warpc':
      return diag('OutputNotWarpc', { path: err.path });
    case 'foreign-manifest':
      return diag('OutputForeignManifest', { path: err.path, reason: err.message });
    case 'damaged-manifest':
      return diag('OutputDamagedManifest', { path: err.path, reason: err.message });
    case 'unexpected-files':
      return diag('OutputUnexpectedFiles', { path: err.path, files: err.message });
    case 'io':
      return diag('OutputUnwritable', { path: err.path, reason: err.message });
  }
}

export function register(program: Command): void {
  program
    .command('compile')
    .description('compile a profile into per-OS artifacts and a manifest')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .option('-t, --target <targets>', 'comma-separated targets, or "all"', 'linux')
    .option('-o, --out <dir>', 'output directory (replaced as a whole; must be absent, empty, or exactly a previous warpc output)', 'out')
    .option('--redact', 'target mdm: write placeholders instead of the deployment secrets (env:/file: references are not read)')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc compile profile.yaml --out build\n  $ warpc compile profile.yaml --target all --out build --format json\n  $ WARP_CLIENT_SECRET=… warpc compile profile.yaml --target mdm --out build')
    .action(async (profilePath: string, opts: { target: string; out: string; format: Format; redact?: boolean }) => {
      const { compileTo } = await import('../compile.js');
      const { diag, escapeForDisplay, hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { OutputError, outputSink } = await import('../emit/write.js');
      const { diagnosticsJson, printDiagnostics, readProfile, summary, targetsOrExit, writeJson } = await import('./common.js');
      const targets = targetsOrExit(opts.target, profilePath, opts.format, { files: [] });
      const { source, diagnostics: readDiags, file } = readProfile(profilePath);
      let diagnostics = readDiags;
      let paths: readonly string[] = [];
      if (source !== null) {
        const { resolveSecret } = await import('./secrets.js');
        // Each target's files are written as soon as they are emitted (into a staging folder that
        // replaces --out in one rename at the end), so only one target's files are held at a time.
        // The folder is checked and staged at the first file: a profile with errors touches nothing.
        const out = outputSink(opts.out);
        try {
          const result = compileTo(source, targets, out.write, undefined, { resolveSecret, redact: opts.redact === true });
          diagnostics = withFile(result.diagnostics, file);
          if (!hasErrors(diagnostics)) {
            const { leftover } = out.commit();
            paths = result.paths;
            if (leftover !== null) process.stderr.write(`warpc: the previous output's folder ${escapeForDisplay(leftover)} still holds entries that appeared while writing; they were kept\n`);
          }
        } catch (err) {
          if (!(err instanceof OutputError)) throw err;
          diagnostics = [...diagnostics, ...withFile([outputDiagnostic(diag, err)], file)];
        } finally {
          // Anything not committed (an error diagnostic, an exception) is removed: no partial output folder.
          out.abort();
        }
      }
      const ok = !hasErrors(diagnostics);
      if (opts.format === 'json') {
        writeJson({ ok, out: ok ? opts.out : null, diagnostics: diagnosticsJson(diagnostics), files: ok ? [...paths].sort() : [] });
      } else {
        printDiagnostics(diagnostics, source);
        if (ok) process.stdout.write(`wrote ${paths.length} files to ${opts.out} (${targets.map((t) => t.name).join(', ')}); ${summary(diagnostics)}\n`);
        else process.stderr.write(`nothing written: ${summary(diagnostics)}\n`);
      }
      if (!ok) throw new CliExit(EXIT.failure);
    });
}
