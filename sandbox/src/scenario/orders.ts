/**
 * Order-to-cash in the scenario: a shop's Checkout Session of three lines over two products, paid on the
 * Stripe emulator's hosted page as a payer would, read back as the Dynamics 365 order with its three lines
 * (the product the catalog sync wrote, a written-in one) and the paid invoice, with the totals Dynamics 365 computes.
 * Payment links made in Dynamics 365: for an order, which the payment marks paid; for a quote, whose payment
 * makes the quote's order, paid, and wins the quote.
 */
import type Stripe from 'stripe';
import {
  QuoteStatecode,
  QuoteStatuscode,
  StcPaymentLinkRequestStatus,
  StcStripePaymentStatus,
} from '@stc/solution';
import { CheckFailed, need, strip, until, type Row } from './readback';
import type { ScenarioContext } from './steps';
import { odataString } from './webapi';

/** The catalog's product of a Stripe product, once the catalog sync has written it (Active). */
const catalogProduct = (ctx: ScenarioContext, product: Stripe.Product) =>
  until(
    `product ${product.id} in the catalog`,
    async () => {
      const row = await ctx.dataverse.get<Row>(
        `products(stc_stripeproductid=${odataString(product.id)})?$select=productid,statecode,_defaultuomid_value`,
      );
      return row?.statecode === 0
        ? { value: String(row.productid) }
        : { seen: JSON.stringify(strip(row ?? {})) };
    },
    ctx.timeoutMs,
  );

/** The payer submits the hosted form with Stripe's test card. */
async function payOnHostedPage(session: Stripe.Checkout.Session): Promise<void> {
  const response = await fetch(need(session.url ?? undefined, 'the session’s payment page'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: '4242424242424242' }),
    redirect: 'manual',
  });
  // 303 to the success URL, or Stripe's own confirmation page (200) when the session has none.
  if (response.status !== 303 && response.status !== 200) {
    const alert = /role="alert">([^<]*)</.exec(await response.text())?.[1];
    throw new CheckFailed(`the hosted page answered ${response.status}${alert ? `: ${alert}` : ''}`);
  }
}

const documentByKey = (
  ctx: ScenarioContext,
  set: string,
  sessionId: string,
  select: string,
  accept: (r: Row) => boolean,
) =>
  until(
    `${set} of ${sessionId}`,
    async () => {
      const row = await ctx.dataverse.get<Row>(
        `${set}(stc_stripeid=${odataString(sessionId)})?$select=${select}`,
      );
      return row && accept(row) ? { value: row } : { seen: JSON.stringify(strip(row ?? {})) };
    },
    ctx.timeoutMs,
  );

export async function checkoutToOrder(ctx: ScenarioContext): Promise<string> {
  const { stripe, dataverse, state } = ctx;
  const kit = await stripe.products.create({ name: 'Starter kit' });
  const monthly = await stripe.prices.create({ product: kit.id, unit_amount: 1999, currency: 'usd' });
  const yearly = await stripe.prices.create({ product: kit.id, unit_amount: 19900, currency: 'usd' });
  const productId = await catalogProduct(ctx, kit);
  const created = await stripe.checkout.sessions.create({
    mode: 'payment',
    success_url: 'https://shop.example/thanks',
    customer: state.contoso?.id,
    client_reference_id: 'web-1001',
    line_items: [
      { price: monthly.id, quantity: 2 },
      { price_data: { currency: 'usd', unit_amount: 350, product_data: { name: 'Gift wrap' } }, quantity: 1 },
      { price: yearly.id, quantity: 1 },
    ],
  });
  await payOnHostedPage(created);
  const session = await stripe.checkout.sessions.retrieve(created.id);
  const total = (session.amount_total ?? 0) / 100;
  const order = await documentByKey(
    ctx,
    'salesorders',
    session.id,
    'salesorderid,ordernumber,totalamount,stc_paymentstatus,_customerid_value',
    (r) => r.totalamount === total,
  );
  const orderId = String(order.salesorderid);
  const lines = await dataverse.list<Row>(
    `salesorderdetails?$select=_productid_value,isproductoverridden&$filter=_salesorderid_value eq ${orderId}`,
  );
  if (lines.length !== 3) throw new CheckFailed(`order ${orderId} has ${lines.length} lines, not 3`);
  if (lines.filter((line) => line._productid_value === productId).length !== 2)
    throw new CheckFailed(
      `order ${orderId}'s Starter kit lines do not name the catalog product ${productId}`,
    );
  const invoice = await documentByKey(
    ctx,
    'invoices',
    session.id,
    'invoiceid,invoicenumber,totalamount,statecode',
    (r) => r.statecode === 2 && r.totalamount === total,
  );
  state.order = { sessionId: session.id, orderId };
  return `checkout ${session.id} (3 lines, 2 products, USD ${total.toFixed(2)}) → order ${String(order.ordernumber)} (3 lines, total ${total.toFixed(2)}, 1 written in) and invoice ${String(invoice.invoicenumber)} Paid: ${ctx.recordUrl('salesorder', orderId)}`;
}

/** A request row, polled until its status is one of `settled`. */
const settledLinkRequest = (ctx: ScenarioContext, requestId: string, settled: number[]) =>
  until(
    `payment link request ${requestId}`,
    async () => {
      const row = await ctx.dataverse.get<Row>(
        `stc_paymentlinkrequests(${requestId})?$select=stc_status,stc_url,stc_stripesessionid,stc_failurereason`,
      );
      return row && settled.includes(Number(row.stc_status))
        ? { value: row }
        : { seen: JSON.stringify(strip(row ?? {})) };
    },
    ctx.timeoutMs,
  );

/** An order taken in Dynamics 365 (two lines, Contoso, USD), as a salesperson enters it. */
async function orderInDynamics(ctx: ScenarioContext): Promise<string> {
  const { dataverse, state } = ctx;
  const [usd] = await dataverse.list<Row>(
    `transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'USD'`,
  );
  const orderId = await dataverse.create('salesorders', {
    name: 'Consulting for Contoso',
    'customerid_account@odata.bind': `/accounts(${need(state.contosoAccountId, 'the Contoso account')})`,
    'transactioncurrencyid@odata.bind': `/transactioncurrencies(${String(usd?.transactioncurrencyid)})`,
  });
  for (const [description, quantity, price] of [
    ['Workshop day', 2, 950],
    ['Travel', 1, 180.5],
  ] as const)
    await dataverse.create('salesorderdetails', {
      'salesorderid@odata.bind': `/salesorders(${orderId})`,
      isproductoverridden: true,
      productdescription: description,
      ispriceoverridden: true,
      quantity,
      priceperunit: price,
    });
  return orderId;
}

export async function paymentLinkFromOrder(ctx: ScenarioContext): Promise<string> {
  const { dataverse, users, stripe } = ctx;
  const orderId = await orderInDynamics(ctx);
  const requestId = await dataverse.create(
    'stc_paymentlinkrequests',
    {
      stc_name: 'Payment page for Consulting for Contoso',
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    },
    users.requester.systemuserid,
  );
  const created = await settledLinkRequest(ctx, requestId, [
    StcPaymentLinkRequestStatus.Created,
    StcPaymentLinkRequestStatus.Rejected,
    StcPaymentLinkRequestStatus.Failed,
  ]);
  if (created.stc_status !== StcPaymentLinkRequestStatus.Created)
    throw new CheckFailed(`request ${requestId} ended ${String(created.stc_failurereason)}`);
  const session = await stripe.checkout.sessions.retrieve(String(created.stc_stripesessionid));
  if (session.amount_total !== 208050)
    throw new CheckFailed(`the payment page asks ${session.amount_total}, not 208050 (USD 2,080.50)`);
  await payOnHostedPage(session);
  await settledLinkRequest(ctx, requestId, [StcPaymentLinkRequestStatus.Paid]);
  const order = await until(
    `order ${orderId} paid`,
    async () => {
      const row = await dataverse.get<Row>(
        `salesorders(${orderId})?$select=ordernumber,stc_paymentstatus,stc_amountpaid,totalamount`,
      );
      return row?.stc_paymentstatus === StcStripePaymentStatus.Paid
        ? { value: row }
        : { seen: JSON.stringify(strip(row ?? {})) };
    },
    ctx.timeoutMs,
  );
  const orders = await dataverse.list<Row>(
    `salesorders?$select=salesorderid&$filter=stc_stripeid eq ${odataString(session.id)}`,
  );
  if (orders.length !== 1 || orders[0].salesorderid !== orderId)
    throw new CheckFailed(
      `the paid session ${session.id} names ${orders.length} orders, not the one made in Dynamics 365`,
    );
  return `order ${String(order.ordernumber)} made in Dynamics 365 (USD 2,080.50) → payment link request by ${users.requester.fullname} → Stripe payment page, paid → the same order Paid (${String(order.stc_amountpaid)}), request Paid: ${ctx.recordUrl('salesorder', orderId)}`;
}

/** A quote made in Dynamics 365 for Contoso (two lines and freight, USD) and activated, as a salesperson offers it. */
async function activeQuoteInDynamics(ctx: ScenarioContext): Promise<string> {
  const { dataverse, state } = ctx;
  const [usd] = await dataverse.list<Row>(
    `transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'USD'`,
  );
  const quoteId = await dataverse.create('quotes', {
    name: 'Rollout offer for Contoso',
    'customerid_account@odata.bind': `/accounts(${need(state.contosoAccountId, 'the Contoso account')})`,
    'transactioncurrencyid@odata.bind': `/transactioncurrencies(${String(usd?.transactioncurrencyid)})`,
    freightamount: 25,
  });
  for (const [description, quantity, price] of [
    ['Implementation package', 1, 1200],
    ['Training seat', 4, 75.25],
  ] as const)
    await dataverse.create('quotedetails', {
      'quoteid@odata.bind': `/quotes(${quoteId})`,
      isproductoverridden: true,
      productdescription: description,
      ispriceoverridden: true,
      quantity,
      priceperunit: price,
    });
  // Offered: a Draft quote is activated before it goes to the customer (and before it can be paid).
  await dataverse.update(`quotes(${quoteId})`, {
    statecode: QuoteStatecode.Active,
    statuscode: QuoteStatuscode.InProgress_2,
  });
  return quoteId;
}

export async function paymentLinkFromQuote(ctx: ScenarioContext): Promise<string> {
  const { dataverse, users, stripe } = ctx;
  const quoteId = await activeQuoteInDynamics(ctx);
  const requestId = await dataverse.create(
    'stc_paymentlinkrequests',
    {
      stc_name: 'Payment page for Rollout offer for Contoso',
      'stc_quoteid@odata.bind': `/quotes(${quoteId})`,
    },
    users.requester.systemuserid,
  );
  const created = await settledLinkRequest(ctx, requestId, [
    StcPaymentLinkRequestStatus.Created,
    StcPaymentLinkRequestStatus.Rejected,
    StcPaymentLinkRequestStatus.Failed,
  ]);
  if (created.stc_status !== StcPaymentLinkRequestStatus.Created)
    throw new CheckFailed(`request ${requestId} ended ${String(created.stc_failurereason)}`);
  const session = await stripe.checkout.sessions.retrieve(String(created.stc_stripesessionid));
  if (session.amount_total !== 152600)
    throw new CheckFailed(`the payment page asks ${session.amount_total}, not 152600 (USD 1,526.00)`);
  await payOnHostedPage(session);
  await settledLinkRequest(ctx, requestId, [StcPaymentLinkRequestStatus.Paid]);
  const quote = await until(
    `quote ${quoteId} won`,
    async () => {
      const row = await dataverse.get<Row>(`quotes(${quoteId})?$select=quotenumber,statecode,statuscode`);
      return row?.statecode === QuoteStatecode.Won
        ? { value: row }
        : { seen: JSON.stringify(strip(row ?? {})) };
    },
    ctx.timeoutMs,
  );
  const orders = await dataverse.list<Row>(
    `salesorders?$select=salesorderid,ordernumber,stc_stripeid,stc_paymentstatus,totalamount&$filter=_quoteid_value eq ${quoteId}`,
  );
  if (orders.length !== 1)
    throw new CheckFailed(`quote ${String(quote.quotenumber)} has ${orders.length} orders, not 1`);
  const [order] = orders;
  if (
    order.stc_stripeid !== session.id ||
    order.stc_paymentstatus !== StcStripePaymentStatus.Paid ||
    order.totalamount !== 1526
  )
    throw new CheckFailed(
      `the order of quote ${String(quote.quotenumber)} is not the paid order of ${session.id}: ${JSON.stringify(strip(order))}`,
    );
  const orderId = String(order.salesorderid);
  return `quote ${String(quote.quotenumber)} made in Dynamics 365 (USD 1,526.00) → payment link request by ${users.requester.fullname} → Stripe payment page, paid → quote Won, its order ${String(order.ordernumber)} Paid (1526): quote ${ctx.recordUrl('quote', quoteId)} order ${ctx.recordUrl('salesorder', orderId)}`;
}
