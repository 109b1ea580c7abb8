/**
 * A payment made by a charge request (an off-session charge from Dynamics 365, outbound/charge-requests): its
 * PaymentIntent's metadata (which its charges carry too) names the request, and once the payment's row is
 * written the request links to it.
 * The request handler links it too when the row is already there as it finishes; whichever comes second
 * writes the same value.
 */
import { ChargeRequest, Payment } from '@stc/solution/tables';
import { isGuid } from '../../config/outbound';
import type { SyncContext } from '../../pipeline/handler';
import { isNotFound } from '../../write/rows';
import type { StripeObject } from '../../write/stripe-objects';

/** Metadata key on a PaymentIntent made by a charge request: the request's Dataverse id. */
export const CHARGE_REQUEST_METADATA_KEY = 'd365_chargerequestid';

export async function linkChargeRequest(
  paymentOrCharge: StripeObject,
  paymentStripeId: string,
  { dataverse, log }: SyncContext,
): Promise<void> {
  const requestId = (paymentOrCharge.metadata as Record<string, unknown> | undefined)?.[
    CHARGE_REQUEST_METADATA_KEY
  ];
  if (!isGuid(requestId)) return;
  const payment = await dataverse.retrieveByKey(
    Payment.entitySetName,
    { [Payment.col.stripeId]: paymentStripeId },
    { select: [Payment.primaryId] },
  );
  const paymentRowId = payment?.[Payment.primaryId];
  if (!isGuid(paymentRowId)) return;
  try {
    await dataverse.update(ChargeRequest.entitySetName, requestId, {
      [`${ChargeRequest.lookup.paymentid.bind.stc_payment}@odata.bind`]: `/${Payment.entitySetName}(${paymentRowId})`,
    });
    log.info({ requestId, payment: paymentStripeId }, 'charge request linked to its payment');
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.warn({ requestId, payment: paymentStripeId }, 'the charge request named by the payment is gone');
  }
}
