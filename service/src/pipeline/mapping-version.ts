/**
 * The mapping version an event is worked under. The service pins the active mapping set when a handler
 * starts (see mapping-versions/live.ts); everything the handler runs, however deep, can ask which version
 * that is, and the attempt records it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Pins a mapping set for the work and gives its version (the number as text, e.g. "3"). */
export interface MappingPin {
  pin<T>(work: (version: string) => Promise<T>): Promise<T>;
}

const inUse = new AsyncLocalStorage<string>();

/** Runs `work` with `version` as the mapping version in use. */
export function withMappingVersion<T>(version: string, work: () => Promise<T>): Promise<T> {
  return inUse.run(version, work);
}

/** The mapping version of the event being worked on here, e.g. "3"; null outside an event's handler. */
export function mappingVersionInUse(): string | null {
  return inUse.getStore() ?? null;
}
