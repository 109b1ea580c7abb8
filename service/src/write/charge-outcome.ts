/**
 * A charge request's outcome from its Stripe PaymentIntent: the request's status for the payment's state, the
 * code and reason a failed one shows, the order or invoice a succeeded one pays, and the request brought to the
 * fate Stripe's payment events tell. Shared by the request handler (outbound), which writes the outcome Stripe
 * answers the charge with, and the payments handler (inbound), which writes the outcome of a payment Stripe
 * settles later (a bank debit, ACH or SEPA, is `processing` for days before it succeeds or fails).
 */
import {
  ChargeRequest,
  ChargeRequestStatus,
  Invoice,
  SalesOrder,
  StripePaymentStatus,
} from '@stc/solution/tables';
import { isGuid } from '../config/outbound';
import type { DataverseClient } from '../dataverse/types';
import { minorToMajor } from '../mapping';
import type { HandlerLogger } from '../pipeline/handler';
import { isNotFound } from './rows';
import { idOf } from './stripe-objects';

/** Metadata key on a PaymentIntent made by a charge request (and on its charges): the request's Dataverse id. */
export const CHARGE_REQUEST_METADATA_KEY = 'd365_chargerequestid';

const Status = ChargeRequestStatus;
const R = ChargeRequest.col;
const L = ChargeRequest.lookup;

/** A PaymentIntent, or a charge of one, as Stripe answers or its events carry it, as far as its request needs. */
export interface PaymentOfRequest {
  id: string;
  object?: unknown;
  status?: unknown;
  amount?: unknown;
  currency?: unknown;
  customer?: unknown;
  livemode?: unknown;
  metadata?: unknown;
  /** A charge's PaymentIntent. */
  payment_intent?: unknown;
  /** A PaymentIntent's: the attempt that failed. */
  last_payment_error?: unknown;
  /** A charge's: why it failed. */
  failure_code?: unknown;
  failure_message?: unknown;
  outcome?: unknown;
}

/** Where Stripe has the charge: final, or still held (`processing`, …) until Stripe settles it. */
export type ChargeOutcome =
  | { kind: 'succeeded' }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'pending'; status: string };

/**
 * The charge's outcome as this copy of its PaymentIntent (or of its charge) tells it. A PaymentIntent back in
 * `requires_payment_method` with a failed attempt failed: the service confirms each once, off session, and
 * never again. One canceled failed too.
 */
export function chargeOutcomeOf(payment: PaymentOfRequest): ChargeOutcome {
  const status = String(payment.status ?? 'unknown');
  if (payment.object === 'charge') {
    if (status === 'succeeded') return { kind: 'succeeded' };
    if (status === 'failed') {
      const reason = (payment.outcome as { reason?: unknown } | null | undefined)?.reason;
      return {
        kind: 'failed',
        code: text(reason) ?? text(payment.failure_code) ?? 'charge_failed',
        message: text(payment.failure_message) ?? 'The charge failed.',
      };
    }
    return { kind: 'pending', status: status === 'pending' ? 'processing' : status };
  }
  if (status === 'succeeded') return { kind: 'succeeded' };
  const error = payment.last_payment_error as
    { code?: unknown; decline_code?: unknown; type?: unknown; message?: unknown } | null | undefined;
  if (status === 'requires_payment_method' && error)
    return {
      kind: 'failed',
      code: text(error.decline_code) ?? text(error.code) ?? text(error.type) ?? 'payment_failed',
      message: text(error.message) ?? 'The charge was declined.',
    };
  if (status === 'canceled')
    return { kind: 'failed', code: 'canceled', message: 'The PaymentIntent was canceled.' };
  return { kind: 'pending', status };
}

/** The PaymentIntent a copy is about: itself, or a charge's. */
export function paymentIntentIdOf(payment: PaymentOfRequest): string | undefined {
  return payment.object === 'charge' ? idOf(payment.payment_intent) : payment.id;
}

/** The request a PaymentIntent (or a charge of one) was made for, by its metadata; undefined for none. */
export function requestIdOf(payment: PaymentOfRequest): string | undefined {
  const id = (payment.metadata as Record<string, unknown> | null | undefined)?.[CHARGE_REQUEST_METADATA_KEY];
  return isGuid(id) ? id.toLowerCase() : undefined;
}

/** What a request shows while Stripe holds its charge. */
export function heldNote(status: string): string {
  const why = status === 'processing' ? ' (a bank debit takes days to settle)' : '';
  return `Stripe holds the charge as ${status}${why}; the request is completed when Stripe settles it.`;
}

/** The reason a request shows for a charge that failed after Stripe took it. */
export function laterFailureReason(outcome: { code: string; message: string }): string {
  return `Stripe reports the charge failed: ${outcome.message} (${outcome.code})`;
}

/** The order or invoice a charge pays. */
export interface PaidDocument {
  kind: 'salesorder' | 'invoice';
  id: string;
}

/** What the document records of the payment. */
export interface DocumentPayment {
  paymentIntentId: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  customer: string | null;
  livemode: boolean;
}

/**
 * Marks the document paid: it takes the payment id (its second alternate key, by which later refunds and
 * disputes of the payment show on it), the payment status Paid and the amount paid, and its payment page's URL
 * goes; an invoice is closed as Paid. As a paid payment link does (inbound/orders/payment-links.ts), with the
 * charge in place of the Checkout Session. Whether the document is there (and now shows the payment).
 */
export async function markDocumentPaid(
  dataverse: DataverseClient,
  document: PaidDocument,
  payment: DocumentPayment,
): Promise<boolean> {
  const entitySet = document.kind === 'salesorder' ? SalesOrder.entitySetName : Invoice.entitySetName;
  const current = await dataverse.retrieve(entitySet, document.id, { select: ['statecode'] });
  if (!current) return false;
  // A paid invoice takes no further edits in Dynamics 365: an earlier delivery wrote it.
  if (document.kind === 'invoice' && current.statecode === 2) return true;
  const c = SalesOrder.col;
  try {
    await dataverse.update(entitySet, document.id, {
      [c.stripePaymentId]: payment.paymentIntentId,
      [c.paymentStatus]: StripePaymentStatus.paid,
      [c.amountPaid]: minorToMajor(payment.amount, payment.currency),
      [c.liveMode]: payment.livemode,
      [c.paymentUrl]: null,
      ...(payment.customer ? { [c.stripeCustomerId]: payment.customer } : {}),
    });
    if (document.kind === 'invoice')
      await dataverse.update(Invoice.entitySetName, document.id, { statecode: 2, statuscode: 100001 });
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  return true;
}

/**
 * A payment made for a charge request (its metadata names the request), as Stripe's events tell its fate: a
 * request left Sent while Stripe held its charge (`processing`) is completed once the payment succeeds (the
 * order or invoice it names marked paid) or fails (Failed, with Stripe's code and reason). A request still on
 * its way to its charge (Sent without the PaymentIntent's id: the worker that makes the charge completes it),
 * one about another PaymentIntent, one already finished and a copy of a payment still held are left.
 */
export async function followChargeOfRequest(
  dataverse: DataverseClient,
  payment: PaymentOfRequest,
  log: HandlerLogger,
): Promise<void> {
  const requestId = requestIdOf(payment);
  const paymentIntentId = paymentIntentIdOf(payment);
  const outcome = chargeOutcomeOf(payment);
  if (!requestId || !paymentIntentId || outcome.kind === 'pending') return;
  const request = await dataverse.retrieve(ChargeRequest.entitySetName, requestId, {
    select: [R.status, R.stripePaymentIntentId, L.salesorderid.value, L.invoiceid.value],
  });
  if (!request || request[R.stripePaymentIntentId] !== paymentIntentId || request[R.status] !== Status.sent)
    return;
  if (outcome.kind === 'succeeded') {
    const document = documentOf(request);
    const amount = Number(payment.amount);
    const currency = text(payment.currency);
    if (document && Number.isSafeInteger(amount) && currency)
      await markDocumentPaid(dataverse, document, {
        paymentIntentId,
        amount,
        currency,
        customer: idOf(payment.customer) ?? null,
        livemode: payment.livemode === true,
      });
  }
  await dataverse.update(ChargeRequest.entitySetName, requestId, {
    [R.status]: outcome.kind === 'succeeded' ? Status.succeeded : Status.failed,
    [R.declineCode]: outcome.kind === 'failed' ? outcome.code.slice(0, 100) : null,
    [R.failureReason]: outcome.kind === 'failed' ? laterFailureReason(outcome).slice(0, 2000) : null,
  });
  log.info(
    { requestId, paymentIntent: paymentIntentId, outcome: outcome.kind },
    "charge request brought to its payment's outcome",
  );
}

/** The order or invoice a request row names, or null. */
function documentOf(request: Record<string, unknown>): PaidDocument | null {
  const order = request[L.salesorderid.value];
  if (isGuid(order)) return { kind: 'salesorder', id: order.toLowerCase() };
  const invoice = request[L.invoiceid.value];
  if (isGuid(invoice)) return { kind: 'invoice', id: invoice.toLowerCase() };
  return null;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}
