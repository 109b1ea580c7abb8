/**
 * Who and what an order line names, resolved in Dataverse: the order's customer (the account or contact of
 * the Stripe customer, else the one row whose e-mail is the payer's) and each line's product with its
 * default unit (else the line is written in). Found products are remembered for a few minutes per client,
 * so a burst of orders of one catalog asks Dataverse once per product.
 */
import type { DataverseClient, Row } from '../../dataverse/types';
import type { MappedRow, PendingLink } from '../../mapping';
import { odataString, resolveLink } from '../../write/rows';

export const CUSTOMER_LINK = 'customerid';
export const PRODUCT_LINK = 'productid';

/** The customer found for an order, or why none was: the review an operator is asked for. */
export type CustomerMatch =
  { found: true } | { found: false; reason: 'none' | 'several'; email: string | null; candidates: number };

const CUSTOMER_TABLES = [
  { entitySet: 'accounts', navigation: 'customerid_account', id: 'accountid' },
  { entitySet: 'contacts', navigation: 'customerid_contact', id: 'contactid' },
];

/**
 * Binds the document's customer: by the Stripe customer (the mapping's `customerid` link), else by the
 * payer's e-mail when exactly one account or contact has it. The link is taken out of `mapped.links`.
 */
export async function bindCustomer(
  dataverse: DataverseClient,
  mapped: MappedRow,
  email: string | null,
): Promise<CustomerMatch> {
  const link = takeLink(mapped, CUSTOMER_LINK);
  const byCustomer = link ? await resolveLink(link, dataverse) : null;
  if (byCustomer) {
    mapped.row[`${byCustomer.navigation}@odata.bind`] = byCustomer.path;
    return { found: true };
  }
  if (!email) return { found: false, reason: 'none', email: null, candidates: 0 };
  const matches: Array<{ navigation: string; path: string }> = [];
  for (const table of CUSTOMER_TABLES) {
    const rows = await dataverse.retrieveMultiple(table.entitySet, {
      select: [table.id],
      filter: `emailaddress1 eq ${odataString(email)} and statecode eq 0`,
      top: 2,
    });
    for (const row of rows)
      matches.push({ navigation: table.navigation, path: `/${table.entitySet}(${String(row[table.id])})` });
  }
  if (matches.length !== 1)
    return { found: false, reason: matches.length ? 'several' : 'none', email, candidates: matches.length };
  mapped.row[`${matches[0].navigation}@odata.bind`] = matches[0].path;
  return { found: true };
}

function takeLink(mapped: MappedRow, column: string): PendingLink | undefined {
  const index = mapped.links.findIndex((link) => link.column === column);
  if (index < 0) return undefined;
  return mapped.links.splice(index, 1)[0];
}

interface FoundProduct {
  id: string;
  unit: string | null;
  expires: number;
}

const PRODUCT_TTL_MS = 5 * 60_000;
const PRODUCT_CACHE_MAX = 10_000;
const productCaches = new WeakMap<DataverseClient, Map<string, FoundProduct | null>>();

async function findProduct(dataverse: DataverseClient, number: string): Promise<FoundProduct | null> {
  let cache = productCaches.get(dataverse);
  if (!cache) productCaches.set(dataverse, (cache = new Map()));
  const cached = cache.get(number);
  if (cached && cached.expires > Date.now()) return cached;
  const [row] = await dataverse.retrieveMultiple('products', {
    select: ['productid', '_defaultuomid_value'],
    filter: `productnumber eq ${odataString(number)}`,
    top: 1,
  });
  // A product not found is asked again next time: it may be added to the catalog at any moment.
  if (!row) return null;
  const found = productOf(row);
  if (cache.size >= PRODUCT_CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(number, found);
  return found;
}

const productOf = (row: Row): FoundProduct => ({
  id: String(row.productid),
  unit: typeof row._defaultuomid_value === 'string' ? row._defaultuomid_value : null,
  expires: Date.now() + PRODUCT_TTL_MS,
});

/**
 * Sets the line's product and unit when the catalog has it, or makes it a write-in line (the item's
 * description as the product) when it does not. Returns whether the product was found.
 */
export async function bindProduct(dataverse: DataverseClient, mapped: MappedRow): Promise<boolean> {
  const link = takeLink(mapped, PRODUCT_LINK);
  const number = link?.match?.value;
  const product = number ? await findProduct(dataverse, number) : null;
  if (!product) {
    mapped.row.isproductoverridden = true;
    return false;
  }
  mapped.row.isproductoverridden = false;
  mapped.row['productid@odata.bind'] = `/products(${product.id})`;
  if (product.unit) mapped.row['uomid@odata.bind'] = `/uoms(${product.unit})`;
  delete mapped.row.productdescription;
  return true;
}
