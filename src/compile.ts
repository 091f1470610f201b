/**
 * The compiler, end to end and pure: profile text in, diagnostics and files out.
 * Nothing here touches the disk; `src/emit/write.ts` does that, and only when
 * there are no errors.
 */
import { diag, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics/diagnostic.js';
import { MANIFEST_FILE, serializeManifest, type Manifest, type ManifestFile } from './contract/manifest.js';
import { targetDiagnostics } from './emit/capabilities.js';
import { artifactTooLarge } from './emit/limits.js';
import { buildManifest, manifestEntry } from './emit/manifest.js';
import { RenderError } from './emit/quote.js';
import { TARGETS } from './emit/registry.js';
import { joinedBytes, type Artifact, type FileBytes, type TargetModule } from './emit/target.js';
import { pitfallWarnings } from './pitfalls/index.js';
import { buildPlan } from './plan/plan.js';
import type { Plan } from './plan/types.js';
import { loadProfileSource } from './profile/load.js';
import type { TargetOptions } from './profile/target-options.js';
import type { Profile } from './profile/types.js';
import { checkPlanned, validateProfile } from './profile/validate.js';
import { VERSION } from './version.js';
import { readDeployment, type Deployment, type SecretResolver } from './mdm/deployment.js';
import { renderMdm } from './mdm/render.js';

export interface OutputFile {
  readonly text: string;
  readonly mode: number;
  /** `text` as UTF-8, encoded once (or in pieces): the manifest hashes these bytes and the writer writes them. */
  readonly bytes?: FileBytes;
}

/** An artifact as an output file: its bytes as the target wrote them, or its text encoded once; `text` decoded only when read. */
function outputFile(a: Artifact): OutputFile {
  if (a.bytes === undefined) return { text: a.text, mode: a.mode, bytes: Buffer.from(a.text, 'utf8') };
  return {
    mode: a.mode,
    bytes: a.bytes,
    get text(): string {
      return a.text;
    },
  };
}

/** A file as compile() holds it: bytes made from chunks are joined once (a ChunkSource is not data to hold or compare), text decoded when read. */
function heldFile(f: OutputFile): OutputFile {
  if (f.bytes === undefined || f.bytes instanceof Uint8Array) return f;
  const bytes = joinedBytes(f.bytes);
  let text: string | undefined;
  return {
    mode: f.mode,
    bytes,
    get text(): string {
      return (text ??= bytes.toString('utf8'));
    },
  };
}

export interface AnalyzeResult {
  readonly diagnostics: Diagnostic[];
  readonly profile: Profile | null;
  readonly plan: Plan | null;
}

/** The options every target of `registry` declares, in registry order (the profile's `targets:` section). */
export function targetOptions(registry: readonly TargetModule[]): TargetOptions[] {
  return registry.flatMap((t) => (t.options ? [t.options] : []));
}

/**
 * Load, validate and plan; no targets are checked or emitted, but the options of every
 * target in `registry` (src/emit/registry.ts unless a test brings its own) are validated.
 */
export function analyze(source: string, registry: readonly TargetModule[] = TARGETS): AnalyzeResult {
  const loaded = loadProfileSource(source);
  if (!loaded.doc) return { diagnostics: sortDiagnostics(loaded.diagnostics), profile: null, plan: null };
  const validated = validateProfile(loaded.doc, targetOptions(registry));
  if (!validated.profile) return { diagnostics: sortDiagnostics(validated.diagnostics), profile: null, plan: null };
  const planned = buildPlan(validated.profile);
  const late = checkPlanned(loaded.doc, validated.profile, planned.plan);
  // Pitfall warnings: only for a profile that validated and planned without errors.
  const pitfalls = hasErrors(late) || hasErrors(validated.diagnostics) ? [] : pitfallWarnings(loaded.doc, validated.profile, planned.plan);
  const diagnostics = sortDiagnostics([...validated.diagnostics, ...planned.diagnostics, ...late, ...pitfalls]);
  if (hasErrors(late)) return { diagnostics, profile: null, plan: null };
  return { diagnostics, profile: validated.profile, plan: planned.plan };
}

/**
 * `linux`, `macos,windows`, `all` → target modules, or a diagnostic for an unknown name.
 * `registry` is the table of targets (src/emit/registry.ts unless a test brings its own).
 */
export function resolveTargets(spec: string, registry: readonly TargetModule[] = TARGETS): { targets: TargetModule[]; diagnostics: Diagnostic[] } {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return { targets: [...registry], diagnostics: [] };
  const targets: TargetModule[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const t = registry.find((r) => r.name === name);
    if (!t) diagnostics.push(diag('TargetUnknown', { value: name, known: [...registry.map((r) => r.name), 'all'].join(', ') }));
    else if (!targets.includes(t)) targets.push(t);
  }
  // Registry order, whatever order they were named in.
  targets.sort((a, b) => registry.indexOf(a) - registry.indexOf(b));
  return { targets, diagnostics };
}

/**
 * What the core reports on a target's behalf, from its declared capabilities: a plan
 * feature the target cannot express is an error, never a silent omission; one it
 * expresses with a limitation is a warning. One code per limitation (src/emit/capabilities.ts).
 */
export { capabilityDiagnostics as capabilityCheck, targetDiagnostics } from './emit/capabilities.js';

export interface CompileResult extends AnalyzeResult {
  /** Paths relative to the output directory (`linux/routes4.batch`, `manifest.json`). Empty on error. */
  readonly files: ReadonlyMap<string, OutputFile>;
  readonly manifest: Manifest | null;
}

/** How the secrets of a profile's `deployment:` section are resolved (the CLI reads the environment and files; compile itself never does). */
export interface SecretOptions {
  readonly resolveSecret?: SecretResolver;
  /** Write placeholders instead of secrets; nothing is resolved. */
  readonly redact?: boolean;
}

const NO_RESOLVER: SecretResolver = () => ({ ok: false, reason: 'no secret resolver was given (the command line resolves env: and file: references; or use --redact)' });

/**
 * The `deployment:` section, read and its secrets resolved, when a target writes MDM files
 * (target mdm); diagnostics never hold a secret.
 */
function deploymentFor(source: string, profile: Profile, targets: readonly TargetModule[], secrets: SecretOptions): { deployment: Deployment | null; diagnostics: Diagnostic[] } {
  if (profile.deployment === null || !targets.some((t) => t.name === 'mdm')) return { deployment: null, diagnostics: [] };
  const doc = loadProfileSource(source).doc!;
  const r = readDeployment({ value: profile.deployment, serviceMode: profile.serviceMode, locate: (p) => doc.locate(p), resolve: secrets.resolveSecret ?? NO_RESOLVER, redact: secrets.redact === true });
  if (!r.deployment) return r;
  return { deployment: r.deployment, diagnostics: [...r.diagnostics, ...renderMdm(profile.name, r.deployment).diagnostics] };
}

/** `targets` are compiled; the options of `registry`'s targets and of `targets` are validated. Every file is held in memory (`files`). */
export function compile(source: string, targets: readonly TargetModule[], registry: readonly TargetModule[] = TARGETS, secrets: SecretOptions = {}): CompileResult {
  const files = new Map<string, OutputFile>();
  const r = compileTo(
    source,
    targets,
    (path, f) => {
      const held = heldFile(f);
      files.set(path, held);
      return manifestEntry(path, held);
    },
    registry,
    secrets,
  );
  return { ...r, files: r.manifest ? files : new Map() };
}

/**
 * Where compileTo hands each output file, as soon as its target is emitted; manifest.json
 * comes last. A sink that writes the file may return its manifest row, hashed as written
 * (then the file's chunks are made once); otherwise compileTo hashes it.
 */
export type FileSink = (path: string, file: OutputFile) => ManifestFile | void;

export interface StreamedCompileResult extends AnalyzeResult {
  /** The paths handed to the sink, in order (manifest.json last). Empty on error. */
  readonly paths: readonly string[];
  /** Null on error: then whatever the sink was given is to be discarded (a later target may have failed). */
  readonly manifest: Manifest | null;
}

/**
 * compile, handing each target's files to `sink` as soon as the target is emitted and
 * keeping only their manifest rows (path, size, sha256, mode), so a caller that writes them
 * (`compile --out`, src/emit/write.ts's StagedOutput) holds one target's files at a time.
 */
export function compileTo(source: string, targets: readonly TargetModule[], sink: FileSink, registry: readonly TargetModule[] = TARGETS, secrets: SecretOptions = {}): StreamedCompileResult {
  const analyzed = analyze(source, [...registry, ...targets.filter((t) => !registry.includes(t))]);
  const { plan, profile } = analyzed;
  const diagnostics = [...analyzed.diagnostics];
  const failed = (): StreamedCompileResult => ({ ...analyzed, diagnostics: sortDiagnostics(diagnostics), paths: [], manifest: null });
  if (!plan || !profile || hasErrors(diagnostics)) return { ...analyzed, diagnostics, paths: [], manifest: null };

  for (const target of targets) diagnostics.push(...targetDiagnostics(target, plan));
  const { deployment, diagnostics: deploymentDiagnostics } = deploymentFor(source, profile, targets, secrets);
  diagnostics.push(...deploymentDiagnostics);
  if (hasErrors(diagnostics)) return failed();

  const entries: ManifestFile[] = [];
  const paths: string[] = [];
  for (const target of targets) {
    let artifacts;
    try {
      artifacts = target.emit(plan, { compilerVersion: VERSION, deployment });
    } catch (err) {
      // Validation should make this impossible: a render error is a bug, reported as one.
      if (err instanceof RenderError) throw new Error(`target ${target.name} refused a validated value: ${err.message}`);
      // A plan too large for a string or an array of this target's form: said so, with its size, and nothing written.
      if (err instanceof RangeError) {
        diagnostics.push(artifactTooLarge(target.name, plan, err));
        return failed();
      }
      throw err;
    }
    for (const a of artifacts) {
      const path = `${target.name}/${a.path}`;
      const file = outputFile(a);
      entries.push(sink(path, file) ?? manifestEntry(path, file));
      paths.push(path);
    }
  }
  const manifest = buildManifest({ version: VERSION, profileName: profile.name, profileSource: source, targets: targets.map((t) => t.name), entries });
  sink(MANIFEST_FILE, { text: serializeManifest(manifest), mode: 0o644 });
  paths.push(MANIFEST_FILE);
  return { ...analyzed, diagnostics: sortDiagnostics(diagnostics), paths, manifest };
}
