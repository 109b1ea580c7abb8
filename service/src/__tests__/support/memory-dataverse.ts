/**
 * Test support: a DataverseClient that keeps rows in memory and counts writes, for pipeline tests that need
 * no HTTP. (End-to-end tests use the real client against the Dataverse emulator instead.)
 */
import type { DataverseClient, KeyValues, Row, UpsertResult } from '../../dataverse/types';

export interface MemoryDataverse extends DataverseClient {
  rows(entitySet: string): Map<string, Row>;
  writes: number;
}

export function createMemoryDataverse(): MemoryDataverse {
  const tables = new Map<string, Map<string, Row>>();
  const table = (name: string) => {
    let t = tables.get(name);
    if (!t) tables.set(name, (t = new Map()));
    return t;
  };
  const keyOf = (key: KeyValues) => JSON.stringify(Object.entries(key).sort());
  const unused = (name: string) => async (): Promise<never> => {
    throw new Error(`memory Dataverse: ${name} is not used by these tests`);
  };
  const client: MemoryDataverse = {
    writes: 0,
    rows: table,
    async upsertByKey(entitySet: string, key: KeyValues, row: Row): Promise<UpsertResult> {
      client.writes++;
      const t = table(entitySet);
      const k = keyOf(key);
      const existing = t.get(k);
      t.set(k, { ...existing, ...key, ...row });
      return { id: k, created: !existing };
    },
    async retrieveByKey(entitySet: string, key: KeyValues) {
      return table(entitySet).get(keyOf(key)) ?? null;
    },
    create: unused('create'),
    update: unused('update'),
    delete: unused('delete'),
    retrieve: unused('retrieve'),
    retrieveMultiple: unused('retrieveMultiple'),
    executeAction: unused('executeAction'),
    executeBatch: unused('executeBatch'),
  };
  return client;
}
