/**
 * Quotes as Dynamics 365 Sales keeps them, over loopback HTTP: a quote is numbered and totalled from its lines
 * as orders are, it is won only by the WinQuote action, from Active (an update setting it to Won is refused),
 * and only a Draft quote takes edits.
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

const stateOf = async (id: string) =>
  (await call(dv, 'GET', `quotes(${id})?$select=statecode,statuscode`)).body as {
    statecode: number;
    statuscode: number;
  };

const win = (id: string, status = 4) =>
  call(dv, 'POST', 'WinQuote', {
    QuoteClose: { subject: 'Paid through Stripe', 'quoteid@odata.bind': `/quotes(${id})` },
    Status: status,
  });

/** A quote of two lines (2 × 12.50 and 1 × 7.25 with 0.58 tax, 4.00 freight), made Active. */
async function activeQuote(): Promise<string> {
  const quote = await create('quotes', { name: 'Offer', freightamount: 4 });
  const line = (over: Record<string, unknown>) => ({
    'quoteid@odata.bind': `/quotes(${quote})`,
    isproductoverridden: true,
    ispriceoverridden: true,
    ...over,
  });
  await create('quotedetails', line({ productdescription: 'Widget', quantity: 2, priceperunit: 12.5 }));
  await create(
    'quotedetails',
    line({ productdescription: 'Gadget', quantity: 1, priceperunit: 7.25, tax: 0.58 }),
  );
  expect((await call(dv, 'PATCH', `quotes(${quote})`, { statecode: 1, statuscode: 2 })).status).toBe(204);
  return quote;
}

test('a quote is numbered and totalled from its lines as Dynamics 365 Sales does', async () => {
  const quote = await activeQuote();
  const row = (
    await call(
      dv,
      'GET',
      `quotes(${quote})?$select=quotenumber,totallineitemamount,totaltax,totalamount,statecode`,
    )
  ).body;
  expect(row.quotenumber).toMatch(/^QUO-\d{5}-[A-Z0-9]{6}$/);
  expect([row.totallineitemamount, row.totaltax, row.totalamount, row.statecode]).toEqual([
    32.25, 0.58, 36.83, 1,
  ]);
  const lines = (await call(dv, 'GET', `quotes(${quote})/quote_details?$select=extendedamount`)).body.value;
  expect(lines.map((l: { extendedamount: number }) => l.extendedamount).sort()).toEqual([25, 7.83]);
});

test('WinQuote wins an Active quote; an update cannot set a quote to Won', async () => {
  const quote = await activeQuote();
  const patched = await call(dv, 'PATCH', `quotes(${quote})`, { statecode: 2, statuscode: 4 });
  expect(patched.status).toBe(400);
  expect(patched.body.error.message).toContain('WinQuote');
  expect(await stateOf(quote)).toEqual(expect.objectContaining({ statecode: 1, statuscode: 2 }));

  const won = await win(quote);
  expect(won.status).toBe(204);
  expect(await stateOf(quote)).toEqual(expect.objectContaining({ statecode: 2, statuscode: 4 }));
});

test('WinQuote refuses a quote already won, a draft, and a status reason not of the Won state', async () => {
  const quote = await activeQuote();
  expect((await win(quote, 5)).body.error.message).toContain('5 is not a status reason of a won quote');
  expect((await win(quote, -1)).status).toBe(204); // -1: the Won state's default status reason
  expect(await stateOf(quote)).toEqual(expect.objectContaining({ statecode: 2, statuscode: 4 }));
  const again = await win(quote);
  expect(again.status).toBe(400);
  expect(again.body.error.message).toBe(
    'The quote cannot be won: it is Won, and only an Active quote can be won.',
  );

  const draft = await create('quotes', { name: 'Draft offer' });
  expect((await win(draft)).body.error.message).toContain('it is Draft');
  expect((await stateOf(draft)).statecode).toBe(0);
});

test('only a Draft quote can be edited: an Active or Won quote and its lines are read-only', async () => {
  const quote = await activeQuote();
  const readOnly = { code: '0x8004022E', message: 'The entity cannot be updated because it is read-only.' };
  expect(
    (await call(dv, 'PATCH', `quotes(${quote})`, { description: 'Now with a discount' })).body.error,
  ).toEqual(readOnly);
  const line = await call(dv, 'POST', 'quotedetails', {
    'quoteid@odata.bind': `/quotes(${quote})`,
    isproductoverridden: true,
    productdescription: 'Extra',
    quantity: 1,
    priceperunit: 1,
  });
  expect(line.body.error).toEqual(readOnly);
  expect(
    (await call(dv, 'PATCH', `quotes(${quote})`, { statecode: 3, statuscode: 5 })).body.error.message,
  ).toContain('CloseQuote');
  // Back to Draft (revised), it takes edits again; activated again, it can be won.
  expect((await call(dv, 'PATCH', `quotes(${quote})`, { statecode: 0, statuscode: 1 })).status).toBe(204);
  expect((await call(dv, 'PATCH', `quotes(${quote})`, { name: 'Revised offer' })).status).toBe(204);
  expect((await call(dv, 'PATCH', `quotes(${quote})`, { statecode: 1, statuscode: 2 })).status).toBe(204);
  expect((await win(quote)).status).toBe(204);
  expect((await call(dv, 'PATCH', `quotes(${quote})`, { name: 'After the fact' })).body.error).toEqual(
    readOnly,
  );
  expect((await call(dv, 'GET', `quotes(${quote})?$select=name,statecode`)).body).toMatchObject({
    name: 'Revised offer',
    statecode: 2,
  });
});

test('WinQuote names what is missing or unknown', async () => {
  expect((await call(dv, 'POST', 'WinQuote', { Status: 4 })).body.error.message).toBe(
    "The parameter 'QuoteClose' of WinQuote is missing or not valid.",
  );
  expect(
    (await call(dv, 'POST', 'WinQuote', { QuoteClose: { subject: 'x' }, Status: 4 })).body.error.message,
  ).toContain('QuoteClose.quoteid@odata.bind');
  const missing = await win('9f0c8a7e-1111-4a4a-8b8b-000000000001');
  expect(missing.status).toBe(404);
  expect((await call(dv, 'GET', 'WinQuote')).status).toBe(405);
});
