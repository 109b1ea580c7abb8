export * from './dataverse/types';
export * from './sync';
export * from './mapping';
export * from './dataverse';
// The pipeline: configuration, store, HTTP app, workers, and the whole service.
export { loadConfig, loadStoreConfig, ConfigError } from './config';
export type { ServiceConfig, StoreConfig, WorkerSettings, RetrySettings, DataverseAuthMode } from './config';
export { createLogger, type Logger } from './log';
export * from './store';
export * from './intake';
export { createApp, type AppDeps } from './http/app';
export { createMetrics, type Metrics } from './http/metrics';
export * from './worker';
export {
  startService,
  stopOnSignals,
  dataverseClientFor,
  type RunningService,
  type ServiceOverrides,
} from './service';
export { createStripeClients, type StripeFor } from './stripe';
