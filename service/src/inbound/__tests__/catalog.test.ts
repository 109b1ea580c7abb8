/**
 * The catalog over both emulators: products and prices made with the official SDK on the Stripe emulator,
 * their events through the handlers, and the products, price lists and price list items Dataverse then
 * holds; then a checkout of a catalog product, whose order line names that product.
 */
import type Stripe from 'stripe';
import { ProductStatecode, ProductStatuscode } from '@stc/solution/tables';
import { shuffled } from './harness';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

/** The Stripe product service/mappings/lookups/products.yaml maps onto the product numbered SKU-STARTER. */
const MAPPED_PRODUCT = 'prod_NWjs8kKbJWmuuc';

interface Catalog {
  unitGroup: string;
  unit: string;
}
let catalog: Catalog;

/** What every organization has: its currencies, and the unit group "Default Unit" with "Primary Unit". */
beforeEach(async () => {
  const { client } = dataverseSide;
  for (const [code, precision] of [
    ['USD', 2],
    ['JPY', 0],
    ['KWD', 3],
  ] as const)
    await client.create('transactioncurrencies', {
      currencyname: code,
      isocurrencycode: code,
      currencysymbol: code,
      currencyprecision: precision,
      exchangerate: 1,
    });
  const unitGroup = await client.create('uomschedules', {
    name: 'Default Unit',
    baseuomname: 'Primary Unit',
  });
  const unit = await client.create('uoms', {
    name: 'Primary Unit',
    quantity: 1,
    'uomscheduleid@odata.bind': `/uomschedules(${unitGroup})`,
  });
  catalog = { unitGroup, unit };
});

/** Every event the Stripe emulator emitted from `from` on, in order or shuffled with some twice. */
async function deliver(from: number, order: 'in order' | 'shuffled' = 'in order'): Promise<void> {
  const sync = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
  const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
  const sequence =
    order === 'shuffled' ? shuffled([...events, ...shuffled(events, 5).slice(0, 4)], 7) : events;
  for (const event of sequence) await sync.deliver(event);
}

const productByNumber = async (number: string) =>
  (await dataverseSide.client.retrieveMultiple('products', { filter: `productnumber eq '${number}'` }))[0];
const currencyId = async (code: string) =>
  (
    await dataverseSide.client.retrieveMultiple('transactioncurrencies', {
      filter: `isocurrencycode eq '${code}'`,
    })
  )[0].transactioncurrencyid;
const itemOf = (priceId: string) =>
  dataverseSide.client.retrieveByKey('productpricelevels', { stc_stripepriceid: priceId });
const priceListNamed = async (name: string) =>
  (await dataverseSide.client.retrieveMultiple('pricelevels', { filter: `name eq '${name}'` }))[0];

test('products and prices become Dynamics 365 products and price list items, exact in USD, JPY and KWD', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const grinder = await stripe.products.create({ name: 'Coffee grinder', description: 'Burr, 40 mm' });
  const prices = {
    usd: await stripe.prices.create({ product: grinder.id, unit_amount: 1999, currency: 'usd' }),
    jpy: await stripe.prices.create({ product: grinder.id, unit_amount: 2500, currency: 'jpy' }),
    kwd: await stripe.prices.create({ product: grinder.id, unit_amount: 19995, currency: 'kwd' }),
  };
  const beans = await stripe.products.create({ name: 'Beans subscription' });
  const monthly = await stripe.prices.create({
    product: beans.id,
    unit_amount: 1250,
    currency: 'usd',
    recurring: { interval: 'month' },
  });
  const yearly = await stripe.prices.create({
    product: beans.id,
    unit_amount: 12000,
    currency: 'usd',
    recurring: { interval: 'year' },
  });
  const quarterly = await stripe.prices.create({
    product: beans.id,
    unit_amount: 3300,
    currency: 'usd',
    recurring: { interval: 'month', interval_count: 3 },
  });
  await deliver(from, 'shuffled');

  const product = await productByNumber(grinder.id);
  expect(product).toMatchObject({
    name: 'Coffee grinder',
    description: 'Burr, 40 mm',
    stc_stripeproductid: grinder.id,
    statecode: ProductStatecode.Active,
    statuscode: ProductStatuscode.Active,
    _defaultuomscheduleid_value: catalog.unitGroup,
    _defaultuomid_value: catalog.unit,
  });
  expect(await dataverseSide.client.retrieveMultiple('products')).toHaveLength(2);
  for (const [currency, amount] of [
    ['usd', 19.99],
    ['jpy', 2500],
    ['kwd', 19.995],
  ] as const) {
    const list = await priceListNamed(`Stripe ${currency.toUpperCase()}`);
    expect(list._transactioncurrencyid_value).toBe(await currencyId(currency.toUpperCase()));
    expect(await itemOf(prices[currency].id)).toMatchObject({
      amount,
      _pricelevelid_value: list.pricelevelid,
      _productid_value: product.productid,
      _uomid_value: catalog.unit,
      _uomscheduleid_value: catalog.unitGroup,
      stc_recurringinterval: option('stc_priceinterval', 'one_time'),
    });
  }
  // Monthly, yearly and quarterly prices of one product are items of three price lists.
  const beansProduct = await productByNumber(beans.id);
  for (const [price, listName, amount, interval, count] of [
    [monthly, 'Stripe USD / month', 12.5, 'month', 1],
    [yearly, 'Stripe USD / year', 120, 'year', 1],
    [quarterly, 'Stripe USD / 3 months', 33, 'month', 3],
  ] as const) {
    expect(await itemOf(price.id)).toMatchObject({
      amount,
      _pricelevelid_value: (await priceListNamed(listName)).pricelevelid,
      _productid_value: beansProduct.productid,
      stc_recurringinterval: option('stc_priceinterval', interval),
      stc_intervalcount: count,
    });
  }
  expect(await dataverseSide.client.retrieveMultiple('pricelevels')).toHaveLength(6);
  expect(await dataverseSide.client.retrieveMultiple('productpricelevels')).toHaveLength(6);
});

test('a product the lookup table maps updates the existing Dynamics 365 product, publishing it from Draft', async () => {
  const { client } = dataverseSide;
  const existing = await client.create('products', {
    name: 'Starter (ERP name)',
    productnumber: 'SKU-STARTER',
    statecode: ProductStatecode.Draft,
    statuscode: ProductStatuscode.Draft,
    'defaultuomscheduleid@odata.bind': `/uomschedules(${catalog.unitGroup})`,
    'defaultuomid@odata.bind': `/uoms(${catalog.unit})`,
  });
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const starter = await stripe.products.create({ id: MAPPED_PRODUCT, name: 'Starter' });
  const price = await stripe.prices.create({ product: starter.id, unit_amount: 4900, currency: 'usd' });
  await deliver(from, 'shuffled');

  expect(await client.retrieveMultiple('products')).toHaveLength(1);
  expect(await client.retrieve('products', existing)).toMatchObject({
    name: 'Starter',
    productnumber: 'SKU-STARTER',
    stc_stripeproductid: MAPPED_PRODUCT,
    statecode: ProductStatecode.Active,
    statuscode: ProductStatuscode.Active,
  });
  expect(await itemOf(price.id)).toMatchObject({ amount: 49, _productid_value: existing });
});

test('an archived product is Retired, not deleted, and active again when Stripe sells it again', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const lamp = await stripe.products.create({ name: 'Desk lamp' });
  const price = await stripe.prices.create({ product: lamp.id, unit_amount: 4500, currency: 'usd' });
  await stripe.products.update(lamp.id, { active: false });
  await deliver(from);

  const retired = await productByNumber(lamp.id);
  expect(retired).toMatchObject({
    name: 'Desk lamp',
    statecode: ProductStatecode.Retired,
    statuscode: ProductStatuscode.Retired,
  });
  expect(await itemOf(price.id)).toMatchObject({ amount: 45 });

  const back = stripeSide.emulator.events.length;
  await stripe.products.update(lamp.id, { active: true, name: 'Desk lamp II' });
  await deliver(back);
  expect(await productByNumber(lamp.id)).toMatchObject({
    productid: retired.productid,
    name: 'Desk lamp II',
    statecode: ProductStatecode.Active,
  });
});

test('a new price of a product takes its item in the price list; an archived price is marked, not deleted', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const mug = await stripe.products.create({ name: 'Mug' });
  const old = await stripe.prices.create({ product: mug.id, unit_amount: 1200, currency: 'usd' });
  await deliver(from);
  const raised = stripeSide.emulator.events.length;
  const current = await stripe.prices.create({ product: mug.id, unit_amount: 1400, currency: 'usd' });
  await stripe.prices.update(old.id, { active: false });
  await deliver(raised);

  const items = await dataverseSide.client.retrieveMultiple('productpricelevels');
  expect(items).toHaveLength(1);
  expect(items[0]).toMatchObject({ stc_stripepriceid: current.id, amount: 14, stc_archived: false });

  const archived = stripeSide.emulator.events.length;
  await stripe.prices.update(current.id, { active: false });
  await deliver(archived);
  expect(await dataverseSide.client.retrieveMultiple('productpricelevels')).toEqual([
    expect.objectContaining({ stc_stripepriceid: current.id, amount: 14, stc_archived: true }),
  ]);

  // A price made after the archived one takes its item.
  const next = stripeSide.emulator.events.length;
  const sale = await stripe.prices.create({ product: mug.id, unit_amount: 999, currency: 'usd' });
  await deliver(next);
  expect(await dataverseSide.client.retrieveMultiple('productpricelevels')).toEqual([
    expect.objectContaining({ stc_stripepriceid: sale.id, amount: 9.99, stc_archived: false }),
  ]);
  expect(await productByNumber(mug.id)).toMatchObject({ statecode: ProductStatecode.Active });
});

test('a checkout of a catalog product names that product and its unit on the order line', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const kettle = await stripe.products.create({ name: 'Kettle' });
  const price = await stripe.prices.create({ product: kettle.id, unit_amount: 3999, currency: 'usd' });
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    line_items: [{ price: price.id, quantity: 2 }],
  });
  const paid = await fetch(session.url!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: '4242424242424242' }),
    redirect: 'manual',
  });
  expect(paid.status).toBe(303);
  await deliver(from);

  const product = await productByNumber(kettle.id);
  const order = await dataverseSide.client.retrieveByKey('salesorders', { stc_stripeid: session.id });
  expect(order).toMatchObject({ totalamount: 79.98 });
  const [line] = await dataverseSide.client.retrieveMultiple('salesorderdetails', {
    filter: `_salesorderid_value eq ${String(order!.salesorderid)}`,
  });
  expect(line).toMatchObject({
    _productid_value: product.productid,
    _uomid_value: catalog.unit,
    isproductoverridden: false,
    quantity: 2,
    priceperunit: 39.99,
  });
});

test('a product deleted in Stripe is Retired in Dynamics 365, not deleted', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const sample = await stripe.products.create({ name: 'Sample pack' });
  await stripe.products.del(sample.id);
  await deliver(from);
  expect(await productByNumber(sample.id)).toMatchObject({
    name: 'Sample pack',
    statecode: ProductStatecode.Retired,
    statuscode: ProductStatuscode.Retired,
  });
});

test('what Dynamics 365 lacks fails the event with what to add, and writes nothing half-done', async () => {
  const stripe = stripeSide.emulator.client();
  const sync = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
  const from = stripeSide.emulator.events.length;
  const tea = await stripe.products.create({ name: 'Tea' });
  await stripe.prices.create({ product: tea.id, unit_amount: 450, currency: 'eur' });
  const [created, priced] = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
  await expect(sync.deliver(priced)).rejects.toThrow(
    'Dynamics 365 has no currency EUR: a price list is in one currency. Add the currency (Settings > Currencies), then replay the event.',
  );
  expect(await dataverseSide.client.retrieveMultiple('pricelevels')).toHaveLength(0);

  // Without the unit group catalog.yaml names, no product is made.
  const { client } = dataverseSide;
  for (const unit of await client.retrieveMultiple('uoms')) await client.delete('uoms', String(unit.uomid));
  for (const group of await client.retrieveMultiple('uomschedules'))
    await client.delete('uomschedules', String(group.uomscheduleid));
  await expect(sync.deliver(created)).rejects.toThrow(
    'Dynamics 365 has no unit group named "Default Unit", which catalog.yaml gives new products (defaultuomscheduleid).',
  );
  expect(await client.retrieveMultiple('products')).toHaveLength(0);
});
