/**
 * Test clocks (`/v1/test_helpers/test_clocks`): customers and subscriptions created on a clock live at its
 * frozen time, and advancing it runs what Stripe's schedule would have run meanwhile, in time order: each
 * period end renews its subscription (invoice, payment) and each scheduled retry of a past-due invoice tries
 * again. Stripe advances in the background; here the work is done before the advance request answers, which
 * still shows `status: advancing` (a retrieve afterwards shows `ready`).
 */
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest } from '../errors';
import { listObjects, type StripeList } from '../list';
import type { ObjectOperation } from '../operations';
import { nullableString, type Params, requiredInteger } from '../params';
import type { StripeObject } from '../store';
import { addInterval, collectSubscriptionInvoice, finalizeAndCollect, renewSubscription } from './billing';
import { cloneJson } from '../clone';

const TEST_CLOCK = 'test_helpers.test_clock';
/** Stripe deletes a test clock and its objects 30 days after it was created. */
const LIFETIME_SECONDS = 30 * 24 * 3600;
const RENEWING = ['active', 'trialing', 'past_due'];
/** Stripe finalizes and charges a renewal invoice an hour after it opens it as a draft. */
const DRAFT_SECONDS = 3600;

export function createTestClock(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  if (ctx.scope.livemode) throw invalidRequest('Test clocks are only available in test mode.');
  const created = engine.wallTime();
  const clock: StripeObject = {
    id: engine.newId('clock'),
    object: TEST_CLOCK,
    created,
    deletes_after: created + LIFETIME_SECONDS,
    frozen_time: requiredInteger(params, 'frozen_time', 0),
    livemode: false,
    name: nullableString(params, 'name') ?? null,
    status: 'ready',
    status_details: {},
  };
  ctx.scope.insert(clock);
  engine.emit(ctx, `${TEST_CLOCK}.created`, clock);
  return clock;
}

export function listTestClocks(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  return listObjects(ctx.scope, TEST_CLOCK, params, '/v1/test_helpers/test_clocks', []);
}

/** Deleting a clock deletes the customers on it and their subscriptions (without events), as Stripe does. */
export const deleteTestClock: ObjectOperation<StripeObject> = (engine, ctx, id) => {
  const clock = engine.get(ctx, TEST_CLOCK, id);
  for (const type of ['subscription', 'invoice', 'invoiceitem', 'customer']) {
    for (const object of [...ctx.scope.all(type)]) {
      if (object.test_clock !== id) continue;
      ctx.scope.remove(object);
      ctx.scope.deleted.set(object.id, type);
    }
  }
  ctx.scope.remove(clock);
  ctx.scope.deleted.set(id, TEST_CLOCK);
  engine.emit(ctx, `${TEST_CLOCK}.deleted`, clock);
  return { id, object: TEST_CLOCK, deleted: true };
};

export const advanceTestClock: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const clock = engine.get(ctx, TEST_CLOCK, id);
  const target = requiredInteger(params, 'frozen_time', 0);
  if (clock.status !== 'ready') {
    throw invalidRequest(
      `The test clock ${id} is ${clock.status}; wait until it is ready.`,
      undefined,
      'test_clock_not_ready',
    );
  }
  if (target <= clock.frozen_time) {
    throw invalidRequest(
      `The frozen_time must be after the test clock's current frozen_time (${clock.frozen_time}).`,
      'frozen_time',
    );
  }
  const limit = advanceLimit(ctx, clock);
  if (target > limit) {
    throw invalidRequest(
      `Cannot advance the test clock more than two intervals of its shortest subscription (or two years) at a ` +
        `time: the frozen_time must be at most ${limit}.`,
      'frozen_time',
    );
  }
  engine.update(
    ctx,
    clock,
    (c) => {
      c.status = 'advancing';
      c.status_details = { advancing: { target_frozen_time: target } };
    },
    `${TEST_CLOCK}.advancing`,
  );
  const answer = cloneJson(clock);
  runUntil(engine, ctx, clock, target);
  engine.update(
    ctx,
    clock,
    (c) => {
      c.frozen_time = target;
      c.status = 'ready';
      c.status_details = {};
    },
    `${TEST_CLOCK}.ready`,
    { automatic: true },
  );
  return answer;
};

/** Two intervals of the clock's shortest subscription from its frozen time; two years without one. */
function advanceLimit(ctx: RequestContext, clock: StripeObject): number {
  const limits = subscriptionsOn(ctx, clock).flatMap((s) =>
    s.items.data.map((item: StripeObject) =>
      addInterval(clock.frozen_time, item.price.recurring.interval, 2 * item.price.recurring.interval_count),
    ),
  );
  return limits.length > 0 ? Math.min(...limits) : addInterval(clock.frozen_time, 'year', 2);
}

function subscriptionsOn(ctx: RequestContext, clock: StripeObject): StripeObject[] {
  return ctx.scope
    .all('subscription')
    .filter((s) => s.test_clock === clock.id && RENEWING.includes(s.status));
}

/**
 * The next thing due on the clock no later than `target`: a period end (the renewal's draft), a draft's
 * finalization an hour later, or a payment retry.
 */
function nextDue(
  engine: StripeEngine,
  ctx: RequestContext,
  clock: StripeObject,
  target: number,
): { at: number; run: () => void } | null {
  let next: { at: number; run: () => void } | null = null;
  const consider = (at: number, run: () => void) => {
    if (at <= target && (next === null || at < next.at)) next = { at, run };
  };
  for (const subscription of subscriptionsOn(ctx, clock)) {
    const end = Math.min(...subscription.items.data.map((i: StripeObject) => i.current_period_end));
    consider(end, () => renewSubscription(engine, ctx, subscription.id, { finalizeAfter: DRAFT_SECONDS }));
    for (const invoice of ctx.scope.all('invoice')) {
      if (invoice.subscription !== subscription.id) continue;
      if (invoice.status === 'draft' && invoice.automatically_finalizes_at !== null) {
        consider(invoice.automatically_finalizes_at, () =>
          finalizeAndCollect(engine, ctx, subscription, invoice),
        );
      }
      if (subscription.status !== 'past_due' || invoice.status !== 'open') continue;
      if (invoice.next_payment_attempt === null) continue;
      consider(invoice.next_payment_attempt, () =>
        collectSubscriptionInvoice(engine, ctx, subscription, invoice),
      );
    }
  }
  return next;
}

/** Everything due up to `target`, earliest first, each at its own time on the clock. */
function runUntil(engine: StripeEngine, ctx: RequestContext, clock: StripeObject, target: number): void {
  for (
    let due = nextDue(engine, ctx, clock, target);
    due !== null;
    due = nextDue(engine, ctx, clock, target)
  ) {
    engine.at(due.at, due.run);
  }
}
