/**
 * Billing: `customer.subscription.*` → one stc_subscription row per subscription, and `invoice.*` → one
 * stc_stripeinvoice row per invoice, each linked to the account or contact of its Stripe customer; an
 * invoice is also linked to its subscription's row. A subscription's items and an invoice's lines follow their
 * parent (children.ts); an `invoice_payment.paid` names the invoice's PaymentIntent; a credit note is a negative document linked to
 * the invoice it credits. The event's own copy of the object is mapped: the
 * pipeline's ordering stamp keeps an event of an earlier second from overwriting a newer one, and within one
 * second (no order known) the object is read fresh from Stripe instead, an invoice with its payments'
 * PaymentIntents (`refresh` in invoices.yaml), whose status says whether an attempted payment failed or waits
 * for the customer. A draft invoice deleted in Stripe (`invoice.deleted`, or a read answered "no such
 * invoice") has its row and its lines' rows deactivated.
 */
import type Stripe from 'stripe';
import type { MappingSet } from '../../mapping';
import {
  eventEnvelope,
  mapIfApplies,
  objectForMapping,
  type StripeObject,
  logUnmapped,
  reportNothingWritten,
} from '../../write/stripe-objects';
import { StripeInvoice, StripeInvoiceLine, Subscription } from '@stc/solution/tables';
import { isResourceMissing } from '../../stripe';
import { linkWaitingRows, odataString, writeMappedRow } from '../../write/rows';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';
import { INACTIVE, withAllItems, writeInvoiceLines, writeSubscriptionItems } from './children';

/** Mapping names in the mapping files (subscriptions.yaml, invoices.yaml). */
export const SUBSCRIPTION_MAPPING = 'subscription';
export const INVOICE_MAPPING = 'invoice';

export const INVOICE_PAYMENT_MAPPING = 'invoice_payment';
export const CREDIT_NOTE_MAPPING = 'credit_note';

const MAPPING_BY_OBJECT: Record<string, string> = {
  subscription: SUBSCRIPTION_MAPPING,
  invoice: INVOICE_MAPPING,
  invoice_payment: INVOICE_PAYMENT_MAPPING,
  credit_note: CREDIT_NOTE_MAPPING,
};

export const BILLING_EVENT_TYPES = [
  'customer.subscription.*',
  'invoice.created',
  'invoice.deleted',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.payment_succeeded',
  'invoice.voided',
  'invoice.marked_uncollectible',
  'invoice.updated',
  'invoice_payment.paid',
  'credit_note.created',
  'credit_note.updated',
  'credit_note.voided',
];

/**
 * Invoice events whose type is part of what is written (invoices.yaml takes the collection state from it:
 * payment_failed, action_required), where the event's copy of the invoice cannot tell it (still open, its
 * PaymentIntent named by id only).
 */
const INVOICE_TYPES_WRITTEN_FROM_EVENT = new Set([
  'invoice.payment_failed',
  'invoice.payment_action_required',
]);

/**
 * Which older events of an object an event stands for when they wait together: any, except an invoice event
 * whose type is written (a payment that failed or needs the customer's action), which only such an event
 * stands for. An invoice.updated's copy of an attempted open invoice leaves the collection state as written:
 * standing for such an event, it would leave out the state that event gives.
 */
export function billingEventStandsFor(olderType: string, newerType: string): boolean {
  return !INVOICE_TYPES_WRITTEN_FROM_EVENT.has(olderType) || INVOICE_TYPES_WRITTEN_FROM_EVENT.has(newerType);
}

/**
 * A draft invoice deleted in Stripe (only a draft can be): its row and its lines' rows are deactivated, as a
 * deleted customer's row is, and nothing is created for it.
 */
async function deactivateDeletedInvoice(
  invoiceId: string,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const { dataverse } = context;
  const row = await dataverse.retrieveByKey(
    StripeInvoice.entitySetName,
    { [StripeInvoice.col.stripeId]: invoiceId },
    { select: [StripeInvoice.primaryId] },
  );
  if (!row) {
    reportNothingWritten(
      context,
      { eventId: event.id, id: invoiceId },
      'no row of this deleted draft invoice',
    );
    return;
  }
  const rowId = String(row[StripeInvoice.primaryId]);
  await dataverse.update(StripeInvoice.entitySetName, rowId, INACTIVE);
  const lines = await dataverse.retrieveMultiple(StripeInvoiceLine.entitySetName, {
    select: [StripeInvoiceLine.primaryId],
    filter: `${StripeInvoiceLine.lookup.invoiceid.value} eq ${rowId} and statecode eq 0`,
  });
  for (const line of lines)
    await dataverse.update(
      StripeInvoiceLine.entitySetName,
      String(line[StripeInvoiceLine.primaryId]),
      INACTIVE,
    );
  context.log.info({ invoice: invoiceId, lines: lines.length }, 'deleted draft invoice deactivated');
}

/** Invoices linked to their subscription's row in one run, at most. */
const MAX_INVOICES_TO_LINK = 500;

/**
 * Invoices written before their subscription's row (a new subscription's first invoice, its events of the
 * same second worked side by side) have no link to it: once the row is written, they get it. Costs one
 * Dataverse read when none is waiting.
 */
async function linkWaitingInvoices(subscriptionId: string, context: SyncContext): Promise<void> {
  await linkWaitingRows(
    context.dataverse,
    {
      entitySet: StripeInvoice.entitySetName,
      primaryId: StripeInvoice.primaryId,
      filter: `${StripeInvoice.col.stripeSubscriptionId} eq ${odataString(subscriptionId)} and ${StripeInvoice.lookup.subscriptionid.value} eq null`,
      top: MAX_INVOICES_TO_LINK,
    },
    {
      navigation: StripeInvoice.lookup.subscriptionid.bind.stc_subscription,
      target: `/${Subscription.entitySetName}(${Subscription.col.stripeId}=${odataString(subscriptionId)})`,
    },
  );
}

export function createBillingHandler(mappings: () => MappingSet): StripeEventHandler {
  return {
    resource: 'billing',
    eventTypes: BILLING_EVENT_TYPES,
    standsFor: billingEventStandsFor,
    async handle(event, context) {
      const object = event.data.object as unknown as StripeObject;
      const name = MAPPING_BY_OBJECT[object.object];
      if (!name) {
        logUnmapped(event, context, 'billing');
        return;
      }
      const mapping = mappings().get(name);
      if (event.type === 'invoice.deleted') return deactivateDeletedInvoice(object.id, event, context);
      let read: StripeObject;
      try {
        read = await objectForMapping(mapping, event, context, object, object.id);
      } catch (error) {
        // A draft deleted since its event: Stripe no longer has it.
        if (object.object === 'invoice' && isResourceMissing(error))
          return deactivateDeletedInvoice(object.id, event, context);
        throw error;
      }
      const current = read.object === 'subscription' ? await withAllItems(read, event, context) : read;
      const mapped = await mapIfApplies(mapping, current, eventEnvelope(event));
      if (!mapped) {
        reportNothingWritten(context, { eventId: event.id, id: object.id }, 'no billing mapping applies');
        return;
      }
      await writeMappedRow(context.dataverse, context.log, mapped);
      if (current.object === 'subscription') {
        await writeSubscriptionItems(mappings(), current, event, context);
        await linkWaitingInvoices(current.id, context);
      }
      if (current.object === 'invoice' || current.object === 'credit_note')
        await writeInvoiceLines(mappings(), current, event, context);
    },
  };
}
