/**
 * Opening the orchestrator's store: PostgreSQL when a `postgres://` URL is given (several
 * processes, one fleet), else SQLite in the data folder (zero set-up, one process). The server
 * codes against the Store interface only (types.ts).
 */
import type { Store } from './types.js';

export { SchemaTooNew, SCHEMA_VERSION } from './migrations.js';
export * from './types.js';

export async function openStore(opts: { readonly dataDir: string; readonly database?: string | undefined }): Promise<Store> {
  if (opts.database !== undefined && opts.database !== '') {
    if (!/^postgres(ql)?:\/\//.test(opts.database)) throw new Error('--database must be a postgres:// URL (SQLite needs none: it lives in --data)');
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(opts.database);
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(opts.dataDir);
}
