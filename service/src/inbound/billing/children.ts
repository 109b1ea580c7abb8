/**
 * What a subscription and an invoice are made of: a subscription's items (price, quantity, the period each is
 * billed for) as stc_subscriptionitem rows, an invoice's lines (period, proration, discounts, tax) as
 * stc_stripeinvoiceline rows (a credit note's too, negative), each linked by key to its parent's row. The event's object carries its first
 * items or lines; only a parent with more than that (`has_more`) costs a read of the rest from Stripe.
 */
import type Stripe from 'stripe';
import type { MappingSet } from '../../mapping';
import type { SyncContext } from '../../pipeline/handler';
import { writeMappedRow } from '../../write/rows';
import { eventEnvelope, mapIfApplies, stripeForEvent, type StripeObject } from '../../write/stripe-objects';

export const SUBSCRIPTION_ITEM_MAPPING = 'subscription_item';
export const INVOICE_LINE_MAPPING = 'invoice_line';
export const CREDIT_NOTE_LINE_MAPPING = 'credit_note_line';

/** Items or lines past this many are not written (Stripe allows 20 items, and invoices rarely near this). */
const MAX_CHILDREN = 1000;

interface ListField {
  data?: StripeObject[];
  has_more?: boolean;
}

async function childrenOf(
  parent: StripeObject,
  field: 'items' | 'lines',
  event: Stripe.Event,
  context: SyncContext,
): Promise<StripeObject[]> {
  const list = parent[field] as ListField | undefined;
  if (!list?.has_more) return list?.data ?? [];
  const stripe = stripeForEvent(event, context);
  const all =
    field === 'items'
      ? stripe.subscriptionItems.list({ subscription: parent.id, limit: 100 })
      : parent.object === 'credit_note'
        ? stripe.creditNotes.listLineItems(parent.id, { limit: 100 })
        : stripe.invoices.listLineItems(parent.id, { limit: 100 });
  return (await all.autoPagingToArray({ limit: MAX_CHILDREN })) as unknown as StripeObject[];
}

async function writeChildren(
  mappings: MappingSet,
  mappingName: string,
  children: StripeObject[],
  added: Record<string, unknown>,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  if (!mappings.has(mappingName)) return;
  const mapping = mappings.get(mappingName);
  const envelope = eventEnvelope(event);
  const rows = [];
  for (const child of children) {
    const mapped = await mapIfApplies(mapping, { ...child, ...added }, envelope);
    if (mapped) rows.push(mapped);
  }
  await Promise.all(rows.map((row) => writeMappedRow(context.dataverse, context.log, row)));
}

/** The subscription's items, after the subscription's own row. */
export async function writeSubscriptionItems(
  mappings: MappingSet,
  subscription: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const items = await childrenOf(subscription, 'items', event, context);
  const parent = {
    id: subscription.id,
    livemode: subscription.livemode,
    currency: subscription.currency,
    current_period_start: subscription.current_period_start,
    current_period_end: subscription.current_period_end,
  };
  await writeChildren(
    mappings,
    SUBSCRIPTION_ITEM_MAPPING,
    items.map((item) => ({ ...item, object: 'subscription_item' })),
    { subscription: parent },
    event,
    context,
  );
}

/** The invoice's or credit note's lines, after its own row. */
export async function writeInvoiceLines(
  mappings: MappingSet,
  invoice: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const lines = await childrenOf(invoice, 'lines', event, context);
  const parent = { id: invoice.id, livemode: invoice.livemode, currency: invoice.currency };
  await writeChildren(
    mappings,
    invoice.object === 'credit_note' ? CREDIT_NOTE_LINE_MAPPING : INVOICE_LINE_MAPPING,
    lines.map((line) => ({ livemode: invoice.livemode, ...line })),
    { invoice: parent },
    event,
    context,
  );
}
