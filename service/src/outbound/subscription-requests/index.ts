/**
 * Subscriptions from Dynamics 365: a user's `stc_subscriptionrequest` row (on an account or contact, a sales
 * order, or a synced Stripe subscription) becomes one Stripe call under policy: create a subscription (from a
 * price or product, or from the order's recurring lines: order.ts), cancel it now or at period end, pause or
 * resume its collection, change an item's quantity (with prorations). The row moves as every
 * governed request does (../governed-requests.ts):
 *
 *   Pending ──policy──▶ Rejected | Processing ──Stripe──▶ Succeeded (the subscription id on the row) | Failed
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: the same call under the same
 *   idempotency key, which Stripe answers with the first outcome
 *
 * What the change does to the subscription comes back as Stripe events through the billing handler, which
 * writes the stc_subscription and stc_subscriptionitem rows.
 */
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, type OutboundSettings } from '../../config/outbound';
import { SubscriptionRequest } from '@stc/solution/tables';
import { governedRequestHandler } from '../governed-requests';
import { userWithRoles } from '../refund-requests/requests';
import { readFacts } from './facts';
import { ensureStripeCustomer } from '../customers';
import {
  decideSubscriptionChange,
  planChange,
  type Plan,
  type StripeChange,
  type SubscriptionRules,
} from './policy';
import {
  finish,
  readRequest,
  Status,
  SUBSCRIPTION_REQUESTS,
  transition,
  type SubscriptionRequestRow,
} from './requests';
import { makeChange, type ResolvedChange } from './stripe-subscription';

export {
  decideSubscriptionChange,
  planChange,
  quantityOf,
  type StripeChange,
  type SubscriptionDecision,
} from './policy';
export { ORDER_METADATA_KEY, REQUEST_METADATA_KEY } from './stripe-subscription';
export { orderItems, type OrderFacts, type OrderItems } from './order';

const R = SubscriptionRequest.col;

export interface SubscriptionRequestsHandlerOptions {
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

interface Governance {
  rules: SubscriptionRules;
  now: () => Date;
}

export function createSubscriptionRequestsHandler(
  options: SubscriptionRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const defaults = DEFAULT_OUTBOUND_SETTINGS;
  const g: Governance = {
    rules: {
      requesterRoles: settings.subscriptionRequesterRoles ?? defaults.subscriptionRequesterRoles ?? [],
      livemode: settings.stripeMode === 'live',
      pauseBehavior: settings.subscriptionPauseBehavior ?? defaults.subscriptionPauseBehavior ?? 'void',
    },
    now: options.now ?? (() => new Date()),
  };
  return governedRequestHandler({
    resource: 'subscription-requests',
    table: SUBSCRIPTION_REQUESTS,
    settings,
    read: readRequest,
    decide: (request, context) => decide(g, request, context),
    resume: (request, context) => resume(g, request, context),
  });
}

async function decide(g: Governance, request: SubscriptionRequestRow, context: SyncContext): Promise<void> {
  const { dataverse, log } = context;
  const [requester, facts] = await Promise.all([
    userWithRoles(dataverse, request.createdBy),
    readFacts(dataverse, request),
  ]);
  const decision = decideSubscriptionChange(requester, request, facts, g.rules);
  log.info(
    { requestId: request.id, action: request.action, decision: decision.kind },
    'subscription request decided',
  );
  if (decision.kind === 'reject') {
    await transition(dataverse, request, { status: 'rejected', reason: decision.reason, at: g.now() });
    return;
  }
  await transition(dataverse, request, { status: 'processing', livemode: g.rules.livemode });
  await act(g, request.id, decision.plan, context);
}

/** A request left in Processing: its facts are read again and the same call made under the same key. */
async function resume(g: Governance, request: SubscriptionRequestRow, context: SyncContext): Promise<void> {
  const planned = planChange(request, await readFacts(context.dataverse, request), g.rules);
  if ('problem' in planned) await fail(g, request.id, planned.problem, context);
  else await act(g, request.id, planned, context);
}

async function act(g: Governance, requestId: string, plan: Plan, context: SyncContext): Promise<void> {
  const stripe = context.stripeFor(plan.stripeAccount);
  const change = await resolveCustomer(plan.change, context);
  if ('problem' in change) {
    await fail(g, requestId, change.problem, context);
    return;
  }
  const outcome = await makeChange(stripe, change, requestId);
  if ('refusal' in outcome) {
    await fail(g, requestId, outcome.refusal, context);
    return;
  }
  const { made } = outcome;
  await finish(context.dataverse, requestId, {
    [R.status]: Status.succeeded,
    [R.stripeSubscriptionId]: made.subscriptionId,
    [R.failureReason]: null,
    [R.decidedOn]: g.now().toISOString(),
    ...(made.livemode === null ? {} : { [R.liveMode]: made.livemode }),
  });
  context.log.info(
    { requestId, action: plan.change.action, subscription: made.subscriptionId },
    'subscription change made in Stripe',
  );
}

/** An order's customer marked Create in Stripe gets its Stripe customer first, as the customer sync makes it. */
async function resolveCustomer(
  change: StripeChange,
  context: SyncContext,
): Promise<ResolvedChange | { problem: string }> {
  if (change.action !== 'create_from_order' || 'stripeId' in change.customer) return change as ResolvedChange;
  const { kind, id } = change.customer.ensure;
  const stripeId = await ensureStripeCustomer(kind, id, context);
  if (!stripeId)
    return { problem: `The ${kind} has no Stripe customer and is no longer marked Create in Stripe.` };
  return { ...change, customer: { stripeId } };
}

async function fail(g: Governance, requestId: string, reason: string, context: SyncContext): Promise<void> {
  context.log.warn({ requestId, reason }, 'subscription request failed');
  await finish(context.dataverse, requestId, {
    [R.status]: Status.failed,
    [R.failureReason]: reason,
    [R.decidedOn]: g.now().toISOString(),
  });
}
