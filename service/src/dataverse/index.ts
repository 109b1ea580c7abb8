export * from './types';
export {
  changeId,
  dataverseEventType,
  missingContextFields,
  parseDataverseDate,
  readDataverseChange,
  sameId,
  type DataverseChange,
  type RemoteExecutionContext,
} from './change';
export { createDataverseClient, MAX_BATCH_OPERATIONS } from './client';
export type {
  DataverseClientOptions,
  DataverseClientStats,
  DataverseLogger,
  DataverseWebApiClient,
  RetryOptions,
} from './client';
export { createCredential, createTokenProvider, scopeFor } from './credential';
export type { CredentialConfig, CredentialKind, TokenProvider, TokenSource } from './credential';
export {
  DataverseError,
  DUPLICATE_KEY,
  isDuplicateKey,
  isTransient,
  MATCHING_RECORD_EXISTS,
  NOT_FOUND,
  NOT_FOUND_BY_KEY,
  parseRetryAfter,
  THROTTLING_CODES,
} from './errors';
export { ConcurrencyLimiter } from './concurrency';
export type { ConcurrencyLimiterOptions, ConcurrencyState } from './concurrency';
export { keyFitsUrl } from './url';
export { createUpsertBatcher, withBatchedUpserts } from './batcher';
export type { UpsertBatcher, UpsertBatcherOptions, UpsertBatcherStats } from './batcher';
