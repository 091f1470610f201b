import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const CACHE = join(tmpdir(), 'warpc-ts-cache');

export async function resolve(specifier, context, next) {
  if ((specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) && specifier.endsWith('.js') && context.parentURL) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
      const tsUrl = new URL(url.href.replace(/\.js$/, '.ts'));
      if (existsSync(fileURLToPath(tsUrl))) return { url: tsUrl.href, shortCircuit: true, format: 'module' };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const source = await readFile(fileURLToPath(url), 'utf8');
    // Transpiled output is cached by content (and TypeScript version): many short CLI runs per test.
    const key = createHash('sha256').update(ts.version).update('\0').update(url).update('\0').update(source).digest('hex');
    const cached = join(CACHE, `${key}.js`);
    try {
      return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
    } catch {
      /* not cached yet */
    }
    const out = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true, verbatimModuleSyntax: false },
    });
    // A unique temporary name: agents in PID namespaces all run as pid 1, so the pid alone collides.
    // The cache only saves time: a failed write is not the module's failure.
    const tmp = `${cached}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(CACHE, { recursive: true, mode: 0o700 });
      await writeFile(tmp, out.outputText);
      await rename(tmp, cached);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
    return { format: 'module', source: out.outputText, shortCircuit: true };
  }
  return next(url, context);
}
