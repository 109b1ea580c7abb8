/**
 * Coalesces concurrent upserts into `$batch` requests: the way a burst of events reaches Dataverse in
 * about one request per hundred rows. Each upsert is its own change set and the batch continues on error,
 * so a bad row fails only its own promise; transient failures of a row are sent again in a later batch.
 *
 * With `coalesce`, upserts of one row (same entity set, key and mode, `upsert` or `updateOnly`) still waiting
 * for the same batch become one write: later columns over earlier ones in arrival order, which is what the
 * writes one after the other would leave. Every caller gets that write's result. When the merged write fails
 * for good, its parts are sent again one by one, so a bad column fails only the upsert that brought it.
 */
import { DataverseError, errorFromInfo, isDuplicateKey } from './errors';
import type { BatchOperation, DataverseClient, KeyValues, Row, UpsertResult, WriteMode } from './types';
import { MAX_BATCH_OPERATIONS } from './batch';

export interface UpsertBatcherOptions {
  /** Rows per `$batch`; at most 1,000. Default 100. */
  maxBatchSize?: number;
  /** How long the first row of a partial batch waits for company. Default 20 ms. */
  maxDelayMs?: number;
  /** Batches sent at once (the client's adaptive limit applies underneath). Default 8. */
  maxInFlight?: number;
  /** Times one row is tried when its failure is transient. Default 5. */
  maxAttempts?: number;
  /** Merge upserts of the same row waiting for the same batch into one write. Default false. */
  coalesce?: boolean;
}

export interface UpsertBatcherStats {
  rows: number;
  batches: number;
  /** Rows sent again after a transient failure or a duplicate-key race. */
  resent: number;
  /** Upserts merged into another one of the same row waiting for the same batch. */
  coalesced: number;
  failed: number;
  pending: number;
  inFlight: number;
}

export interface UpsertBatcher {
  upsert(entitySet: string, key: KeyValues, row: Row, mode?: WriteMode): Promise<UpsertResult>;
  /** Sends what is waiting now and resolves when every upsert made so far has settled. */
  flush(): Promise<void>;
  stats(): UpsertBatcherStats;
}

interface Waiter {
  /** The columns this caller asked for (kept to send them alone if a merged write fails). */
  row: Row;
  resolve(result: UpsertResult): void;
  reject(error: Error): void;
}

interface Item {
  entitySet: string;
  key: KeyValues;
  row: Row;
  mode: WriteMode;
  attempts: number;
  queuedAt: number;
  /** Callers whose upserts this write carries (more than one when coalesced). */
  waiters: Waiter[];
  /** Identity of the row while the item may still take more upserts; unset once it cannot. */
  coalesceKey?: string;
}

export function createUpsertBatcher(
  client: DataverseClient,
  options: UpsertBatcherOptions = {},
): UpsertBatcher {
  const maxBatchSize = Math.min(MAX_BATCH_OPERATIONS, Math.max(1, options.maxBatchSize ?? 100));
  const maxDelayMs = Math.max(0, options.maxDelayMs ?? 20);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 8);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const coalesce = options.coalesce ?? false;

  const pending: Item[] = [];
  /** Items still waiting for a batch that more upserts of the same row can join. */
  const open = new Map<string, Item>();
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushRequested = false;
  const counters = { rows: 0, batches: 0, resent: 0, coalesced: 0, failed: 0 };
  const idleWaiters: Array<() => void> = [];

  const describe = (item: Item) => `upsert ${item.entitySet} ${JSON.stringify(item.key)}`;

  function settleIdle(): void {
    if (pending.length === 0 && inFlight === 0) {
      flushRequested = false;
      while (idleWaiters.length) idleWaiters.shift()!();
    }
  }

  const rowKey = (entitySet: string, key: KeyValues, mode: WriteMode) =>
    `${mode} ${entitySet} ${JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

  function retryOrReject(item: Item, error: DataverseError, retryable: boolean): Item[] {
    if (retryable && item.attempts < maxAttempts) {
      counters.resent += item.waiters.length;
      return [item];
    }
    if (item.waiters.length > 1 && !retryable) {
      // Which upsert's columns the refusal is about is unknown: each is sent again on its own.
      counters.resent += item.waiters.length;
      return item.waiters.map((waiter) => ({
        ...item,
        row: waiter.row,
        attempts: 0,
        waiters: [waiter],
        coalesceKey: undefined,
      }));
    }
    counters.failed += item.waiters.length;
    for (const waiter of item.waiters) waiter.reject(error);
    return [];
  }

  async function send(items: Item[]): Promise<void> {
    counters.batches += 1;
    const operations: BatchOperation[] = items.map((item, index) => {
      item.attempts += 1;
      return {
        kind: 'upsert',
        entitySet: item.entitySet,
        key: item.key,
        row: item.row,
        mode: item.mode,
        changeSet: `row${index}`,
      };
    });
    const again: Item[] = [];
    try {
      const results = await client.executeBatch(operations, { continueOnError: true });
      items.forEach((item, index) => {
        const result = results[index];
        if (result && result.status >= 200 && result.status < 300 && result.id) {
          const written = { id: result.id, created: result.status === 201 };
          for (const waiter of item.waiters) waiter.resolve(written);
          return;
        }
        const info = result?.error ?? {
          status: result?.status ?? 0,
          code: '',
          message: 'Dataverse gave no answer for this row',
          transient: true,
        };
        const error = errorFromInfo(info, describe(item));
        // Two new rows with the same key in flight at once: the loser's second try updates the winner's row.
        const race = item.mode === 'upsert' && isDuplicateKey(error.status, error.code);
        again.push(...retryOrReject(item, error, error.transient || race));
      });
    } catch (err) {
      const error =
        err instanceof DataverseError
          ? err
          : new DataverseError({ status: 0, message: (err as Error).message, cause: err });
      for (const item of items) again.push(...retryOrReject(item, error, error.transient));
    }
    // Rows to send again go first: they have waited longest.
    pending.unshift(...again);
  }

  function pump(): void {
    const now = Date.now();
    while (pending.length > 0 && inFlight < maxInFlight) {
      const due = pending.length >= maxBatchSize || flushRequested || now - pending[0].queuedAt >= maxDelayMs;
      if (!due) break;
      const items = pending.splice(0, maxBatchSize);
      for (const item of items) {
        if (item.coalesceKey !== undefined) open.delete(item.coalesceKey);
        item.coalesceKey = undefined;
      }
      inFlight += 1;
      void send(items).finally(() => {
        inFlight -= 1;
        pump();
        settleIdle();
      });
    }
    if (pending.length > 0 && !timer && inFlight < maxInFlight) {
      const wait = Math.max(0, maxDelayMs - (now - pending[0].queuedAt));
      timer = setTimeout(() => {
        timer = undefined;
        pump();
      }, wait);
    }
  }

  return {
    upsert(entitySet, key, row, mode = 'upsert') {
      counters.rows += 1;
      return new Promise<UpsertResult>((resolve, reject) => {
        const waiter: Waiter = { row, resolve, reject };
        // A create-only write must see whether the row exists: merged, the second would not be refused.
        const coalesceKey = coalesce && mode !== 'createOnly' ? rowKey(entitySet, key, mode) : undefined;
        const joined = coalesceKey !== undefined ? open.get(coalesceKey) : undefined;
        if (joined) {
          Object.assign(joined.row, row);
          joined.waiters.push(waiter);
          counters.coalesced += 1;
          return;
        }
        const item: Item = {
          entitySet,
          key,
          row: coalesceKey !== undefined ? { ...row } : row,
          mode,
          attempts: 0,
          queuedAt: Date.now(),
          waiters: [waiter],
          coalesceKey,
        };
        if (coalesceKey !== undefined) open.set(coalesceKey, item);
        pending.push(item);
        pump();
      });
    },
    flush() {
      flushRequested = true;
      pump();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
    stats: () => ({ ...counters, pending: pending.length, inFlight }),
  };
}

/**
 * The client with its `upsertByKey` going through `batcher` (the other operations go straight to `client`):
 * what the sync handlers get, so that a burst of events writes its rows in `$batch` requests.
 */
export function withBatchedUpserts(client: DataverseClient, batcher: UpsertBatcher): DataverseClient {
  return {
    create: (entitySet, row) => client.create(entitySet, row),
    update: (entitySet, id, row, options) => client.update(entitySet, id, row, options),
    upsertByKey: (entitySet, key, row, options) => batcher.upsert(entitySet, key, row, options?.mode),
    delete: (entitySet, id) => client.delete(entitySet, id),
    retrieve: (entitySet, id, query) => client.retrieve(entitySet, id, query),
    retrieveByKey: (entitySet, key, query) => client.retrieveByKey(entitySet, key, query),
    retrieveMultiple: (entitySet, query) => client.retrieveMultiple(entitySet, query),
    executeBatch: (operations, options) => client.executeBatch(operations, options),
  };
}
