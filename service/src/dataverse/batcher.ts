/**
 * Coalesces concurrent upserts into `$batch` requests: the way a burst of events reaches Dataverse in
 * about one request per hundred rows. Each upsert is its own change set and the batch continues on error,
 * so a bad row fails only its own promise; transient failures of a row are sent again in a later batch.
 *
 * With `coalesce`, upserts of one row (same entity set, key and mode, `upsert` or `updateOnly`) still waiting
 * for the same batch become one write: later columns over earlier ones in arrival order, which is what the
 * writes one after the other would leave. Every caller gets that write's result. When the merged write fails
 * for good, its parts are sent again one by one, so a bad column fails only the upsert that brought it.
 *
 * An upsert may carry its caller's signal. Before a batch goes, each upsert whose signal is aborted is taken
 * out and fails with the signal's reason (a merged write keeps the columns of the others only), so a row queued
 * for a caller that was stopped meanwhile is never sent; a batch is not sent again either (after a 5xx or a
 * 429) once one of its callers is stopped: its other rows go in the next batch. Waits are measured on the
 * monotonic clock, so a wall clock set back does not hold rows back.
 *
 * A row of a `$batch` answered 429 (service protection limits, counted per operation) is sent again once its
 * Retry-After has passed (or, without one, the backoff of its try), and no batch goes before then: the limits
 * are the user's, so the other rows would be refused as well. The client's limiter cannot know of it, as the
 * `$batch` itself answered 200.
 */
import { performance } from 'node:perf_hooks';
import { DataverseError, errorFromInfo, isDuplicateKey } from './errors';
import type {
  BatchOperation,
  BatchOperationResult,
  CallOptions,
  DataverseClient,
  KeyValues,
  Row,
  UpsertResult,
  WriteMode,
} from './types';
import { MAX_BATCH_OPERATIONS } from './batch';
import { backoff, retryPolicy } from './throttling';

/** The backoff of a row answered 429 without a Retry-After: the client's default policy. */
const THROTTLE_POLICY = retryPolicy();

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
  /** Upserts not sent because their caller's signal was aborted while they waited. */
  stopped: number;
  pending: number;
  inFlight: number;
}

export interface UpsertBatcher {
  upsert(
    entitySet: string,
    key: KeyValues,
    row: Row,
    mode?: WriteMode,
    options?: CallOptions,
  ): Promise<UpsertResult>;
  /** Sends what is waiting now and resolves when every upsert made so far has settled. */
  flush(): Promise<void>;
  stats(): UpsertBatcherStats;
}

interface Waiter {
  /** The columns this caller asked for (kept to send them alone if a merged write fails). */
  row: Row;
  /** The caller's: once aborted, the upsert is not sent. */
  signal?: AbortSignal;
  resolve(result: UpsertResult): void;
  reject(error: unknown): void;
}

interface Item {
  entitySet: string;
  key: KeyValues;
  row: Row;
  mode: WriteMode;
  attempts: number;
  /** performance.now() when it was queued. */
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
  const queue = new UpsertQueue(client, options);
  return {
    upsert: (entitySet, key, row, mode = 'upsert', options) =>
      queue.upsert(entitySet, key, row, mode, options?.signal),
    flush: () => queue.flush(),
    stats: () => queue.stats(),
  };
}

const isStopped = (waiter: Waiter) => waiter.signal?.aborted === true;

const describe = (item: Item) => `upsert ${item.entitySet} ${JSON.stringify(item.key)}`;

const rowKey = (entitySet: string, key: KeyValues, mode: WriteMode) =>
  `${mode} ${entitySet} ${JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

/** The upserts waiting for a batch, the batches in flight, and when the next batch goes. */
class UpsertQueue {
  private readonly maxBatchSize: number;
  private readonly maxDelayMs: number;
  private readonly maxInFlight: number;
  private readonly maxAttempts: number;
  private readonly coalesce: boolean;
  private readonly pending: Item[] = [];
  /** Items still waiting for a batch that more upserts of the same row can join. */
  private readonly open = new Map<string, Item>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushRequested = false;
  /**
   * performance.now() before which no batch is sent: the Retry-After of a row answered 429 (or the backoff
   * of its try, when the answer gave none).
   */
  private heldUntil = 0;
  private readonly counters = { rows: 0, batches: 0, resent: 0, coalesced: 0, failed: 0, stopped: 0 };
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly client: DataverseClient,
    options: UpsertBatcherOptions,
  ) {
    this.maxBatchSize = Math.min(MAX_BATCH_OPERATIONS, Math.max(1, options.maxBatchSize ?? 100));
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 20);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.coalesce = options.coalesce ?? false;
  }

  upsert(
    entitySet: string,
    key: KeyValues,
    row: Row,
    mode: WriteMode,
    signal: AbortSignal | undefined,
  ): Promise<UpsertResult> {
    this.counters.rows += 1;
    return new Promise<UpsertResult>((resolve, reject) => {
      if (signal?.aborted) {
        this.counters.stopped += 1;
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = { row, signal, resolve, reject };
      // A create-only write must see whether the row exists: merged, the second would not be refused.
      const coalesceKey = this.coalesce && mode !== 'createOnly' ? rowKey(entitySet, key, mode) : undefined;
      const joined = coalesceKey !== undefined ? this.open.get(coalesceKey) : undefined;
      if (joined) {
        Object.assign(joined.row, row);
        joined.waiters.push(waiter);
        this.counters.coalesced += 1;
        return;
      }
      const item: Item = {
        entitySet,
        key,
        row: coalesceKey !== undefined ? { ...row } : row,
        mode,
        attempts: 0,
        queuedAt: performance.now(),
        waiters: [waiter],
        coalesceKey,
      };
      if (coalesceKey !== undefined) this.open.set(coalesceKey, item);
      this.pending.push(item);
      this.pump();
    });
  }

  flush(): Promise<void> {
    this.flushRequested = true;
    this.pump();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.settleIdle();
    });
  }

  stats(): UpsertBatcherStats {
    return { ...this.counters, pending: this.pending.length, inFlight: this.inFlight };
  }

  private settleIdle(): void {
    if (this.pending.length === 0 && this.inFlight === 0) {
      this.flushRequested = false;
      while (this.idleWaiters.length) this.idleWaiters.shift()!();
    }
  }

  /** Sends every batch that is due (full, flushed or waited long enough) while there is room in flight. */
  private pump(): void {
    const now = performance.now();
    const held = now < this.heldUntil;
    while (!held && this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const due =
        this.pending.length >= this.maxBatchSize ||
        this.flushRequested ||
        now - this.pending[0].queuedAt >= this.maxDelayMs;
      if (!due) break;
      const taken = this.pending.splice(0, this.maxBatchSize);
      for (const item of taken) {
        if (item.coalesceKey !== undefined) this.open.delete(item.coalesceKey);
        item.coalesceKey = undefined;
      }
      const items = this.withoutStopped(taken);
      if (items.length === 0) {
        this.settleIdle();
        continue;
      }
      this.inFlight += 1;
      void this.send(items).finally(() => {
        this.inFlight -= 1;
        this.pump();
        this.settleIdle();
      });
    }
    if (this.pending.length > 0 && !this.timer && this.inFlight < this.maxInFlight) {
      const wait = Math.max(0, this.maxDelayMs - (now - this.pending[0].queuedAt), this.heldUntil - now);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
  }

  /**
   * The items with the upserts whose caller was stopped taken out, each failing with its signal's reason; a
   * merged write keeps the columns of the others, in the order they came.
   */
  private withoutStopped(items: Item[]): Item[] {
    let kept: Item[] | undefined;
    for (let index = 0; index < items.length; index += 1) {
      const item = items[index];
      if (!item.waiters.some(isStopped)) {
        kept?.push(item);
        continue;
      }
      kept ??= items.slice(0, index);
      const live: Waiter[] = [];
      for (const waiter of item.waiters) {
        if (!isStopped(waiter)) live.push(waiter);
        else {
          this.counters.stopped += 1;
          waiter.reject(waiter.signal!.reason);
        }
      }
      if (live.length === 0) continue;
      item.waiters = live;
      item.row = Object.assign({}, ...live.map((w) => w.row));
      kept.push(item);
    }
    return kept ?? items;
  }

  /**
   * A signal aborted once any caller of the items is stopped: the batch is then not sent again (a retry after a
   * 5xx or a 429). `release` stops listening.
   */
  private stopWith(items: Item[]): { signal?: AbortSignal; release(): void } {
    const signals = new Set<AbortSignal>();
    for (const item of items)
      for (const waiter of item.waiters) if (waiter.signal) signals.add(waiter.signal);
    if (signals.size === 0) return { release: () => undefined };
    const controller = new AbortController();
    const stop = () => controller.abort(new Error('a caller of the batch was stopped'));
    for (const signal of signals) signal.addEventListener('abort', stop, { once: true });
    return {
      signal: controller.signal,
      release: () => {
        for (const signal of signals) signal.removeEventListener('abort', stop);
      },
    };
  }

  private async send(items: Item[]): Promise<void> {
    this.counters.batches += 1;
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
    const stop = this.stopWith(items);
    try {
      const results = await this.client.executeBatch(operations, {
        continueOnError: true,
        signal: stop.signal,
      });
      items.forEach((item, index) => again.push(...this.settle(item, results[index])));
    } catch (err) {
      if (stop.signal?.aborted && err === stop.signal.reason) {
        // Not sent again for a stopped caller: the next batch goes without its upsert, and this one did not
        // count as an attempt of the others.
        for (const item of items) item.attempts -= 1;
        this.counters.resent += items.reduce((n, item) => n + item.waiters.length, 0);
        again.push(...items);
      } else if (err instanceof TypeError) {
        // A request that cannot be made: sending it again would not help.
        for (const item of items) again.push(...this.retryOrReject(item, err, false));
      } else {
        const error =
          err instanceof DataverseError
            ? err
            : new DataverseError({ status: 0, message: (err as Error).message, cause: err });
        for (const item of items) again.push(...this.retryOrReject(item, error, error.transient));
      }
    } finally {
      stop.release();
    }
    // Rows to send again go first: they have waited longest.
    this.pending.unshift(...again);
  }

  /** Resolves the item's callers with its result, or answers what to send again. */
  private settle(item: Item, result: BatchOperationResult | undefined): Item[] {
    if (result && result.status >= 200 && result.status < 300 && result.id) {
      const written = { id: result.id, created: result.status === 201 };
      for (const waiter of item.waiters) waiter.resolve(written);
      return [];
    }
    const info = result?.error ?? {
      status: result?.status ?? 0,
      code: '',
      message: 'Dataverse gave no answer for this row',
      transient: true,
    };
    const error = errorFromInfo(info, describe(item));
    // Dataverse sends a Retry-After with every 429; without one, the client's backoff for its try (from 250 ms).
    if (error.status === 429)
      this.heldUntil = Math.max(
        this.heldUntil,
        performance.now() + (error.retryAfterMs ?? backoff(THROTTLE_POLICY, item.attempts)),
      );
    // Two new rows with the same key in flight at once: the loser's second try updates the winner's row.
    const race = item.mode === 'upsert' && isDuplicateKey(error.status, error.code);
    return this.retryOrReject(item, error, error.transient || race);
  }

  private retryOrReject(item: Item, error: Error, retryable: boolean): Item[] {
    if (retryable && item.attempts < this.maxAttempts) {
      this.counters.resent += item.waiters.length;
      return [item];
    }
    if (item.waiters.length > 1 && !retryable) {
      // Which upsert's columns the refusal is about is unknown: each is sent again on its own.
      this.counters.resent += item.waiters.length;
      return item.waiters.map((waiter) => ({
        ...item,
        row: waiter.row,
        attempts: 0,
        waiters: [waiter],
        coalesceKey: undefined,
      }));
    }
    this.counters.failed += item.waiters.length;
    for (const waiter of item.waiters) waiter.reject(error);
    return [];
  }
}

/**
 * The client with its `upsertByKey` going through `batcher` (the other operations go straight to `client`):
 * what the sync handlers get, so that a burst of events writes its rows in `$batch` requests.
 */
export function withBatchedUpserts(client: DataverseClient, batcher: UpsertBatcher): DataverseClient {
  return {
    create: (entitySet, row, options) => client.create(entitySet, row, options),
    update: (entitySet, id, row, options) => client.update(entitySet, id, row, options),
    upsertByKey: (entitySet, key, row, options) =>
      batcher.upsert(entitySet, key, row, options?.mode, options),
    delete: (entitySet, id, options) => client.delete(entitySet, id, options),
    retrieve: (entitySet, id, query, options) => client.retrieve(entitySet, id, query, options),
    retrieveByKey: (entitySet, key, query, options) => client.retrieveByKey(entitySet, key, query, options),
    retrieveMultiple: (entitySet, query, options) => client.retrieveMultiple(entitySet, query, options),
    executeAction: (name, parameters, options) => client.executeAction(name, parameters, options),
    executeBatch: (operations, options) => client.executeBatch(operations, options),
  };
}
