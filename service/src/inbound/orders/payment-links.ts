/**
 * A Checkout Session made for an existing order or invoice (by a payment link request: its metadata names
 * d365_salesorderid or d365_invoiceid, and d365_paymentlinkrequestid) pays that document instead of making
 * a new order: the document, found by its GUID, takes the session and payment ids, the payment status and
 * the amount paid (an invoice is then closed as Paid), and the request row becomes Paid. An expired session
 * marks its request Expired and takes its URL off the document; a failed delayed payment marks both failed.
 * A document that is gone is logged and never re-created.
 *
 * One page of a document is payable at a time: a paid page expires the document's other open pages (their
 * requests become Expired, saying which page was paid), and a new request replaces the page it finds open
 * (outbound/payment-links). The helpers for both are here (requestPages, expirePage, markRetired).
 *
 * A session made for a quote (d365_quoteid) makes its order as a shop checkout does, linked to the quote
 * (quotes.ts); its request follows the session here as for an order.
 */
import StripeSdk from 'stripe';
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
import type { DataverseClient, Row } from '../../dataverse/types';
import { isResourceMissing } from '../../stripe';
import { isNotFound } from '../../write/rows';
import { idOf, reportNothingWritten, type StripeObject } from '../../write/stripe-objects';
import { isClosedDocument, reflectPaymentOnDocuments } from './documents';

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

/**
 * The session's payment on the document; an invoice it pays in full is closed as Paid. A page paid for less
 * than the document's total now (its lines changed after the page was made) leaves it Partially paid, and an
 * invoice open. A closed document (an invoice paid or canceled, an order canceled, fulfilled or invoiced)
 * takes no edit in Dynamics 365: its payment shows on its request and payment rows. False when it is gone.
 */
async function writeDocument(
  target: RequestedDocument,
  session: StripeObject,
  outcome: Exclude<Outcome, 'expired'>,
  event: Stripe.Event,
  { dataverse, log }: SyncContext,
): Promise<boolean> {
  const entitySet = DOCUMENT_SETS[target.kind];
  const c = SalesOrder.col;
  const current = await dataverse.retrieve(entitySet, target.id, {
    select: [c.statecode, 'totalamount', c.stripeId],
  });
  if (!current) return false;
  const fields = { eventId: event.id, session: session.id, document: target.id, kind: target.kind };
  if (isClosedDocument(current)) {
    // An invoice this page paid was closed by an earlier delivery of its event.
    const paidByThisPage =
      target.kind === 'invoice' && current.statecode === 2 && current[c.stripeId] === session.id;
    if (!paidByThisPage)
      log.warn(
        { ...fields, statecode: current.statecode, outcome },
        'the document is closed in Dynamics 365 and takes no edit: the payment shows on its request and payment rows',
      );
    return true;
  }
  const currency = String(session.currency ?? '');
  const amountPaid = outcome === 'paid' ? minorToMajor(session.amount_total, currency) : 0;
  const total = typeof current.totalamount === 'number' ? current.totalamount : null;
  const short = outcome === 'paid' && total !== null && amountPaid < total;
  if (short)
    log.warn(
      { ...fields, amountPaid, total },
      "the page was paid for less than the document's total (its lines changed after the page was made): Partially paid",
    );
  const row: Row = {
    [c.stripeId]: session.id,
    [c.paymentStatus]: short ? StripePaymentStatus.partially_paid : DOCUMENT_STATUS[outcome],
    [c.amountPaid]: amountPaid,
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
    if (target.kind === 'invoice' && outcome === 'paid' && !short)
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
 * an outcome of this session now. A paid session first expires the document's other open pages.
 */
export async function writeRequest(
  target: RequestedDocument,
  session: StripeObject,
  outcome: Outcome,
  context: SyncContext,
): Promise<boolean> {
  const { dataverse, log } = context;
  if (outcome === 'paid') await expireOtherPages(target, session, context);
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

// ---- one payable page per document -------------------------------------------------------------------------

const L = PaymentLinkRequest.lookup;
const REQUEST_LOOKUPS: Record<DocumentKind, string> = {
  quote: L.quoteid.value,
  salesorder: L.salesorderid.value,
  invoice: L.invoiceid.value,
};
/** How a request's reasons name each kind of document. */
export const NOUNS: Record<DocumentKind, string> = {
  quote: 'quote',
  salesorder: 'order',
  invoice: 'invoice',
};

/** A payment link request of a document, with the page it made (its session and URL) when it made one. */
export interface RequestPage {
  requestId: string;
  status: number | null;
  sessionId: string | null;
  url: string | null;
  createdOn: string | null;
}

/** The payment link requests of the document in these statuses, oldest first. */
export async function requestPages(
  dataverse: DataverseClient,
  document: { kind: DocumentKind; id: string },
  statuses: number[],
): Promise<RequestPage[]> {
  const R = PaymentLinkRequest.col;
  const rows = await dataverse.retrieveMultiple(PaymentLinkRequest.entitySetName, {
    select: [PaymentLinkRequest.primaryId, R.status, R.stripeSessionId, R.url, R.createdOn],
    filter: `${REQUEST_LOOKUPS[document.kind]} eq ${document.id} and (${statuses.map((s) => `${R.status} eq ${s}`).join(' or ')})`,
  });
  const text = (value: unknown) => (typeof value === 'string' && value ? value : null);
  return rows
    .map((row) => ({
      requestId: String(row[PaymentLinkRequest.primaryId]).toLowerCase(),
      status: typeof row[R.status] === 'number' ? Number(row[R.status]) : null,
      sessionId: text(row[R.stripeSessionId]),
      url: text(row[R.url]),
      createdOn: text(row[R.createdOn]),
    }))
    .sort(olderFirst);
}

/** Requests in the order they were made (createdon; the same second, by id, so every worker sees one order). */
export function olderFirst(a: RequestPage, b: RequestPage): number {
  const at = (page: RequestPage) => (page.createdOn ? Date.parse(page.createdOn) : 0);
  return at(a) - at(b) || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
}

/**
 * Makes the page's session unpayable: an open session is expired (`checkout.session.expired` follows). What it
 * is then: `complete` when it was paid (before, or while it was being expired), else `expired` (one Stripe
 * does not know under this key counts as expired: nothing can be paid on it). A session Stripe refuses to
 * expire and that is still open is retried.
 */
export async function expirePage(stripe: Stripe, sessionId: string): Promise<'complete' | 'expired'> {
  const read = async () => {
    try {
      return await stripe.checkout.sessions.retrieve(sessionId);
    } catch (error) {
      if (isResourceMissing(error)) return null;
      throw error;
    }
  };
  let session = await read();
  if (session?.status === 'open') {
    try {
      session = await stripe.checkout.sessions.expire(sessionId);
    } catch (error) {
      if (!(error instanceof StripeSdk.errors.StripeInvalidRequestError)) throw error;
      // Paid or expired since it was read: Stripe expires open sessions only.
      session = await read();
      if (session?.status === 'open')
        throw Object.assign(
          new Error(`Stripe did not expire the payment page ${sessionId}: ${error.message}`),
          { transient: true },
        );
    }
  }
  return session?.status === 'complete' ? 'complete' : 'expired';
}

/** The request of a page made unpayable: Expired, with why. A request already Paid or Expired is left. */
export async function markRetired(
  dataverse: DataverseClient,
  requestId: string,
  reason: string,
): Promise<void> {
  const R = PaymentLinkRequest.col;
  const row = await dataverse.retrieve(PaymentLinkRequest.entitySetName, requestId, { select: [R.status] });
  const status = row?.[R.status];
  if (!row || status === PaymentLinkRequestStatus.paid || status === PaymentLinkRequestStatus.expired) return;
  try {
    await dataverse.update(PaymentLinkRequest.entitySetName, requestId, {
      [R.status]: PaymentLinkRequestStatus.expired,
      [R.failureReason]: reason,
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Before a document is charged another way (a charge request of the customer's saved payment method): its
 * open payment pages are expired and their requests marked Expired with `reason`, so that it cannot be paid
 * twice. Returns the request whose page was paid, when one was (before, or while being expired): the document
 * is paid then, and must not be charged again.
 */
export async function retireOpenPages(
  document: { kind: DocumentKind; id: string },
  reason: string,
  context: SyncContext,
): Promise<string | null> {
  const { dataverse, log } = context;
  const pages = await requestPages(dataverse, document, [
    PaymentLinkRequestStatus.created,
    PaymentLinkRequestStatus.paid,
  ]);
  let paidOn = pages.find((page) => page.status === PaymentLinkRequestStatus.paid)?.requestId ?? null;
  const stripe = context.stripeFor(null);
  for (const page of pages) {
    if (page.status !== PaymentLinkRequestStatus.created || !page.sessionId) continue;
    if ((await expirePage(stripe, page.sessionId)) === 'complete') {
      paidOn = page.requestId;
      continue;
    }
    await markRetired(dataverse, page.requestId, reason);
    log.info(
      { document: document.id, kind: document.kind, session: page.sessionId, requestId: page.requestId },
      'a payment page of the document expired before it is charged another way',
    );
  }
  return paidOn;
}

/** Why a page was made unpayable because another page of its document was paid. */
export function paidElsewhere(kind: DocumentKind, paidBy: string): string {
  return `The ${NOUNS[kind]} was paid on the payment page of request ${paidBy}; this page was expired so that it cannot be paid twice.`;
}

/**
 * The session paid its document: the document's other open pages (requests Created with a session) are expired
 * and their requests marked Expired, so the document cannot be paid twice. Payment link sessions are made on
 * the platform's account (outbound/payment-links), so they are expired there. Another page found paid as well
 * is logged for the finance team: the document was paid twice.
 */
async function expireOtherPages(
  target: RequestedDocument,
  session: StripeObject,
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const pages = await requestPages(dataverse, target, [PaymentLinkRequestStatus.created]);
  const others = pages.filter(
    (page) => page.requestId !== target.requestId && page.sessionId && page.sessionId !== session.id,
  );
  if (others.length === 0) return;
  const stripe = context.stripeFor(null);
  const paidBy = target.requestId ?? session.id;
  for (const page of others) {
    const state = await expirePage(stripe, page.sessionId!);
    if (state === 'complete') {
      log.error(
        { document: target.id, kind: target.kind, sessions: [session.id, page.sessionId] },
        'the document was paid on two payment pages',
      );
      continue;
    }
    await markRetired(dataverse, page.requestId, paidElsewhere(target.kind, paidBy));
    log.info(
      { document: target.id, kind: target.kind, session: page.sessionId, requestId: page.requestId },
      'another payment page of the paid document expired',
    );
  }
}
