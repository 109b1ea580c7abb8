/**
 * The PCF controls as built by pcf-scripts, in Chromium, on the harness page, against the Dataverse emulator:
 * a sales user opens an order with Stripe payments, sees them, asks for a refund through the dialog, and the
 * stc_refundrequest row appears in Dataverse, created as that user. On a read-only form the user may still ask
 * for a refund; a save whose answer is lost and is sent again makes one request; a request awaiting approval
 * rests with its amount held. Screenshots of each panel are kept in docs/screenshots/.
 *
 * Needs the built controls (`npm run build -w @stc/pcf-controls`) and /usr/bin/chromium; without either the
 * suite is skipped with the reason, unless STC_REQUIRE_BROWSER=1 (CI), when it fails instead.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import { startHarness, type Harness } from '@stc/sandbox';
import { optionValue } from '@stc/solution';
import { CONTROLS, describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const AXE = require.resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical findings on the page: what blocks a screen-reader or keyboard user. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  // Evaluated as text: the page's DOM types are not this Node program's.
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)",
  )) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const SALES_USER = {
  systemuserid: '7d5c3e2a-9b8f-4e1d-a0c2-b3d4e5f60718',
  fullname: 'Sam Sales',
  roles: ['Salesperson'],
};

describeBrowser('PCF controls in Chromium against the Dataverse emulator', () => {
  let dataverse: DataverseEmulator;
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let orderId: string;
  let accountId: string;

  beforeAll(async () => {
    dataverse = await startDataverseEmulator({ port: 0, auth: { mode: 'none' } });
    dataverse.addSystemUser(SALES_USER);
    accountId = dataverse.store.insert('accounts', {
      name: 'Contoso Coffee',
      stc_stripecustomerid: 'cus_BrowserTest01',
      stc_livemode: false,
    });
    orderId = dataverse.store.insert('salesorders', {
      name: 'Espresso machines',
      ordernumber: 'ORD-1001',
      'customerid_account@odata.bind': `/accounts(${accountId})`,
    });
    const payment = (stripeId: string, fields: Record<string, unknown>) =>
      dataverse.store.insert('stc_payments', {
        stc_name: stripeId,
        stc_stripeid: stripeId,
        stc_currency: 'usd',
        stc_status: optionValue('stc_paymentstatus', 'succeeded'),
        stc_amountrefunded: 0,
        stc_paymentmethodtype: optionValue('stc_paymentmethodtype', 'card'),
        stc_cardbrand: optionValue('stc_cardbrand', 'visa'),
        stc_last4: '4242',
        stc_livemode: false,
        stc_disputed: false,
        'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
        'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
        ...fields,
      });
    payment('pi_3BrowserA', {
      stc_amount: 1250,
      stc_amountcaptured: 1250,
      stc_fee: 36.55,
      stc_net: 1213.45,
      stc_amountrefunded: 250,
      stc_status: optionValue('stc_paymentstatus', 'partially_refunded'),
      stc_stripecreatedon: '2026-11-20T09:30:00Z',
    });
    payment('pi_3BrowserB', {
      stc_amount: 480,
      stc_amountcaptured: 480,
      stc_fee: 14.22,
      stc_net: 465.78,
      stc_stripecreatedon: '2026-11-22T14:05:00Z',
    });
    payment('pi_3BrowserC', {
      stc_amount: 99,
      stc_amountcaptured: 99,
      stc_fee: 3.17,
      stc_net: 95.83,
      stc_disputed: true,
      stc_status: optionValue('stc_paymentstatus', 'disputed'),
      stc_stripecreatedon: '2026-11-18T11:00:00Z',
      stc_cardbrand: optionValue('stc_cardbrand', 'mastercard'),
      stc_last4: '4444',
    });
    for (const [stripeId, status, amount] of [
      ['sub_Browser1', 'active', 49],
      ['sub_Browser2', 'canceled', 19],
    ] as const) {
      dataverse.store.insert('stc_subscriptions', {
        stc_name: stripeId,
        stc_stripeid: stripeId,
        stc_description: status === 'active' ? 'Bean subscription, monthly' : 'Old plan',
        stc_status: optionValue('stc_subscriptionstatus', status),
        stc_amount: amount,
        stc_currency: 'usd',
        stc_interval: optionValue('stc_billinginterval', 'month'),
        stc_intervalcount: 1,
        stc_currentperiodend: '2026-12-20T00:00:00Z',
        stc_livemode: false,
        'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
      });
    }
    dataverse.store.insert('stc_stripeinvoices', {
      stc_name: 'in_Browser1',
      stc_stripeid: 'in_Browser1',
      stc_status: optionValue('stc_stripeinvoicestatus', 'open'),
      stc_currency: 'usd',
      stc_amountremaining: 49,
      stc_livemode: false,
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
    });

    harness = await startHarness({
      port: 0,
      dataverseUrl: dataverse.url,
      controlsDir: CONTROLS,
      userId: SALES_USER.systemuserid,
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await dataverse?.close();
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    // Loopback only: anything the page tries to fetch from elsewhere is refused (and would show as broken).
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    harness.clearRequests();
  });
  afterEach(async () => page?.close());

  it('shows the order payments, and a refund from the dialog creates the stc_refundrequest row as the user', async () => {
    await page.goto(
      harness.pageUrl({
        control: 'PaymentPanel',
        entityTypeName: 'salesorder',
        entityId: orderId,
        parameters: { boundField: 'ORD-1001', pollIntervalSeconds: 1 },
      }),
    );
    const rowB = page.getByTestId('payment-pi_3BrowserB');
    await rowB.waitFor();
    expect(await rowB.textContent()).toContain('USD\u00a0480.00');
    expect(await page.getByTestId('payment-pi_3BrowserA').textContent()).toContain('USD\u00a0250.00');
    expect(await page.getByTestId('payment-pi_3BrowserC').textContent()).toContain('Disputed');
    expect(
      await rowB.getByRole('link', { name: 'Open in Stripe: payment pi_3BrowserB' }).getAttribute('href'),
    ).toBe('https://dashboard.stripe.com/test/payments/pi_3BrowserB');

    // The platform calls updateView again and again; the payments are read once.
    await page.evaluate(() => {
      const host = (globalThis as unknown as { PcfHost: { rerender(): number } }).PcfHost;
      for (let i = 0; i < 5; i++) host.rerender();
    });
    await rowB.waitFor();
    const reads = harness.requests().filter((r) => r.method === 'GET');
    expect(reads).toHaveLength(1);
    expect(reads[0].path).toMatch(/^stc_payments\?\$select=/);
    expect(reads[0].status).toBe(200);
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-panel.png'), fullPage: true });

    await rowB.getByRole('button', { name: 'Refund payment pi_3BrowserB' }).click();
    const dialog = page.getByRole('dialog');
    const amount = dialog.getByLabel('Amount (USD)');
    await amount.fill('500');
    await dialog.getByRole('button', { name: 'Request refund' }).click();
    await dialog.getByText('The amount is more than can be refunded: at most USD\u00a0480.00.').waitFor();
    expect(dataverse.store.count('stc_refundrequests')).toBe(0);

    await amount.fill('120.50');
    await dialog.getByLabel('Note').fill('Two cups arrived broken');
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-panel-refund-dialog.png') });
    await dialog.getByRole('button', { name: 'Request refund' }).click();
    await page.getByText('Refund request: Pending').waitFor();

    const requests = dataverse.store.rows('stc_refundrequests');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      stc_name: 'Refund of pi_3BrowserB',
      stc_amount: 120.5,
      stc_currency: 'usd',
      stc_reason: optionValue('stc_refundreason', 'requested_by_customer'),
      stc_note: 'Two cups arrived broken',
      stc_status: optionValue('stc_refundrequeststatus', 'pending'),
      stc_livemode: false,
      _createdby_value: SALES_USER.systemuserid,
    });
    const paymentB = dataverse.store.rows('stc_payments').find((p) => p.stc_stripeid === 'pi_3BrowserB');
    expect(requests[0]._stc_paymentid_value).toBe(paymentB?.stc_paymentid);
    const create = harness.requests().find((r) => r.method === 'POST');
    expect(create).toMatchObject({ path: 'stc_refundrequests', status: 204 });
    // While the request is pending no other refund is asked for; each disabled Refund says why, in view.
    const refundB = rowB.getByRole('button', { name: 'Refund payment pi_3BrowserB' });
    expect(await refundB.isDisabled()).toBe(true);
    expect(await rowB.textContent()).toContain('Wait for the outcome of the refund request above.');
    expect(await page.getByTestId('payment-pi_3BrowserC').textContent()).toContain(
      'Nothing of this payment can be refunded.',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-panel-refund-pending.png'), fullPage: true });
  }, 60_000);

  it('is usable from the keyboard and has no serious accessibility problem, dialog included', async () => {
    await page.goto(
      harness.pageUrl({ control: 'PaymentPanel', entityTypeName: 'salesorder', entityId: orderId }),
    );
    await page.getByTestId('payment-pi_3BrowserB').waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);

    // Tab order: the first row's dashboard link, then its Refund button; Enter opens the dialog on the amount.
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe(
      'Open in Stripe: payment pi_3BrowserB',
    );
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe(
      'Refund payment pi_3BrowserB',
    );
    const before = dataverse.store.count('stc_refundrequests');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Amount (USD)').waitFor();
    // The Enter that opened the dialog must not also submit it: focus lands on the amount, nothing is created.
    await page.waitForFunction('document.activeElement?.closest(\'[role="dialog"]\') != null', undefined, {
      timeout: 5000,
    });
    expect(await page.evaluate("document.activeElement?.getAttribute('inputmode')")).toBe('decimal');
    expect(dataverse.store.count('stc_refundrequests')).toBe(before);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: 5000 });
    expect(dataverse.store.count('stc_refundrequests')).toBe(before);
  }, 30_000);

  it('refunds from a read-only form; a save sent again after a lost answer makes one request, which rests awaiting approval', async () => {
    // A paid invoice, or an order seen by a user with only Read on orders: the form is read-only.
    await page.goto(
      harness.pageUrl({
        control: 'PaymentPanel',
        entityTypeName: 'salesorder',
        entityId: orderId,
        disabled: true,
        parameters: { pollIntervalSeconds: 1 },
      }),
    );
    const rowA = page.getByTestId('payment-pi_3BrowserA');
    const refundA = rowA.getByRole('button', { name: 'Refund payment pi_3BrowserA' });
    await refundA.waitFor();
    expect(await refundA.isEnabled()).toBe(true);

    // Dataverse saves the first request, but its answer never reaches the browser.
    let lost = 0;
    await page.route(/\/api\/data\/v9\.2\/stc_refundrequests$/, async (route) => {
      if (route.request().method() !== 'POST' || lost > 0) return route.fallback();
      lost++;
      await route.fetch();
      await route.abort('timedout');
    });
    const before = dataverse.store.count('stc_refundrequests');
    await refundA.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Amount (USD)').fill('100');
    await dialog.getByRole('button', { name: 'Request refund' }).click();
    await dialog.getByText(/^The refund request could not be saved:/).waitFor();
    expect(dataverse.store.count('stc_refundrequests')).toBe(before + 1);

    // Sent again under the same id: Dataverse refuses a second row, and the panel follows the one saved.
    await dialog.getByRole('button', { name: 'Request refund' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 5000 });
    await page.getByText('Refund request: Pending').waitFor();
    expect(dataverse.store.count('stc_refundrequests')).toBe(before + 1);
    const posts = harness.requests().filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([204, 412]);
    const request = dataverse.store
      .rows('stc_refundrequests')
      .find((r) => r.stc_amount === 100 && r.stc_name === 'Refund of pi_3BrowserA');
    expect(request?._createdby_value).toBe(SALES_USER.systemuserid);

    // The service puts it up for a finance approver: the panel stops there, with Close, and holds its amount.
    const patched = await fetch(
      `${dataverse.url}stc_refundrequests(${String(request?.stc_refundrequestid)})`,
      {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', 'If-Match': '*' },
        body: JSON.stringify({
          stc_status: optionValue('stc_refundrequeststatus', 'awaiting_approval'),
        }),
      },
    );
    expect(patched.status).toBe(204);
    await page.getByText('Refund request: Awaiting approval').waitFor({ timeout: 5000 });
    await page.getByText(/It waits for a finance approver/).waitFor();
    expect(await page.getByRole('progressbar').count()).toBe(0);
    await refundA.waitFor();
    await page.waitForFunction(
      '!document.querySelector(\'[aria-label="Refund payment pi_3BrowserA"]\')?.disabled',
      undefined,
      { timeout: 5000 },
    );
    await refundA.click();
    expect(await dialog.getByLabel('Amount (USD)').inputValue()).toBe('900');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByText('Refund request: Awaiting approval').waitFor({ state: 'detached' });
  }, 60_000);

  it('shows the payments as cards at the mobile width', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(
      harness.pageUrl({
        control: 'PaymentPanel',
        entityTypeName: 'salesorder',
        entityId: orderId,
        width: 380,
      }),
    );
    await page.getByRole('list', { name: 'Stripe payments' }).waitFor();
    expect(await page.getByRole('table').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-panel-mobile.png'), fullPage: true });
  }, 30_000);

  it('shows the account’s Stripe customer with totals, subscriptions and payments in one request', async () => {
    await page.goto(
      harness.pageUrl({
        control: 'CustomerPanel',
        entityTypeName: 'account',
        entityId: accountId,
        parameters: { stripeCustomerId: 'cus_BrowserTest01' },
      }),
    );
    await page.getByText('Recent payments').waitFor();
    const totals = page.getByRole('group', { name: 'Totals in test mode' });
    expect(await totals.textContent()).toContain('USD\u00a01,829.00');
    expect(await page.getByTestId('subscription-sub_Browser1').textContent()).toContain('Renews');
    expect(await page.getByTestId('subscription-sub_Browser2').count()).toBe(0);
    expect(harness.requests().filter((r) => r.method === 'GET')).toHaveLength(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'customer-panel.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
  }, 30_000);

  it('links an unlinked contact to a Stripe customer by writing stc_stripecustomerid', async () => {
    const contactId = dataverse.store.insert('contacts', { firstname: 'Ada', lastname: 'Lovelace' });
    await page.goto(
      harness.pageUrl({ control: 'CustomerPanel', entityTypeName: 'contact', entityId: contactId }),
    );
    await page.getByLabel('Stripe customer id').fill('cus_NffrFeUfNV2Hib');
    await page.screenshot({ path: join(SCREENSHOTS, 'customer-panel-link.png'), fullPage: true });
    await page.getByRole('button', { name: 'Link' }).click();
    await page.getByText(/Linked to cus_NffrFeUfNV2Hib/).waitFor();
    const contact = dataverse.store.get('contacts', contactId);
    expect(contact?.stc_stripecustomerid).toBe('cus_NffrFeUfNV2Hib');
  }, 30_000);
});
