/**
 * Stripe products as Dynamics 365 products: found by their product number (the lookup table's, else the
 * Stripe product id) or their Stripe product id, written, and set to the state Stripe says: Active while the
 * Stripe product is active (published from Draft), Retired when it is archived or deleted. A new product
 * gets the unit group and unit catalog.yaml names, which Dynamics 365 requires of every product.
 */
import type Stripe from 'stripe';
import { Product, ProductStatecode, ProductStatuscode } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import type { MappedRow, MappingSet, PendingLink } from '../../mapping';
import { PermanentError } from '../../pipeline';
import type { SyncContext } from '../../pipeline/handler';
import { odataString } from '../../write/rows';
import { eventEnvelope, mapIfApplies, type StripeObject } from '../../write/stripe-objects';

export const PRODUCT_MAPPING = 'catalog_product';

/** A product of the Dynamics 365 catalog with the unit a price list item of it is priced in. */
export interface CatalogProduct {
  id: string;
  number: string;
  unit: string | null;
  unitGroup: string | null;
}

interface ProductRow extends CatalogProduct {
  state: number | null;
  stripeProductId: string | null;
}

const c = Product.col;
const PRODUCT_SELECT = [
  Product.primaryId,
  c.productNumber,
  c.statecode,
  c.stripeProductId,
  Product.lookup.defaultUoMId.value,
  Product.lookup.defaultUoMScheduleId.value,
];

const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

function productRowOf(row: Row): ProductRow {
  return {
    id: String(row[Product.primaryId]),
    number: String(row[c.productNumber]),
    unit: text(row[Product.lookup.defaultUoMId.value]),
    unitGroup: text(row[Product.lookup.defaultUoMScheduleId.value]),
    state: typeof row[c.statecode] === 'number' ? (row[c.statecode] as number) : null,
    stripeProductId: text(row[c.stripeProductId]),
  };
}

/** The product numbered `number`, if Dynamics 365 has it. */
export async function findProductByNumber(
  dataverse: DataverseClient,
  number: string,
): Promise<ProductRow | null> {
  const [row] = await dataverse.retrieveMultiple(Product.entitySetName, {
    select: PRODUCT_SELECT,
    filter: `${c.productNumber} eq ${odataString(number)}`,
    top: 1,
  });
  return row ? productRowOf(row) : null;
}

/** Takes the link of `column` out of the mapped row (the handler resolves it itself). */
export function takeLink(mapped: MappedRow, column: string): PendingLink | undefined {
  const index = mapped.links.findIndex((link) => link.column === column);
  return index < 0 ? undefined : mapped.links.splice(index, 1)[0];
}

interface Units {
  unit: string | null;
  unitGroup: string | null;
}

/** The unit group and its unit the mapping's links name; a missing one fails the event. */
async function defaultUnits(
  dataverse: DataverseClient,
  group?: PendingLink,
  unit?: PendingLink,
): Promise<Units> {
  const groupName = group?.match?.value;
  const unitName = unit?.match?.value;
  if (!groupName || !unitName) return { unit: null, unitGroup: null };
  const [groupRow] = await dataverse.retrieveMultiple('uomschedules', {
    select: ['uomscheduleid'],
    filter: `name eq ${odataString(groupName)}`,
    top: 1,
  });
  if (!groupRow)
    throw new PermanentError(
      `Dynamics 365 has no unit group named "${groupName}", which catalog.yaml gives new products (defaultuomscheduleid). Add the unit group, or name one Dynamics 365 has, then replay the event.`,
      'unit_group_not_found',
    );
  const [unitRow] = await dataverse.retrieveMultiple('uoms', {
    select: ['uomid'],
    filter: `name eq ${odataString(unitName)} and _uomscheduleid_value eq ${String(groupRow.uomscheduleid)}`,
    top: 1,
  });
  if (!unitRow)
    throw new PermanentError(
      `The unit group "${groupName}" has no unit named "${unitName}", which catalog.yaml gives new products (defaultuomid). Add the unit to the group, or name one it has, then replay the event.`,
      'unit_not_found',
    );
  return { unit: String(unitRow.uomid), unitGroup: String(groupRow.uomscheduleid) };
}

/** The row the Stripe product is written to: the one with its number, else the one keyed by its id. */
async function existingProduct(
  dataverse: DataverseClient,
  number: string,
  stripeProductId: string,
  log: SyncContext['log'],
): Promise<ProductRow | null> {
  const byNumber = await findProductByNumber(dataverse, number);
  const byKey = await dataverse.retrieveByKey(
    Product.entitySetName,
    { [c.stripeProductId]: stripeProductId },
    { select: PRODUCT_SELECT },
  );
  if (!byNumber) return byKey ? productRowOf(byKey) : null;
  if (byKey && String(byKey[Product.primaryId]) !== byNumber.id) {
    // The lookup table now maps the Stripe product onto another product: that one takes the Stripe id.
    log.warn(
      { stripeProductId, from: byKey[c.productNumber], to: number },
      'the Stripe product now maps to another Dynamics 365 product; the Stripe id moves to it',
    );
    await dataverse.update(Product.entitySetName, String(byKey[Product.primaryId]), {
      [c.stripeProductId]: null,
    });
  }
  return byNumber;
}

const STATUS_OF: Record<number, number> = {
  [ProductStatecode.Active]: ProductStatuscode.Active,
  [ProductStatecode.Retired]: ProductStatuscode.Retired,
};

async function setState(dataverse: DataverseClient, id: string, state: number): Promise<void> {
  await dataverse.update(Product.entitySetName, id, { statecode: state, statuscode: STATUS_OF[state] });
}

/** Sold in Stripe: neither archived nor deleted. */
const sellable = (product: StripeObject, event: Stripe.Event) =>
  product.active !== false && product.deleted !== true && event.type !== 'product.deleted';

/** Writes the row: an update of the product found, or a new product (whose state is then read back). */
async function writeProduct(
  dataverse: DataverseClient,
  mapped: MappedRow,
  row: Row,
  existing: ProductRow | null,
  wanted: number,
): Promise<{ id: string; state: number | null }> {
  if (!existing) {
    const { id } = await dataverse.upsertByKey(mapped.entitySet, mapped.key, row);
    const written = await dataverse.retrieve(Product.entitySetName, id, { select: [c.statecode] });
    return { id, state: typeof written?.statecode === 'number' ? written.statecode : null };
  }
  let state = existing.state;
  // A retired product is made Active before it is edited again.
  if (state === ProductStatecode.Retired && wanted === ProductStatecode.Active) {
    await setState(dataverse, existing.id, wanted);
    state = wanted;
  }
  await dataverse.update(Product.entitySetName, existing.id, row);
  return { id: existing.id, state };
}

/**
 * Writes the Stripe product to its Dynamics 365 product and sets its state; returns the product, or null
 * when the mapping does not apply to it.
 */
export async function syncProduct(
  product: StripeObject,
  mappings: MappingSet,
  event: Stripe.Event,
  context: SyncContext,
): Promise<CatalogProduct | null> {
  const mapped = await mapIfApplies(mappings.get(PRODUCT_MAPPING), product, eventEnvelope(event));
  if (!mapped) return null;
  const { dataverse } = context;
  const number = String(mapped.row[c.productNumber]);
  const groupLink = takeLink(mapped, c.defaultUoMScheduleId);
  const unitLink = takeLink(mapped, c.defaultUoMId);
  const existing = await existingProduct(dataverse, number, product.id, context.log);
  const row: Row = { ...mapped.row };
  // A product keeps the units it has: its price list items and order lines are in them.
  const units: Units = existing?.unitGroup ? existing : await defaultUnits(dataverse, groupLink, unitLink);
  if (!existing?.unitGroup && units.unitGroup && units.unit) {
    row['defaultuomscheduleid@odata.bind'] = `/uomschedules(${units.unitGroup})`;
    row['defaultuomid@odata.bind'] = `/uoms(${units.unit})`;
  }
  const wanted = sellable(product, event) ? ProductStatecode.Active : ProductStatecode.Retired;
  const { id, state } = await writeProduct(dataverse, mapped, row, existing, wanted);
  // Draft or Under Revision to Active publishes the product; Active to Retired retires it.
  if (state !== wanted) await setState(dataverse, id, wanted);
  return { id, number, unit: units.unit, unitGroup: units.unitGroup };
}
