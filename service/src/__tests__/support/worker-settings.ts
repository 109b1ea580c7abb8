/**
 * Worker settings for tests: a few workers polling often, retries a few milliseconds apart and leases long
 * enough for a loaded machine; `overrides` change what one test needs.
 */
import type { WorkerSettings } from '../../config';

export function testWorkerSettings(overrides: Partial<WorkerSettings> = {}): WorkerSettings {
  return {
    concurrency: 4,
    pollMs: 20,
    leaseMs: 5000,
    handlerTimeoutMs: 5000,
    retry: { maxAttempts: 3, baseMs: 5, maxMs: 50 },
    shutdownGraceMs: 2000,
    ...overrides,
  };
}
