/**
 * Who and what an order line names, resolved in Dataverse: the order's customer (the account or contact of
 * the Stripe customer, else the one row whose e-mail is the payer's) and each line's product with its
 * default unit (else the line is written in). Found products are remembered for a few minutes per client,
 * so a burst of orders of one catalog asks Dataverse once per product.
 */
import type { DataverseClient, Row } from '../../dataverse/types';
import type { MappedRow, PendingLink } from '../../mapping';
import { odataString, resolveLink } from '../../write/rows';
import { gatheredRows } from './gather';

export const CUSTOMER_LINK = 'customerid';
export const PRODUCT_LINK = 'productid';
export const CURRENCY_LINK = 'transactioncurrencyid';

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
}

/**
 * Answers of Dataverse remembered per client for a while: a found row for minutes, a row not found for
 * less (it may be added at any moment: a product written by the catalog sync is used within a minute).
 */
class Remembered<T> {
  private readonly entries = new Map<string, { value: T | null; expires: number }>();
  constructor(
    private readonly foundMs: number,
    private readonly missingMs: number,
    private readonly max = 10_000,
  ) {}

  /** The remembered answer, or undefined when there is none (or it is too old). */
  peek(key: string): T | null | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expires > Date.now() ? entry.value : undefined;
  }

  remember(key: string, value: T | null): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expires: Date.now() + (value ? this.foundMs : this.missingMs) });
  }

  async get(key: string, read: () => Promise<T | null>): Promise<T | null> {
    const known = this.peek(key);
    if (known !== undefined) return known;
    const value = await read();
    this.remember(key, value);
    return value;
  }
}

const perClient = <T>(make: () => Remembered<T>) => {
  const caches = new WeakMap<DataverseClient, Remembered<T>>();
  return (dataverse: DataverseClient) => {
    let cache = caches.get(dataverse);
    if (!cache) caches.set(dataverse, (cache = make()));
    return cache;
  };
};

const products = perClient(() => new Remembered<FoundProduct>(5 * 60_000, 30_000));
const currencies = perClient(() => new Remembered<string>(15 * 60_000, 60_000));

const productOf = (row: Row): FoundProduct => ({
  id: String(row.productid),
  unit: typeof row._defaultuomid_value === 'string' ? row._defaultuomid_value : null,
});

/**
 * Binds the document's currency (the mapping's `transactioncurrencyid` link: the currency row of the ISO
 * code) and answers the bind, which the document's lines take too; none when Dynamics 365 lacks the currency.
 */
export async function bindCurrency(dataverse: DataverseClient, mapped: MappedRow): Promise<string | null> {
  const link = takeLink(mapped, CURRENCY_LINK);
  const code = link?.match?.value;
  if (!link || !code) return null;
  const path = await currencies(dataverse).get(code, async () => {
    const resolved = await resolveLink(link, dataverse);
    return resolved?.path ?? null;
  });
  if (path) mapped.row[`${CURRENCY_LINK}@odata.bind`] = path;
  return path;
}

/** A line takes its document's currency. */
export function bindLineCurrency(mapped: MappedRow, path: string | null): void {
  takeLink(mapped, CURRENCY_LINK);
  if (path) mapped.row[`${CURRENCY_LINK}@odata.bind`] = path;
}

/**
 * Products by number. Those not remembered are asked for together: the numbers the lines of every order
 * being written at the moment need (within a few milliseconds) go in one query (DataLoader), so a burst of
 * orders costs a read per burst rather than per order.
 */
async function findProducts(
  dataverse: DataverseClient,
  numbers: string[],
): Promise<Map<string, FoundProduct | null>> {
  const cache = products(dataverse);
  const found = new Map<string, FoundProduct | null>();
  const asked = [...new Set(numbers)].filter((number) => {
    const known = cache.peek(number);
    if (known !== undefined) found.set(number, known);
    return known === undefined;
  });
  const answers = await productRows(dataverse).loadMany(asked);
  asked.forEach((number, i) => {
    const answer = answers[i];
    if (answer instanceof Error) throw answer;
    const product = answer ? productOf(answer) : null;
    cache.remember(number, product);
    found.set(number, product);
  });
  return found;
}

const productRows = gatheredRows('products', 'productnumber', [
  'productid',
  'productnumber',
  '_defaultuomid_value',
]);

/**
 * Sets each line's product and unit when the catalog has it, or makes the line a write-in (the item's
 * description as the product) when it does not. The catalog is asked once for all the lines.
 */
export async function bindProducts(dataverse: DataverseClient, lines: MappedRow[]): Promise<void> {
  const numbers = lines.map((line) => takeLink(line, PRODUCT_LINK)?.match?.value ?? null);
  const found = await findProducts(
    dataverse,
    numbers.filter((number): number is string => Boolean(number)),
  );
  lines.forEach((line, i) => {
    const product = numbers[i] ? found.get(numbers[i]!) : null;
    if (!product) {
      line.row.isproductoverridden = true;
      return;
    }
    line.row.isproductoverridden = false;
    line.row['productid@odata.bind'] = `/products(${product.id})`;
    if (product.unit) line.row['uomid@odata.bind'] = `/uoms(${product.unit})`;
    delete line.row.productdescription;
  });
}
