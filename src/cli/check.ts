/** `warpc check <profile> [--target …] [--format text|json]`: validate and plan, write nothing. */
import type { Command } from 'commander';
import { CliExit, EXIT } from './exit.js';
import { formatOption, type Format } from './options.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('validate a profile and report every problem; writes nothing')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .option('-t, --target <targets>', 'also check what these targets can express ("all" for every target)', 'all')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  $ warpc check profile.yaml\n  $ warpc check profile.yaml --format json | jq .diagnostics')
    .action(async (profilePath: string, opts: { target: string; format: Format }) => {
      const { analyze, targetDiagnostics } = await import('../compile.js');
      const { hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { diagnosticsJson, printDiagnostics, readProfile, summary, targetsOrExit, writeJson } = await import('./common.js');
      const targets = targetsOrExit(opts.target, profilePath, opts.format, { summary: null });
      const { source, diagnostics: readDiags, file } = readProfile(profilePath);
      let diagnostics = readDiags;
      let summaryFacts: Record<string, unknown> | null = null;
      if (source !== null) {
        const result = analyze(source);
        const all = [...result.diagnostics];
        if (result.plan) for (const t of targets) all.push(...targetDiagnostics(t, result.plan));
        diagnostics = withFile(all, file);
        if (result.plan && !hasErrors(all)) {
          const p = result.plan;
          summaryFacts = {
            name: p.name,
            service_mode: p.serviceMode,
            split_mode: p.split.mode,
            tunnel_prefixes: { ipv4: p.split.tunnel.v4.prefixCount(), ipv6: p.split.tunnel.v6.prefixCount() },
            direct_prefixes: { ipv4: p.split.direct.v4.prefixCount(), ipv6: p.split.direct.v6.prefixCount() },
            host_rules: p.split.hosts.length,
            fallback_domains: p.dns?.fallback.length ?? 0,
          };
        }
      }
      const ok = !hasErrors(diagnostics);
      if (opts.format === 'json') {
        writeJson({ ok, diagnostics: diagnosticsJson(diagnostics), summary: summaryFacts });
      } else {
        printDiagnostics(diagnostics, source);
        if (summaryFacts) {
          const s = summaryFacts as { name: string; service_mode: string; split_mode: string; tunnel_prefixes: { ipv4: number; ipv6: number }; host_rules: number; fallback_domains: number };
          process.stdout.write(
            `${file}: ok (${summary(diagnostics)}): profile ${s.name}, service mode ${s.service_mode}, split tunnel ${s.split_mode}, ` +
              `${s.tunnel_prefixes.ipv4}+${s.tunnel_prefixes.ipv6} tunnel prefixes (IPv4+IPv6), ${s.host_rules} host rules, ${s.fallback_domains} fallback domains\n`,
          );
        } else {
          process.stderr.write(`${file}: ${summary(diagnostics)}\n`);
        }
      }
      if (!ok) throw new CliExit(EXIT.failure);
    });
}
