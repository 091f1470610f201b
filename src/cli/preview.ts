/** `warpc preview <profile> [--against OLD] [--out report.html] [--target LIST]`: one self-contained HTML page. */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';

export function register(program: Command): void {
  program
    .command('preview')
    .description('write one self-contained HTML page of what a profile does, with a "test a destination" box (no external requests)')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .option('--against <old>', 'also show what changed against this profile (warpc diff)')
    .option('-o, --out <file>', 'the HTML file to write', 'preview.html')
    .option('-t, --target <targets>', 'targets whose artifacts the page shows ("all", or "none")', 'all')
    .addHelpText('after', '\nExamples:\n  $ warpc preview profile.yaml --out report.html\n  $ warpc preview branch.yaml --against main.yaml --out change.html')
    .action(async (profilePath: string, opts: { against?: string; out: string; target: string }) => {
      const { writeFileSync } = await import('node:fs');
      const { analyze } = await import('../compile.js');
      const { hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { printDiagnostics, readProfile, targetsOrExit, summary } = await import('./common.js');
      const { artifactsOf } = await import('../diff/artifacts.js');
      const { buildPreview } = await import('../preview/index.js');
      const targets = opts.target.trim() === 'none' ? [] : targetsOrExit(opts.target, profilePath, 'text');
      const read = readProfile(profilePath);
      if (read.source === null) {
        printDiagnostics(read.diagnostics, null);
        throw new CliExit(EXIT.failure);
      }
      const r = analyze(read.source);
      const diagnostics = withFile(r.diagnostics, read.file);
      if (!r.plan || !r.profile || hasErrors(diagnostics)) {
        printDiagnostics(diagnostics, read.source);
        process.stderr.write(`nothing written: ${summary(diagnostics)}\n`);
        throw new CliExit(EXIT.failure);
      }
      const mine = artifactsOf(r.plan, targets);
      let diffText: string | undefined;
      if (opts.against !== undefined) {
        const old = readProfile(opts.against);
        const o = old.source === null ? null : analyze(old.source);
        if (!o || !o.plan || !o.profile || hasErrors(o.diagnostics)) {
          printDiagnostics(old.source === null ? old.diagnostics : withFile(o!.diagnostics, old.file), old.source);
          throw new CliExit(EXIT.failure);
        }
        const { diffArtifacts, diffProfiles } = await import('../diff/diff.js');
        const { countChanges, diffLines, splitLines } = await import('../diff/lines.js');
        const { diffText: render } = await import('../diff/text.js');
        const names = targets.map((t) => t.name);
        const artifacts = diffArtifacts(names, artifactsOf(o.plan, targets), mine, (x, y) => countChanges(diffLines(splitLines(x), splitLines(y))));
        diffText = render(diffProfiles({ profile: o.profile, plan: o.plan }, { profile: r.profile, plan: r.plan }, artifacts));
      }
      const html = buildPreview({ file: read.file, source: read.source, plan: r.plan, diagnostics, artifacts: mine.files, diffText, againstFile: opts.against });
      writeFileSync(opts.out, html);
      process.stdout.write(`wrote ${opts.out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB); ${summary(diagnostics)}\n`);
    });
}
