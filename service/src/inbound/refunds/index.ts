/**
 * Refunds: `refund.*`, `charge.refunded` and `charge.refund.updated` → one stc_refund row per refund,
 * full or partial, linked to its payment. The payment is re-synced first, so its status follows
 * (partially_refunded, refunded) and the refund's link to it binds by key to a row that exists. A refund made
 * for a refund request (its metadata names the request) carries its final status to the request too.
 */
import type Stripe from 'stripe';
import type { MappingSet } from '../../mapping';
import { syncPayment, type PaymentHooks } from '../payments';
import {
  eventEnvelope,
  idOf,
  mapIfApplies,
  objectForMapping,
  stripeForEvent,
  type StripeObject,
  logUnmapped,
} from '../../write/stripe-objects';
import { writeMappedRow } from '../../write/rows';
import { followRefundOfRequest } from '../../write/refund-outcome';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';

export const REFUND_MAPPING = 'refund';

/** Refunds of one charge are listed from Stripe up to this many (a charge rarely has more than a few). */
const MAX_REFUNDS_PER_CHARGE = 1000;

async function writeRefund(
  mappings: MappingSet,
  refund: StripeObject,
  fresh: boolean,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const mapping = mappings.get(REFUND_MAPPING);
  const object = fresh ? refund : await objectForMapping(mapping, event, context, refund, refund.id);
  const mapped = await mapIfApplies(mapping, object, eventEnvelope(event));
  if (mapped) await writeMappedRow(context.dataverse, context.log, mapped);
  await followRefundOfRequest(context.dataverse, object, context.log);
}

/** `hooks`: what writing its payment does besides (a hold's invoice, a payment's order), run after its rows. */
export function createRefundsHandler(
  mappings: () => MappingSet,
  hooks: PaymentHooks = {},
): StripeEventHandler {
  return {
    resource: 'refunds',
    eventTypes: ['refund.*', 'charge.refunded', 'charge.refund.updated'],
    async handle(event, context) {
      const object = event.data.object as unknown as StripeObject;
      const set = mappings();
      // A captured hold's invoice, made once the refunds are written.
      const later: Array<() => Promise<void>> = [];
      if (object.object === 'refund') {
        await syncPayment(
          set,
          {
            paymentIntent: idOf(object.payment_intent),
            charge: idOf(object.charge),
            documents: 'always',
            hooks,
            later,
          },
          event,
          context,
        );
        await writeRefund(set, object, false, event, context);
        for (const work of later) await work();
        return;
      }
      if (object.object === 'charge') {
        await syncPayment(
          set,
          {
            paymentIntent: idOf(object.payment_intent),
            charge: object.id,
            payload: object,
            documents: 'always',
            hooks,
            later,
          },
          event,
          context,
        );
        // Since API version 2022-11-15 a charge no longer carries its refunds: list them, fresh.
        const stripe = stripeForEvent(event, context);
        const refunds = await stripe.refunds
          .list({ charge: object.id, limit: 100 })
          .autoPagingToArray({ limit: MAX_REFUNDS_PER_CHARGE });
        for (const refund of refunds)
          await writeRefund(set, refund as unknown as StripeObject, true, event, context);
        for (const work of later) await work();
        return;
      }
      logUnmapped(event, context, 'refunds');
    },
  };
}
