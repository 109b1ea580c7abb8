/**
 * A Checkout Session made for an existing order or invoice (by a payment link request: its metadata names
 * d365_salesorderid or d365_invoiceid, and d365_paymentlinkrequestid) pays that document instead of making
 * a new order: the document, found by its GUID, takes the session and payment ids, the payment status and
 * the amount paid (an invoice is then closed as Paid), and the request row becomes Paid. An expired session
 * marks its request Expired and takes its URL off the document; a failed delayed payment marks both failed.
 * A document that is gone is logged and never re-created.
 *
 * A session made for a quote (d365_quoteid) makes its order as a shop checkout does, linked to the quote
 * (quotes.ts); its request follows the session here as for an order.
 */
import type Stripe from 'stripe';
import {
  Invoice,
  PaymentLinkRequest,
  PaymentLinkRequestStatus,
  Quote,
  SalesOrder,
  StripePaymentStatus,
} from '@stc/solution/tables';
import { isGuid } from '../../config/outbound';
import { minorToMajor } from '../../mapping';
import type { SyncContext } from '../../pipeline/handler';
import type { Row } from '../../dataverse/types';
import { isNotFound } from '../../write/rows';
import { idOf, reportNothingWritten, type StripeObject } from '../../write/stripe-objects';
import { reflectPaymentOnDocuments } from './documents';

export type DocumentKind = 'quote' | 'salesorder' | 'invoice';

/** The metadata a payment link's Checkout Session and PaymentIntent carry (payments.yaml reads the first two). */
export const PAYMENT_LINK_METADATA = {
  quote: 'd365_quoteid',
  salesorder: 'd365_salesorderid',
  invoice: 'd365_invoiceid',
  request: 'd365_paymentlinkrequestid',
} as const;

const DOCUMENT_SETS: Record<DocumentKind, string> = {
  quote: Quote.entitySetName,
  salesorder: SalesOrder.entitySetName,
  invoice: Invoice.entitySetName,
};

export interface RequestedDocument {
  kind: DocumentKind;
  id: string;
  /** The payment link request that made the session, when its metadata names one. */
  requestId: string | null;
}

/** The existing document the session was made to pay, or null for a shop checkout. */
export function requestedDocumentOf(session: StripeObject): RequestedDocument | null {
  const metadata = (session.metadata ?? {}) as Record<string, unknown>;
  const request = metadata[PAYMENT_LINK_METADATA.request];
  const requestId = isGuid(request) ? request.toLowerCase() : null;
  for (const kind of ['quote', 'salesorder', 'invoice'] as const) {
    const id = metadata[PAYMENT_LINK_METADATA[kind]];
    if (isGuid(id)) return { kind, id: id.toLowerCase(), requestId };
  }
  return null;
}

export type Outcome = 'paid' | 'unpaid' | 'failed' | 'expired';

export function outcomeOf(session: StripeObject, event: Stripe.Event): Outcome {
  if (session.status === 'expired') return 'expired';
  if (event.type === 'checkout.session.async_payment_failed') return 'failed';
  return session.payment_status === 'paid' ? 'paid' : 'unpaid';
}

export async function payRequestedDocument(
  target: RequestedDocument,
  session: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const outcome = outcomeOf(session, event);
  const written =
    outcome === 'expired'
      ? await takeOffExpiredPage(target, session, context)
      : await writeDocument(target, session, outcome, event, context);
  const recorded = await writeRequest(target, session, outcome, context);
  if (!written) {
    const fields = { eventId: event.id, session: session.id, document: target.id, kind: target.kind };
    const reason = 'the order or invoice this payment page was made for is gone';
    if (recorded) context.log.warn(fields, `${reason}; only its request is written`);
    else reportNothingWritten(context, fields, reason);
  }
  const paymentId = idOf(session.payment_intent);
  if (written && outcome === 'paid' && paymentId)
    await reflectPaymentOnDocuments(context.dataverse, context.log, paymentId, { changedOnly: true });
}

const DOCUMENT_STATUS: Record<Exclude<Outcome, 'expired'>, number> = {
  paid: StripePaymentStatus.paid,
  unpaid: StripePaymentStatus.unpaid,
  failed: StripePaymentStatus.failed,
};

/** The session's payment on the document; an invoice it pays is closed as Paid. False when it is gone. */
async function writeDocument(
  target: RequestedDocument,
  session: StripeObject,
  outcome: Exclude<Outcome, 'expired'>,
  event: Stripe.Event,
  { dataverse }: SyncContext,
): Promise<boolean> {
  const entitySet = DOCUMENT_SETS[target.kind];
  const current = await dataverse.retrieve(entitySet, target.id, { select: ['statecode'] });
  if (!current) return false;
  // A paid invoice takes no further edits in Dynamics 365: it was written by an earlier delivery.
  if (target.kind === 'invoice' && current.statecode === 2) return true;
  const c = SalesOrder.col;
  const currency = String(session.currency ?? '');
  const row: Row = {
    [c.stripeId]: session.id,
    [c.paymentStatus]: DOCUMENT_STATUS[outcome],
    [c.amountPaid]: outcome === 'paid' ? minorToMajor(session.amount_total, currency) : 0,
    [c.liveMode]: Boolean(session.livemode),
    [c.lastEventId]: event.id,
    [c.lastEventCreated]: new Date(event.created * 1000).toISOString(),
  };
  const paymentId = idOf(session.payment_intent);
  if (paymentId) row[c.stripePaymentId] = paymentId;
  const customerId = idOf(session.customer);
  if (customerId) row[c.stripeCustomerId] = customerId;
  if (outcome === 'paid') row[c.paymentUrl] = null;
  try {
    await dataverse.update(entitySet, target.id, row);
    if (target.kind === 'invoice' && outcome === 'paid')
      await dataverse.update(Invoice.entitySetName, target.id, { statecode: 2, statuscode: 100001 });
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  return true;
}

/** An expired page's URL leaves the document, unless a newer request has put another one there. */
async function takeOffExpiredPage(
  target: RequestedDocument,
  session: StripeObject,
  { dataverse }: SyncContext,
): Promise<boolean> {
  const entitySet = DOCUMENT_SETS[target.kind];
  const document = await dataverse.retrieve(entitySet, target.id, {
    select: [SalesOrder.col.paymentUrl],
  });
  if (!document) return false;
  const request = target.requestId
    ? await dataverse.retrieve(PaymentLinkRequest.entitySetName, target.requestId, {
        select: [PaymentLinkRequest.col.url, PaymentLinkRequest.col.stripeSessionId],
      })
    : null;
  const shown = document[SalesOrder.col.paymentUrl];
  if (
    shown &&
    request?.[PaymentLinkRequest.col.stripeSessionId] === session.id &&
    shown === request[PaymentLinkRequest.col.url]
  )
    await dataverse.update(entitySet, target.id, { [SalesOrder.col.paymentUrl]: null });
  return true;
}

const REQUEST_STATUS: Record<Outcome, number | null> = {
  paid: PaymentLinkRequestStatus.paid,
  unpaid: null,
  failed: PaymentLinkRequestStatus.failed,
  expired: PaymentLinkRequestStatus.expired,
};

/**
 * The request that made this session takes its outcome; a Paid request stays Paid. Whether the request holds
 * an outcome of this session now.
 */
export async function writeRequest(
  target: RequestedDocument,
  session: StripeObject,
  outcome: Outcome,
  { dataverse, log }: SyncContext,
): Promise<boolean> {
  const status = REQUEST_STATUS[outcome];
  if (!target.requestId || status === null) return false;
  const R = PaymentLinkRequest.col;
  const request = await dataverse.retrieve(PaymentLinkRequest.entitySetName, target.requestId, {
    select: [R.status, R.stripeSessionId],
  });
  const made = request?.[R.stripeSessionId];
  if (!request || (made && made !== session.id)) {
    log.warn(
      { requestId: target.requestId, session: session.id },
      'the payment link request named by the session is gone or made another session; not changed',
    );
    return false;
  }
  if (request[R.status] === status || request[R.status] === PaymentLinkRequestStatus.paid) return true;
  await dataverse.update(PaymentLinkRequest.entitySetName, target.requestId, {
    [R.status]: status,
    [R.stripeSessionId]: session.id,
    [R.failureReason]: outcome === 'failed' ? 'The payment on the Stripe page failed.' : null,
  });
  return true;
}
