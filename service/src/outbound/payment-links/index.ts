/**
 * Payment links: a user's `stc_paymentlinkrequest` row (created with Create payment link on a quote, an order
 * or an invoice) becomes a Stripe Checkout Session of the document's lines under policy. The handler re-reads the
 * row and acts from its current status only:
 *
 *   Pending ──policy──▶ Rejected | Processing ──Stripe──▶ Created (URL on the request and the document) | Failed
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: the session is asked for again under the
 *   same idempotency key, which gives the one already made
 *
 * The payment that follows closes the loop in the orders handler (inbound/orders/payment-links.ts): the
 * document is marked paid and the request Paid; an expired session marks it Expired. A quote's payment makes
 * the quote's order and wins the quote (inbound/orders/quotes.ts).
 */
import { PaymentLinkRequest } from '@stc/solution/tables';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, type OutboundSettings } from '../../config/outbound';
import { governedRequestHandler } from '../governed-requests';
import { userWithRoles } from '../refund-requests/requests';
import { readDocument, writePaymentUrl, type PayableDocument } from './documents';
import { decidePaymentLink, type PaymentLinkRules } from './policy';
import {
  documentOf,
  finish,
  PAYMENT_LINK_REQUESTS,
  readRequest,
  Status,
  transition,
  type PaymentLinkRequestRow,
} from './requests';
import { createSession } from './stripe-session';
import { checkoutPlan, label, type CheckoutLine } from './lines';

export { decidePaymentLink, type PaymentLinkDecision, type PaymentLinkFacts } from './policy';
export { checkoutPlan, type CheckoutLine } from './lines';
export { sessionParams, REQUEST_METADATA_KEY } from './stripe-session';
export { DOCUMENT_TABLES, type DocumentKind } from './documents';

const R = PaymentLinkRequest.col;

export interface PaymentLinkRequestsHandlerOptions {
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

interface Governance {
  rules: PaymentLinkRules;
  livemode: boolean;
  successUrl?: string;
  now: () => Date;
}

export function createPaymentLinkRequestsHandler(
  options: PaymentLinkRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const g: Governance = {
    rules: {
      requesterRoles:
        settings.paymentLinkRequesterRoles ?? DEFAULT_OUTBOUND_SETTINGS.paymentLinkRequesterRoles ?? [],
    },
    livemode: settings.stripeMode === 'live',
    successUrl: settings.paymentLinkSuccessUrl,
    now: options.now ?? (() => new Date()),
  };
  return governedRequestHandler({
    resource: 'payment-link-requests',
    table: PAYMENT_LINK_REQUESTS,
    settings,
    read: readRequest,
    decide: (request, context) => decide(g, request, context),
    resume: (request, context) => resume(g, request, context),
  });
}

async function decide(g: Governance, request: PaymentLinkRequestRow, context: SyncContext): Promise<void> {
  const { dataverse, log } = context;
  const target = documentOf(request);
  const [requester, document] = await Promise.all([
    userWithRoles(dataverse, request.createdBy),
    'problem' in target ? Promise.resolve(null) : readDocument(dataverse, target.kind, target.id),
  ]);
  const decision = decidePaymentLink(
    {
      requester,
      document,
      documentProblem:
        'problem' in target
          ? target.problem
          : document
            ? undefined
            : `The ${label(target)} no longer exists.`,
    },
    g.rules,
  );
  log.info({ requestId: request.id, decision: decision.kind }, 'payment link request decided');
  if (decision.kind === 'reject') {
    await transition(dataverse, request, { status: 'rejected', reason: decision.reason, at: g.now() });
    return;
  }
  await transition(dataverse, request, { status: 'processing', livemode: g.livemode });
  await createPage(g, request.id, document!, decision.lines, context);
}

/** A request left in Processing: its session is asked for again with the same idempotency key. */
async function resume(g: Governance, request: PaymentLinkRequestRow, context: SyncContext): Promise<void> {
  const target = documentOf(request);
  const document = 'problem' in target ? null : await readDocument(context.dataverse, target.kind, target.id);
  const plan = document
    ? checkoutPlan(document)
    : { problem: 'problem' in target ? target.problem : `The ${label(target)} no longer exists.` };
  if ('problem' in plan) {
    await fail(g, request.id, plan.problem, context);
    return;
  }
  await createPage(g, request.id, document!, plan.lines, context);
}

async function createPage(
  g: Governance,
  requestId: string,
  document: PayableDocument,
  lines: CheckoutLine[],
  context: SyncContext,
): Promise<void> {
  const stripe = context.stripeFor(null);
  const created = await createSession(stripe, { requestId, document, lines, successUrl: g.successUrl });
  if ('refusal' in created) {
    await fail(g, requestId, created.refusal, context);
    return;
  }
  const { session } = created;
  await writePaymentUrl(context.dataverse, document.kind, document.id, session.url);
  await finish(context.dataverse, requestId, {
    [R.status]: Status.created,
    [R.url]: session.url,
    [R.stripeSessionId]: session.id,
    [R.expiresAt]: new Date(session.expires_at * 1000).toISOString(),
    [R.failureReason]: null,
    [R.decidedOn]: g.now().toISOString(),
    [R.liveMode]: session.livemode,
  });
  context.log.info(
    { requestId, session: session.id, document: document.id, total: session.amount_total },
    'payment link created',
  );
}

async function fail(g: Governance, requestId: string, reason: string, context: SyncContext): Promise<void> {
  context.log.warn({ requestId, reason }, 'payment link request failed');
  await finish(context.dataverse, requestId, {
    [R.status]: Status.failed,
    [R.failureReason]: reason,
    [R.decidedOn]: g.now().toISOString(),
  });
}
