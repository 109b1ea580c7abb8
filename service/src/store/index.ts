/** The store's public surface: the interface, its two engines, and a factory from the configuration. */
import type { StoreConfig } from '../config';
import { createPostgresStore } from './postgres';
import { createSqliteStore } from './sqlite';
import type { Store } from './types';
import type { CheckpointerOptions } from './checkpointer';

export * from './types';
export * from './lineage-types';
export { normalRowId } from './lineage';
export { orderingObjectOf } from './ordering-object';
export { FRESH_WRITE_ABANDONED_MS, freshWriteUnderWay } from './rows';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite';
export type { WalRestart } from './checkpointer';
export { createPostgresStore, type PostgresStoreOptions } from './postgres';

/** What the SQLite engine's checkpoint thread reports (PostgreSQL has none): for the service's log. */
export type StoreNotices = Pick<CheckpointerOptions, 'onError' | 'onRestart'>;

/** Opens the configured engine and applies pending migrations. */
export async function openStore(config: StoreConfig, notices: StoreNotices = {}): Promise<Store> {
  const store =
    config.engine === 'postgres'
      ? createPostgresStore({
          connectionString: config.databaseUrl,
          schema: config.schema,
          poolMax: config.poolMax,
          queryTimeoutMs: config.queryTimeoutMs,
          connectTimeoutMs: config.connectTimeoutMs,
        })
      : createSqliteStore({ path: config.path, synchronous: config.synchronous, checkpoints: notices });
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
