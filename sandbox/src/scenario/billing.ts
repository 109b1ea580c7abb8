/**
 * Billing in the scenario: a subscription asked for in Dynamics 365 for a customer on a Stripe test clock,
 * made in Stripe by the connector under policy, renewed twice by advancing the clock, and read back as the
 * subscription row with its MRR and three paid invoices, each with its payment.
 */
import { StcStripeInvoiceStatus, StcSubscriptionAction, StcSubscriptionRequestStatus } from '@stc/solution';
import { CheckFailed, strip, until, type Row } from './readback';
import type { ScenarioContext } from './steps';
import { odataString } from './webapi';

/** 2027-01-01, 2027-02-01 and 2027-03-01 (UTC), on the test clock; a renewal is charged an hour after. */
const JAN_1 = Date.UTC(2027, 0, 1) / 1000;
const RENEWALS = [Date.UTC(2027, 1, 1) / 1000, Date.UTC(2027, 2, 1) / 1000];
const AFTER_FINALIZING = 2 * 3600;

const poll = <T>(ctx: ScenarioContext, what: string, probe: () => Promise<{ value?: T; seen?: string }>) =>
  until(what, probe, ctx.timeoutMs);

/** A customer on a new test clock, paying by card, and the account the sync makes of it. */
async function customerOnClock(ctx: ScenarioContext) {
  const clock = await ctx.stripe.testHelpers.testClocks.create({ frozen_time: JAN_1, name: 'Scenario' });
  const customer = await ctx.stripe.customers.create({
    name: 'Northwind Traders',
    email: 'ap@northwind.example',
    test_clock: clock.id,
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
  });
  const account = await ctx.rows.customerRow('accounts', customer.id, 'accountid', () => true);
  return { clock, customer, accountId: String(account.accountid) };
}

async function subscriptionRequested(
  ctx: ScenarioContext,
  accountId: string,
  priceId: string,
): Promise<string> {
  const requestId = await ctx.dataverse.create(
    'stc_subscriptionrequests',
    {
      stc_name: 'Team plan for Northwind',
      stc_action: StcSubscriptionAction.Create,
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
      stc_stripepriceid: priceId,
      stc_quantity: 3,
    },
    ctx.users.requester.systemuserid,
  );
  const request = await poll(ctx, `subscription request ${requestId}`, async () => {
    const row = await ctx.dataverse.get<Row>(
      `stc_subscriptionrequests(${requestId})?$select=stc_status,stc_stripesubscriptionid,stc_failurereason`,
    );
    const settled: number[] = [
      StcSubscriptionRequestStatus.Succeeded,
      StcSubscriptionRequestStatus.Rejected,
      StcSubscriptionRequestStatus.Failed,
    ];
    return row && settled.includes(Number(row.stc_status))
      ? { value: row }
      : { seen: JSON.stringify(strip(row ?? {})) };
  });
  if (request.stc_status !== StcSubscriptionRequestStatus.Succeeded)
    throw new CheckFailed(`subscription request ${requestId} ended: ${String(request.stc_failurereason)}`);
  return String(request.stc_stripesubscriptionid);
}

/** The subscription's invoice rows once `count` of them are paid with their payment named. */
const paidInvoices = (ctx: ScenarioContext, subscriptionRowId: string, count: number) =>
  poll(ctx, `${count} paid invoices of the subscription`, async () => {
    const rows = await ctx.dataverse.list<Row>(
      `stc_stripeinvoices?$select=stc_stripeid,stc_total,stc_status,stc_paymentintentid&$filter=_stc_subscriptionid_value eq ${subscriptionRowId}`,
    );
    const paid = rows.filter((r) => r.stc_status === StcStripeInvoiceStatus.Paid && r.stc_paymentintentid);
    return paid.length >= count ? { value: paid } : { seen: `${paid.length} of ${rows.length} paid` };
  });

export async function subscriptionFromDynamics(ctx: ScenarioContext): Promise<string> {
  const { stripe, dataverse } = ctx;
  const product = await stripe.products.create({ name: 'Team plan' });
  const price = await stripe.prices.create({
    product: product.id,
    unit_amount: 1200,
    currency: 'usd',
    recurring: { interval: 'month' },
  });
  const { clock, accountId } = await customerOnClock(ctx);
  const subscriptionId = await subscriptionRequested(ctx, accountId, price.id);
  for (const renewal of RENEWALS)
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: renewal + AFTER_FINALIZING });
  const subscription = await poll(ctx, `subscription ${subscriptionId} in Dynamics 365`, async () => {
    const row = await dataverse.get<Row>(
      `stc_subscriptions(stc_stripeid=${odataString(subscriptionId)})?$select=stc_subscriptionid,stc_monthlyrecurringrevenue,_stc_customerid_value`,
    );
    return row?.stc_monthlyrecurringrevenue === 36
      ? { value: row }
      : { seen: JSON.stringify(strip(row ?? {})) };
  });
  const rowId = String(subscription.stc_subscriptionid);
  const invoices = await paidInvoices(ctx, rowId, 3);
  for (const invoice of invoices) {
    if (invoice.stc_total !== 36)
      throw new CheckFailed(`invoice ${String(invoice.stc_stripeid)} totals ${String(invoice.stc_total)}`);
    await ctx.rows.paymentRow(
      String(invoice.stc_paymentintentid),
      (r) => r.stc_amount === 36,
      'its payment, 36.00',
    );
  }
  return `subscription ${subscriptionId} asked for in Dynamics 365 (3 × USD 12.00 a month) → made in Stripe, renewed twice on test clock ${clock.id} → MRR 36.00, 3 invoices paid, each with its payment: ${ctx.recordUrl('stc_subscription', rowId)}`;
}
