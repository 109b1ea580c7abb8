/**
 * The order or invoice a charge pays: once the PaymentIntent succeeded, the document takes its payment id
 * (its second alternate key, by which later refunds and disputes of the payment show on it), the payment
 * status Paid and the amount paid, and its payment page's URL goes; an invoice is closed as Paid. As a paid
 * payment link does (inbound/orders/payment-links.ts), with the charge in place of the Checkout Session.
 */
import type Stripe from 'stripe';
import { Invoice, SalesOrder, StripePaymentStatus } from '@stc/solution/tables';
import type { DataverseClient } from '../../dataverse/types';
import { minorToMajor } from '../../mapping';
import { isNotFound } from '../../write/rows';
import { idOf } from '../../write/stripe-objects';
import type { DocumentFacts } from './facts';

/** Whether the document is there (and now shows the payment). */
export async function markDocumentPaid(
  dataverse: DataverseClient,
  document: Pick<DocumentFacts, 'kind' | 'id'>,
  paymentIntent: Stripe.PaymentIntent,
): Promise<boolean> {
  const entitySet = document.kind === 'salesorder' ? SalesOrder.entitySetName : Invoice.entitySetName;
  const current = await dataverse.retrieve(entitySet, document.id, { select: ['statecode'] });
  if (!current) return false;
  // A paid invoice takes no further edits in Dynamics 365: an earlier delivery wrote it.
  if (document.kind === 'invoice' && current.statecode === 2) return true;
  const c = SalesOrder.col;
  const customer = idOf(paymentIntent.customer);
  try {
    await dataverse.update(entitySet, document.id, {
      [c.stripePaymentId]: paymentIntent.id,
      [c.paymentStatus]: StripePaymentStatus.paid,
      [c.amountPaid]: minorToMajor(paymentIntent.amount, paymentIntent.currency),
      [c.liveMode]: paymentIntent.livemode,
      [c.paymentUrl]: null,
      ...(customer ? { [c.stripeCustomerId]: customer } : {}),
    });
    if (document.kind === 'invoice')
      await dataverse.update(Invoice.entitySetName, document.id, { statecode: 2, statuscode: 100001 });
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  return true;
}
