/** The store's public surface: the interface, its two engines, and a factory from the configuration. */
import type { StoreConfig } from '../config';
import { createPostgresStore } from './postgres';
import { createSqliteStore } from './sqlite';
import type { Store } from './types';

export * from './types';
export * from './lineage-types';
export { normalRowId } from './lineage';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite';
export { createPostgresStore, type PostgresStoreOptions } from './postgres';

/** Opens the configured engine and applies pending migrations. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const store =
    config.engine === 'postgres'
      ? createPostgresStore({
          connectionString: config.databaseUrl,
          schema: config.schema,
          poolMax: config.poolMax,
        })
      : createSqliteStore({ path: config.path, synchronous: config.synchronous });
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
