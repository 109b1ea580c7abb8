export { createWorkerPool, type WorkerPool, type WorkerPoolOptions } from './pool';
export {
  classifyFailure,
  retryDelayMs,
  PermanentError,
  HandlerTimeoutError,
  type FailureInfo,
} from './failure';
export { createHandlerRouter, type HandlerRouter } from './routing';
export { mappingVersionInUse, withMappingVersion, type MappingPin } from './mapping-version';
export { assertHandlerMayGoOn, HandlerStoppedError } from './fence';
