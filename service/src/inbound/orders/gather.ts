/**
 * Reads of rows by one column's value, gathered: the values asked for by every order being written within a
 * few milliseconds go in one `In` query (DataLoader), so a burst of orders costs a read per burst rather than
 * per order. One loader per Dataverse client; nothing is cached (callers remember what they may).
 */
import DataLoader from 'dataloader';
import type { DataverseClient, Row } from '../../dataverse/types';
import { odataString } from '../../write/rows';

/** How long reads are gathered before they go as one query. */
export const GATHER_MS = 5;

/** Values asked for in one query; keeps the URL short. */
const VALUES_PER_QUERY = 50;

export function gatheredRows(
  entitySet: string,
  column: string,
  select: string[],
): (dataverse: DataverseClient) => DataLoader<string, Row | null> {
  const loaders = new WeakMap<DataverseClient, DataLoader<string, Row | null>>();
  return (dataverse) => {
    let loader = loaders.get(dataverse);
    if (!loader) {
      loader = new DataLoader(
        async (values: readonly string[]) => {
          const rows = await dataverse.retrieveMultiple(entitySet, {
            select,
            filter: `Microsoft.Dynamics.CRM.In(PropertyName='${column}',PropertyValues=[${values.map(odataString).join(',')}])`,
          });
          const byValue = new Map(rows.map((row) => [String(row[column]), row]));
          return values.map((value) => byValue.get(value) ?? null);
        },
        {
          cache: false,
          maxBatchSize: VALUES_PER_QUERY,
          batchScheduleFn: (run) => setTimeout(run, GATHER_MS),
        },
      );
      loaders.set(dataverse, loader);
    }
    return loader;
  };
}
