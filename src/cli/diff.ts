/** `warpc diff <old> <new> [--format text|json] [--target LIST] [--artifacts] [--exit-code]`: what a change to a profile does. */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { formatOption, type Format } from './options.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description('show what changes between two profiles: routing, host entries, DNS, settings and artifacts')
    .argument('<old>', 'the profile before the change (- for standard input)')
    .argument('<new>', 'the profile after the change')
    .option('-t, --target <targets>', 'targets whose artifacts are compared ("all", or "none" for none)', 'linux')
    .option('--artifacts', 'print unified diffs of the changed artifacts')
    .option('--exit-code', 'exit with 3 when the profiles differ (0 when they do not)')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc diff main.yaml branch.yaml\n  $ warpc diff main.yaml branch.yaml --target all --artifacts\n  $ warpc diff main.yaml branch.yaml --format json --exit-code\n\nExit codes: 0 no difference (or differences without --exit-code), 1 profile errors, 2 usage, 3 differences with --exit-code.')
    .action(async (oldPath: string, newPath: string, opts: { target: string; artifacts?: boolean; exitCode?: boolean; format: Format }) => {
      const { analyze } = await import('../compile.js');
      const { hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { diagnosticsJson, printDiagnostics, readProfile, targetsOrExit, writeJson } = await import('./common.js');
      const { diffArtifacts, diffProfiles, hasDifferences } = await import('../diff/diff.js');
      const { artifactsOf } = await import('../diff/artifacts.js');
      const { countChanges, diffLines, splitLines, unifiedDiff } = await import('../diff/lines.js');
      const { diffText } = await import('../diff/text.js');
      const targets = opts.target.trim() === 'none' ? [] : targetsOrExit(opts.target, newPath, opts.format, { diff: null });
      const sides = [oldPath, newPath].map((path) => {
        const read = readProfile(path);
        if (read.source === null) return { file: read.file, source: null, diagnostics: read.diagnostics, profile: null, plan: null };
        const r = analyze(read.source);
        return { file: read.file, source: read.source, diagnostics: withFile(r.diagnostics, read.file), profile: r.profile, plan: r.plan };
      });
      const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
      const sideJson = (s: typeof a): Record<string, unknown> => ({ file: s.file, diagnostics: diagnosticsJson(s.diagnostics) });
      if (!a.plan || !a.profile || !b.plan || !b.profile || hasErrors(a.diagnostics) || hasErrors(b.diagnostics)) {
        if (opts.format === 'json') writeJson({ ok: false, old: sideJson(a), new: sideJson(b), different: null, diff: null });
        else for (const s of sides) printDiagnostics(s.diagnostics.filter((d) => d.severity === 'error'), s.source);
        throw new CliExit(EXIT.failure);
      }
      const artA = artifactsOf(a.plan, targets);
      const artB = artifactsOf(b.plan, targets);
      const names = targets.map((t) => t.name);
      const artifacts = diffArtifacts(names, artA, artB, (x, y) => countChanges(diffLines(splitLines(x), splitLines(y))));
      const diff = diffProfiles({ profile: a.profile, plan: a.plan }, { profile: b.profile, plan: b.plan }, artifacts);
      const different = hasDifferences(diff);
      const unified: string[] = [];
      if (opts.artifacts) {
        for (const t of artifacts) {
          const fa = artA.files.get(t.target);
          const fb = artB.files.get(t.target);
          for (const f of t.files) {
            const x = fa instanceof Map ? (fa.get(f.path) ?? '') : '';
            const y = fb instanceof Map ? (fb.get(f.path) ?? '') : '';
            const path = `${t.target}/${f.path}`;
            unified.push(unifiedDiff(f.status === 'added' ? '/dev/null' : `a/${path}`, f.status === 'removed' ? '/dev/null' : `b/${path}`, diffLines(splitLines(x), splitLines(y))).replace(/\n$/, ''));
          }
        }
      }
      if (opts.format === 'json') {
        writeJson({ ok: true, old: sideJson(a), new: sideJson(b), different, diff, ...(opts.artifacts ? { unified } : {}) });
      } else {
        process.stdout.write(diffText(diff, unified));
      }
      if (different && opts.exitCode) throw new CliExit(EXIT.differences);
    });
}
