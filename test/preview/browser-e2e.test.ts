/**
 * The preview page in a real browser (Debian's chromium, driven by playwright-core):
 * for every fixture, the page loads from file:// with zero network requests (every
 * request is intercepted and recorded) and zero console errors, the "test a destination"
 * box is reached with the keyboard alone, and at least 200 random addresses and names
 * typed into it give exactly what `warpc explain --format json` says. A screenshot per
 * fixture is saved under test-output/preview/ for a reviewer.
 *
 * Needs /usr/bin/chromium (.ci/run installs it): skipped with the reason without it,
 * a failure under WARPC_E2E=required.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/compile.js';
import { validFixtures } from '../helpers/fixtures.js';
import { mulberry32 } from '../../bench/lib/prng.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(ROOT, 'test-output', 'preview');
const PROBES = 220;

function describeBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
    return;
  }
  if (process.env['WARPC_E2E'] === 'required') {
    describe(name, () => {
      throw new Error(`browser test cannot run (needs ${CHROMIUM}) and WARPC_E2E=required`);
    });
    return;
  }
  describe.skip(`${name} [skipped: needs ${CHROMIUM}]`, body);
}

/** Random probes near what the profile names: rule edges, bypass and DoH addresses, fallback suffixes and host patterns, and plain random ones. */
function probesFor(source: string, seed: number): string[] {
  const { plan } = analyze(source);
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const byte = (): number => Math.floor(r() * 256);
  const hex = (): string => Math.floor(r() * 0x10000).toString(16);
  const out = new Set<string>();
  const v4Rules = plan!.split.rules.filter((x) => !x.cidr.includes(':')).map((x) => x.cidr);
  const v6Rules = plan!.split.rules.filter((x) => x.cidr.includes(':')).map((x) => x.cidr);
  const labels = ['www', 'git', 'a', 'intranet', 'api', 'x1', 'build', 'dev'];
  const suffixes = [...(plan!.dns?.fallback.map((f) => f.suffix) ?? []), ...plan!.split.hosts.map((h) => h.pattern.name), 'example.com', 'cloudflare.com', 'warp-svc'];
  while (out.size < PROBES) {
    const k = r();
    if (k < 0.3 && v4Rules.length > 0) {
      const [net, len] = pick(v4Rules).split('/');
      const base = net!.split('.').map(Number).reduce((a, b) => a * 256 + b, 0);
      const size = 2 ** (32 - Number(len));
      const v = Math.max(0, Math.min(2 ** 32 - 1, base + pick([-1, 0, size - 1, size, Math.floor(r() * size)])));
      out.add([24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.'));
    } else if (k < 0.45) {
      out.add(`${byte()}.${byte()}.${byte()}.${byte()}`);
    } else if (k < 0.55 && v6Rules.length > 0) {
      const [net] = pick(v6Rules).split('/');
      out.add(net!.endsWith('::') ? `${net}${hex()}` : net!);
    } else if (k < 0.62) {
      out.add(`2${hex().slice(0, 3).padStart(3, '0')}:${hex()}::${hex()}`);
    } else if (k < 0.67) {
      out.add(pick([...plan!.split.bypass.map((b) => b.address), ...(plan!.dns?.doh.addresses.map((a) => a.address) ?? [])]));
    } else {
      const s = pick(suffixes);
      out.add(r() < 0.3 ? s : r() < 0.5 ? `${pick(labels)}.${s}` : `${pick(labels)}.${pick(labels)}.${s}${r() < 0.1 ? '.' : ''}`.toUpperCase());
    }
  }
  return [...out];
}

describeBrowser('warpc preview in a real browser', () => {
  let browser: BrowserContext;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    dir = mkdtempSync(join(tmpdir(), 'warpc-preview-'));
    mkdirSync(OUTPUT, { recursive: true });
    // A fresh --user-data-dir: playwright passes it for a persistent context.
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      serviceWorkers: 'block',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  validFixtures().forEach((fx, n) => {
    it(`${fx.name}: no requests, no console errors, keyboard reaches the box, ${PROBES} probes agree with warpc explain`, async () => {
      const html = join(dir, `${fx.name}.html`);
      const made = spawnSync(process.execPath, [BIN, 'preview', relative(ROOT, join(fx.dir, 'profile.yaml')), '--out', html], { encoding: 'utf8', cwd: ROOT });
      expect(made.status, made.stderr).toBe(0);
      expect(statSync(html).size, 'size budget: under 1 MB').toBeLessThan(1024 * 1024);
      const url = pathToFileURL(html).href;

      const probes = probesFor(fx.source, 1100 + n);
      const explained = spawnSync(process.execPath, [BIN, 'explain', join(fx.dir, 'profile.yaml'), ...probes, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(explained.status, explained.stderr).toBe(0);
      const expected = (JSON.parse(explained.stdout) as { results: unknown[] }).results;
      expect(expected.length).toBe(probes.length);

      const context = browser;
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      await page.route('**/*', (route) => {
        const u = route.request().url();
        if (u === url) return route.continue();
        requests.push(u);
        return route.abort();
      });
      page.on('request', (r) => {
        if (r.url() !== url) requests.push(r.url());
      });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });

      // Keyboard alone: Tab from the top of the page reaches the box within a few presses.
      let reached = false;
      for (let i = 0; i < 5 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = (await page.evaluate('document.activeElement && document.activeElement.id')) === 'probe';
      }
      expect(reached, 'Tab reaches the "test a destination" box').toBe(true);

      for (let i = 0; i < probes.length; i++) {
        if (i < 10) {
          // The first ones typed key by key, then Enter; the rest filled (the same input events).
          await page.keyboard.press('Control+A');
          await page.keyboard.press('Backspace');
          await page.keyboard.type(probes[i]!);
          await page.keyboard.press('Enter');
        } else {
          await page.fill('#probe', probes[i]!);
        }
        const got = JSON.parse((await page.textContent('#probe-json')) ?? 'null') as unknown;
        expect(got, `probe ${probes[i]}`).toEqual(expected[i]);
      }
      await page.fill('#probe', probes.find((p) => /^\d/.test(p)) ?? probes[0]!);
      await page.screenshot({ path: join(OUTPUT, `${fx.name}.png`), fullPage: false });
      expect(requests, 'network requests').toEqual([]);
      expect(errors, 'console errors').toEqual([]);
      await page.close();
    });
  });
});
