/**
 * The worker pool: claims due events from the store, runs the matching handler, records the outcome.
 * Per-object ordering comes from the store (one event of an object in flight) plus the stamp check here:
 * a Stripe event from an earlier second than the last one applied to its object is `superseded`, never
 * applied; one from the same second is applied with `payloadMayBeStale` set (handlers then read fresh).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type Stripe from 'stripe';
import type { WorkerSettings } from '../config';
import type { DataverseClient } from '../dataverse/types';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../observability/log';
import type { EventSource, InboxEvent, Store } from '../store';
import type { EventHandler } from './handler';
import type { MappingPin } from './mapping-version';
import { createEventProcessor } from './process';
import { createHandlerRouter, type HandlerRouter } from './routing';

export interface WorkerPoolOptions {
  store: Store;
  handlers: readonly EventHandler[];
  dataverse: DataverseClient;
  /** A Stripe client for an account: the platform's for null, a Connect one otherwise. */
  stripeFor(account: string | null): Stripe;
  logger: Logger;
  settings: WorkerSettings;
  metrics?: Metrics;
  /**
   * Pins the mapping set each handler runs with (the active version when it starts), recorded with its
   * attempt; without it attempts record no version.
   */
  mappings?: MappingPin;
  /** Lease owner name, unique per process; default host:pid:random. */
  owner?: string;
  now?: () => number;
  random?: () => number;
}

export interface WorkerPool {
  readonly owner: string;
  /** Whether a handler takes events of this type from this source (others are recorded as `ignored`). */
  takes(type: string, source: EventSource): boolean;
  /** Events being worked on right now. */
  readonly inFlight: number;
  start(): void;
  /** New work is due: claim now instead of at the next poll. */
  notify(): void;
  /**
   * Stops claiming, lets running handlers finish within the grace period, then gives the rest back to the
   * store (another process or the next start takes them). Resolves when the pool is quiet.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * An older event of an object is coalesced into a newer one only when one handler takes both: the newer then
 * does all the older would (a charge.refunded, whose handler writes refunds, is never coalesced into a
 * charge.updated, whose handler writes only the payment).
 */
function coalescesThrough(router: HandlerRouter) {
  return (olderType: string, newerType: string) =>
    olderType === newerType || router.route(olderType, 'stripe') === router.route(newerType, 'stripe');
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { store, logger, settings } = options;
  const now = options.now ?? Date.now;
  const owner = options.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const router = createHandlerRouter(options.handlers);
  const processEvent = createEventProcessor({
    ...options,
    owner,
    now,
    random: options.random ?? Math.random,
    router,
  });
  const coalesces = coalescesThrough(router);
  const active = new Map<number, Promise<void>>();
  const waker = createWaker();
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let heartbeat: NodeJS.Timeout | undefined;

  async function loop(): Promise<void> {
    while (running) {
      waker.clearPending();
      const free = settings.concurrency - active.size;
      let claimedAll = false;
      if (free > 0) {
        try {
          const { leaseMs, gatherMs } = settings;
          const request = { owner, limit: free, leaseMs, gatherMs, coalesces };
          const claimed = await store.claimEvents(request);
          for (const event of claimed) begin(event);
          claimedAll = claimed.length === free;
        } catch (error) {
          logger.error({ err: error, worker: owner }, 'claiming events failed; will try again');
        }
      }
      if (!running) break;
      // Full slots or an empty queue: wait for a finished event, new work, or the poll interval.
      if (!claimedAll || settings.concurrency - active.size <= 0) await waker.sleep(settings.pollMs);
    }
  }

  function begin(event: InboxEvent): void {
    const work = processEvent(event)
      .catch((error) =>
        logger.error(
          { err: error, eventId: event.eventId },
          'recording an outcome failed; the lease will expire and the event be retried',
        ),
      )
      .finally(() => {
        active.delete(event.id);
        waker.wake();
      });
    active.set(event.id, work);
  }

  return {
    owner,
    takes: (type, source) => router.route(type, source) !== null,
    get inFlight() {
      return active.size;
    },
    start() {
      if (running || settings.concurrency <= 0) return;
      running = true;
      loopDone = loop();
      heartbeat = startHeartbeat(options, owner, active, now);
      logger.info({ worker: owner, concurrency: settings.concurrency }, 'workers started');
    },
    notify() {
      if (running) waker.wake();
    },
    async stop(stopOptions = {}) {
      running = false;
      waker.wake();
      await loopDone;
      await drain(options, owner, active, stopOptions.graceMs ?? settings.shutdownGraceMs);
      if (heartbeat) clearInterval(heartbeat);
      logger.info({ worker: owner }, 'workers stopped');
    },
  };
}

/** The claim loop's sleep, which a finished event or new work ends early. */
function createWaker() {
  let wakeUp: (() => void) | null = null;
  // A wake-up that came while the loop was busy claiming: the next sleep returns at once.
  let wakePending = false;
  return {
    clearPending() {
      wakePending = false;
    },
    wake() {
      const resolve = wakeUp;
      wakeUp = null;
      if (resolve) resolve();
      else wakePending = true;
    },
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        if (wakePending) {
          wakePending = false;
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          wakeUp = null;
          resolve();
        }, ms);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

/** Keeps the leases of long handlers alive; a dead process stops renewing and its events come back. */
function startHeartbeat(
  { store, logger, settings }: WorkerPoolOptions,
  owner: string,
  active: Map<number, Promise<void>>,
  now: () => number,
): NodeJS.Timeout {
  const heartbeat = setInterval(
    () => {
      if (active.size === 0) return;
      store
        .extendLeases(owner, [...active.keys()], now() + settings.leaseMs)
        .catch((error) => logger.warn({ err: error, worker: owner }, 'renewing leases failed'));
    },
    Math.max(50, Math.floor(settings.leaseMs / 3)),
  );
  heartbeat.unref();
  return heartbeat;
}

/** Lets running handlers finish within the grace period, then gives the rest of their events back. */
async function drain(
  { store, logger }: WorkerPoolOptions,
  owner: string,
  active: Map<number, Promise<void>>,
  graceMs: number,
): Promise<void> {
  if (active.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const result = await Promise.race([
    Promise.allSettled([...active.values()]).then(() => 'done' as const),
    grace,
  ]);
  clearTimeout(timer);
  if (result === 'timeout' && active.size > 0) {
    const ids = [...active.keys()];
    await store.releaseEvents(owner, ids);
    logger.warn(
      { worker: owner, released: ids.length },
      'handlers still running at shutdown; their events were given back',
    );
  }
}
