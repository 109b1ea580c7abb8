/**
 * The Dataverse client's public contract. The implementation (Web API over HTTP, tokens from
 * @azure/identity) lives beside this file; handlers and tests depend on these types only.
 */

/** A row as the Web API sends and takes it: column logical names, `x@odata.bind`, `_x_value`, annotations. */
export type Row = Record<string, unknown>;

/** An alternate key: column logical name to value, e.g. `{ stc_stripeid: 'pi_1' }`. */
export type KeyValues = Record<string, string | number>;

export interface QueryOptions {
  select?: string[];
  filter?: string;
  orderBy?: string[];
  expand?: string;
  top?: number;
  /** `Prefer: odata.maxpagesize=N`; retrieveMultiple follows @odata.nextLink across pages. */
  pageSize?: number;
  /** `Prefer: odata.include-annotations="*"` */
  includeAnnotations?: boolean;
}

/**
 * How a write by alternate key treats an existing or missing row:
 * - `upsert` (default): create when missing, update when present;
 * - `updateOnly`: `If-Match: *`, 404 when missing;
 * - `createOnly`: `If-None-Match: *`, 412 when present.
 */
export type WriteMode = 'upsert' | 'updateOnly' | 'createOnly';

export interface UpsertResult {
  id: string;
  created: boolean;
}

/** One operation in a `$batch`. Operations in the same `changeSet` are applied atomically. */
export type BatchOperation =
  | { kind: 'create'; entitySet: string; row: Row; contentId?: string; changeSet?: string }
  | {
      kind: 'update';
      entitySet: string;
      id: string;
      row: Row;
      contentId?: string;
      changeSet?: string;
      ifMatch?: string;
    }
  | {
      kind: 'upsert';
      entitySet: string;
      key: KeyValues;
      row: Row;
      mode?: WriteMode;
      contentId?: string;
      changeSet?: string;
    }
  | { kind: 'delete'; entitySet: string; id: string; contentId?: string; changeSet?: string }
  | { kind: 'retrieve'; entitySet: string; id: string; query?: QueryOptions };

export interface BatchOperationResult {
  status: number;
  /** Id of the row written, from OData-EntityId or the body. */
  id?: string;
  body?: unknown;
  error?: DataverseErrorInfo;
}

export interface DataverseErrorInfo {
  status: number;
  /** Dataverse's hexadecimal code, e.g. `0x80060892`; may be `0x0` or empty. */
  code: string;
  message: string;
  /** True when a retry of the same request can succeed (429, 5xx, timeouts). */
  transient: boolean;
  retryAfterMs?: number;
}

/** What every call may carry. */
export interface CallOptions {
  /**
   * The signal of the work making the call (the pipeline gives a handler's fence): once it is aborted nothing
   * more of the call is sent (no further attempt or retry, no row still waiting for a batch) and the call fails
   * with the signal's reason. A request already sent is not recalled.
   */
  signal?: AbortSignal;
}

export interface DataverseClient {
  create(entitySet: string, row: Row, options?: CallOptions): Promise<string>;
  update(
    entitySet: string,
    id: string,
    row: Row,
    options?: { ifMatch?: string } & CallOptions,
  ): Promise<void>;
  /** `PATCH /entitySet(key='value')`, or through `$filter` when a key value cannot go in a URL. */
  upsertByKey(
    entitySet: string,
    key: KeyValues,
    row: Row,
    options?: { mode?: WriteMode } & CallOptions,
  ): Promise<UpsertResult>;
  delete(entitySet: string, id: string, options?: CallOptions): Promise<void>;
  retrieve(entitySet: string, id: string, query?: QueryOptions, options?: CallOptions): Promise<Row | null>;
  retrieveByKey(
    entitySet: string,
    key: KeyValues,
    query?: QueryOptions,
    options?: CallOptions,
  ): Promise<Row | null>;
  retrieveMultiple(entitySet: string, query?: QueryOptions, options?: CallOptions): Promise<Row[]>;
  /**
   * Calls an unbound action (`POST /WinQuote` with its parameters as the body): its JSON answer, or null when it
   * answers 204. Not retried once sent: an action is not idempotent.
   */
  executeAction(name: string, parameters: Row, options?: CallOptions): Promise<unknown>;
  /** Sends the operations in as few `$batch` requests as the limits allow (1,000 a batch). */
  executeBatch(
    operations: BatchOperation[],
    options?: { continueOnError?: boolean } & CallOptions,
  ): Promise<BatchOperationResult[]>;
}
