/** `warpc explain <profile> <address|name>…`: which path, and which rule decided. */
import type { Command } from 'commander';
import type { Plan } from '../plan/types.js';
import { CliExit, EXIT } from './exit.js';
import { deviceOptions, formatOption, type DeviceFlags, type Format } from './options.js';

export function register(program: Command): void {
  const cmd = program
    .command('explain')
    .description('say whether addresses go through the tunnel, and how names resolve, and which rule decided')
    .argument('<profile>', 'profile YAML file, - for standard input, or an import folder (then the device flags choose its profile)')
    .argument('<query...>', 'IP addresses and domain names')
    .option('--subtract', 'instead: print the minimal CIDRs of the first prefix minus the others (no profile)');
  for (const o of deviceOptions()) cmd.addOption(o);
  cmd
    .addOption(formatOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ warpc explain profile.yaml 10.1.2.3 1.1.1.1\n  $ warpc explain profile.yaml intranet.corp.example.com --format json\n  $ warpc explain imported/ 10.1.2.3 --email alice@example.com --os windows\n  $ warpc explain --subtract 100.64.0.0/10 100.96.0.0/12',
    )
    .action(async (target: string, queries: string[], opts: DeviceFlags & { format: Format; subtract?: boolean }) => {
      if (opts.subtract) {
        const { subtract } = await import('../pitfalls/subtract.js');
        const { printDiagnostics, diagnosticsJson, writeJson } = await import('./common.js');
        const { withFile } = await import('../diagnostics/diagnostic.js');
        const r = subtract(target, queries);
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
      // An import folder: the device flags choose the profile, as `warpc match` does.
      let profilePath = target;
      let selection: Record<string, unknown> | null = null;
      let selectionLine = '';
      const { statSync } = await import('node:fs');
      let isDir = false;
      try {
        isDir = target !== '-' && statSync(target).isDirectory();
      } catch {
        /* not a folder: read as a profile, which reports it */
      }
      if (isDir) {
        const { readImportFolder } = await import('../interop/folder.js');
        const { selectProfile } = await import('../match/eval.js');
        const { join } = await import('node:path');
        const { chosenFile, deviceOf, selectionJson, selectionText } = await import('./match-format.js');
        const r = readImportFolder(target);
        if (!r.folder) {
          if (opts.format === 'json') writeJson({ ok: false, diagnostics: diagnosticsJson(r.diagnostics), results: [] });
          else printDiagnostics(r.diagnostics, r.indexText);
          throw new CliExit(EXIT.failure);
        }
        const device = deviceOf(opts);
        const s = selectProfile(r.folder.candidates, device);
        profilePath = join(target, chosenFile(r.folder, s));
        selection = selectionJson(r.folder, device, s);
        selectionLine = selectionText(r.folder, device, s);
      } else if ([opts.email, opts.group, opts.os, opts.osVersion, opts.network, opts.serviceToken].some((x) => x !== undefined)) {
        process.stderr.write('warpc explain: the device flags (--email, --group, --os, …) choose a profile of an import folder; give the folder, not a profile\n');
        throw new CliExit(EXIT.usage);
      }
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
          ...(selection ? { selection, profile_file: profilePath } : {}),
          results: results.map((r) => (r.kind === 'address' ? { ...addressJson(r.e), ...(r.mappedFrom ? { ipv4_mapped_from: r.mappedFrom } : {}) } : nameJson(r.e))),
        });
      } else {
        printDiagnostics(
          diagnostics.filter((d) => d.severity === 'error'),
          source,
        );
        if (selection) process.stdout.write(`${selectionLine}then, with ${profilePath}:\n`);
        for (const r of results) {
          const text = r.kind === 'address' ? addressText(plan, r.e) : nameText(plan, r.e);
          process.stdout.write(`${r.mappedFrom ? `${r.mappedFrom} (IPv4-mapped) = ${text}` : text}\n`);
        }
      }
    });
}
