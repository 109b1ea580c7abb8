/**
 * Refunds and disputes of a payment show on the order and invoice it paid: after the payment's row is
 * written, its status and refunded amount are copied to the documents whose Stripe payment id is the
 * payment's (their second alternate key). A payment that paid no document costs one read and two answers
 * of not found. Also called after an order is written, for the refunds and disputes that came before it.
 */
import { Invoice, Payment, PaymentStatus, SalesOrder, StripePaymentStatus } from '@stc/solution/tables';
import DataLoader from 'dataloader';
import type { DataverseClient, Row } from '../../dataverse/types';
import type { HandlerLogger } from '../../pipeline/handler';
import { isNotFound, odataString } from '../../write/rows';
import { GATHER_MS } from './parties';

/** The payment's status as a document's payment status (stc_documentpaymentstatus), by Stripe value. */
const DOCUMENT_STATUS: Record<string, number> = {
  succeeded: StripePaymentStatus.paid,
  partially_refunded: StripePaymentStatus.partially_refunded,
  refunded: StripePaymentStatus.refunded,
  disputed: StripePaymentStatus.disputed,
};

const paymentStatusName = (value: unknown): string | undefined =>
  Object.entries(PaymentStatus).find(([, option]) => option === value)?.[0];

const PAYMENTS_PER_QUERY = 50;
const loaders = new WeakMap<DataverseClient, DataLoader<string, Row | null>>();

/** Payments read together: those of the orders written within a few milliseconds go in one query. */
function paymentLoader(dataverse: DataverseClient): DataLoader<string, Row | null> {
  let loader = loaders.get(dataverse);
  if (!loader) {
    loader = new DataLoader(
      async (ids: readonly string[]) => {
        const rows = await dataverse.retrieveMultiple(Payment.entitySetName, {
          select: [Payment.col.stripeId, Payment.col.status, Payment.col.amountRefunded],
          filter: `Microsoft.Dynamics.CRM.In(PropertyName='${Payment.col.stripeId}',PropertyValues=[${ids.map(odataString).join(',')}])`,
        });
        const byId = new Map(rows.map((row) => [String(row[Payment.col.stripeId]), row]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      {
        cache: false,
        maxBatchSize: PAYMENTS_PER_QUERY,
        batchScheduleFn: (run) => setTimeout(run, GATHER_MS),
      },
    );
    loaders.set(dataverse, loader);
  }
  return loader;
}

export async function reflectPaymentOnDocuments(
  dataverse: DataverseClient,
  log: HandlerLogger,
  paymentId: string | null,
  options: { changedOnly?: boolean } = {},
): Promise<void> {
  if (!paymentId) return;
  const payment = await paymentLoader(dataverse).load(paymentId);
  const status = DOCUMENT_STATUS[paymentStatusName(payment?.[Payment.col.status]) ?? ''];
  if (!payment || status === undefined) return;
  // A document just written from its Checkout Session says paid already.
  if (options.changedOnly && status === StripePaymentStatus.paid) return;
  const row = {
    [SalesOrder.col.paymentStatus]: status,
    [SalesOrder.col.amountRefunded]: payment[Payment.col.amountRefunded] ?? 0,
  };
  for (const entitySet of [SalesOrder.entitySetName, Invoice.entitySetName]) {
    try {
      await dataverse.upsertByKey(entitySet, { [SalesOrder.col.stripePaymentId]: paymentId }, row, {
        mode: 'updateOnly',
      });
      log.info(
        { payment: paymentId, entitySet, status },
        "payment's refunds and disputes shown on its document",
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
