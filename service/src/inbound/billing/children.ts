/**
 * What a subscription and an invoice are made of: a subscription's items (price, quantity, the period each is
 * billed for) as stc_subscriptionitem rows, an invoice's lines (period, proration, discounts, tax) as
 * stc_stripeinvoiceline rows (a credit note's too, negative), each linked by key to its parent's row. The event's object carries its first
 * items or lines; only a parent with more than that (`has_more`) costs a read of the rest from Stripe. A child
 * Stripe no longer lists (an item removed from a subscription, a line removed from a draft invoice) has its row
 * deactivated, so that a parent's active rows are its children as Stripe has them.
 */
import type Stripe from 'stripe';
import { requireTable } from '@stc/solution';
import type { MappedRow, MappingSet } from '../../mapping';
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
  if (children.length < MAX_CHILDREN) await deactivateRemoved(rows, children, parentIdOf(added), context);
}

const ACTIVE = 0;
/** A custom table's inactive state and its default status. */
export const INACTIVE = { statecode: 1, statuscode: 2 };

const parentIdOf = (added: Record<string, unknown>) =>
  String((Object.values(added)[0] as { id?: unknown } | undefined)?.id ?? '');

/**
 * Deactivates the parent's active child rows whose Stripe id is not among `children` (all the parent's children
 * as Stripe lists them). The parent's row and the lookup to it come from the rows just written (their link to
 * the parent by key); with none written, nothing is known to compare and nothing is changed.
 */
async function deactivateRemoved(
  rows: MappedRow[],
  children: StripeObject[],
  parentId: string,
  context: SyncContext,
): Promise<void> {
  const written = rows[0];
  const keyColumn = written ? Object.keys(written.key)[0] : undefined;
  const link = written?.links.find((l) => l.match?.value === parentId);
  if (!written || !keyColumn || !link?.match || parentId === '') return;
  const target = link.targets[0];
  const { dataverse, log } = context;
  const parent = await dataverse.retrieveByKey(
    target.entitySet,
    { [link.match.column]: link.match.value },
    { select: [target.primaryIdColumn] },
  );
  const parentRowId = parent?.[target.primaryIdColumn];
  if (typeof parentRowId !== 'string') return;
  const primaryId = requireTable(written.table).primaryIdColumn;
  const active = await dataverse.retrieveMultiple(written.entitySet, {
    select: [primaryId, keyColumn],
    filter: `_${link.column}_value eq ${parentRowId} and statecode eq ${ACTIVE}`,
  });
  const listed = new Set(children.map((child) => child.id));
  const removed = active.filter((row) => !listed.has(String(row[keyColumn])));
  for (const row of removed) await dataverse.update(written.entitySet, String(row[primaryId]), INACTIVE);
  if (removed.length > 0)
    log.info(
      { parent: parentId, table: written.table, removed: removed.map((row) => row[keyColumn]) },
      'rows of children Stripe no longer lists deactivated',
    );
}

/**
 * The subscription with all its items inline: an event's copy carries its first ten, `has_more` telling of
 * the rest, and the subscription's amount and MRR are the sum of them all. Costs a read only then.
 */
export async function withAllItems(
  subscription: StripeObject,
  event: Stripe.Event,
  context: SyncContext,
): Promise<StripeObject> {
  const list = subscription.items as ListField | undefined;
  if (!list?.has_more) return subscription;
  const data = await childrenOf(subscription, 'items', event, context);
  return { ...subscription, items: { ...list, data, has_more: false } };
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
