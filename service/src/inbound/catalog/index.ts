/**
 * Catalog: `product.*` → Dynamics 365 products (numbered by the products lookup table, else by the Stripe
 * product id, which is how the orders handler finds an order line's product), Active while sold and Retired
 * when archived or deleted, never deleted; `price.*` → price list items in a price list per currency and
 * billing interval. The mappings are in catalog.yaml, which also says what Dynamics 365 requires of them.
 */
import type { MappingSet } from '../../mapping';
import type { StripeEventHandler } from '../../pipeline/handler';
import {
  logUnmapped,
  reportNothingWritten,
  retrieveObject,
  type StripeObject,
} from '../../write/stripe-objects';
import { syncPrice, PRICE_MAPPING } from './prices';
import { syncProduct, PRODUCT_MAPPING } from './products';

export { PRICE_MAPPING, PRODUCT_MAPPING };
export { findProductByNumber, type CatalogProduct } from './products';

export const CATALOG_EVENT_TYPES = [
  'product.created',
  'product.updated',
  'product.deleted',
  'price.created',
  'price.updated',
  'price.deleted',
];

export function createCatalogHandler(mappings: () => MappingSet): StripeEventHandler {
  return {
    resource: 'catalog',
    eventTypes: CATALOG_EVENT_TYPES,
    async handle(event, context) {
      const given = event.data.object as unknown as StripeObject;
      if (given.object !== 'product' && given.object !== 'price') {
        logUnmapped(event, context, 'catalog');
        return;
      }
      // A payload that may be older than what is written is read again, unless the object is deleted.
      const deleted = event.type.endsWith('.deleted');
      const object =
        context.payloadMayBeStale && !deleted
          ? await retrieveObject(event, context, given.object, given.id)
          : given;
      if (object.object === 'price') await syncPrice(object, mappings(), event, context);
      else if ((await syncProduct(object, mappings(), event, context)) === null)
        reportNothingWritten(
          context,
          { eventId: event.id, product: object.id },
          'no catalog mapping applies',
        );
    },
  };
}
