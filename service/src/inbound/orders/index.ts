/**
 * Order-to-cash: a Checkout Session in payment mode becomes one Dynamics 365 order (`salesorder`) with one
 * line (`salesorderdetail`) per line item, and, while orders.yaml has the invoice mappings, a paid invoice
 * of it with the same lines. Keyed by the session and its line item ids, so any number of deliveries of its
 * events write the same rows. The session's PaymentIntent row (stc_payment) links to the order. An expired
 * session or a failed delayed payment marks an order made for it; it never creates one. A session made for an
 * existing order or invoice (a payment link request) pays that document instead (payment-links.ts); one made
 * for a quote makes the quote's order and, once paid, wins the quote (quotes.ts).
 */
import type Stripe from 'stripe';
import {
  Invoice,
  Payment,
  SalesOrder,
  SyncIssue,
  SyncIssueKind,
  SyncIssueStatus,
} from '@stc/solution/tables';
import type { DataverseClient } from '../../dataverse/types';
import type { MappedRow, MappingSet } from '../../mapping';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';
import { isDuplicate, isNotFound, odataString, writeMappedRow } from '../../write/rows';
import {
  eventEnvelope,
  eventObjectOf,
  idOf,
  mapIfApplies,
  reportNothingWritten,
  stripeForEvent,
  type StripeObject,
} from '../../write/stripe-objects';
import { isCapturedHold, syncPayment } from '../payments';
import { closedDocumentRefused, isClosedDocument, reflectPaymentOnDocuments } from './documents';
import { bindCurrency, bindCustomer, bindLineCurrency, bindProducts, type CustomerMatch } from './parties';
import {
  outcomeOf,
  payRequestedDocument,
  requestedDocumentOf,
  writeRequest,
  type RequestedDocument,
} from './payment-links';
import { fromQuote, readQuote, winPaidQuote, type QuoteSource } from './quotes';

export { PAYMENT_LINK_METADATA, type DocumentKind } from './payment-links';

/** Mapping names in orders.yaml. */
export const ORDER_MAPPINGS = {
  order: 'checkout_order',
  paymentOrder: 'payment_order',
  orderLine: 'checkout_order_line',
  invoice: 'checkout_invoice',
  invoiceLine: 'checkout_invoice_line',
} as const;

export const ORDER_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
];

/** The review item of an order written without a customer: one per session. */
export const customerReviewKey = (sessionId: string) => `review:order:${sessionId}`;

interface Document {
  header: string;
  line: string;
  entitySet: string;
  /** Closed once paid (an invoice): written once, never again after it is paid. */
  closesWhenPaid?: boolean;
}

const ORDER: Document = {
  header: ORDER_MAPPINGS.order,
  line: ORDER_MAPPINGS.orderLine,
  entitySet: SalesOrder.entitySetName,
};
const PAYMENT_ORDER: Document = {
  header: ORDER_MAPPINGS.paymentOrder,
  line: ORDER_MAPPINGS.orderLine,
  entitySet: SalesOrder.entitySetName,
};
const INVOICE: Document = {
  header: ORDER_MAPPINGS.invoice,
  line: ORDER_MAPPINGS.invoiceLine,
  entitySet: Invoice.entitySetName,
  closesWhenPaid: true,
};

/** The session's line items, every page, each with its session and place added for the line mappings. */
async function lineItems(session: StripeObject, event: Stripe.Event, context: SyncContext) {
  const stripe = stripeForEvent(event, context);
  const items: StripeObject[] = [];
  for await (const item of stripe.checkout.sessions.listLineItems(session.id, { limit: 100 })) {
    items.push({
      ...(item as unknown as StripeObject),
      session: { id: session.id, currency: session.currency, livemode: session.livemode },
      line_number: items.length + 1,
    });
  }
  return items;
}

/** The e-mail the payer gave at checkout (or the session was made with). */
function payerEmail(session: StripeObject): string | null {
  const details = session.customer_details as { email?: unknown } | null | undefined;
  const email = details?.email ?? session.customer_email ?? session.receipt_email;
  return typeof email === 'string' && email ? email : null;
}

/**
 * Writes the document and its lines; returns the mapped header, or null when its mapping does not apply. A
 * document of a quote's payment page carries the quote (quotes.ts).
 */
async function writeDocument(
  document: Document,
  mappings: MappingSet,
  session: StripeObject,
  items: StripeObject[],
  event: Stripe.Event,
  context: SyncContext,
  quote?: QuoteSource,
): Promise<{ header: MappedRow; customer: CustomerMatch } | null> {
  const envelope = eventEnvelope(event);
  const header = await mapIfApplies(mappings.get(document.header), session, envelope);
  if (!header) return null;
  let customer = await bindCustomer(context.dataverse, header, payerEmail(session));
  if (quote && fromQuote(header.row, quote, document.entitySet, customer.found)) customer = { found: true };
  const currency = await bindCurrency(context.dataverse, header);
  if (!(await writeHeader(document, header, session, context))) return null;
  const lineMapping = mappings.get(document.line);
  const lines: MappedRow[] = [];
  for (const item of items) {
    const line = await mapIfApplies(lineMapping, item, envelope);
    if (line) lines.push(line);
  }
  for (const line of lines) bindLineCurrency(line, currency);
  await bindProducts(context.dataverse, lines);
  await Promise.all(lines.map((line) => writeMappedRow(context.dataverse, context.log, line)));
  return { header, customer };
}

/**
 * Writes the document's header; false when it is closed already. A document closed once paid is created
 * (no read first); only when it exists already (a later delivery) is it read, and written again unless paid.
 */
async function writeHeader(
  document: Document,
  header: MappedRow,
  session: StripeObject,
  context: SyncContext,
): Promise<boolean> {
  if (!document.closesWhenPaid) {
    try {
      await writeMappedRow(context.dataverse, context.log, header);
    } catch (error) {
      // Closed by a user since (canceled, fulfilled): Dynamics 365 takes no edit of it, nor of its lines.
      if (!(await closedDocumentRefused(context.dataverse, header.entitySet, header.key, error))) throw error;
      context.log.warn(
        { session: session.id, entitySet: header.entitySet },
        'the document is closed in Dynamics 365 and refused the edit: its payment shows on the payment row',
      );
      return false;
    }
    return true;
  }
  try {
    await writeMappedRow(context.dataverse, context.log, header, { mode: 'createOnly' });
    return true;
  } catch (error) {
    if (!isDuplicate(error)) throw error;
  }
  if (await invoiceIsClosed(context.dataverse, session.id)) return false;
  await writeMappedRow(context.dataverse, context.log, header);
  return true;
}

/**
 * A paid invoice is closed: Dynamics 365 takes no further edits of it, so it is written once; one a user
 * cancelled (or closed otherwise) is left as it is too. Only an open one (statecode 0) is written again.
 */
async function invoiceIsClosed(dataverse: DataverseClient, sessionId: string): Promise<boolean> {
  return isClosedDocument(
    await dataverse.retrieveByKey(
      Invoice.entitySetName,
      { [Invoice.col.stripeId]: sessionId },
      { select: [Invoice.col.statecode] },
    ),
  );
}

async function markInvoicePaid(dataverse: DataverseClient, sessionId: string): Promise<void> {
  await dataverse.upsertByKey(
    Invoice.entitySetName,
    { [Invoice.col.stripeId]: sessionId },
    { statecode: 2, statuscode: 100001 },
    { mode: 'updateOnly' },
  );
}

/** The session's payment row names the order; a payment not written yet is written now (one read). */
async function linkPayment(
  session: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
) {
  const paymentIntent = idOf(session.payment_intent);
  if (!paymentIntent) return;
  const link = {
    [`${Payment.lookup.salesorderid.bind.salesorder}@odata.bind`]: `/${SalesOrder.entitySetName}(${SalesOrder.col.stripeId}=${odataString(session.id)})`,
  };
  const update = () =>
    context.dataverse.upsertByKey(Payment.entitySetName, { [Payment.col.stripeId]: paymentIntent }, link, {
      mode: 'updateOnly',
    });
  try {
    await update();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if ((await syncPayment(mappings, { paymentIntent }, event, context)) !== null) await update();
  }
}

/** An order without a customer: a sync issue asks an operator to choose one (resolved by them). */
async function askForCustomer(
  session: StripeObject,
  match: CustomerMatch,
  event: Stripe.Event,
  context: SyncContext,
) {
  if (match.found) return;
  const c = SyncIssue.col;
  const why =
    match.reason === 'several'
      ? `${match.candidates} accounts or contacts have the payer's e-mail ${match.email}`
      : match.email
        ? `no account or contact has the payer's e-mail ${match.email}`
        : 'the payer gave no e-mail';
  const key = customerReviewKey(session.id);
  await context.dataverse.upsertByKey(
    SyncIssue.entitySetName,
    { [c.issueKey]: key },
    {
      [c.issueKey]: key,
      [c.name]: `Order of ${session.id} needs a customer`,
      [c.kind]: SyncIssueKind.customer_review,
      [c.status]: SyncIssueStatus.open,
      [c.eventId]: event.id,
      [c.eventType]: event.type,
      [c.stripeObjectId]: session.id,
      [c.stripeObjectType]: 'checkout.session',
      [c.errorCode]: match.reason === 'several' ? 'customer_ambiguous' : 'customer_not_found',
      [c.errorMessage]: `The order was written without a customer: ${why}. Set the order's customer, then resolve this issue.`,
      [c.lastSeen]: new Date(event.created * 1000).toISOString(),
      [c.liveMode]: Boolean(session.livemode),
      [c.stripeAccount]: event.account ?? null,
    },
  );
}

/** Expired sessions and failed delayed payments change an order made for the session, and make none. */
async function markOrder(
  session: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
) {
  const mapped = await mapIfApplies(mappings.get(ORDER_MAPPINGS.order), session, eventEnvelope(event));
  if (!mapped) {
    reportNothingWritten(context, { eventId: event.id, session: session.id }, 'not an order');
    return;
  }
  const c = SalesOrder.col;
  try {
    await context.dataverse.upsertByKey(
      mapped.entitySet,
      mapped.key,
      { [c.paymentStatus]: mapped.row[c.paymentStatus], [c.lastEventId]: event.id },
      { mode: 'updateOnly' },
    );
  } catch (error) {
    if (isNotFound(error)) {
      reportNothingWritten(context, { eventId: event.id, session: session.id }, 'no order for this session');
      return;
    }
    if (!(await closedDocumentRefused(context.dataverse, mapped.entitySet, mapped.key, error))) throw error;
    reportNothingWritten(
      context,
      { eventId: event.id, session: session.id },
      'the order is closed in Dynamics 365 and refused the edit',
    );
  }
}

async function writeOrder(
  session: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
  quote?: QuoteSource,
) {
  const items = await lineItems(session, event, context);
  const order = await writeDocument(ORDER, mappings, session, items, event, context, quote);
  if (!order) {
    reportNothingWritten(
      context,
      { eventId: event.id, session: session.id, mode: session.mode },
      'not an order, or its order is closed in Dynamics 365',
    );
    return;
  }
  await askForCustomer(session, order.customer, event, context);
  await linkPayment(session, mappings, event, context);
  const paymentId = idOf(session.payment_intent);
  const paid = session.payment_status === 'paid';
  // A session paid by a hold completes unpaid: its invoice is made once the hold is captured, by whichever
  // comes second, this write (Stripe is read after the order is written) or the capture's (invoiceCapturedHold).
  const invoiced =
    mappings.has(INVOICE.header) &&
    (paid || (!quote && paymentId !== undefined && (await holdCaptured(paymentId, event, context))));
  if (invoiced) await writeInvoice(session, items, mappings, event, context, quote);
  // Refunds and disputes applied before the order existed; for a session completed on a hold (unpaid), a
  // capture or release applied before it.
  if (paymentId)
    await reflectPaymentOnDocuments(context.dataverse, context.log, paymentId, {
      changedOnly: paid,
      amountPaid: !paid,
    });
}

/**
 * The session's paid invoice with its lines; one paid already is left as it is. The invoice of a captured
 * hold shows its payment (the amount captured) while it is still open, then is marked paid: Dynamics 365
 * takes no edits of a paid invoice.
 */
async function writeInvoice(
  session: StripeObject,
  items: StripeObject[],
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
  quote?: QuoteSource,
): Promise<void> {
  const hold = session.payment_status !== 'paid';
  const paid = hold ? { ...session, payment_status: 'paid' } : session;
  if (!(await writeDocument(INVOICE, mappings, paid, items, event, context, quote))) return;
  const paymentId = idOf(session.payment_intent);
  if (hold && paymentId)
    await reflectPaymentOnDocuments(context.dataverse, context.log, paymentId, { amountPaid: true });
  await markInvoicePaid(context.dataverse, session.id);
}

/**
 * Whether a session's payment, completed unpaid, is a hold captured since: read from Stripe, for sessions
 * completed unpaid only (a hold, or a delayed payment method still processing).
 */
async function holdCaptured(paymentId: string, event: Stripe.Event, context: SyncContext): Promise<boolean> {
  const intent = await stripeForEvent(event, context).paymentIntents.retrieve(paymentId);
  return isCapturedHold(intent as unknown as StripeObject);
}

/**
 * A Checkout Session paid by a hold (payment_intent_data.capture_method=manual) completes unpaid, and the
 * capture fires no Checkout event: once the captured PaymentIntent is written (by the payments handler, or by
 * a refund's or dispute's that came first, the capture's own events then being superseded), the session's
 * order gets the paid invoice a paid session gets, with the session's lines (the amount paid is
 * then the amount captured). Costs one Dataverse read once the invoice is paid; otherwise the order is read
 * too and, when it was made from a session, the session and its line items are read from Stripe. Without an
 * order yet, the order's own write makes the invoice (see writeOrder). Sessions of a payment link request
 * (an existing document paid, or a quote's page) are left to their request.
 */
export async function invoiceCapturedHold(
  mappings: MappingSet,
  paymentId: string,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  if (!mappings.has(INVOICE.header)) return;
  const byPayment = (entitySet: string, select: string) =>
    context.dataverse.retrieveByKey(
      entitySet,
      { [Invoice.col.stripePaymentId]: paymentId },
      { select: [select] },
    );
  // Made whole, it is paid; a user may cancel it since: only one begun by an attempt that failed midway (still
  // open) is made again.
  const invoice = await byPayment(Invoice.entitySetName, Invoice.col.statecode);
  if (invoice && invoice[Invoice.col.statecode] !== 0) return;
  const sessionId = (await byPayment(SalesOrder.entitySetName, SalesOrder.col.stripeId))?.[
    SalesOrder.col.stripeId
  ];
  if (typeof sessionId !== 'string' || !sessionId.startsWith('cs_')) return;
  const session = (await stripeForEvent(event, context).checkout.sessions.retrieve(
    sessionId,
  )) as unknown as StripeObject;
  if (session.mode !== 'payment' || requestedDocumentOf(session)) return;
  await writeInvoice(session, await lineItems(session, event, context), mappings, event, context);
}

/**
 * Which older events of a session an event stands for when they wait together: a paid delayed payment writes
 * the order as the completed session does, and pays it. A failed delayed payment or an expiry only marks an
 * order written before (it makes none), so neither stands for a completed session: that one is applied first.
 */
export function orderEventStandsFor(olderType: string, newerType: string): boolean {
  return (
    olderType === newerType ||
    (olderType === 'checkout.session.completed' && newerType === 'checkout.session.async_payment_succeeded')
  );
}

export function createOrdersHandler(mappings: () => MappingSet): StripeEventHandler {
  return {
    resource: 'orders',
    eventTypes: ORDER_EVENT_TYPES,
    standsFor: orderEventStandsFor,
    async handle(event, context) {
      const given = eventObjectOf(event, 'checkout.session', context, 'orders');
      if (!given) return;
      // A payload that may be older than what is written is read again (the order's state is the session's).
      const session = context.payloadMayBeStale
        ? ((await stripeForEvent(event, context).checkout.sessions.retrieve(
            given.id,
          )) as unknown as StripeObject)
        : given;
      // A payment page made for an existing order or invoice pays that document; it makes no new order. One
      // made for a quote makes the quote's order.
      const requested = requestedDocumentOf(session);
      if (requested?.kind === 'quote') await settleQuote(requested, session, mappings(), event, context);
      else if (requested) await payRequestedDocument(requested, session, event, context);
      else if (session.status === 'expired' || event.type === 'checkout.session.async_payment_failed')
        await markOrder(session, mappings(), event, context);
      else await writeOrder(session, mappings(), event, context);
    },
  };
}

/**
 * A quote's payment page: its order is written as a checkout's (linked to the quote), and once paid the quote
 * is won and the request Paid. An expired page marks the request Expired (the quote is not touched); a failed
 * delayed payment marks the order (if any) and the request failed. No order is made without a payment.
 */
async function settleQuote(
  target: RequestedDocument,
  session: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const outcome = outcomeOf(session, event);
  if (outcome === 'expired' || outcome === 'failed') {
    if (outcome === 'failed') await markOrder(session, mappings, event, context);
    await writeRequest(target, session, outcome, context);
    return;
  }
  const quote = await readQuote(context.dataverse, target.id);
  if (!quote)
    context.log.warn(
      { eventId: event.id, session: session.id, quote: target.id },
      'the quote this payment page was made for is gone; its order is written without it',
    );
  await writeOrder(session, mappings, event, context, quote ?? undefined);
  if (outcome !== 'paid') return;
  if (quote) await winPaidQuote(quote, session, context);
  await writeRequest(target, session, outcome, context);
}

/** Metadata of a payment made for a Dynamics 365 quote, order or invoice (payments.yaml links the last two). */
const FOR_A_RECORD = ['d365_quoteid', 'd365_salesorderid', 'd365_invoiceid', 'order_number'];

/**
 * A Charges API charge made with capture=false: `succeeded` with `captured: false` and nothing captured while
 * its authorization is held (payments.yaml shows it as requires_capture, or canceled once released).
 */
const isUncaptured = (charge: StripeObject): boolean =>
  charge.captured === false && !(typeof charge.amount_captured === 'number' && charge.amount_captured > 0);

/**
 * A succeeded PaymentIntent, or a captured Charge made without one, as the PaymentIntent shape payment_order
 * reads: the amount received is the amount captured (a partial capture's, not the authorization's).
 */
function paidPayment(object: StripeObject): StripeObject | null {
  if (object.object === 'payment_intent') return object.status === 'succeeded' ? object : null;
  if (object.object !== 'charge' || object.status !== 'succeeded' || idOf(object.payment_intent)) return null;
  if (isUncaptured(object)) return null;
  const billing = object.billing_details as { email?: unknown } | null | undefined;
  return {
    ...object,
    object: 'payment_intent',
    amount_received: object.amount_captured,
    receipt_email: object.receipt_email ?? billing?.email ?? null,
  };
}

/** Whether the payment's row links to an order already: its own, made before, or its Checkout Session's. */
async function paymentHasOrder(dataverse: DataverseClient, paymentId: string): Promise<boolean> {
  const link = Payment.lookup.salesorderid.value;
  const row = await dataverse.retrieveByKey(
    Payment.entitySetName,
    { [Payment.col.stripeId]: paymentId },
    { select: [link] },
  );
  return typeof row?.[link] === 'string';
}

/**
 * A payment made without a Checkout Session (API integrations, invoicing elsewhere) becomes an order of one
 * written-in line of the amount received, keyed by the payment, linked from the payment row once its lines
 * are written; payments made for a Dynamics 365 record, through a session (whose events make the order), or
 * for a Stripe invoice (whose row the billing sync writes) make none. `object` is the payment as written: a PaymentIntent, or a Charge made without one. Made once: a
 * payment whose row links to an order already (a later event of it) is left as it is. Otherwise costs one
 * Dataverse read and two Stripe lists (the sessions of the payment, and the invoice payments it made).
 */
export async function writePaymentOrder(
  mappings: MappingSet,
  object: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const payment = paidPayment(object);
  if (!payment || !mappings.has(PAYMENT_ORDER.header)) return;
  const metadata = (payment.metadata ?? {}) as Record<string, unknown>;
  if (FOR_A_RECORD.some((key) => metadata[key])) return;
  if (await paymentHasOrder(context.dataverse, payment.id)) return;
  // An invoice's payment (a subscription's, or an invoice sent from Stripe) is the invoice's row already.
  if (payment.invoice) return;
  if (payment.id.startsWith('pi_')) {
    const stripe = stripeForEvent(event, context);
    const sessions = await stripe.checkout.sessions.list({ payment_intent: payment.id, limit: 1 });
    if (sessions.data.length > 0) return;
    const invoices = await stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: payment.id },
      limit: 1,
    });
    if (invoices.data.length > 0) return;
  }
  const amount = payment.amount_received as number;
  const line: StripeObject = {
    id: payment.id,
    object: 'item',
    description: (payment.description as string | null) || 'Stripe payment',
    amount_subtotal: amount,
    amount_discount: 0,
    amount_tax: 0,
    amount_total: amount,
    currency: payment.currency,
    quantity: 1,
    price: { unit_amount: amount, currency: payment.currency },
    session: { id: payment.id, currency: payment.currency, livemode: payment.livemode },
    line_number: 1,
  };
  const order = await writeDocument(PAYMENT_ORDER, mappings, payment, [line], event, context);
  if (!order) return;
  await askForCustomer(payment, order.customer, event, context);
  await linkPayment({ ...payment, payment_intent: payment.id }, mappings, event, context);
}
