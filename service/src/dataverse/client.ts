/**
 * The Dataverse Web API client, composed of its parts: the transport (fetch, tokens from @azure/identity,
 * URLs, errors), the throttled sender (adaptive concurrency and retries under the service protection limits),
 * the single-request operations (alternate-key writes, with a safe path for key values that cannot go in a
 * URL) and `$batch` with change sets.
 */
import type { TokenCredential } from '@azure/identity';
import { createBatchExecutor } from './batch';
import { ConcurrencyLimiter, type ConcurrencyState } from './concurrency';
import type { TokenSource } from './credential';
import * as operations from './operations';
import { createThrottledSender, type DataverseLogger, type RetryOptions } from './throttling';
import { createTransport } from './transport';
import type { CallOptions, DataverseClient } from './types';
import { idPath } from './url';

export { MAX_BATCH_OPERATIONS } from './batch';
export type { DataverseLogger, RetryOptions } from './throttling';

export interface DataverseClientOptions {
  /** The Web API root, e.g. `https://org.crm.dynamics.com/api/data/v9.2/`. */
  baseUrl: string;
  /** Where tokens come from: a function, or an @azure/identity credential with `scope`. */
  getToken?: TokenSource;
  credential?: TokenCredential;
  /** Default: the environment's origin + `/.default`. */
  scope?: string;
  /** Upper bound for the adaptive concurrency (Dataverse allows 52 per user). Default 52. */
  maxConcurrency?: number;
  /** Starting concurrency; Microsoft recommends about 10. */
  initialConcurrency?: number;
  /** Per attempt. Default 120 s (Dataverse's own limit is about 2 minutes a request). */
  timeoutMs?: number;
  retry?: RetryOptions;
  logger?: DataverseLogger;
  /** For tests: the `fetch` to use. */
  fetch?: typeof fetch;
  /** Told of every HTTP request sent (retries included): the status (0: no answer) and its duration. */
  onExchange?: (status: number, durationMs: number) => void;
}

export interface DataverseClientStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** 429 answers received. */
  throttled: number;
  retries: number;
  batches: number;
  concurrency: ConcurrencyState;
}

/** The contract plus what operators and benchmarks look at. */
export interface DataverseWebApiClient extends DataverseClient {
  stats(): DataverseClientStats;
  readonly baseUrl: string;
}

export function createDataverseClient(options: DataverseClientOptions): DataverseWebApiClient {
  const transport = createTransport({
    baseUrl: options.baseUrl,
    getToken: options.getToken,
    credential: options.credential,
    scope: options.scope,
    timeoutMs: options.timeoutMs ?? 120_000,
    fetch: options.fetch,
    onExchange: options.onExchange,
  });
  const limiter = new ConcurrencyLimiter({
    initial: options.initialConcurrency ?? 10,
    max: options.maxConcurrency ?? 52,
  });
  const sender = createThrottledSender({ transport, limiter, retry: options.retry, logger: options.logger });
  const api: operations.WebApi = { url: transport.url, send: sender.send };
  const batch = createBatchExecutor(api);
  // Every request of a call carries the caller's signal: the sender asks it before each attempt.
  const apiFor = (opts: CallOptions | undefined) => operations.withSignal(api, opts?.signal);

  return {
    baseUrl: transport.baseUrl,
    create: (entitySet, row, opts) => operations.create(apiFor(opts), entitySet, row),
    update: (entitySet, id, row, opts) => operations.update(apiFor(opts), entitySet, id, row, opts),
    upsertByKey: (entitySet, key, row, opts) =>
      operations.upsertByKey(apiFor(opts), entitySet, key, row, opts),
    delete: (entitySet, id, opts) => operations.remove(apiFor(opts), entitySet, id),
    retrieve: (entitySet, id, query, opts) => operations.getRow(apiFor(opts), idPath(entitySet, id), query),
    retrieveByKey: (entitySet, key, query, opts) =>
      operations.retrieveByKey(apiFor(opts), entitySet, key, query),
    retrieveMultiple: (entitySet, query, opts) => operations.retrieveMultiple(apiFor(opts), entitySet, query),
    executeAction: (name, parameters, opts) => operations.executeAction(apiFor(opts), name, parameters),
    executeBatch: batch.executeBatch,
    stats: () => ({
      requests: transport.requests(),
      ...sender.stats(),
      batches: batch.batches(),
      concurrency: limiter.state(),
    }),
  };
}
