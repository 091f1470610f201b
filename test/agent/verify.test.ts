import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, resolveTargets } from '../../src/compile.js';
import { serializeStatement, type BundleResponse, type BundleStatement } from '../../src/contract/orchestrator.js';
import { spkiSha256 } from '../../src/runtime/masque/cert.js';
import { AgentError } from '../../src/agent/errors.js';
import { verifyBundle, type VerifyContext } from '../../src/agent/verify.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
let files: Record<string, string>;
let manifestSha: string;

beforeAll(() => {
  const r = compile(readFileSync(join(FIXTURES_DIR, 'corporate-exclude', 'profile.yaml'), 'utf8'), resolveTargets('linux').targets);
  files = {};
  for (const [p, f] of r.files) files[p] = Buffer.from(f.text).toString('base64');
  manifestSha = createHash('sha256').update(Buffer.from(files['manifest.json']!, 'base64')).digest('hex');
});

const ctx = (runningVersion: number | null = null): VerifyContext => ({ bundleKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, bundleKeyPin: spkiSha256(publicKey), deviceId: 'dev-a', os: 'linux', runningVersion });

function bundle(over: Partial<BundleStatement> = {}, key = privateKey, fileOver?: (f: Record<string, string>) => void): BundleResponse {
  const st: BundleStatement = { format: 1, device_id: 'dev-a', os: 'linux', version: 5, profile: { id: 'default', revision: 3 }, manifest_sha256: manifestSha, issued_at: '2026-01-01T00:00:00Z', ...over };
  const bytes = Buffer.from(serializeStatement(st));
  const f = { ...files };
  fileOver?.(f);
  return { statement: bytes.toString('base64'), signature: sign(null, bytes, key).toString('base64'), files: f };
}

/** The coded refusal, or null when it verified. */
function refusal(r: unknown, c = ctx()): string | null {
  try {
    verifyBundle(r, c);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return (err as AgentError).message;
  }
}

describe('bundle verification', () => {
  it('accepts a bundle signed by the pinned key, for this device and OS, newer than the running one', () => {
    const v = verifyBundle(bundle(), ctx(4));
    expect(v.kind).toBe('new');
    if (v.kind !== 'new') return;
    expect(v.statement.version).toBe(5);
    expect([...v.files.keys()].sort()).toEqual(Object.keys(files).sort());
    expect(v.files.get('linux/settings.json')?.toString()).toContain('"service_mode"');
  });

  it('a bundle equal to the running version is unchanged; an older one is a refused rollback', () => {
    expect(verifyBundle(bundle(), ctx(5))).toEqual({ kind: 'unchanged', version: 5 });
    expect(refusal(bundle(), ctx(6))).toMatch(/^WARPC0238: bundle refused: version 5 is older than version 6, which this device runs \(rollback\)/);
  });

  it('refuses a signature by another key, a flipped signature bit, and a statement changed after signing', () => {
    expect(refusal(bundle({}, other.privateKey))).toMatch(/^WARPC0235: .*does not verify with the pinned bundle key sha256\//);
    const b = bundle();
    const sig = Buffer.from(b.signature, 'base64');
    sig[10] = (sig[10] as number) ^ 1;
    expect(refusal({ ...b, signature: sig.toString('base64') })).toMatch(/^WARPC0235/);
    const st = JSON.parse(Buffer.from(b.statement, 'base64').toString()) as BundleStatement;
    const forged = Buffer.from(serializeStatement({ ...st, version: 99 })).toString('base64');
    expect(refusal({ ...b, statement: forged })).toMatch(/^WARPC0235/);
  });

  it('refuses a bundle for another device or another OS, however well signed', () => {
    expect(refusal(bundle({ device_id: 'dev-b' }))).toMatch(/^WARPC0236: bundle refused: it is signed for device dev-b, and this device is dev-a/);
    expect(refusal(bundle({ os: 'windows' }))).toMatch(/^WARPC0237: .*OS windows.*runs linux/);
  });

  it('refuses a manifest that is not the signed one, and a file that is not the manifest\'s', () => {
    expect(refusal(bundle({}, privateKey, (f) => (f['manifest.json'] = Buffer.from(Buffer.from(f['manifest.json']!, 'base64').toString().replace('"name"', '"name" ')).toString('base64'))))).toMatch(/^WARPC0239: bundle refused: manifest.json has sha256 [0-9a-f]{64}, and the signed statement says/);
    expect(refusal(bundle({}, privateKey, (f) => delete f['manifest.json']))).toMatch(/^WARPC0239: bundle refused: manifest.json is missing/);
    // One flipped byte in one file.
    const flip = (f: Record<string, string>): void => {
      const b = Buffer.from(f['linux/routes4.batch']!, 'base64');
      b[b.length - 2] = (b[b.length - 2] as number) ^ 0x20;
      f['linux/routes4.batch'] = b.toString('base64');
    };
    expect(refusal(bundle({}, privateKey, flip))).toMatch(/^WARPC0240: bundle refused: file linux\/routes4.batch: sha256 [0-9a-f]{64} does not match the manifest/);
    expect(refusal(bundle({}, privateKey, (f) => delete f['linux/ruleset.nft']))).toMatch(/^WARPC0240: .*linux\/ruleset.nft: listed in the manifest but not in the bundle/);
    expect(refusal(bundle({}, privateKey, (f) => (f['linux/extra.sh'] = Buffer.from('rm -rf /').toString('base64'))))).toMatch(/^WARPC0240: .*linux\/extra.sh: not listed in the manifest/);
    expect(refusal(bundle({}, privateKey, (f) => (f['../../etc/passwd'] = 'AA==')))).toMatch(/^WARPC0240: .*\.\.\/\.\.\/etc\/passwd: not listed/);
    expect(refusal(bundle({}, privateKey, (f) => (f['linux/settings.json'] = Buffer.from(Buffer.from(f['linux/settings.json']!, 'base64').toString() + ' ').toString('base64'))))).toMatch(/^WARPC0240: .*settings.json: \d+ bytes, the manifest says \d+/);
  });

  it('refuses a manifest with an unsafe path even when it is the signed one', () => {
    const m = JSON.parse(Buffer.from(files['manifest.json']!, 'base64').toString()) as { files: { path: string }[] };
    m.files[0]!.path = 'linux/../../x';
    const text = Buffer.from(JSON.stringify(m, null, 2) + '\n');
    const sha = createHash('sha256').update(text).digest('hex');
    expect(refusal(bundle({ manifest_sha256: sha }, privateKey, (f) => (f['manifest.json'] = text.toString('base64'))))).toMatch(/^WARPC0239: bundle refused: manifest.json is not valid: .*not a plain relative path/);
  });

  it('refuses what is not a bundle: lax base64, a statement not in its one form, another format', () => {
    expect(refusal(null)).toMatch(/^WARPC0241: bundle refused: the response is not a JSON object/);
    const b = bundle();
    expect(refusal({ ...b, signature: `${b.signature}!!` })).toMatch(/^WARPC0241: .*signature is not canonical base64/);
    const spaced = Buffer.from(` ${Buffer.from(b.statement, 'base64').toString()}`);
    expect(refusal({ ...b, statement: spaced.toString('base64'), signature: sign(null, spaced, privateKey).toString('base64') })).toMatch(/^WARPC0241: .*one serialized form/);
    const v2 = Buffer.from(Buffer.from(b.statement, 'base64').toString().replace('"format":1', '"format":2'));
    expect(refusal({ ...b, statement: v2.toString('base64'), signature: sign(null, v2, privateKey).toString('base64') })).toMatch(/^WARPC0241: bundle refused: statement format 2 is not 1/);
  });
});
