/**
 * The refund round trip from the user's click: the PaymentPanel (built bundle, Chromium, harness page) on an
 * order whose payment the service synced from the Stripe emulator; the user refunds part of it in the
 * dialog; the stc_refundrequest row goes through the Dataverse webhook step to the service, which refunds in
 * Stripe; the panel, polling the row, shows Succeeded, and the refunded amount comes back into the table.
 * Uses the e2e round-trip world (emulators and the service in-process). Skipped like pcf-panels.test.ts.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { StcPaymentStatus } from '@stc/solution';
import { startHarness, type Harness } from '@stc/sandbox';
import { REFUND_USERS, startRoundTrip, waitFor, type RoundTrip } from '../e2e/roundtrip';
import { CONTROLS, describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const USERS = REFUND_USERS;

describeBrowser('refund from the PaymentPanel, through the service, to Stripe and back', () => {
  let world: RoundTrip;
  let harness: Harness;
  let browser: Browser;

  beforeAll(async () => {
    world = await startRoundTrip(Object.values(USERS), { REFUND_APPROVAL_THRESHOLDS: '{"usd":100000}' });
    world.registerSolutionSteps('stc_refundrequest');
    harness = await startHarness({
      dataverseUrl: world.dataverse.url,
      controlsDir: CONTROLS,
      userId: USERS.requester.systemuserid,
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await world?.close();
  });

  it('shows Succeeded once Stripe has refunded, and the payment’s refunded amount follows', async () => {
    const { dataverse, stripe } = world;
    const intent = await stripe.paymentIntents.create({
      amount: 48_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const payment = await waitFor('the synced payment row', () =>
      dataverse.store
        .rows('stc_payments')
        .find((r) => r.stc_stripeid === intent.id && r.stc_status === StcPaymentStatus.Succeeded),
    );
    const accountId = dataverse.store.insert('accounts', { name: 'Fabrikam Roasters' });
    const orderId = dataverse.store.insert('salesorders', {
      name: 'Grinders',
      ordernumber: 'ORD-2002',
      'customerid_account@odata.bind': `/accounts(${accountId})`,
    });
    await world.asUser(USERS.service.systemuserid, 'PATCH', `stc_payments(${payment.stc_paymentid})`, {
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    });

    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    await page.goto(
      harness.pageUrl({
        control: 'PaymentPanel',
        entityTypeName: 'salesorder',
        entityId: orderId,
        parameters: { pollIntervalSeconds: 1 },
      }),
    );
    const row = page.getByTestId(`payment-${intent.id}`);
    await row.getByRole('button', { name: `Refund payment ${intent.id}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Amount (USD)').fill('75');
    await dialog.getByRole('button', { name: 'Request refund' }).click();

    await page.getByText('Refund request: Succeeded').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-panel-refund-succeeded.png'), fullPage: true });
    const refunds = (await stripe.refunds.list({ payment_intent: intent.id })).data;
    expect(refunds).toHaveLength(1);
    expect(refunds[0].amount).toBe(7_500);
    const request = dataverse.store.rows('stc_refundrequests')[0];
    expect(request).toMatchObject({
      _stc_requestedby_value: USERS.requester.systemuserid,
      stc_striperefundid: refunds[0].id,
    });
    // The refund reaches the payment row through Stripe's events.
    await waitFor('the refunded amount in Dataverse', () =>
      dataverse.store
        .rows('stc_payments')
        .find((r) => r.stc_stripeid === intent.id && r.stc_amountrefunded === 75),
    );
    // Opening the order again shows the refund in the payment's row.
    await page.reload();
    const refunded = page.getByTestId(`payment-${intent.id}`).getByText('USD\u00a075.00');
    await refunded.waitFor();
    await page.close();
  }, 90_000);
});
