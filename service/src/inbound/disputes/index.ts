/**
 * Disputes: `charge.dispute.*` → one stc_dispute row per dispute, with funds withdrawn and reinstated,
 * linked to its payment. The payment is re-synced first: Stripe marks its charge disputed, which the
 * payment mapping turns into the stc_disputed flag and the `disputed` status.
 */
import type { MappingSet } from '../../mapping';
import { syncPayment, type PaymentHooks } from '../payments';
import {
  eventEnvelope,
  idOf,
  mapIfApplies,
  objectEventHandler,
  objectForMapping,
} from '../../write/stripe-objects';
import { writeMappedRow } from '../../write/rows';
import type { StripeEventHandler } from '../../pipeline/handler';

export const DISPUTE_MAPPING = 'dispute';

/** `hooks`: what writing its payment does besides (a hold's invoice, a payment's order), run after its rows. */
export function createDisputesHandler(
  mappings: () => MappingSet,
  hooks: PaymentHooks = {},
): StripeEventHandler {
  return objectEventHandler('disputes', ['charge.dispute.*'], 'dispute', async (dispute, event, context) => {
    const set = mappings();
    // A captured hold's invoice, made once the dispute is written.
    const later: Array<() => Promise<void>> = [];
    await syncPayment(
      set,
      {
        paymentIntent: idOf(dispute.payment_intent),
        charge: idOf(dispute.charge),
        documents: 'always',
        hooks,
        later,
      },
      event,
      context,
    );
    const mapping = set.get(DISPUTE_MAPPING);
    const object = await objectForMapping(mapping, event, context, dispute, dispute.id);
    const mapped = await mapIfApplies(mapping, object, eventEnvelope(event));
    if (mapped) await writeMappedRow(context.dataverse, context.log, mapped);
    for (const work of later) await work();
  });
}
