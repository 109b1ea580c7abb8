/**
 * Coalesces concurrent upserts into `$batch` requests: the way a burst of events reaches Dataverse in
 * about one request per hundred rows. Each upsert is its own change set and the batch continues on error,
 * so a bad row fails only its own promise; transient failures of a row are sent again in a later batch.
 */
import { DataverseError, errorFromInfo, isDuplicateKey } from './errors';
import type { BatchOperation, DataverseClient, KeyValues, Row, UpsertResult, WriteMode } from './types';
import { MAX_BATCH_OPERATIONS } from './client';

export interface UpsertBatcherOptions {
  /** Rows per `$batch`; at most 1,000. Default 100. */
  maxBatchSize?: number;
  /** How long the first row of a partial batch waits for company. Default 20 ms. */
  maxDelayMs?: number;
  /** Batches sent at once (the client's adaptive limit applies underneath). Default 8. */
  maxInFlight?: number;
  /** Times one row is tried when its failure is transient. Default 5. */
  maxAttempts?: number;
}

export interface UpsertBatcherStats {
  rows: number;
  batches: number;
  /** Rows sent again after a transient failure or a duplicate-key race. */
  resent: number;
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

interface Item {
  entitySet: string;
  key: KeyValues;
  row: Row;
  mode: WriteMode;
  attempts: number;
  queuedAt: number;
  resolve(result: UpsertResult): void;
  reject(error: Error): void;
}

export function createUpsertBatcher(
  client: DataverseClient,
  options: UpsertBatcherOptions = {},
): UpsertBatcher {
  const maxBatchSize = Math.min(MAX_BATCH_OPERATIONS, Math.max(1, options.maxBatchSize ?? 100));
  const maxDelayMs = Math.max(0, options.maxDelayMs ?? 20);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 8);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);

  const pending: Item[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushRequested = false;
  const counters = { rows: 0, batches: 0, resent: 0, failed: 0 };
  const idleWaiters: Array<() => void> = [];

  const describe = (item: Item) => `upsert ${item.entitySet} ${JSON.stringify(item.key)}`;

  function settleIdle(): void {
    if (pending.length === 0 && inFlight === 0) {
      flushRequested = false;
      while (idleWaiters.length) idleWaiters.shift()!();
    }
  }

  function retryOrReject(item: Item, error: DataverseError, retryable: boolean): boolean {
    if (retryable && item.attempts < maxAttempts) {
      counters.resent += 1;
      return true;
    }
    counters.failed += 1;
    item.reject(error);
    return false;
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
          item.resolve({ id: result.id, created: result.status === 201 });
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
        if (retryOrReject(item, error, error.transient || race)) again.push(item);
      });
    } catch (err) {
      const error =
        err instanceof DataverseError
          ? err
          : new DataverseError({ status: 0, message: (err as Error).message, cause: err });
      for (const item of items) if (retryOrReject(item, error, error.transient)) again.push(item);
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
        pending.push({ entitySet, key, row, mode, attempts: 0, queuedAt: Date.now(), resolve, reject });
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
