/**
 * The sandbox's dead letter fixed in the console alone, in Chromium, against the real service (its default
 * handlers, mapping with the store's active version) with the Stripe and Dataverse emulators: a payment names
 * an existing order in its metadata as an order form's client API gives it (`{GUID}`, capitals), which the
 * shipped payments.yaml refuses to bind (a mapping_failed dead letter, no row). By keyboard, the studio opens
 * payments.yaml, sets the order link's id to the field without braces, the preview binds the order where the
 * active version fails, the file is saved as a new version and activated; on Dead letters the letters are
 * retried, the event is applied and the payment row in Dataverse is linked to the order. axe-core finds no
 * serious or critical problem on the studio page. Screenshot: docs/screenshots/console-studio-links.png.
 */
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { model } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator } from '@stc/emulators';
import { loadConfig, startService } from '@stc/service';
import { waitFor } from '@stc/testkit';
import { describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const ADMIN_KEY = 'admin-api-key-studio-links-0123456789';
const WEBHOOK_SECRET = 'whsec_studio_links_browser';
const SERVICE_USER = {
  systemuserid: '5e0c7a11-0000-4000-8000-0000000000b2',
  fullname: 'Stripe Connector Service',
  roles: ['Stripe Connector Service'],
};
const BRACES_OFF = "$replace(metadata.d365_salesorderid, /[{}]/, '')";

async function startWorld() {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'stc-studio-links-'));
  const dataverse = await startDataverseEmulator({ model, systemUsers: [SERVICE_USER] });
  const stripeEmulator = await startStripeEmulator({ rateLimit: false });
  const config = loadConfig(
    {
      STRIPE_API_KEY: stripeEmulator.apiKey,
      STRIPE_MODE: 'test',
      STRIPE_API_BASE: stripeEmulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      DATAVERSE_URL: dataverse.url,
      DATAVERSE_AUTH: 'none',
      DATAVERSE_WEBHOOK_KEY: 'dataverse-webhook-key-studio-links-0123456789',
      DATAVERSE_SERVICE_USER_ID: SERVICE_USER.systemuserid,
      ADMIN_API_KEY: ADMIN_KEY,
      SQLITE_PATH: join(dir, 'connector.db'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WORKER_POLL_MS: '20',
    },
    dir,
  );
  const service = await startService(config);
  stripeEmulator.setWebhook({ url: `${service.url}/webhooks/stripe`, secret: WEBHOOK_SECRET });
  return {
    service,
    dataverse,
    stripe: stripeEmulator.client(),
    async close() {
      await service.stop();
      await stripeEmulator.close();
      await dataverse.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A button of a list whose code text is exactly `name` (a field path, a link's column). */
const choice = (scope: Locator, name: string): Locator =>
  scope.getByRole('button').filter({
    has: scope.page().locator('span', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) }),
  });

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page: what blocks a screen-reader or keyboard user. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)",
  )) as Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Focuses an element and presses a key on it, as a keyboard user would after tabbing there. */
async function press(target: Locator, key: string): Promise<void> {
  await target.focus();
  await target.page().keyboard.press(key);
}

/** Opens a Fluent dropdown by keyboard and picks an option with the arrow keys and Enter. */
async function chooseOption(page: Page, label: string, option: string | RegExp): Promise<void> {
  await press(page.getByRole('combobox', { name: label }), 'Enter');
  const wanted = page.getByRole('option', { name: option });
  await wanted.waitFor();
  await wanted.focus();
  await page.keyboard.press('Enter');
}

describeBrowser('the mapping studio edits a link', () => {
  let world: Awaited<ReturnType<typeof startWorld>>;
  let browser: Browser;
  let orderId: string;
  let intentId: string;

  beforeAll(async () => {
    world = await startWorld();
    const accountId = world.dataverse.store.insert('accounts', { name: 'Contoso' });
    orderId = world.dataverse.store.insert('salesorders', {
      name: 'Annual support for Contoso',
      ordernumber: 'ORD-4801',
      'customerid_account@odata.bind': `/accounts(${accountId})`,
    });
    const intent = await world.stripe.paymentIntents.create({
      amount: 48_000,
      currency: 'usd',
      description: 'Annual support for Contoso',
      metadata: { d365_salesorderid: `{${orderId.toUpperCase()}}` },
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    intentId = intent.id;
    await waitFor(
      async () =>
        (await world.service.store.listDeadLetters()).some(
          (d) => d.objectId === intentId && d.errorCode === 'mapping_failed' && d.resolution === null,
        ),
      'the payment’s dead letter',
      20_000,
    );
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  it('strips the braces off the order link by keyboard, previews the binding, activates, retries the letter', async () => {
    expect(world.dataverse.store.rows('stc_payments').some((r) => r.stc_stripeid === intentId)).toBe(false);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${world.service.url}/console/`);
    await page.getByRole('textbox', { name: 'Admin key' }).fill(ADMIN_KEY);
    await press(page.getByRole('button', { name: 'Sign in' }), 'Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    await press(page.getByRole('link', { name: 'Mapping studio' }), 'Enter');
    await page.getByRole('heading', { name: 'Mapping studio', level: 1 }).waitFor();
    await chooseOption(page, 'Mapping file', 'payments.yaml');
    await page.getByRole('combobox', { name: 'Mapping' }).filter({ hasText: 'payment_intent' }).waitFor();

    // The links beside the columns: the order link as the shipped file has it.
    const orderLinkId = page.getByRole('textbox', { name: 'Id expression of stc_salesorderid' });
    await orderLinkId.and(page.locator('[value="metadata.d365_salesorderid"]')).waitFor();
    await page
      .getByRole('textbox', { name: 'Value of ordernumber for stc_salesorderid' })
      .and(page.locator('[value="metadata.order_number"]'))
      .waitFor();

    // The preview of the payment's event, offered first as a dead letter's: the active version fails on the braces.
    await page
      .getByRole('combobox', { name: 'Recorded event' })
      .filter({ hasText: `Dead-lettered: payment_intent.` })
      .filter({ hasText: intentId })
      .waitFor({ timeout: 30_000 });
    const preview = page.getByRole('table', { name: 'Preview links' });
    await preview.waitFor({ timeout: 30_000 });
    await page.getByText(/Active version 1 fails on this event: .*is not a GUID/).waitFor();

    // An expression the engine refuses is not taken: its message names the file, mapping and link.
    await orderLinkId.fill('$replace(metadata.d365_salesorderid, /[{}]/');
    const refused = page
      .getByRole('alert')
      .filter({ hasText: 'payments.yaml: mapping "payment_intent", column "stc_salesorderid": expression' })
      .filter({ hasText: 'does not parse' });
    await refused.first().waitFor({ timeout: 15_000 });

    // By keyboard: the field, the link, the transform, then Map: the refusal goes.
    const fields = page.getByRole('list', { name: 'Stripe fields' });
    await press(choice(fields, 'metadata.d365_salesorderid').first(), 'Space');
    const links = page.locator('table').filter({ hasText: 'Lookups: drop a field on a link' });
    await press(choice(links, 'stc_salesorderid'), 'Space');
    await chooseOption(page, 'Transform', /GUID without braces/);
    await press(page.getByRole('button', { name: 'Map', exact: true }), 'Enter');
    await orderLinkId.and(page.locator(`[value="${BRACES_OFF}"]`)).waitFor();
    await waitFor(async () => (await refused.count()) === 0, 'the refusal cleared by the edit', 15_000);

    // The edited file binds the order; the active version still fails.
    const orderRow = preview.locator('tr[data-link="stc_salesorderid"]');
    await orderRow
      .locator('td')
      .first()
      .filter({ hasText: `salesorder ${orderId.toUpperCase()}` })
      .waitFor({ timeout: 30_000 });
    expect(await orderRow.locator('td').nth(1).textContent()).toBe('fails (see above)');
    await expect(accessibilityProblems(page)).resolves.toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-studio-links.png'), fullPage: true });

    await page.getByRole('textbox', { name: 'Note for the new version' }).fill('Order ids without braces');
    await press(page.getByRole('button', { name: 'Save as new version' }), 'Enter');
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();
    await press(page.getByRole('button', { name: 'Activate version 2' }), 'Enter');
    await page.getByRole('status').filter({ hasText: 'Version 2 is active' }).waitFor();

    // The stored version differs from the shipped one in that line alone.
    const version = (await fetch(`${world.service.url}/console/api/mappings/2`, {
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    }).then((r) => r.json())) as { files: Record<string, string> };
    const shipped = readFileSync(join(__dirname, '../../service/mappings/payments.yaml'), 'utf8').split('\n');
    const saved = version.files['payments.yaml'].split('\n');
    expect(saved.filter((line, i) => line !== shipped[i])).toEqual([`        id: "${BRACES_OFF}"`]);

    // Dead letters: retried by the error code, after the confirmation.
    const letters = (await world.service.store.listDeadLetters()).filter(
      (d) => d.resolution === null && d.errorCode === 'mapping_failed',
    );
    expect(letters.length).toBeGreaterThan(0);
    await press(page.getByRole('link', { name: 'Dead letters' }), 'Enter');
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    await page.getByRole('row').filter({ hasText: 'is not a GUID' }).first().waitFor();
    await page.getByRole('textbox', { name: 'Error code to retry' }).fill('mapping_failed');
    await press(page.getByRole('button', { name: 'Retry matching…' }), 'Enter');
    const confirm = page.getByRole('alertdialog', { name: 'Retry dead letters?' });
    await press(confirm.getByRole('button', { name: 'Retry them' }), 'Enter');
    await page
      .getByRole('status')
      .getByText(/dead letters? sent back to the inbox\./)
      .waitFor();

    const payment = await waitFor(
      () =>
        world.dataverse.store
          .rows('stc_payments')
          .find((r) => r.stc_stripeid === intentId && r._stc_salesorderid_value != null),
      'the payment row linked to its order',
      20_000,
    );
    expect(String(payment!._stc_salesorderid_value).toLowerCase()).toBe(orderId.toLowerCase());
    expect(payment!.stc_amount).toBe(480);

    // The events page: the letters' events worked again, the payment written by one of them (an older event
    // of the same payment is then superseded by the newer one's write).
    await press(page.getByRole('link', { name: 'Events' }), 'Enter');
    await page.getByRole('searchbox', { name: 'Event, object or row id' }).fill(intentId);
    await press(page.getByRole('button', { name: 'Search' }), 'Enter');
    const statusOf = async (eventId: string) =>
      page.getByRole('row').filter({ hasText: eventId }).getByRole('cell').nth(4).textContent();
    await waitFor(
      async () => {
        await press(page.getByRole('button', { name: 'Search' }), 'Enter');
        const statuses = await Promise.all(letters.map((letter) => statusOf(letter.eventId)));
        return (
          statuses.includes('applied') &&
          statuses.every((status) => ['applied', 'superseded'].includes(status!))
        );
      },
      'the retried events shown applied',
      20_000,
      500,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);
});
