export * from './dataverse/types';
export * from './handlers';
export * from './mapping';
export * from './dataverse';
// The pipeline: configuration, store, HTTP app, workers, and the whole service.
export { loadConfig, loadStoreConfig, ConfigError } from './config';
export type { ServiceConfig, StoreConfig, WorkerSettings, RetrySettings, DataverseAuthMode } from './config';
export { createLogger, type Logger } from './observability/log';
export * from './store';
export * from './intake';
export { createApp, type AppDeps } from './intake/app';
export { createMetrics, type Metrics } from './observability/metrics';
export * from './pipeline';
export {
  startService,
  stopOnSignals,
  dataverseClientFor,
  type RunningService,
  type ServiceOverrides,
} from './service';
export { createStripeClients, type StripeFor } from './stripe';
