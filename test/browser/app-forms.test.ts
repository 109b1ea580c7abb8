/**
 * The app's forms as the packed solution declares them, in Chromium: the harness lays out the main forms from
 * the FormXml of the solution's customizations.xml (built from the real PCF controls) with the record's values,
 * and hosts each code component where the form binds it. A user opens an account and finds the Stripe tab with
 * the customer panel showing that customer's Stripe data; an order, with the payment panel showing its
 * payments; a payment, with its fields grouped as the form declares and read-only. Screenshots are kept in
 * docs/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import { startHarness, type Harness } from '@stc/sandbox';
import { optionValue } from '@stc/solution';
import { collectSolutionFiles } from '@stc/solution/src/pack';
import { FORMS } from '../../webresources/scripts/build';
import { CONTROLS, describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const REPO = resolve(__dirname, '../..');

jest.setTimeout(30_000);

/**
 * The form scripts the Stripe tabs name: the harness does not run form scripts, so the packer is given files
 * of those names (it only checks that each tab's library is in the solution).
 */
function formScripts(dir: string): string {
  const scripts = join(dir, 'web');
  mkdirSync(join(scripts, 'stc_', 'js'), { recursive: true });
  // Every form script the web resources build makes, so no form or button of the solution is left out.
  for (const form of Object.keys(FORMS)) {
    writeFileSync(join(scripts, 'stc_', 'js', `${form}.js`), '// form script\n');
  }
  return scripts;
}

/** What the finance dashboard counts: more payments, refunds and disputes over two weeks, journals, payouts. */
function seedFinance(dataverse: DataverseEmulator, accountId: string): void {
  const status = (name: string) => optionValue('stc_paymentstatus', name);
  for (const [id, amount, currency, state] of [
    ['pi_3FormsB', 120, 'usd', 'succeeded'],
    ['pi_3FormsC', 80, 'usd', 'failed'],
    ['pi_3FormsD', 40, 'eur', 'refunded'],
  ] as const) {
    dataverse.store.insert('stc_payments', {
      stc_name: id,
      stc_stripeid: id,
      stc_amount: amount,
      stc_currency: currency,
      stc_status: status(state),
      stc_livemode: false,
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
    });
  }
  for (const [id, created] of [
    ['re_Forms1', '2026-11-17T09:00:00Z'],
    ['re_Forms2', '2026-11-19T09:00:00Z'],
    ['re_Forms3', '2026-11-25T09:00:00Z'],
  ]) {
    dataverse.store.insert('stc_refunds', {
      stc_name: id,
      stc_stripeid: id,
      stc_amount: 10,
      stc_currency: 'eur',
      stc_status: optionValue('stc_refundstatus', 'succeeded'),
      stc_stripecreatedon: created,
    });
  }
  for (const [payout, journal] of [
    ['po_Forms1', 'balanced'],
    ['po_Forms2', 'balanced'],
    ['po_Forms3', 'mismatch'],
  ]) {
    dataverse.store.insert('stc_payouts', {
      stc_name: payout,
      stc_stripeid: payout,
      stc_amount: 500,
      stc_currency: 'eur',
      stc_status: optionValue('stc_payoutstatus', 'paid'),
    });
    dataverse.store.insert('stc_journalentries', {
      stc_name: `Payout ${payout}`,
      stc_stripepayoutid: payout,
      stc_date: '2026-11-30',
      stc_currency: 'eur',
      stc_status: optionValue('stc_journalstatus', journal),
    });
  }
}

describeBrowser('the app’s forms in Chromium', () => {
  let work: string;
  let dataverse: DataverseEmulator;
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let accountId: string;
  let orderId: string;
  let paymentId: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'stc-forms-'));
    const files = collectSolutionFiles({
      repoRoot: REPO,
      controlsDir: CONTROLS,
      webResourcesDir: formScripts(work),
    });
    expect(files.leftOut).toEqual([]);
    const customizationsXml = files.files(false).get('customizations.xml') as string;

    dataverse = await startDataverseEmulator({ port: 0, auth: { mode: 'none' } });
    accountId = dataverse.store.insert('accounts', {
      name: 'Fabrikam Tea',
      stc_stripecustomerid: 'cus_FormsTest01',
      stc_livemode: false,
    });
    orderId = dataverse.store.insert('salesorders', {
      name: 'Tea subscription boxes',
      ordernumber: 'ORD-2001',
      'customerid_account@odata.bind': `/accounts(${accountId})`,
    });
    paymentId = dataverse.store.insert('stc_payments', {
      stc_name: 'pi_3FormsA',
      stc_stripeid: 'pi_3FormsA',
      stc_amount: 742.5,
      stc_fee: 21.83,
      stc_net: 720.67,
      stc_amountrefunded: 0,
      stc_currency: 'eur',
      stc_status: optionValue('stc_paymentstatus', 'succeeded'),
      stc_paymentmethodtype: optionValue('stc_paymentmethodtype', 'card'),
      stc_cardbrand: optionValue('stc_cardbrand', 'visa'),
      stc_last4: '4242',
      stc_livemode: false,
      stc_disputed: false,
      stc_stripecreatedon: '2026-11-28T10:15:00Z',
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
      'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
    });
    seedFinance(dataverse, accountId);
    harness = await startHarness({
      port: 0,
      dataverseUrl: dataverse.url,
      controlsDir: CONTROLS,
      customizationsXml,
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await dataverse?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  });
  afterEach(() => page.close());

  /** The frame of the code component on the open tab. */
  async function panelFrame(): Promise<Frame> {
    const element = await page.waitForSelector('[role=tabpanel]:not([hidden]) .panel iframe');
    const frame = await element.contentFrame();
    if (!frame) throw new Error('the panel has no frame');
    return frame;
  }

  it('shows the Stripe tab on the account form, with the customer panel on that account’s customer', async () => {
    await page.goto(harness.formUrl({ entityTypeName: 'account', entityId: accountId }));
    const tabs = await page.locator('[role=tab]').allTextContents();
    expect(tabs).toEqual(['General', 'Stripe']);
    await page.getByRole('tab', { name: 'Stripe' }).click();
    expect(await page.getByText('Fabrikam Tea', { exact: true }).last().isVisible()).toBe(false);
    const frame = await panelFrame();
    await frame.getByText('cus_FormsTest01').first().waitFor();
    // The tab's own fields, read-only, after the panel.
    const values = await page
      .locator('[role=tabpanel]:not([hidden]) [data-field]')
      .evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('data-field'), node.textContent]));
    expect(values).toContainEqual(['stc_stripecustomerid', 'cus_FormsTest01']);
    await page.screenshot({ path: join(SCREENSHOTS, 'account-form.png'), fullPage: true });
  });

  it('shows the order’s payments in the payment panel on the order form', async () => {
    await page.goto(harness.formUrl({ entityTypeName: 'salesorder', entityId: orderId }));
    await page.getByRole('tab', { name: 'Stripe' }).click();
    const frame = await panelFrame();
    await frame.getByText('742.50').first().waitFor();
    // Amounts are formatted with no-break spaces.
    const text = (await frame.locator('body').innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('EUR 742.50');
    expect(text).toContain('Visa •••• 4242');
    expect(text).toContain('EUR 21.83');
    // Below the panel, where Dynamics 365 lists the subscriptions started from the order.
    const subgrid = page.locator('[role=tabpanel]:not([hidden]) [data-subgrid=stc_subscription]');
    expect(await subgrid.textContent()).toMatch(/Rows of stc_subscription by \w+/);
  });

  it('lays the payment form out as the solution declares it: grouped, read-only, Stripe data on its own tab', async () => {
    await page.goto(harness.formUrl({ entityTypeName: 'stc_payment', entityId: paymentId }));
    expect(await page.locator('h1').textContent()).toBe('pi_3FormsA');
    expect(await page.locator('[role=tab]').allTextContents()).toEqual(['General', 'Stripe']);
    const sections = await page.locator('[role=tabpanel]:not([hidden]) section h3').allTextContents();
    expect(sections).toEqual(['Summary', 'Amounts', 'Related', 'Details']);
    const amounts = page.locator('section[aria-label=Amounts] [data-field]');
    expect(await amounts.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-field')))).toEqual(
      expect.arrayContaining(['stc_amount', 'stc_currency', 'stc_fee', 'stc_net']),
    );
    expect(await page.locator('[data-field].value:not(.locked)').count()).toBe(0);
    expect(await page.locator('[data-field=stc_status]').textContent()).toBe('Succeeded');
    await page.screenshot({ path: join(SCREENSHOTS, 'payment-form.png'), fullPage: true });
  });

  it('draws the finance dashboard from the solution’s charts over the rows in Dataverse', async () => {
    await page.goto(harness.dashboardUrl());
    expect(await page.locator('h1').textContent()).toBe('Stripe Finance');
    const figures = async (chart: string) =>
      page
        .locator(`figure[aria-label="${chart}"] tbody tr`)
        .evaluateAll((rows) =>
          rows.map((row) => [row.querySelector('th')!.textContent, row.querySelector('td')!.textContent]),
        );
    expect(await figures('Payments by Status')).toEqual([
      ['Succeeded', '2'],
      ['Failed', '1'],
      ['Refunded', '1'],
    ]);
    expect(await figures('Payment Volume by Currency')).toEqual([
      ['eur', '782.5'],
      ['usd', '200'],
    ]);
    expect(await figures('Refunds by Week')).toEqual([
      ['Week of 2026-11-16', '2'],
      ['Week of 2026-11-23', '1'],
    ]);
    expect(await figures('Payout Journals by Status')).toEqual([
      ['Balanced', '2'],
      ['Mismatch', '1'],
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'finance-dashboard.png'), fullPage: true });
  });
});
