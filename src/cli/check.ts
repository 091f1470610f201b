/** `warpc check <profile…> [--target …] [--format text|json]`: validate and plan, write nothing. */
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { formatOption, type Format } from './options.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('validate a profile and report every problem; writes nothing')
    .argument('<profiles...>', 'profile YAML files (or - for standard input); an import folder\'s index.yaml is checked as an index')
    .option('-t, --target <targets>', 'also check what these targets can express ("all" for every target)', 'all')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc check profile.yaml\n  $ warpc check imported/*.yaml\n  $ warpc check profile.yaml --format json | jq .diagnostics')
    .action(async (profilePaths: string[], opts: { target: string; format: Format }) => {
      const { analyze, targetDiagnostics } = await import('../compile.js');
      const { hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { diagnosticsJson, printDiagnostics, readProfile, summary, targetsOrExit, writeJson } = await import('./common.js');
      const targets = targetsOrExit(opts.target, profilePaths[0] ?? '-', opts.format, { summary: null });
      const reports: { file: string; ok: boolean; diagnostics: ReturnType<typeof withFile>; summary: Record<string, unknown> | null; source: string | null; what: string | null }[] = [];
      for (const profilePath of profilePaths) {
        // The index `warpc import --out` writes beside its profiles (so `warpc check DIR/*.yaml` works):
        // its matches and file names are checked, not the profile schema.
        if (profilePath !== '-' && /^index\.(ya?ml|json)$/.test(basename(profilePath))) {
          const { checkImportIndex } = await import('../interop/folder.js');
          const r = checkImportIndex(dirname(profilePath));
          reports.push({ file: r.indexFile, ok: !hasErrors(r.diagnostics), diagnostics: r.diagnostics, summary: r.summary, source: r.indexText, what: r.summary && `import index of ${r.summary.profiles} profiles in precedence order, default ${r.summary.default}` });
          continue;
        }
        const { source, diagnostics: readDiags, file } = readProfile(profilePath);
        let diagnostics = readDiags;
        let summaryFacts: Record<string, unknown> | null = null;
        let what: string | null = null;
        if (source !== null) {
          const result = analyze(source);
          const all = [...result.diagnostics];
          if (result.plan) for (const t of targets) all.push(...targetDiagnostics(t, result.plan));
          diagnostics = withFile(all, file);
          if (result.plan && !hasErrors(all)) {
            const p = result.plan;
            const tunnel = { ipv4: p.split.tunnel.v4.prefixCount(), ipv6: p.split.tunnel.v6.prefixCount() };
            const fallback = p.dns?.fallback.length ?? 0;
            summaryFacts = {
              name: p.name,
              service_mode: p.serviceMode,
              split_mode: p.split.mode,
              tunnel_prefixes: tunnel,
              direct_prefixes: { ipv4: p.split.direct.v4.prefixCount(), ipv6: p.split.direct.v6.prefixCount() },
              host_rules: p.split.hosts.length,
              fallback_domains: fallback,
            };
            what = `profile ${p.name}, service mode ${p.serviceMode}, split tunnel ${p.split.mode}, ${tunnel.ipv4}+${tunnel.ipv6} tunnel prefixes (IPv4+IPv6), ${p.split.hosts.length} host rules, ${fallback} fallback domains`;
          }
        }
        reports.push({ file, ok: !hasErrors(diagnostics), diagnostics, summary: summaryFacts, source, what });
      }
      const ok = reports.every((r) => r.ok);
      if (opts.format === 'json') {
        const one = (r: (typeof reports)[number]) => ({ ok: r.ok, diagnostics: diagnosticsJson(r.diagnostics), summary: r.summary });
        // One profile: the object as always; several: one such object per file, with its name.
        writeJson(reports.length === 1 ? one(reports[0]!) : { ok, profiles: reports.map((r) => ({ file: r.file, ...one(r) })) });
      } else {
        for (const r of reports) {
          printDiagnostics(r.diagnostics, r.source);
          if (r.ok && r.what) process.stdout.write(`${r.file}: ok (${summary(r.diagnostics)}): ${r.what}\n`);
          else process.stderr.write(`${r.file}: ${summary(r.diagnostics)}\n`);
        }
      }
      if (!ok) throw new CliExit(EXIT.failure);
    });
}
