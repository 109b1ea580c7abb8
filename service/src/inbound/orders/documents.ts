/**
 * Refunds and disputes of a payment show on the order and invoice it paid: after the payment's row is
 * written, its status and refunded amount are copied to the documents whose Stripe payment id is the
 * payment's (their second alternate key). A payment that paid no document costs one read and two answers
 * of not found. Also called after an order is written, for the refunds and disputes that came before it, and
 * by the payments handler for a payment held for a manual capture: its order or invoice, written unpaid from
 * its completed Checkout Session, becomes paid with the amount captured (or stays unpaid when it is released).
 */
import { Invoice, Payment, PaymentStatus, SalesOrder, StripePaymentStatus } from '@stc/solution/tables';
import type { DataverseClient, KeyValues, Row } from '../../dataverse/types';
import type { HandlerLogger } from '../../pipeline/handler';
import { isNotFound } from '../../write/rows';
import { gatheredRows } from './gather';

/**
 * The payment's status as a document's payment status (stc_documentpaymentstatus), by Stripe value. An
 * authorization held (requires_capture) or released (canceled) paid nothing: the document is unpaid, with
 * nothing refunded, whatever Stripe counts in the charge's amount_refunded for the release.
 */
const DOCUMENT_STATUS: Record<string, number> = {
  requires_capture: StripePaymentStatus.unpaid,
  canceled: StripePaymentStatus.unpaid,
  succeeded: StripePaymentStatus.paid,
  partially_refunded: StripePaymentStatus.partially_refunded,
  refunded: StripePaymentStatus.refunded,
  disputed: StripePaymentStatus.disputed,
};

/** A payment row's status (stc_paymentstatus) by Stripe's spelling. */
export const paymentStatusName = (value: unknown): string | undefined =>
  Object.entries(PaymentStatus).find(([, option]) => option === value)?.[0];

/** Payments read together: those of the orders written within a few milliseconds go in one query. */
const paymentRows = gatheredRows(Payment.entitySetName, Payment.col.stripeId, [
  Payment.col.stripeId,
  Payment.col.status,
  Payment.col.amountRefunded,
  Payment.col.amountCaptured,
]);

/** Rounds of writing the documents and reading the payment again, while it changes meanwhile. */
const ROUNDS = 3;

/**
 * The payment's row is read, its documents written, and the row read once more: another event of the payment
 * (its capture, a refund) may have changed it and shown it on the documents between that read and the write,
 * which the write would then have undone. While the payment reads differently, the documents are written
 * again, up to ROUNDS times. A payment that paid no document is not read again.
 */
export async function reflectPaymentOnDocuments(
  dataverse: DataverseClient,
  log: HandlerLogger,
  paymentId: string | null,
  options: { changedOnly?: boolean; amountPaid?: boolean } = {},
): Promise<void> {
  if (!paymentId) return;
  let shown: string | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const payment = await paymentRows(dataverse).load(paymentId);
    const row = documentRow(payment, { ...options, changedOnly: round === 0 && options.changedOnly });
    if (!row) return;
    const seen = JSON.stringify(row);
    if (seen === shown) return;
    shown = seen;
    if (!(await writeDocuments(dataverse, log, paymentId, row))) return;
  }
}

/** What the payment's documents show of it, or null when there is nothing to show. */
function documentRow(
  payment: Row | null,
  options: { changedOnly?: boolean; amountPaid?: boolean },
): Row | null {
  const status = DOCUMENT_STATUS[paymentStatusName(payment?.[Payment.col.status]) ?? ''];
  if (!payment || status === undefined) return null;
  // A document just written from its Checkout Session says paid already.
  if (options.changedOnly && status === StripePaymentStatus.paid) return null;
  const row: Row = {
    [SalesOrder.col.paymentStatus]: status,
    [SalesOrder.col.amountRefunded]: payment[Payment.col.amountRefunded] ?? 0,
  };
  // What a capture took (none while held or once released); the row's amount without a captured amount.
  const captured = payment[Payment.col.amountCaptured];
  if (options.amountPaid && typeof captured === 'number')
    row[SalesOrder.col.amountPaid] = status === StripePaymentStatus.unpaid ? 0 : captured;
  return row;
}

/** Updates the order and the invoice the payment paid; false when it paid neither. */
async function writeDocuments(
  dataverse: DataverseClient,
  log: HandlerLogger,
  paymentId: string,
  row: Row,
): Promise<boolean> {
  let written = false;
  for (const entitySet of [SalesOrder.entitySetName, Invoice.entitySetName]) {
    try {
      await dataverse.upsertByKey(entitySet, { [SalesOrder.col.stripePaymentId]: paymentId }, row, {
        mode: 'updateOnly',
      });
      written = true;
      log.info(
        { payment: paymentId, entitySet, status: row[SalesOrder.col.paymentStatus] },
        "payment's refunds and disputes shown on its document",
      );
    } catch (error) {
      if (isNotFound(error)) continue;
      if (
        !(await closedDocumentRefused(
          dataverse,
          entitySet,
          { [SalesOrder.col.stripePaymentId]: paymentId },
          error,
        ))
      )
        throw error;
      log.warn(
        { payment: paymentId, entitySet, status: row[SalesOrder.col.paymentStatus] },
        "the payment's document is closed and Dynamics 365 refused the edit: its refunds and disputes show on the payment",
      );
    }
  }
  return written;
}

/**
 * Whether Dataverse refused to edit a document that is closed (an invoice paid or cancelled, an order
 * fulfilled, invoiced or cancelled): the refusal of a business rule (400), not a failure to retry. Such a
 * refusal keeps no event from its own rows; one of an open document, or any other failure, is thrown.
 */
export async function closedDocumentRefused(
  dataverse: DataverseClient,
  entitySet: string,
  key: KeyValues,
  error: unknown,
): Promise<boolean> {
  if ((error as { status?: unknown } | null)?.status !== 400) return false;
  const document = await dataverse.retrieveByKey(entitySet, key, { select: [SalesOrder.col.statecode] });
  return isClosedDocument(document);
}

/** An order or invoice no longer open (statecode other than 0): paid, cancelled, fulfilled or invoiced. */
export function isClosedDocument(document: Row | null): boolean {
  const state = document?.[SalesOrder.col.statecode];
  return typeof state === 'number' && state !== 0;
}
