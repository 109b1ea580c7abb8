/**
 * A payment made by a charge request (an off-session charge from Dynamics 365, outbound/charge-requests): its
 * PaymentIntent's metadata (which its charges carry too) names the request. Once the payment's row is written
 * the request links to it, and a request Stripe held in `processing` (a bank debit) is brought to the outcome
 * the payment's later events tell (write/charge-outcome.ts).
 * The request handler links it too when the row is already there as it finishes; whichever comes second
 * writes the same value.
 */
import { ChargeRequest, Payment } from '@stc/solution/tables';
import { isGuid } from '../../config/outbound';
import type { SyncContext } from '../../pipeline/handler';
import { isNotFound } from '../../write/rows';
import type { StripeObject } from '../../write/stripe-objects';
import { followChargeOfRequest, requestIdOf } from '../../write/charge-outcome';

export { CHARGE_REQUEST_METADATA_KEY } from '../../write/charge-outcome';

/** Links the request to the payment's row, then brings the request to the payment's outcome when it is final. */
export async function linkChargeRequest(
  paymentOrCharge: StripeObject,
  paymentStripeId: string,
  context: SyncContext,
): Promise<void> {
  const requestId = requestIdOf(paymentOrCharge);
  if (!requestId) return;
  if (!(await linkToPaymentRow(requestId, paymentStripeId, context))) return;
  await followChargeOfRequest(context.dataverse, paymentOrCharge, context.log);
}

/** Whether the request is there (linked, or nothing to link it to yet). */
async function linkToPaymentRow(
  requestId: string,
  paymentStripeId: string,
  { dataverse, log }: SyncContext,
): Promise<boolean> {
  const payment = await dataverse.retrieveByKey(
    Payment.entitySetName,
    { [Payment.col.stripeId]: paymentStripeId },
    { select: [Payment.primaryId] },
  );
  const paymentRowId = payment?.[Payment.primaryId];
  if (!isGuid(paymentRowId)) return true;
  try {
    await dataverse.update(ChargeRequest.entitySetName, requestId, {
      [`${ChargeRequest.lookup.paymentid.bind.stc_payment}@odata.bind`]: `/${Payment.entitySetName}(${paymentRowId})`,
    });
    log.info({ requestId, payment: paymentStripeId }, 'charge request linked to its payment');
    return true;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.warn({ requestId, payment: paymentStripeId }, 'the charge request named by the payment is gone');
    return false;
  }
}
