/**
 * Stripe prices as price list items (productpricelevel): one per price with a single unit amount, in the
 * price list of its currency and billing interval (made when missing), on its product (written from Stripe
 * first when Dynamics 365 does not have it yet) and the product's default unit. Dynamics 365 holds one item
 * per product and unit in a price list, so of two active prices of a product in one list the newer holds
 * the item, and an archived price gives its item up to a new one. An archived or deleted price's item is
 * marked archived (the connector deletes nothing in Dynamics 365).
 */
import type Stripe from 'stripe';
import { PriceLevel, ProductPriceLevel } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import type { MappedRow, MappingSet } from '../../mapping';
import { PermanentError } from '../../pipeline';
import type { SyncContext } from '../../pipeline/handler';
import { isNotFound, odataString, resolveLink } from '../../write/rows';
import {
  eventEnvelope,
  idOf,
  mapIfApplies,
  reportNothingWritten,
  stripeForEvent,
  type StripeObject,
} from '../../write/stripe-objects';
import { findProductByNumber, syncProduct, takeLink, type CatalogProduct } from './products';

export const PRICE_MAPPING = 'catalog_price';

const c = ProductPriceLevel.col;

/** Price lists found or made, per client and name: concurrent prices of one currency make one list. */
const priceLists = new WeakMap<DataverseClient, Map<string, Promise<string>>>();

async function findOrCreatePriceList(
  dataverse: DataverseClient,
  name: string,
  currencyBind: string,
): Promise<string> {
  const [found] = await dataverse.retrieveMultiple(PriceLevel.entitySetName, {
    select: [PriceLevel.primaryId],
    filter: `${PriceLevel.col.name} eq ${odataString(name)}`,
    top: 1,
  });
  if (found) return String(found[PriceLevel.primaryId]);
  return dataverse.create(PriceLevel.entitySetName, {
    [PriceLevel.col.name]: name,
    [PriceLevel.col.description]: 'Prices of the Stripe catalog, written by the Stripe connector.',
    'transactioncurrencyid@odata.bind': currencyBind,
  });
}

/** The price list of this name, made in the currency when Dynamics 365 has none. */
function priceList(dataverse: DataverseClient, name: string, currencyBind: string): Promise<string> {
  let lists = priceLists.get(dataverse);
  if (!lists) priceLists.set(dataverse, (lists = new Map()));
  const known = lists.get(name);
  if (known) return known;
  const pending = findOrCreatePriceList(dataverse, name, currencyBind);
  lists.set(name, pending);
  // A failed look-up or a list deleted since is looked for again next time.
  pending.catch(() => lists.delete(name));
  return pending;
}

/** The currency of the price, which Dynamics 365 must have: a price list is in one currency. */
async function currencyOf(mapped: MappedRow, dataverse: DataverseClient): Promise<string> {
  const link = takeLink(mapped, c.transactionCurrencyId);
  const resolved = link ? await resolveLink(link, dataverse) : null;
  if (!resolved)
    throw new PermanentError(
      `Dynamics 365 has no currency ${link?.match?.value ?? '(none given)'}: a price list is in one currency. Add the currency (Settings > Currencies), then replay the event.`,
      'currency_not_found',
    );
  return resolved.path;
}

/** The product the price belongs to, written from Stripe first when the catalog does not have it yet. */
async function productOf(
  mapped: MappedRow,
  price: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
): Promise<CatalogProduct & { unit: string }> {
  const number = takeLink(mapped, c.productId)?.match?.value;
  if (!number) throw new PermanentError(`Price ${price.id} names no product`, 'product_missing');
  let product: CatalogProduct | null = await findProductByNumber(context.dataverse, number);
  const stripeProductId = idOf(price.product);
  if (!product && stripeProductId) {
    const stripeProduct = await stripeForEvent(event, context).products.retrieve(stripeProductId);
    const synced = await syncProduct(stripeProduct as unknown as StripeObject, mappings, event, context);
    product = synced?.number === number ? synced : await findProductByNumber(context.dataverse, number);
  }
  if (!product)
    throw new PermanentError(
      `Dynamics 365 has no product numbered "${number}", which the products lookup table gives price ${price.id}. Add the product, or correct lookups/products.yaml, then replay the event.`,
      'product_not_found',
    );
  if (!product.unit)
    throw new PermanentError(
      `Product "${number}" has no default unit, which a price list item needs. Set its unit group and default unit, then replay the event.`,
      'product_unit_missing',
    );
  return { ...product, unit: product.unit };
}

/** Whether this price may hold the list's item of the product and unit (claimed from an older price). */
async function claimItem(
  dataverse: DataverseClient,
  price: StripeObject,
  slot: { list: string; product: string; unit: string },
  event: Stripe.Event,
  context: SyncContext,
): Promise<boolean> {
  const [holder] = await dataverse.retrieveMultiple(ProductPriceLevel.entitySetName, {
    select: [ProductPriceLevel.primaryId, c.stripePriceId],
    filter: `_pricelevelid_value eq ${slot.list} and _productid_value eq ${slot.product} and _uomid_value eq ${slot.unit}`,
    top: 1,
  });
  const holderPrice = holder?.[c.stripePriceId];
  if (!holder || holderPrice === price.id) return true;
  if (typeof holderPrice === 'string' && holderPrice) {
    const other = await stripeForEvent(event, context)
      .prices.retrieve(holderPrice)
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode === 404) return null;
        throw error;
      });
    // The newer price keeps the item; of two made in the same second, the one with the greater id.
    const created = Number(price.created);
    if (other?.active && (other.created > created || (other.created === created && other.id > price.id))) {
      context.log.info(
        { price: price.id, heldBy: holderPrice },
        'a newer price of the product holds its item in this price list; nothing written',
      );
      return false;
    }
  }
  await dataverse.update(ProductPriceLevel.entitySetName, String(holder[ProductPriceLevel.primaryId]), {
    [c.stripePriceId]: price.id,
  });
  return true;
}

/** Marks the archived price's item, if it has one; an archived price gets no new item. */
async function markArchived(
  dataverse: DataverseClient,
  mapped: MappedRow,
  context: SyncContext,
): Promise<void> {
  try {
    await dataverse.upsertByKey(
      mapped.entitySet,
      mapped.key,
      { ...mapped.row, [c.archived]: true },
      {
        mode: 'updateOnly',
      },
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
    reportNothingWritten(context, { key: mapped.key }, 'an archived price with no price list item');
  }
}

const sellable = (price: StripeObject, event: Stripe.Event) =>
  price.active !== false && price.deleted !== true && event.type !== 'price.deleted';

export async function syncPrice(
  price: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
): Promise<void> {
  const { dataverse } = context;
  const mapped = await mapIfApplies(mappings.get(PRICE_MAPPING), price, eventEnvelope(event));
  if (!mapped) {
    reportNothingWritten(
      context,
      { eventId: event.id, price: price.id, billing_scheme: price.billing_scheme },
      'the price has no single unit amount, so it is no price list item',
    );
    return;
  }
  if (!sellable(price, event)) return markArchived(dataverse, mapped, context);
  const listName = takeLink(mapped, c.priceLevelId)?.match?.value;
  if (!listName) throw new PermanentError(`Price ${price.id} names no price list`, 'price_list_missing');
  const currency = await currencyOf(mapped, dataverse);
  const product = await productOf(mapped, price, mappings, event, context);
  const item = {
    list: await priceList(dataverse, listName, currency),
    product: product.id,
    unit: product.unit,
  };
  if (!(await claimItem(dataverse, price, item, event, context))) return;
  const row: Row = {
    ...mapped.row,
    'pricelevelid@odata.bind': `/${PriceLevel.entitySetName}(${item.list})`,
    'productid@odata.bind': `/products(${product.id})`,
    'uomid@odata.bind': `/uoms(${product.unit})`,
    'transactioncurrencyid@odata.bind': currency,
  };
  if (product.unitGroup) row['uomscheduleid@odata.bind'] = `/uomschedules(${product.unitGroup})`;
  try {
    await dataverse.upsertByKey(mapped.entitySet, mapped.key, row);
  } catch (error) {
    // A price list deleted in Dynamics 365 since it was found: forgotten, so the retry finds or makes it.
    if (isNotFound(error)) priceLists.get(dataverse)?.delete(listName);
    throw error;
  }
}
