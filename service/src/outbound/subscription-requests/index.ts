/**
 * Subscriptions from Dynamics 365: a user's `stc_subscriptionrequest` row (on an account or contact, a sales
 * order, or a synced Stripe subscription) becomes one Stripe call under policy: create a subscription (from a
 * price or product, or from the order's recurring lines: order.ts), cancel it now or at period end, pause or
 * resume its collection, change an item's quantity (with prorations). The row moves as every
 * governed request does (../governed-requests.ts):
 *
 *   Pending ──policy──▶ Rejected | Processing ──Stripe──▶ Succeeded (the subscription id on the row) | Failed
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: what Stripe already did for the request
 *   is looked up and completed from, else the same call is made under the same idempotency key
 *
 * Stripe acts on a request once: before every create the customer's subscriptions are looked through for one
 * carrying the request id (`d365_subscriptionrequestid`), which completes the request instead, so neither a
 * retry after Stripe has forgotten the key (24 hours) nor one after the row or its order changed (the same key
 * with other parameters) makes a second subscription or fails a request whose subscription bills. A resumed
 * change (cancel, pause, resume, quantity) is checked against the subscription as Stripe has it, not against
 * its row: a change Stripe made whose answer was lost, or whose outcome could not be written, shows on the row
 * once its events arrive (canceled, paused), and is Succeeded, not refused for it.
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
import { ensureStripeCustomer, refusedByStripe } from '../customers';
import {
  decideSubscriptionChange,
  endedProblem,
  planChange,
  type Plan,
  type StripeChange,
  type SubscriptionRules,
} from './policy';
import type { SubscriptionRequestFacts } from './facts';
import {
  finish,
  readRequest,
  Status,
  SUBSCRIPTION_REQUESTS,
  transition,
  type SubscriptionRequestRow,
} from './requests';
import {
  creatingFor,
  findCreated,
  isChangeOf,
  makeChange,
  stateInStripe,
  type ChangeMade,
  type ResolvedChange,
} from './stripe-subscription';

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

/**
 * A request left in Processing: its facts are read again, and what Stripe did for it already completes it (a
 * subscription it created, found by its id; a change the subscription shows made); otherwise the same call is
 * made under the same key. A create is looked up before its row and order are planned again: one changed
 * since (or no longer valid) does not fail a request whose subscription exists.
 */
async function resume(g: Governance, request: SubscriptionRequestRow, context: SyncContext): Promise<void> {
  const facts = await readFacts(context.dataverse, request);
  const searched = new Set<string>();
  if (request.action === 'create') {
    for (const { customer, account } of customersOf(facts)) {
      const made = await findCreated(context.stripeFor(account), customer, request.id);
      searched.add(customer);
      if (made) {
        await succeed(g, request.id, 'create', made, context, 'found in Stripe');
        return;
      }
    }
  }
  const planned = planChange(request, facts, g.rules, { resuming: true });
  if ('problem' in planned) {
    await fail(g, request.id, planned.problem, context);
    return;
  }
  const { change } = planned;
  if (isChangeOf(change)) {
    const state = await stateInStripe(context.stripeFor(planned.stripeAccount), change);
    if (state.done) {
      await succeed(g, request.id, change.action, state.done, context, 'shown by Stripe already');
      return;
    }
    if (state.ended) {
      await fail(g, request.id, endedProblem(change.action, change.subscription), context);
      return;
    }
  }
  await act(g, request.id, planned, context, searched);
}

/** The Stripe customers a create request may have made its subscription for: the one named, the order's. */
function customersOf(facts: SubscriptionRequestFacts): Array<{ customer: string; account: string | null }> {
  const found = new Map<string, string | null>();
  for (const party of [facts.customer, facts.order?.customer])
    if (party?.stripeCustomerId && !found.has(party.stripeCustomerId))
      found.set(party.stripeCustomerId, party.stripeAccount);
  return [...found].map(([customer, account]) => ({ customer, account }));
}

/**
 * Makes the request's change in Stripe and records the outcome. A create first looks for the subscription
 * the request made already (unless `searched` says that customer was looked through just now).
 */
async function act(
  g: Governance,
  requestId: string,
  plan: Plan,
  context: SyncContext,
  searched: ReadonlySet<string> = new Set(),
): Promise<void> {
  const stripe = context.stripeFor(plan.stripeAccount);
  const change = await resolveCustomer(plan.change, context);
  if ('problem' in change) {
    await fail(g, requestId, change.problem, context);
    return;
  }
  const customer = creatingFor(change);
  const found = customer && !searched.has(customer) ? await findCreated(stripe, customer, requestId) : null;
  if (found) {
    await succeed(g, requestId, change.action, found, context, 'found in Stripe');
    return;
  }
  const outcome = await makeChange(stripe, change, requestId);
  if ('refusal' in outcome) {
    await fail(g, requestId, outcome.refusal, context);
    return;
  }
  await succeed(g, requestId, change.action, outcome.made, context, 'made in Stripe');
}

async function succeed(
  g: Governance,
  requestId: string,
  action: StripeChange['action'],
  made: ChangeMade,
  context: SyncContext,
  how: string,
): Promise<void> {
  await finish(context.dataverse, requestId, {
    [R.status]: Status.succeeded,
    [R.stripeSubscriptionId]: made.subscriptionId,
    [R.failureReason]: null,
    [R.decidedOn]: g.now().toISOString(),
    ...(made.livemode === null ? {} : { [R.liveMode]: made.livemode }),
  });
  context.log.info({ requestId, action, subscription: made.subscriptionId }, `subscription change ${how}`);
}

/** An order's customer marked Create in Stripe gets its Stripe customer first, as the customer sync makes it. */
async function resolveCustomer(
  change: StripeChange,
  context: SyncContext,
): Promise<ResolvedChange | { problem: string }> {
  if (change.action !== 'create_from_order' || 'stripeId' in change.customer) return change as ResolvedChange;
  const { kind, id } = change.customer.ensure;
  let stripeId: string | null;
  try {
    stripeId = await ensureStripeCustomer(kind, id, context);
  } catch (error) {
    if (!refusedByStripe(error)) throw error;
    return {
      problem: `Stripe refused to make the ${kind}’s customer: ${error.message}. Correct the ${kind}, then ask again.`,
    };
  }
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
