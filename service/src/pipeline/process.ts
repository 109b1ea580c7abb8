/**
 * Working one claimed inbox event: the abandoned-attempts guard, the stamp check that supersedes an older
 * Stripe event, the handler run under its timeout, and the outcome recorded (applied, skipped when the
 * handler wrote nothing, retry, dead, ignored).
 */
import type Stripe from 'stripe';
import type { WorkerSettings } from '../config';
import type { DataverseClient } from '../dataverse/types';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../observability/log';
import type {
  BurstEvent,
  DataverseWriteRecord,
  EventOutcome,
  InboxEvent,
  ObjectState,
  Store,
} from '../store';
import { freshWriteUnderWay } from '../store';
import { readDataverseChange } from '../dataverse/change';
import type { EventHandler, SyncContext } from './handler';
import { classifyFailure, HandlerTimeoutError, retryDelayMs } from './failure';
import {
  assertHandlerMayGoOn,
  createFence,
  HandlerStoppedError,
  runFenced,
  type HandlerFence,
} from './fence';
import { collectingLineage, recordingDataverse } from './lineage';
import type { HandlerRouter } from './routing';
import { withMappingVersion, type MappingPin } from './mapping-version';

export interface EventProcessorDeps {
  store: Store;
  logger: Logger;
  settings: WorkerSettings;
  metrics?: Metrics;
  owner: string;
  now: () => number;
  random: () => number;
  router: HandlerRouter;
  mappings?: MappingPin;
  dataverse: DataverseClient;
  stripeFor(account: string | null): Stripe;
}

/** One event being worked: its log, when work began, and how its outcome is recorded. */
interface Job {
  event: InboxEvent;
  log: Logger;
  startedAtMs: number;
  /** The Dataverse requests the handler made, recorded with the outcome. */
  writes: DataverseWriteRecord[];
  /** The mapping version the handler ran under, once it started; recorded with the outcome. */
  mappingVersion: string | null;
  /** Other objects the handler began to write from Stripe (one entry per write); ended with the outcome. */
  freshWrites: string[];
  /** Records the outcome under the lease; false (and a warning) when the lease was lost. */
  finish(outcome: EventOutcome, stampObject?: boolean): Promise<boolean>;
}

/**
 * Works one claimed event to its recorded outcome; rejects only when recording the outcome fails. `fence` is
 * the handler's (see fence.ts): the pool stops it when it gives the event back at shutdown.
 */
export function createEventProcessor(
  deps: EventProcessorDeps,
): (event: InboxEvent, fence?: HandlerFence) => Promise<void> {
  const { metrics, settings } = deps;
  // Every request a handler makes is recorded in its event's lineage.
  const dataverse = recordingDataverse(deps.dataverse);
  return async (event, fence = createFence()) => {
    const job = startJob(deps, event);
    if (event.attempts > settings.retry.maxAttempts && !(await waitingOutOutage(deps, event)))
      return abandon(deps, job);
    const { payloadMayBeStale, seen } = await checkStamp(deps, job);
    if (payloadMayBeStale === 'superseded') return;

    const handler = deps.router.route(event.type, event.source);
    if (!handler) {
      await job.finish({ kind: 'ignored' });
      job.log.info({ outcome: 'ignored' }, 'no handler takes this event type');
      return;
    }

    const wrote: Wrote = { nothing: null };
    const context = contextFor(deps, job, dataverse, payloadMayBeStale, seen, wrote);
    const timer = metrics?.handlerDuration.startTimer({ type: event.type });
    const runWith = (handlerContext: SyncContext) => () =>
      withTimeout(
        runFenced(fence, () =>
          collectingLineage(job.writes, () => runHandler(handler, event, handlerContext, deps.stripeFor)),
        ),
        settings.handlerTimeoutMs,
        fence,
      );
    const pinned = async (run: () => Promise<void>) => {
      if (deps.mappings)
        await deps.mappings.pin((version) => {
          job.mappingVersion = version;
          return withMappingVersion(version, run);
        });
      else await run();
    };
    try {
      await runWhileWrittenMeanwhile(deps, job, seen, wrote, context, (c) => pinned(runWith(c)));
    } catch (error) {
      timer?.();
      // Given back at shutdown: the store has the event again, for the next claim; nothing to record.
      if (fence.stopped?.code === 'shutdown') {
        job.log.warn({ handler: handler.resource }, fence.stopped.message);
        // Its writes of other objects end here: the next claim of the event begins its own.
        await endWrites(deps.store, job, job.freshWrites);
        return;
      }
      return recordFailure(deps, job, handler, error, context);
    }
    timer?.();
    if (wrote.nothing !== null) return recordSkipped(deps, job, handler, wrote.nothing);
    await job.finish({ kind: 'applied' }, event.source === 'stripe');
    metrics?.processed.inc({ type: event.type, outcome: 'applied' });
    job.log.info(
      {
        outcome: 'applied',
        handler: handler.resource,
        ms: deps.now() - job.startedAtMs,
        mappingVersion: job.mappingVersion ?? undefined,
      },
      'event applied',
    );
  };
}

/**
 * Ends the writes of other objects an attempt began when it records no outcome (given back at shutdown, or
 * its lease lost); a failure only costs reads (the objects' events read Stripe), so it is logged, not thrown.
 */
async function endWrites(store: Store, { event, log }: Job, objectIds: readonly string[]): Promise<void> {
  if (!objectIds.length) return;
  try {
    await store.endFreshWrites(event, objectIds);
  } catch (error) {
    log.warn({ err: error, objectIds }, 'the writes this attempt began could not be ended');
  }
}

/** What the handler said it wrote: nothing, with the reason, or (null) something. */
interface Wrote {
  nothing: string | null;
}

/** The handler's context for the job: where it reads and writes, what its event's copies may tell. */
function contextFor(
  deps: EventProcessorDeps,
  job: Job,
  dataverse: DataverseClient,
  payloadMayBeStale: boolean,
  seen: ObjectState | null,
  wrote: Wrote,
): SyncContext {
  const { event } = job;
  return {
    dataverse,
    stripeFor: deps.stripeFor,
    log: job.log,
    payloadMayBeStale,
    ...(event.burst && burstStillNewest(event.burst, event.burstFreshWrites, seen)
      ? { burst: event.burst.map((e) => JSON.parse(e.payload) as Stripe.Event) }
      : {}),
    nothingWritten: (reason) => void (wrote.nothing ??= reason),
    writingFreshStateOf: async (objectId) => {
      if (event.source !== 'stripe' || objectId === event.objectId) return;
      // A handler stopped (timed out, or given back at shutdown) begins nothing: its attempt has ended.
      assertHandlerMayGoOn();
      // Listed first: an attempt that times out meanwhile ends it with its outcome.
      job.freshWrites.push(objectId);
      try {
        await deps.store.beginFreshWrite(event, objectId);
      } catch (error) {
        job.freshWrites.splice(job.freshWrites.lastIndexOf(objectId), 1);
        throw error;
      }
    },
  };
}

/**
 * Runs the handler, then again, reading Stripe, while another event wrote the object from Stripe meanwhile
 * (see writtenMeanwhile), at most RERUNS times; past them, the other events' own reads write it last.
 */
async function runWhileWrittenMeanwhile(
  deps: EventProcessorDeps,
  job: Job,
  seen: ObjectState | null,
  wrote: Wrote,
  context: SyncContext,
  run: (context: SyncContext) => Promise<void>,
): Promise<void> {
  const { event, log } = job;
  await run(context);
  let before = seen;
  for (let rerun = 0; ; rerun++) {
    const now = await writtenMeanwhile(deps, job, before, wrote);
    if (!now) return;
    if (rerun === RERUNS) {
      log.warn(
        { objectId: event.objectId },
        'the object is still being written from Stripe by other events; their own reads write it last',
      );
      return;
    }
    log.info(
      { objectId: event.objectId },
      'the object was written from Stripe by another event meanwhile; written again from Stripe',
    );
    before = now;
    await run({ ...context, payloadMayBeStale: true, burst: undefined });
  }
}

function startJob(deps: EventProcessorDeps, event: InboxEvent): Job {
  const { store, owner, now } = deps;
  const log = deps.logger.child({
    eventId: event.eventId,
    source: event.source,
    account: event.account || undefined,
    type: event.type,
    attempt: event.attempts,
  });
  const startedAtMs = now();
  deps.metrics?.claimLatency.observe(
    Math.max(0, startedAtMs - Math.max(event.nextAttemptAtMs, event.receivedAtMs)) / 1000,
  );
  const writes: DataverseWriteRecord[] = [];
  const finish = async (outcome: EventOutcome, stampObject = false) => {
    const freshWrites = job.freshWrites.slice();
    const recorded = await store.completeEvent({
      event,
      owner,
      outcome,
      startedAtMs,
      finishedAtMs: now(),
      stampObject,
      ...(freshWrites.length ? { freshWrites } : {}),
      // A copy: requests still settling after a timeout do not change what is being written.
      writes: writes.slice(),
      mappingVersion: job.mappingVersion,
    });
    if (!recorded) {
      log.warn(
        { outcome: outcome.kind },
        'lease lost before the outcome was recorded; another worker owns the event',
      );
      // Nothing of the attempt was recorded: its writes of other objects end here.
      await endWrites(store, job, freshWrites);
    }
    return recorded;
  };
  const job: Job = { event, log, startedAtMs, writes, mappingVersion: null, freshWrites: [], finish };
  return job;
}

/**
 * Past its attempts, an event may still be waiting out an outage (see recordFailure): within `retry.outageMs`
 * of its arrival, and its previous claim recorded a retry (a worker that dies on the event records nothing, and
 * a dead letter queued again starts its attempts over after a `dead` record).
 */
async function waitingOutOutage(deps: EventProcessorDeps, event: InboxEvent): Promise<boolean> {
  if (deps.now() - event.receivedAtMs >= (deps.settings.retry.outageMs ?? 0)) return false;
  const previous = (await deps.store.eventAttempts(event.id)).at(-1);
  return previous?.outcome === 'retry' && previous.attempt === event.attempts - 1;
}

/** Claimed this often without an outcome: its worker died each time (a poison event?). */
async function abandon(deps: EventProcessorDeps, { event, log, finish }: Job): Promise<void> {
  const error = `Abandoned after ${event.attempts - 1} attempts that never finished (worker stopped or crashed each time)`;
  if (await finish({ kind: 'dead', error, code: 'abandoned' }))
    deps.metrics?.deadLettered.inc({ type: event.type });
  log.error({ outcome: 'dead' }, error);
}

/**
 * The stamp check of a Stripe event about an object: `superseded` (recorded) when an event of a later second
 * was applied to the object, otherwise whether the payload may be stale: one of the same second was applied,
 * or another object's event is writing the object from Stripe (begun, its attempt not ended), whose read may
 * be newer than this payload. `seen` is the object's state then (see writtenMeanwhile).
 */
async function checkStamp(
  deps: EventProcessorDeps,
  { event, log, finish }: Job,
): Promise<{ payloadMayBeStale: boolean | 'superseded'; seen: ObjectState | null }> {
  if (event.source !== 'stripe' || event.objectId === '') return { payloadMayBeStale: false, seen: null };
  const seen = await deps.store.getObjectState(event.source, event.account, event.objectId);
  const { stamp } = seen;
  // Stripe's `created` has whole seconds and its event ids are random, so two events of one second have
  // no known order: only a strictly older event is superseded. One of the same second is applied, and
  // its handler maps the object as Stripe has it now rather than the payload, which may be the older.
  if (stamp && stamp.eventCreatedMs > event.eventCreatedMs) {
    await finish({ kind: 'superseded', by: stamp });
    deps.metrics?.processed.inc({ type: event.type, outcome: 'superseded' });
    log.info(
      { outcome: 'superseded', appliedEventId: stamp.eventId },
      'older than the last applied event of its object; not applied',
    );
    return { payloadMayBeStale: 'superseded', seen };
  }
  const sameSecond = stamp !== null && stamp.eventCreatedMs === event.eventCreatedMs;
  return { payloadMayBeStale: sameSecond || freshWriteUnderWay(seen), seen };
}

/**
 * Whether the burst's copies still tell the object's newest state at the stamp check: the claim gave the burst
 * when no event applied before it shared a second with them (the stamp older than all of them, or one of the
 * burst's own, superseded at claim) and no write from Stripe was under way. A stamp of another event of such a
 * second was applied since the claim, and a write from Stripe under way, or begun since the claim (even one
 * ended whose event's stamp lost to the burst's by id), may have read the object after the copies: the object
 * is then read.
 */
function burstStillNewest(
  burst: readonly BurstEvent[],
  burstFreshWrites: number | undefined,
  seen: ObjectState | null,
): boolean {
  if (!seen) return true;
  if (freshWriteUnderWay(seen) || seen.freshWritesBegun !== (burstFreshWrites ?? 0)) return false;
  const { stamp } = seen;
  if (!stamp || burst.some((e) => e.eventId === stamp.eventId)) return true;
  return burst.every((e) => e.eventCreatedMs > stamp.eventCreatedMs);
}

/** Runs again, at most, of an event whose object another event wrote from Stripe while it ran. */
const RERUNS = 3;

/**
 * Whether another event's handler wrote the event's object from Stripe while this one ran (a dispute or a
 * refund re-syncing its payment: it counts the write as begun before it writes, and its stamp moves when it is
 * applied): this event's write, made from its copies or from a read older than the other's, may have landed
 * after the newer state, and the object is to be written again as Stripe has it now. Returns the object's
 * state now, the baseline of that run, or null when nothing else wrote it.
 */
async function writtenMeanwhile(
  deps: EventProcessorDeps,
  { event }: Job,
  before: ObjectState | null,
  wrote: Wrote,
): Promise<ObjectState | null> {
  if (!before || wrote.nothing !== null) return null;
  const now = await deps.store.getObjectState(event.source, event.account, event.objectId);
  const moved =
    (now.stamp?.eventId ?? null) !== (before.stamp?.eventId ?? null) ||
    now.freshWritesBegun !== before.freshWritesBegun;
  return moved ? now : null;
}

/** The handler wrote nothing: recorded and counted as `skipped` with its reason, never as applied. */
async function recordSkipped(
  deps: EventProcessorDeps,
  { event, log, finish, startedAtMs }: Job,
  handler: EventHandler,
  reason: string,
): Promise<void> {
  await finish({ kind: 'skipped', reason });
  deps.metrics?.processed.inc({ type: event.type, outcome: 'skipped' });
  log.info(
    { outcome: 'skipped', handler: handler.resource, ms: deps.now() - startedAtMs },
    `nothing written: ${reason}`,
  );
}

/** Past the attempt budget, a retry during an outage waits at most this long (or RETRY_MAX_MS if shorter). */
const OUTAGE_RETRY_MAX_MS = 5 * 60_000;

/**
 * A handler failed: a transient failure with attempts left is retried later, anything else dead-lettered.
 * A dependency that does not answer (an outage) is every event's trouble, not this one's: past its attempts
 * the event keeps waiting for the dependency, retried at most 5 minutes apart, until `retry.outageMs` after
 * it arrived, so an outage longer than the attempt budget fills no dead-letter queue.
 */
async function recordFailure(
  deps: EventProcessorDeps,
  { event, log, finish }: Job,
  handler: EventHandler,
  error: unknown,
  context: SyncContext,
): Promise<void> {
  const { metrics, settings } = deps;
  const failure = classifyFailure(error);
  metrics?.failed.inc({ type: event.type, transient: String(failure.transient) });
  const attemptsLeft = event.attempts < settings.retry.maxAttempts;
  const outageLasting =
    failure.unavailable && deps.now() - event.receivedAtMs < (settings.retry.outageMs ?? 0);
  if (failure.transient && (attemptsLeft || outageLasting)) {
    const backoff = retryDelayMs(event.attempts, settings.retry, failure.retryAfterMs, deps.random);
    const delay = attemptsLeft
      ? backoff
      : Math.min(backoff, Math.max(OUTAGE_RETRY_MAX_MS, failure.retryAfterMs ?? 0));
    await finish({
      kind: 'retry',
      error: failure.message,
      code: failure.code,
      nextAttemptAtMs: deps.now() + delay,
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
  if (handler.source === 'dataverse' && handler.onDeadLettered) {
    try {
      const change = readDataverseChange(JSON.parse(event.payload));
      await handler.onDeadLettered({ ...change, id: event.eventId }, error_, context);
    } catch (noted) {
      log.warn({ handler: handler.resource, err: noted }, 'the dead letter could not be noted on its row');
    }
  }
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

/** Past `ms` the handler's failure is a timeout, and its fence refuses whatever it asks for afterwards. */
function withTimeout<T>(work: Promise<T>, ms: number, fence: HandlerFence): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new HandlerTimeoutError(ms);
      fence.stop(
        new HandlerStoppedError(`${error.message}; its later requests are not sent`, 'handler_timeout'),
      );
      reject(error);
    }, ms);
    // A handler abandoned at shutdown must not keep the process alive.
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
