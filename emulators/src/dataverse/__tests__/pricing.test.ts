/**
 * Dynamics 365 Sales' system price calculation on orders and invoices, over loopback HTTP: a new order gets
 * its number, each line its amount and extended amount, and the order its totals over the lines, kept as
 * lines come, change and go. Callers cannot write the calculated columns.
 */
import { startDataverseEmulator, type DataverseEmulator } from '..';
import { call, idFromEntityId } from './harness';

let dv: DataverseEmulator;
beforeAll(async () => {
  dv = await startDataverseEmulator();
});
afterAll(() => dv.close());
beforeEach(() => dv.store.clear());

async function create(set: string, body: Record<string, unknown>): Promise<string> {
  const reply = await call(dv, 'POST', set, body);
  expect(reply.status).toBe(204);
  return idFromEntityId(reply.headers.get('OData-EntityId'));
}

const totalsOf = async (set: string, id: string) =>
  (
    await call(
      dv,
      'GET',
      `${set}(${id})?$select=totallineitemamount,totallineitemdiscountamount,totaldiscountamount,totalamountlessfreight,totaltax,totalamount`,
    )
  ).body;

const line = (order: string, over: Record<string, unknown>) => ({
  'salesorderid@odata.bind': `/salesorders(${order})`,
  isproductoverridden: true,
  productdescription: 'Widget',
  ispriceoverridden: true,
  ...over,
});

test('a new order without a number gets one as Dynamics 365 numbers them', async () => {
  const id = await create('salesorders', { name: 'Checkout' });
  const first = (await call(dv, 'GET', `salesorders(${id})?$select=ordernumber`)).body.ordernumber;
  expect(first).toMatch(/^ORD-\d{5}-[A-Z0-9]{6}$/);
  const second = await create('salesorders', { name: 'Another' });
  const next = (await call(dv, 'GET', `salesorders(${second})?$select=ordernumber`)).body.ordernumber;
  expect(next).not.toBe(first);
  const invoice = await create('invoices', { name: 'Invoice' });
  expect((await call(dv, 'GET', `invoices(${invoice})?$select=invoicenumber`)).body.invoicenumber).toMatch(
    /^INV-\d{5}-/,
  );
  const named = await create('salesorders', { name: 'Given', ordernumber: 'WEB-1' });
  expect((await call(dv, 'GET', `salesorders(${named})?$select=ordernumber`)).body.ordernumber).toBe('WEB-1');
});

test('lines get their amounts and the order its totals, exact in the currency', async () => {
  const order = await create('salesorders', { name: 'Checkout', freightamount: 5, totalamount: 1 });
  const first = await create(
    'salesorderdetails',
    line(order, {
      quantity: 3,
      priceperunit: 19.99,
      manualdiscountamount: 2.5,
      tax: 4.12,
      extendedamount: 7,
    }),
  );
  await create('salesorderdetails', line(order, { quantity: 1, priceperunit: 0.01 }));
  const detail = (await call(dv, 'GET', `salesorderdetails(${first})?$select=baseamount,extendedamount`))
    .body;
  expect([detail.baseamount, detail.extendedamount]).toEqual([59.97, 61.59]);
  expect(await totalsOf('salesorders', order)).toMatchObject({
    totallineitemamount: 57.48,
    totallineitemdiscountamount: 2.5,
    totaldiscountamount: 2.5,
    totalamountlessfreight: 57.48,
    totaltax: 4.12,
    totalamount: 66.6,
  });

  // A changed quantity, an order discount and a removed line move the totals as Dynamics 365 does.
  expect((await call(dv, 'PATCH', `salesorderdetails(${first})`, { quantity: 1 })).status).toBe(204);
  expect((await call(dv, 'PATCH', `salesorders(${order})`, { discountamount: 1 })).status).toBe(204);
  expect(await totalsOf('salesorders', order)).toMatchObject({
    totallineitemamount: 17.5,
    totaldiscountamount: 3.5,
    totalamountlessfreight: 16.5,
    totalamount: 25.62,
  });
  expect((await call(dv, 'DELETE', `salesorderdetails(${first})`)).status).toBe(204);
  expect(await totalsOf('salesorders', order)).toMatchObject({
    totallineitemamount: 0.01,
    totaltax: 0,
    totalamount: 4.01,
  });
});

test('invoice lines total their invoice; a line cannot be priced by writing its extended amount', async () => {
  const invoice = await create('invoices', { name: 'Invoice' });
  const id = await create('invoicedetails', {
    'invoiceid@odata.bind': `/invoices(${invoice})`,
    isproductoverridden: true,
    productdescription: 'Plan',
    ispriceoverridden: true,
    quantity: 2,
    priceperunit: 1000,
    tax: 0.125,
  });
  expect((await call(dv, 'PATCH', `invoicedetails(${id})`, { extendedamount: 1 })).status).toBe(204);
  expect((await call(dv, 'GET', `invoicedetails(${id})?$select=extendedamount`)).body.extendedamount).toBe(
    2000.125,
  );
  expect(await totalsOf('invoices', invoice)).toMatchObject({ totalamount: 2000.125, totaltax: 0.125 });
});

test('a new product is in Draft until published, unless the organization creates products Active', async () => {
  const draft = await create('products', { name: 'Grinder', productnumber: 'SKU-1' });
  const stateOf = async (emulator: DataverseEmulator, id: string) =>
    (await call(emulator, 'GET', `products(${id})?$select=statecode,statuscode`)).body;
  expect(await stateOf(dv, draft)).toMatchObject({ statecode: 2, statuscode: 0 });
  expect((await call(dv, 'PATCH', `products(${draft})`, { statecode: 0, statuscode: 1 })).status).toBe(204);
  expect(await stateOf(dv, draft)).toMatchObject({ statecode: 0, statuscode: 1 });

  const activeOrg = await startDataverseEmulator({ createProductsInActiveState: true });
  try {
    const reply = await call(activeOrg, 'POST', 'products', { name: 'Grinder', productnumber: 'SKU-1' });
    const id = idFromEntityId(reply.headers.get('OData-EntityId'));
    expect(await stateOf(activeOrg, id)).toMatchObject({ statecode: 0, statuscode: 1 });
  } finally {
    await activeOrg.close();
  }
});
