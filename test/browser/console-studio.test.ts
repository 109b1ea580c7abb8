/**
 * The console's mapping studio in Chromium, against the real service (its default handlers, which map with the
 * store's active mapping version, so that activating a version changes what it writes) with the Stripe and
 * Dataverse emulators:
 * a customer's webhook is applied, then the studio maps the customer's e-mail onto the contact's description
 * by keyboard alone, the preview of that customer's event shows the new value beside the active version's,
 * the file is saved as a new version and activated (the versions list shows it active), then rolled back.
 * Screenshot: docs/screenshots/console-studio.png. Skipped like the other browser suites without Chromium.
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

const ADMIN_KEY = 'admin-api-key-studio-0123456789';
const WEBHOOK_SECRET = 'whsec_studio_browser';
const SERVICE_USER = {
  systemuserid: '5e0c7a11-0000-4000-8000-0000000000a1',
  fullname: 'Stripe Connector Service',
  roles: ['Stripe Connector Service'],
};

/** The service with its default handlers and the emulators, on loopback. */
async function startWorld() {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'stc-studio-'));
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
      DATAVERSE_WEBHOOK_KEY: 'dataverse-webhook-key-studio-0123456789',
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
    stripe: stripeEmulator.client(),
    async close() {
      await service.stop();
      await stripeEmulator.close();
      await dataverse.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
const EMAIL = 'ada.studio@example.com';
const DESCRIPTION = 'Customer from the studio test';

/** A button of a list whose code text is exactly `name` (a field path, a column name). */
const choice = (scope: Locator, name: string): Locator =>
  scope
    .getByRole('button')
    .filter({ has: scope.page().locator('span', { hasText: new RegExp(`^${name}$`) }) });

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

async function chooseOption(page: Page, label: string, option: string | RegExp): Promise<void> {
  await press(page.getByRole('combobox', { name: label }), 'Enter');
  await page.getByRole('option', { name: option }).click();
}

describeBrowser('the mapping studio', () => {
  let world: Awaited<ReturnType<typeof startWorld>>;
  let browser: Browser;

  beforeAll(async () => {
    world = await startWorld();
    const customer = await world.stripe.customers.create({
      name: 'Ada Lovelace',
      email: EMAIL,
      description: DESCRIPTION,
      // A person: the customer_contact mapping takes it.
      metadata: { d365_type: 'contact' },
    });
    // Applied: the preview's recorded event is the customer's, as the service received it.
    await waitFor(
      async () =>
        (await world.service.store.searchEvents({ q: customer.id, limit: 5 })).some(
          (e) => e.status === 'applied',
        ),
      'the customer event applied',
      15_000,
    );
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  it('maps a field by keyboard, previews it, saves and activates a version, then rolls back', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${world.service.url}/console/`);
    await page.getByRole('textbox', { name: 'Admin key' }).fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    await press(page.getByRole('link', { name: 'Mapping studio' }), 'Enter');
    await page.getByRole('heading', { name: 'Mapping studio', level: 1 }).waitFor();
    await chooseOption(page, 'Mapping file', 'customers.yaml');
    await page.getByRole('combobox', { name: 'Mapping' }).filter({ hasText: 'customer_contact' }).waitFor();

    const preview = page.getByRole('table', { name: 'Preview rows' });
    const described = preview.locator('tr[data-column="description"]');
    await described.locator('td').nth(1).filter({ hasText: DESCRIPTION }).waitFor({ timeout: 30_000 });

    // By keyboard: the field, then the column, then Map.
    const fields = page.getByRole('list', { name: 'Stripe fields' });
    await choice(fields, 'email').first().waitFor();
    await press(choice(fields, 'email').first(), 'Space');
    await press(choice(page.locator('table').filter({ hasText: 'Drop a field' }), 'description'), 'Space');
    await press(page.getByRole('button', { name: 'Map', exact: true }), 'Enter');
    await page
      .getByRole('textbox', { name: 'Expression of description' })
      .and(page.locator('[value="email"]'))
      .waitFor();

    // The preview of the customer's event: the edit writes the e-mail, the active version the description.
    await described.locator('td').first().filter({ hasText: EMAIL }).waitFor({ timeout: 30_000 });
    await described.locator('td').nth(1).filter({ hasText: DESCRIPTION }).waitFor();

    // By mouse: a field dragged onto a column; a suggestion applied by its button.
    const columns = page.locator('table').filter({ hasText: 'Drop a field' });
    await choice(fields, 'phone').first().dragTo(choice(columns, 'mobilephone'));
    const mobile = page.getByRole('textbox', { name: 'Expression of mobilephone' });
    await mobile.and(page.locator('[value="phone"]')).waitFor();
    await page.getByRole('button', { name: 'Apply name to fullname' }).click();
    await page
      .getByRole('textbox', { name: 'Expression of fullname' })
      .and(page.locator('[value="name"]'))
      .waitFor();
    await preview
      .locator('tr[data-column="fullname"] td')
      .first()
      .filter({ hasText: 'Ada Lovelace' })
      .waitFor();

    // An expression the engine refuses: the preview and the save answer with its message, naming the column.
    await mobile.fill('$phoneE164(phone');
    const refused = page.getByRole('alert').filter({ hasText: 'mobilephone' });
    await refused.filter({ hasText: 'customers.yaml' }).first().waitFor({ timeout: 30_000 });
    await page.getByRole('textbox', { name: 'Note for the new version' }).fill('Description from the e-mail');
    await press(page.getByRole('button', { name: 'Save as new version' }), 'Enter');
    await waitFor(
      async () => (await refused.count()) === 2,
      'the save refused with the same message',
      15_000,
    );
    await mobile.fill('$phoneE164(phone)');
    // The preview maps again without the refusal; the save's message stays until the next save.
    await waitFor(
      async () => (await refused.count()) === 1,
      'the preview to map the fixed expression',
      30_000,
    );
    await expect(accessibilityProblems(page)).resolves.toEqual([]);

    await press(page.getByRole('button', { name: 'Save as new version' }), 'Enter');
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();
    await press(page.getByRole('button', { name: 'Activate version 2' }), 'Enter');
    await page.getByRole('status').filter({ hasText: 'Version 2 is active' }).waitFor();
    const versions = page.getByRole('table', { name: 'Mapping versions, newest first' });
    await versions
      .getByRole('row')
      .filter({ hasText: 'Description from the e-mail' })
      .filter({ hasText: 'Active' })
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-studio.png'), fullPage: true });

    await press(page.getByRole('button', { name: 'Roll back to the previously active version' }), 'Enter');
    await page.getByRole('status').filter({ hasText: 'version 1 is active again' }).waitFor();
    const rows = versions.getByRole('row');
    await rows.filter({ hasText: 'Description from the e-mail' }).filter({ hasNotText: 'Active' }).waitFor();
    const listed = (
      (await await fetch(`${world.service.url}/console/api/mappings`, {
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      }).then((r) => r.json())) as { versions: Array<{ version: number; active: boolean }> }
    ).versions;
    expect(listed.filter((v) => v.active).map((v) => v.version)).toEqual([1]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
