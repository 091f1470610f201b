/** `warpc explain <profile> <address|name>…`: which path, and which rule decided. */
import type { Command } from 'commander';
import type { Plan } from '../plan/types.js';
import { CliExit, EXIT } from './exit.js';
import { formatOption, type Format } from './options.js';

export function register(program: Command): void {
  program
    .command('explain')
    .description('say whether addresses go through the tunnel, and how names resolve, and which rule decided')
    .argument('<profile>', 'profile YAML file, or - for standard input')
    .argument('<query...>', 'IP addresses and domain names')
    .option('--subtract', 'instead: print the minimal CIDRs of the first prefix minus the others (no profile)')
    .addOption(formatOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ warpc explain profile.yaml 10.1.2.3 1.1.1.1\n  $ warpc explain profile.yaml intranet.corp.example.com --format json\n  $ warpc explain --subtract 100.64.0.0/10 100.96.0.0/12',
    )
    .action(async (profilePath: string, queries: string[], opts: { format: Format; subtract?: boolean }) => {
      if (opts.subtract) {
        const { subtract } = await import('../pitfalls/subtract.js');
        const { printDiagnostics, diagnosticsJson, writeJson } = await import('./common.js');
        const { withFile } = await import('../diagnostics/diagnostic.js');
        const r = subtract(profilePath, queries);
        r.diagnostics = withFile(r.diagnostics, 'explain --subtract');
        if (opts.format === 'json') writeJson({ ok: r.diagnostics.length === 0, diagnostics: diagnosticsJson(r.diagnostics), cidrs: r.cidrs });
        else if (r.diagnostics.length > 0) printDiagnostics(r.diagnostics, null);
        else process.stdout.write(r.cidrs.length > 0 ? `${r.cidrs.join('\n')}\n` : '(nothing left)\n');
        if (r.diagnostics.length > 0) throw new CliExit(EXIT.usage);
        return;
      }
      const { analyze } = await import('../compile.js');
      const { diag, hasErrors, withFile } = await import('../diagnostics/diagnostic.js');
      const { explainAddress, explainName, parseExplainQuery } = await import('../plan/explain.js');
      const { mappedIPv4, parseAddress } = await import('../net/ip.js');
      const { diagnosticsJson, printDiagnostics, readProfile, writeJson } = await import('./common.js');
      const { addressJson, addressText, nameJson, nameText } = await import('./explain-format.js');
      const { source, diagnostics: readDiags, file } = readProfile(profilePath);
      let diagnostics = readDiags;
      let plan: Plan | null = null;
      if (source !== null) {
        const result = analyze(source);
        diagnostics = withFile(result.diagnostics, file);
        plan = result.plan;
      }
      // An IPv4-mapped address (::ffff:10.1.2.3) is explained as the IPv4 address it stands for, as validation reads addresses.
      const parsed = queries.map((q) => {
        const a = parseAddress(q);
        const v4 = a === null ? null : mappedIPv4(a);
        return { q, parsed: parseExplainQuery(v4 ?? q), mappedFrom: v4 === null ? null : q };
      });
      const bad = parsed.filter((p) => p.parsed === null).map((p) => diag('ExplainBadQuery', { value: p.q }));
      if (bad.length > 0) {
        printDiagnostics(withFile(bad, file), null);
        throw new CliExit(EXIT.usage);
      }
      if (!plan || hasErrors(diagnostics)) {
        if (opts.format === 'json') writeJson({ ok: false, diagnostics: diagnosticsJson(diagnostics), results: [] });
        else printDiagnostics(diagnostics, source);
        throw new CliExit(EXIT.failure);
      }
      const results = parsed.map(({ parsed: q, mappedFrom }) =>
        q!.kind === 'address' ? { kind: 'address' as const, e: explainAddress(plan!, q!.address), mappedFrom } : { kind: 'name' as const, e: explainName(plan!, q!.name), mappedFrom },
      );
      if (opts.format === 'json') {
        writeJson({
          ok: true,
          diagnostics: diagnosticsJson(diagnostics),
          results: results.map((r) => (r.kind === 'address' ? { ...addressJson(r.e), ...(r.mappedFrom ? { ipv4_mapped_from: r.mappedFrom } : {}) } : nameJson(r.e))),
        });
      } else {
        printDiagnostics(
          diagnostics.filter((d) => d.severity === 'error'),
          source,
        );
        for (const r of results) {
          const text = r.kind === 'address' ? addressText(plan, r.e) : nameText(plan, r.e);
          process.stdout.write(`${r.mappedFrom ? `${r.mappedFrom} (IPv4-mapped) = ${text}` : text}\n`);
        }
      }
    });
}
