/**
 * What the subscription policy reads from Dataverse about a request: the account or contact and its Stripe
 * customer, the product's Stripe prices, the synced subscription and item rows it names, the order it starts
 * a subscription from (order.ts). Each is null when the
 * request names none or the row is gone; the policy (policy.ts) says what that means for the action.
 */
import {
  Account,
  Product,
  ProductPriceLevel,
  PriceInterval,
  Subscription,
  SubscriptionItem,
} from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import type { SubscriptionRequestRow } from './requests';
import { readOrder, type OrderFacts } from './order';

export interface CustomerFacts {
  kind: 'account' | 'contact';
  id: string;
  name: string | null;
  stripeCustomerId: string | null;
  livemode: boolean | null;
  stripeAccount: string | null;
}

export interface ProductFacts {
  id: string;
  name: string | null;
  /** Stripe price ids of the product's price list items that are recurring and not archived. */
  recurringPriceIds: string[];
}

export interface SubscriptionFacts {
  id: string;
  stripeId: string | null;
  customerId: string | null;
  stripeCustomerId: string | null;
  status: number | null;
  livemode: boolean | null;
  stripeAccount: string | null;
  /** Stripe's pause_collection behavior while collection is paused; null otherwise. */
  pauseCollection: string | null;
  /** The subscription's item rows, for a quantity change that names none. */
  itemIds: string[];
}

export interface ItemFacts {
  id: string;
  stripeId: string | null;
  subscriptionId: string | null;
}

export interface SubscriptionRequestFacts {
  customer: CustomerFacts | null;
  product: ProductFacts | null;
  subscription: SubscriptionFacts | null;
  item: ItemFacts | null;
  order: OrderFacts | null;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const guid = (value: unknown): string | null => (isGuid(value) ? value.toLowerCase() : null);
const A = Account.col;
const S = Subscription.col;

export async function readFacts(
  dataverse: DataverseClient,
  request: SubscriptionRequestRow,
): Promise<SubscriptionRequestFacts> {
  const [customer, product, subscription, item, order] = await Promise.all([
    request.customerId ? readCustomer(dataverse, request.customerId) : null,
    request.productId ? readProduct(dataverse, request.productId) : null,
    request.subscriptionId ? readSubscription(dataverse, request.subscriptionId) : null,
    request.subscriptionItemId ? readItem(dataverse, request.subscriptionItemId) : null,
    request.orderId && request.action === 'create' ? readOrder(dataverse, request.orderId, request.id) : null,
  ]);
  // A quantity change that names no item is about the subscription's only one.
  const onlyItem =
    !item && subscription && request.action === 'change_quantity' && !request.subscriptionItemId
      ? await readOnlyItem(dataverse, subscription)
      : null;
  return { customer, product, subscription, item: item ?? onlyItem, order };
}

/** The customer lookup names an account or a contact; the one that has the row is it. */
async function readCustomer(dataverse: DataverseClient, id: string): Promise<CustomerFacts | null> {
  const columns = [A.stripeCustomerId, A.liveMode, A.stripeAccount];
  for (const [kind, entitySet, nameColumns] of [
    ['account', 'accounts', ['name']],
    ['contact', 'contacts', ['fullname']],
  ] as const) {
    const row = await dataverse.retrieve(entitySet, id, { select: [...nameColumns, ...columns] });
    if (row)
      return {
        kind,
        id,
        name: str(row[nameColumns[0]]),
        stripeCustomerId: str(row[A.stripeCustomerId]),
        livemode: bool(row[A.liveMode]),
        stripeAccount: str(row[A.stripeAccount]),
      };
  }
  return null;
}

async function readProduct(dataverse: DataverseClient, id: string): Promise<ProductFacts | null> {
  const P = ProductPriceLevel.col;
  const product = await dataverse.retrieve(Product.entitySetName, id, { select: [Product.col.name] });
  if (!product) return null;
  const items = await dataverse.retrieveMultiple(ProductPriceLevel.entitySetName, {
    select: [P.stripePriceId, P.recurringInterval, P.archived],
    filter: `${ProductPriceLevel.lookup.productId.value} eq ${id} and ${P.stripePriceId} ne null`,
  });
  const recurring = (item: Row) =>
    typeof item[P.recurringInterval] === 'number' && item[P.recurringInterval] !== PriceInterval.one_time;
  return {
    id,
    name: str(product[Product.col.name]),
    recurringPriceIds: [
      ...new Set(
        items
          .filter((item) => recurring(item) && item[P.archived] !== true)
          .map((item) => String(item[P.stripePriceId])),
      ),
    ],
  };
}

async function readSubscription(dataverse: DataverseClient, id: string): Promise<SubscriptionFacts | null> {
  const row = await dataverse.retrieve(Subscription.entitySetName, id, {
    select: [
      S.stripeId,
      S.stripeCustomerId,
      S.status,
      S.liveMode,
      S.stripeAccount,
      S.pauseCollection,
      Subscription.lookup.customerid.value,
    ],
  });
  if (!row) return null;
  const items = await dataverse.retrieveMultiple(SubscriptionItem.entitySetName, {
    select: [SubscriptionItem.primaryId],
    filter: `${SubscriptionItem.lookup.subscriptionid.value} eq ${id}`,
  });
  return {
    id,
    stripeId: str(row[S.stripeId]),
    customerId: guid(row[Subscription.lookup.customerid.value]),
    stripeCustomerId: str(row[S.stripeCustomerId]),
    status: typeof row[S.status] === 'number' ? Number(row[S.status]) : null,
    livemode: bool(row[S.liveMode]),
    stripeAccount: str(row[S.stripeAccount]),
    pauseCollection: str(row[S.pauseCollection]),
    itemIds: items.map((item) => guid(item[SubscriptionItem.primaryId])).filter((v) => v !== null),
  };
}

async function readItem(dataverse: DataverseClient, id: string): Promise<ItemFacts | null> {
  const row = await dataverse.retrieve(SubscriptionItem.entitySetName, id, {
    select: [SubscriptionItem.col.stripeId, SubscriptionItem.lookup.subscriptionid.value],
  });
  if (!row) return null;
  return {
    id,
    stripeId: str(row[SubscriptionItem.col.stripeId]),
    subscriptionId: guid(row[SubscriptionItem.lookup.subscriptionid.value]),
  };
}

/** The item of a quantity change that names none: the subscription's only item, read from its row. */
async function readOnlyItem(
  dataverse: DataverseClient,
  subscription: SubscriptionFacts,
): Promise<ItemFacts | null> {
  return subscription.itemIds.length === 1 ? readItem(dataverse, subscription.itemIds[0]) : null;
}
