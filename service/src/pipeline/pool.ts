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
import type { EventOutcome, EventSource, InboxEvent, Store } from '../store';
import { readDataverseChange } from '../dataverse/change';
import type { EventHandler, SyncContext } from './handler';
import { classifyFailure, HandlerTimeoutError, retryDelayMs } from './failure';
import { createHandlerRouter } from './routing';

export interface WorkerPoolOptions {
  store: Store;
  handlers: readonly EventHandler[];
  dataverse: DataverseClient;
  /** A Stripe client for an account: the platform's for null, a Connect one otherwise. */
  stripeFor(account: string | null): Stripe;
  logger: Logger;
  settings: WorkerSettings;
  metrics?: Metrics;
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

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { store, logger, settings, metrics } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const owner = options.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const router = createHandlerRouter(options.handlers);
  const active = new Map<number, Promise<void>>();
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | null = null;
  // A wake-up that came while the loop was busy claiming: the next sleep returns at once.
  let wakePending = false;
  let heartbeat: NodeJS.Timeout | undefined;

  const wake = () => {
    const resolve = wakeUp;
    wakeUp = null;
    if (resolve) resolve();
    else wakePending = true;
  };
  const sleep = (ms: number) =>
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
    });

  async function loop(): Promise<void> {
    while (running) {
      wakePending = false;
      const free = settings.concurrency - active.size;
      let claimedAll = false;
      if (free > 0) {
        try {
          const claimed = await store.claimEvents({ owner, limit: free, leaseMs: settings.leaseMs });
          for (const event of claimed) begin(event);
          claimedAll = claimed.length === free;
        } catch (error) {
          logger.error({ err: error, worker: owner }, 'claiming events failed; will try again');
        }
      }
      if (!running) break;
      // Full slots or an empty queue: wait for a finished event, new work, or the poll interval.
      if (!claimedAll || settings.concurrency - active.size <= 0) await sleep(settings.pollMs);
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
        wake();
      });
    active.set(event.id, work);
  }

  async function processEvent(event: InboxEvent): Promise<void> {
    const log = logger.child({
      eventId: event.eventId,
      source: event.source,
      account: event.account || undefined,
      type: event.type,
      attempt: event.attempts,
    });
    const startedAtMs = now();
    metrics?.claimLatency.observe(
      Math.max(0, startedAtMs - Math.max(event.nextAttemptAtMs, event.receivedAtMs)) / 1000,
    );
    const finish = async (outcome: EventOutcome, stampObject = false) => {
      const recorded = await store.completeEvent({
        event,
        owner,
        outcome,
        startedAtMs,
        finishedAtMs: now(),
        stampObject,
      });
      if (!recorded)
        log.warn(
          { outcome: outcome.kind },
          'lease lost before the outcome was recorded; another worker owns the event',
        );
      return recorded;
    };

    if (event.attempts > settings.retry.maxAttempts) {
      // Claimed this often without an outcome: its worker died each time (a poison event?).
      const error = `Abandoned after ${event.attempts - 1} attempts that never finished (worker stopped or crashed each time)`;
      if (await finish({ kind: 'dead', error, code: 'abandoned' }))
        metrics?.deadLettered.inc({ type: event.type });
      log.error({ outcome: 'dead' }, error);
      return;
    }

    let payloadMayBeStale = false;
    if (event.source === 'stripe' && event.objectId !== '') {
      const stamp = await store.getObjectStamp(event.source, event.account, event.objectId);
      // Stripe's `created` has whole seconds and its event ids are random, so two events of one second have
      // no known order: only a strictly older event is superseded. One of the same second is applied, and
      // its handler maps the object as Stripe has it now rather than the payload, which may be the older.
      payloadMayBeStale = stamp !== null && stamp.eventCreatedMs === event.eventCreatedMs;
      if (stamp && stamp.eventCreatedMs > event.eventCreatedMs) {
        await finish({ kind: 'superseded', by: stamp });
        metrics?.processed.inc({ type: event.type, outcome: 'superseded' });
        log.info(
          { outcome: 'superseded', appliedEventId: stamp.eventId },
          'older than the last applied event of its object; not applied',
        );
        return;
      }
    }

    const handler = router.route(event.type, event.source);
    if (!handler) {
      await finish({ kind: 'ignored' });
      log.info({ outcome: 'ignored' }, 'no handler takes this event type');
      return;
    }

    const context: SyncContext = {
      dataverse: options.dataverse,
      stripeFor: options.stripeFor,
      log,
      payloadMayBeStale,
    };
    const timer = metrics?.handlerDuration.startTimer({ type: event.type });
    try {
      await withTimeout(runHandler(handler, event, context, options.stripeFor), settings.handlerTimeoutMs);
    } catch (error) {
      timer?.();
      const failure = classifyFailure(error);
      metrics?.failed.inc({ type: event.type, transient: String(failure.transient) });
      if (failure.transient && event.attempts < settings.retry.maxAttempts) {
        const delay = retryDelayMs(event.attempts, settings.retry, failure.retryAfterMs, random);
        await finish({
          kind: 'retry',
          error: failure.message,
          code: failure.code,
          nextAttemptAtMs: now() + delay,
        });
        log.warn(
          { outcome: 'retry', code: failure.code, retryInMs: delay, handler: handler.resource },
          failure.message,
        );
        return;
      }
      const error_ = failure.transient
        ? `${failure.message} (gave up after ${event.attempts} attempts)`
        : failure.message;
      if (await finish({ kind: 'dead', error: error_, code: failure.code }))
        metrics?.deadLettered.inc({ type: event.type });
      log.error({ outcome: 'dead', code: failure.code, handler: handler.resource }, error_);
      return;
    }
    timer?.();
    await finish({ kind: 'applied' }, event.source === 'stripe');
    metrics?.processed.inc({ type: event.type, outcome: 'applied' });
    log.info({ outcome: 'applied', handler: handler.resource, ms: now() - startedAtMs }, 'event applied');
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
      // Keep the leases of long handlers alive; a dead process stops renewing and its events come back.
      heartbeat = setInterval(
        () => {
          if (active.size === 0) return;
          store
            .extendLeases(owner, [...active.keys()], now() + settings.leaseMs)
            .catch((error) => logger.warn({ err: error, worker: owner }, 'renewing leases failed'));
        },
        Math.max(50, Math.floor(settings.leaseMs / 3)),
      );
      heartbeat.unref();
      logger.info({ worker: owner, concurrency: settings.concurrency }, 'workers started');
    },
    notify() {
      if (running) wake();
    },
    async stop(stopOptions = {}) {
      const graceMs = stopOptions.graceMs ?? settings.shutdownGraceMs;
      running = false;
      wake();
      await loopDone;
      if (active.size > 0) {
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
      if (heartbeat) clearInterval(heartbeat);
      logger.info({ worker: owner }, 'workers stopped');
    },
  };
}

/** Hands the inbox event to its handler: a Dataverse change read from its context, or a Stripe event. */
async function runHandler(
  handler: EventHandler,
  event: InboxEvent,
  context: SyncContext,
  stripeFor: (account: string | null) => Stripe,
): Promise<void> {
  if (handler.source === 'dataverse') {
    const change = readDataverseChange(JSON.parse(event.payload));
    // The inbox's own id and time: the same as the context's, kept when Dataverse left them out.
    await handler.handle({ ...change, id: event.eventId, occurredAtMs: event.eventCreatedMs }, context);
    return;
  }
  await handler.handle(await toStripeEvent(event, stripeFor), context);
}

/** The v1 event as sent, or for a thin notification a v1-shaped event with its fetched object. */
async function toStripeEvent(
  event: InboxEvent,
  stripeFor: (account: string | null) => Stripe,
): Promise<Stripe.Event> {
  const body = JSON.parse(event.payload);
  if (body.object !== 'v2.core.event') return body as Stripe.Event;
  const client = stripeFor(event.account || null);
  const notification = client.parseEventNotificationWithoutVerification(event.payload) as unknown as {
    fetchRelatedObject(): Promise<unknown>;
  };
  const related = await notification.fetchRelatedObject();
  return {
    id: body.id,
    object: 'event',
    type: body.type,
    created: Math.floor(event.eventCreatedMs / 1000),
    livemode: Boolean(body.livemode),
    account: event.account || undefined,
    api_version: null,
    pending_webhooks: 0,
    request: null,
    data: { object: related },
  } as unknown as Stripe.Event;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError(ms)), ms);
    // A handler abandoned at shutdown must not keep the process alive.
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
