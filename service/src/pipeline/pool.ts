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
import { createFence, HandlerStoppedError, type HandlerFence } from './fence';
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

/** An event intake just queued. */
export interface QueuedEvent {
  source: EventSource;
  receivedAtMs: number;
}

export interface WorkerPool {
  readonly owner: string;
  /** Whether a handler takes events of this type from this source (others are recorded as `ignored`). */
  takes(type: string, source: EventSource): boolean;
  /** Events being worked on right now. */
  readonly inFlight: number;
  start(): void;
  /**
   * New work was queued: claim now instead of at the next poll. A Stripe event named by `received` is not
   * claimable before its burst has gathered (WORKER_GATHER_MS after it came), so the claim waits until then:
   * waking at each webhook would run a claim that finds nothing, back to back while events flow, in every
   * process.
   */
  notify(received?: QueuedEvent): void;
  /**
   * Stops claiming, lets running handlers finish within the grace period, then gives the rest back to the
   * store (another process or the next start takes them). Resolves when the pool is quiet.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * An older event of an object is coalesced into a newer one only when handling the newer does all the older
 * would: one handler takes both (a charge.refunded, whose handler writes refunds, is never coalesced into a
 * charge.updated, whose handler writes only the payment), and that handler says the newer type stands for the
 * older (`standsFor`: a checkout.session.completed, which writes the order, is never coalesced into an
 * async_payment_failed, which only marks an order written before).
 */
export function coalescesThrough(router: HandlerRouter) {
  return (olderType: string, newerType: string): boolean => {
    if (olderType === newerType) return true;
    const handler = router.stripe(newerType);
    if (router.stripe(olderType) !== handler) return false;
    return handler?.standsFor?.(olderType, newerType) ?? true;
  };
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
  const active = new Map<number, Running>();
  const waker = createWaker();
  const begin = starter(processEvent, active, () => waker.wake(), logger);
  const gathered = createGatherAlarm(settings.gatherMs ?? 0, () => waker.wake(), now);
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
          options.metrics?.claims.inc({ result: claimed.length > 0 ? 'events' : 'empty' });
          for (const event of claimed) begin(event);
          claimedAll = claimed.length === free;
        } catch (error) {
          options.metrics?.claims.inc({ result: 'failed' });
          logger.error({ err: error, worker: owner }, 'claiming events failed; will try again');
        }
      }
      if (!running) break;
      // Full slots or an empty queue: wait for a finished event, new work, or the poll interval.
      if (!claimedAll || settings.concurrency - active.size <= 0) await waker.sleep(settings.pollMs);
    }
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
    notify(received) {
      if (running) gathered.notify(received);
    },
    async stop(stopOptions = {}) {
      running = false;
      waker.wake();
      await loopDone;
      await drain(options, owner, active, stopOptions.graceMs ?? settings.shutdownGraceMs);
      if (heartbeat) clearInterval(heartbeat);
      gathered.cancel();
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

/** Starts working a claimed event, in `active` until its outcome is recorded; `done` is told when it is. */
function starter(
  processEvent: (event: InboxEvent, fence: HandlerFence) => Promise<void>,
  active: Map<number, Running>,
  done: () => void,
  logger: Logger,
) {
  return (event: InboxEvent): void => {
    const fence = createFence();
    const work = processEvent(event, fence)
      .catch((error) =>
        logger.error(
          { err: error, eventId: event.eventId },
          'recording an outcome failed; the lease will expire and the event be retried',
        ),
      )
      .finally(() => {
        active.delete(event.id);
        done();
      });
    active.set(event.id, { work, fence });
  };
}

/** An event being worked on, and its handler's fence. */
interface Running {
  work: Promise<void>;
  fence: HandlerFence;
}

/**
 * Wake-ups for new work. A Stripe event wakes the loop once its burst has gathered, through one timer: it
 * fires at the earliest time asked for, then again at the latest asked for meanwhile, so a steady flow of
 * webhooks costs about one claim per gather period, not one per webhook. Anything else wakes it at once.
 */
function createGatherAlarm(gatherMs: number, wake: () => void, now: () => number) {
  let timer: NodeJS.Timeout | undefined;
  let firesAt = 0;
  let latest = 0;
  const arm = (at: number) => {
    firesAt = at;
    timer = setTimeout(fire, Math.max(0, at - now()));
    timer.unref();
  };
  function fire() {
    timer = undefined;
    // Timers run on a monotonic clock in whole milliseconds: one can fire a millisecond before `now()` (the
    // wall clock, which the claim's gathering also reads) reaches its time, or long before after the wall
    // clock was set back. A claim then would find the burst not yet gathered and the next would wait a poll.
    if (now() < firesAt) return arm(firesAt);
    wake();
    if (latest > firesAt) arm(latest);
  }
  const at = (readyAtMs: number) => {
    latest = Math.max(latest, readyAtMs);
    if (timer === undefined) arm(readyAtMs);
    else if (readyAtMs < firesAt) {
      clearTimeout(timer);
      arm(readyAtMs);
    }
  };
  return {
    notify(received?: QueuedEvent) {
      if (received?.source === 'stripe' && gatherMs > 0) at(received.receivedAtMs + gatherMs);
      else wake();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Keeps the leases of long handlers alive; a dead process stops renewing and its events come back. */
function startHeartbeat(
  { store, logger, settings }: WorkerPoolOptions,
  owner: string,
  active: Map<number, Running>,
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

/** After the grace period, how long stopped handlers get to end on their refused request before the release. */
const SETTLE_MS = 2000;

/**
 * Lets running handlers finish within the grace period. Then stops the rest (their next Dataverse or Stripe
 * request is refused: see fence.ts), waits a moment for those to end and for requests already sent to be
 * answered, and gives their events back: another process, or the next start, takes them.
 */
async function drain(
  { store, logger }: WorkerPoolOptions,
  owner: string,
  active: Map<number, Running>,
  graceMs: number,
): Promise<void> {
  if (active.size === 0) return;
  const settled = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    });
    return Promise.race([
      Promise.allSettled([...active.values()].map((r) => r.work)).then(() => 'done' as const),
      late,
    ]).finally(() => clearTimeout(timer));
  };
  if ((await settled(graceMs)) === 'done' || active.size === 0) return;
  const stopping = [...active.keys()];
  const reason = new HandlerStoppedError(
    'The service is shutting down: the event was given back and this handler sends nothing more',
    'shutdown',
  );
  for (const { fence } of active.values()) fence.stop(reason);
  await settled(Math.min(SETTLE_MS, Math.max(graceMs, 100)));
  await store.releaseEvents(owner, stopping);
  logger.warn(
    { worker: owner, released: stopping.length, stillRunning: active.size },
    'handlers still running at shutdown were stopped; their events were given back',
  );
}
