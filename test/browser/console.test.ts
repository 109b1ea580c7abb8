/**
 * The operator console in Chromium, against the real service (in-process, with the Stripe and Dataverse
 * emulators, webhooks delivered by the Stripe emulator): signing in with the admin key (a wrong one refused with
 * the API's message) and every page reached by the keyboard alone. Screenshots of each page go to
 * docs/screenshots/console-<page>.png. Skipped like the other browser suites without Chromium.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type Stripe from 'stripe';
import { StcJournalStatus } from '@stc/solution';
import { REFUND_USERS, startRoundTrip, waitFor, WEBHOOK_SECRET, type RoundTrip } from '../e2e/roundtrip';
import { describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const ADMIN_KEY = 'admin-api-key-e2e-0123456789';
/** The console's Entra ID sign-in, configured (its authority is never reached: the tests sign in by key). */
const ENTRA = {
  CONSOLE_ENTRA_TENANT_ID: '0c9a1d5e-4f7b-4c2a-9e3d-1a2b3c4d5e6f',
  CONSOLE_ENTRA_CLIENT_ID: '7f3e2d1c-0b9a-4876-8543-210fedcba987',
  CONSOLE_ENTRA_CLIENT_SECRET: 'entra-client-secret-console-browser-test',
  CONSOLE_ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:9',
  CONSOLE_PUBLIC_URL: 'http://127.0.0.1',
  CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
};
const PAGES = [
  { link: 'Overview', heading: 'Overview', file: 'overview' },
  { link: 'Events', heading: 'Events', file: 'events' },
  { link: 'Dead letters', heading: 'Dead letters', file: 'dead-letters' },
  { link: 'Payouts', heading: 'Payouts', file: 'payouts' },
  { link: 'Settings', heading: 'Settings', file: 'settings' },
];

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical findings on the page: what blocks a screen-reader or keyboard user. Evaluated
 * through the browser's devtools rather than added as a script tag, which the page's policy refuses.
 */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)",
  )) as Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Presses Tab until the focused element's text (or label) is `name`; fails after `limit` presses. */
async function tabTo(page: Page, name: string, limit = 100): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return (el?.getAttribute('aria-label') ?? el?.innerText ?? '').trim();
    });
    if (focused === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}

/**
 * Messages the page logged that a strict Content-Security-Policy or a script error would cause, and any request
 * to another host than the service (the console works offline: its fonts, icons and chart are its own).
 */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    if (!/^(http:\/\/127\.0\.0\.1[:/]|data:)/.test(request.url())) errors.push(`request to ${request.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      errors.push(message.text());
    }
  });
  return errors;
}

describeBrowser('the operator console', () => {
  let world: RoundTrip;
  let browser: Browser;
  let consoleUrl: string;
  let paymentIntentId: string;

  beforeAll(async () => {
    world = await startRoundTrip([REFUND_USERS.service], { RETRY_MAX_ATTEMPTS: '2', ...ENTRA });
    consoleUrl = `${world.service.url}/console/`;
    // A few real webhooks: a payment's events, delivered by the Stripe emulator and applied.
    const intent = await world.stripe.paymentIntents.create({
      amount: 2_500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    paymentIntentId = intent.id;
    await waitFor('the synced payment row', () =>
      world.dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === intent.id),
    );
    await world.settle();
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  async function openConsole(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    const errors = watchErrors(page);
    await page.goto(consoleUrl);
    return { page, errors };
  }

  async function signedIn(): Promise<{ page: Page; errors: string[] }> {
    const opened = await openConsole();
    await opened.page.getByRole('textbox', { name: 'Admin key' }).fill(ADMIN_KEY);
    await opened.page.getByRole('button', { name: 'Sign in' }).click();
    await opened.page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    return opened;
  }

  /** The payment's event that the service applied (its burst's others are superseded by it or it by them). */
  async function appliedEventOf(objectId: string): Promise<{ eventId: string; inboxId: number }> {
    for (const event of world.stripeEmulator.events) {
      const stored = await world.service.store.findEvent('stripe', '', event.id);
      if (stored?.objectId === objectId && stored.status === 'applied') {
        return { eventId: event.id, inboxId: stored.id };
      }
    }
    throw new Error(`no applied event of ${objectId}`);
  }

  it('loads one minified script from the service, sent gzipped and cached for a year', async () => {
    const index = await (await fetch(consoleUrl)).text();
    const scripts = [...index.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual([expect.stringMatching(/^\/console\/console-[A-Z0-9]+\.js$/)]);
    const plain = await fetch(`${world.service.url}${scripts[0]}`, {
      headers: { 'Accept-Encoding': 'identity' },
    });
    const bytes = (await plain.arrayBuffer()).byteLength;
    expect(bytes).toBeLessThan(700 * 1024);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const gzipped = await fetch(`${world.service.url}${scripts[0]}`, {
      headers: { 'Accept-Encoding': 'gzip' },
    });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(220 * 1024);
  });

  it('offers Entra ID, refuses a wrong admin key with the API’s message, then signs in with the right one', async () => {
    const { page, errors } = await openConsole();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    // The service has Entra ID configured: its 401 says so, and the page offers that sign-in too.
    const entra = page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' });
    await expect(entra.getAttribute('href')).resolves.toBe('/console/signin/entra');
    const refused = await fetch(`${world.service.url}/console/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ adminKey: 'not-the-admin-key-at-all' }),
    });
    expect(refused.status).toBe(401);
    const { error } = (await refused.json()) as { error: { message: string } };

    await page.getByRole('textbox', { name: 'Admin key' }).fill('not-the-admin-key-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: error.message }).waitFor();
    await expect(accessibilityProblems(page)).resolves.toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-signin.png') });

    await page.getByRole('textbox', { name: 'Admin key' }).fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('Signed in as Administrator').waitFor();
    // Signing out ends the session: the page, reloaded, asks to sign in again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('draws the overview: applied events per minute in the chart, the backlog and both platforms', async () => {
    const { page, errors } = await signedIn();
    const chart = page.getByRole('img', {
      name: /^Events per minute by outcome, last hour: [1-9]\d* applied/,
    });
    await chart.waitFor();
    // Bars in the colour of "Applied" (#107c10) are on the canvas: the chart was drawn from the API's minutes.
    const appliedPixels = await chart.evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] === 16 && data[i + 1] === 124 && data[i + 2] === 16 && data[i + 3] === 255) count++;
      }
      return count;
    });
    expect(appliedPixels).toBeGreaterThan(20);
    for (const title of ['Events per minute', 'Dataverse', 'Stripe', 'Open alerts']) {
      await page.getByRole('heading', { name: title, level: 2 }).waitFor();
    }
    await page.getByText('Oldest waiting').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-overview.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('finds an event by its id and shows its lineage, with the row it wrote linked to Dynamics 365', async () => {
    const { page, errors } = await signedIn();
    const { eventId, inboxId } = await appliedEventOf(paymentIntentId);
    const payment = world.dataverse.store
      .rows('stc_payments')
      .find((r) => r.stc_stripeid === paymentIntentId)!;

    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('searchbox', { name: 'Event, object or row id' }).fill(eventId);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('1 event, newest first').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-events.png'), fullPage: true });
    await page.getByRole('link', { name: eventId }).click();

    await page.getByRole('heading', { name: `Event ${eventId}`, level: 1 }).waitFor();
    expect(page.url()).toBe(`${consoleUrl}#/events/${inboxId}`);
    const rows = page.getByRole('table', { name: 'The rows in Dynamics 365 this event wrote' });
    const paymentRow = rows.getByRole('row').filter({ hasText: String(payment.stc_paymentid) });
    await expect(paymentRow.getByRole('cell').first().textContent()).resolves.toBe('stc_payment');
    const open = paymentRow.getByRole('link', { name: /Open stc_payment in Dynamics 365/ });
    await expect(open.getAttribute('href')).resolves.toContain(`id=${payment.stc_paymentid}`);
    const requests = page.getByRole('table', {
      name: 'Each request to the Dataverse Web API and its answer',
    });
    await expect(requests.getByRole('row').count()).resolves.toBeGreaterThan(1);
    await expect(accessibilityProblems(page)).resolves.toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-lineage.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('retries a dead letter: the event is applied and its row written', async () => {
    // A payment whose Dataverse writes are refused (400) while it is processed: a dead letter on purpose.
    world.dataverse.injectFault({ status: 400, fraction: 1 });
    const intent = await world.stripe.paymentIntents.create({
      amount: 7_300,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const letter = await waitFor('the payment’s dead letter', async () =>
      (await world.service.store.listDeadLetters()).find(
        (d) => d.resolution === null && d.objectId === intent.id,
      ),
    );
    world.dataverse.clearFaults();
    expect(world.dataverse.store.rows('stc_payments').some((r) => r.stc_stripeid === intent.id)).toBe(false);

    const { page, errors } = await signedIn();
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    const row = page.getByRole('row').filter({ hasText: letter.eventId });
    await row
      .getByText(/0x80040216|fault injected/)
      .first()
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'console-dead-letters.png'), fullPage: true });
    await row.getByRole('button', { name: `Retry ${letter.eventId}` }).click();
    await page.getByRole('status').getByText(`${letter.eventId} sent back to the inbox.`).waitFor();

    await waitFor('the payment row written by the retry', () =>
      world.dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === intent.id),
    );
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('searchbox', { name: 'Event, object or row id' }).fill(letter.eventId);
    await page.getByRole('button', { name: 'Search' }).click();
    const event = page.getByRole('row').filter({ hasText: letter.eventId });
    await waitFor('the event shown applied', async () => {
      await page.getByRole('button', { name: 'Search' }).click();
      return (await event.getByRole('cell').nth(4).textContent()) === 'applied';
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('discards one dead letter and retries the others by their error code after a confirmation', async () => {
    world.dataverse.injectFault({ status: 400, fraction: 1 });
    const intents: Stripe.PaymentIntent[] = [];
    for (const amount of [1_100, 2_200, 3_300]) {
      intents.push(
        await world.stripe.paymentIntents.create({
          amount,
          currency: 'usd',
          payment_method: 'pm_card_visa',
          confirm: true,
        }),
      );
    }
    const letters = await waitFor('three dead letters', async () => {
      const open = (await world.service.store.listDeadLetters()).filter((d) => d.resolution === null);
      const found = intents.map((i) => open.find((d) => d.objectId === i.id));
      return found.every(Boolean) ? found.map((d) => d!) : undefined;
    });
    world.dataverse.clearFaults();
    const [discarded, ...retried] = letters;

    const { page, errors } = await signedIn();
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('button', { name: `Discard ${discarded!.eventId}` }).click();
    const confirmDiscard = page.getByRole('dialog', { name: 'Discard this dead letter?' });
    await confirmDiscard.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('status').getByText(`${discarded!.eventId} discarded.`).waitFor();
    await expect(page.getByRole('row').filter({ hasText: discarded!.eventId }).count()).resolves.toBe(0);

    await page.getByRole('textbox', { name: 'Error code to retry' }).fill(discarded!.errorCode ?? '');
    await page.getByRole('button', { name: 'Retry matching…' }).click();
    const confirmRetry = page.getByRole('alertdialog', { name: 'Retry dead letters?' });
    await confirmRetry.getByText(`with error code ${discarded!.errorCode}`).waitFor();
    await confirmRetry.getByRole('button', { name: 'Retry them' }).click();
    await page.getByRole('status').getByText('2 dead letters sent back to the inbox.').waitFor();

    for (const letter of retried) {
      await waitFor('the retried payment’s row', () =>
        world.dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === letter.objectId),
      );
    }
    expect(
      world.dataverse.store.rows('stc_payments').some((r) => r.stc_stripeid === discarded!.objectId),
    ).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a paid payout reconciled, and its journal lines balanced', async () => {
    const payout = world.stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
    world.stripeEmulator.testHelpers.payPayout(payout.id);
    await waitFor(
      'the payout reconciled in Dataverse',
      () =>
        world.dataverse.store
          .rows('stc_payouts')
          .find((r) => r.stc_stripeid === payout.id && r.stc_reconciledon),
      30_000,
    );

    // A payout stated 0.07 more than its balance transactions add up to: mismatched by that much.
    await world.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await world.settle();
    const skewed = world.stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
    skewed.amount = Number(skewed.amount) + 7;
    world.stripeEmulator.testHelpers.payPayout(String(skewed.id));
    await waitFor(
      'the skewed payout’s journal marked Mismatch',
      () =>
        world.dataverse.store
          .rows('stc_journalentries')
          .find((r) => r.stc_stripepayoutid === skewed.id && r.stc_status === StcJournalStatus.Mismatch),
      30_000,
    );

    const { page, errors } = await signedIn();
    await page.getByRole('link', { name: 'Payouts' }).click();
    const row = page.getByRole('row').filter({ hasText: payout.id });
    await expect(row.getByRole('cell').nth(4).textContent()).resolves.toBe('Reconciled');
    await expect(row.getByRole('cell').nth(5).textContent()).resolves.toBe('None');
    const mismatched = page.getByRole('row').filter({ hasText: String(skewed.id) });
    await expect(mismatched.getByRole('cell').nth(4).textContent()).resolves.toBe('Mismatched');
    await expect(mismatched.getByRole('cell').nth(5).textContent()).resolves.toBe('$0.07');
    await page.screenshot({ path: join(SCREENSHOTS, 'console-payouts.png'), fullPage: true });

    await row.getByRole('link', { name: payout.id }).click();
    await page.getByRole('heading', { name: `Payout ${payout.id}`, level: 1 }).waitFor();
    const journal = page.getByRole('table', { name: "The payout's journal, one line per account" });
    const totals = journal.locator('tfoot td');
    await totals.first().waitFor();
    const [debit, credit] = [await totals.nth(3).textContent(), await totals.nth(4).textContent()];
    expect(debit).toBe(credit);
    expect(debit).toMatch(/^\$[1-9]/);
    await expect(journal.getByRole('row').count()).resolves.toBeGreaterThan(3);
    // Each line says what it sums: the fees line, and the clearing line that takes the payout out.
    await expect(journal.getByRole('row').filter({ hasText: 'fees' }).count()).resolves.toBe(1);
    await expect(journal.getByRole('row').filter({ hasText: 'clearing' }).count()).resolves.toBe(1);
    await expect(accessibilityProblems(page)).resolves.toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-payout.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the settings read-only, the admin key, webhook and Entra secrets masked', async () => {
    const { page, errors } = await signedIn();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'HTTP', level: 2 }).waitFor();
    const adminKey = page.getByRole('row').filter({ hasText: /adminApiKey/i });
    await expect(adminKey.getByRole('cell').nth(1).textContent()).resolves.toContain(
      `••••${ADMIN_KEY.slice(-4)}`,
    );
    const html = await page.content();
    expect(html).not.toContain(ADMIN_KEY);
    expect(html).not.toContain(WEBHOOK_SECRET);
    expect(html).not.toContain(ENTRA.CONSOLE_ENTRA_CLIENT_SECRET);
    await expect(page.locator('main input, main textarea').count()).resolves.toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-settings.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('reaches every page by the keyboard alone, from the sign-in to the last page', async () => {
    const { page, errors } = await openConsole();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    // The skip link comes first and moves focus to the main content.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe(
      'Skip to main content',
    );
    await page.keyboard.press('Enter');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('main');
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.getAttribute('type'))).resolves.toBe('password');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    for (const { link, heading, file } of [...PAGES.slice(1), PAGES[0]!]) {
      await tabTo(page, link);
      // The focused link is visibly marked (an outline), not only focused.
      await expect(
        page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle),
      ).resolves.not.toBe('none');
      await page.keyboard.press('Enter');
      const title = page.getByRole('heading', { name: heading, level: 1 });
      await title.waitFor();
      // The new page's heading takes the focus, so a screen reader announces it.
      await expect(title.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
      await expect(page.getByRole('link', { name: link }).getAttribute('aria-current')).resolves.toBe('page');
      await page.waitForLoadState('networkidle');
      await expect(accessibilityProblems(page)).resolves.toEqual([]);
      if (!['overview', 'events', 'dead-letters', 'payouts', 'settings'].includes(file)) {
        await page.screenshot({ path: join(SCREENSHOTS, `console-${file}.png`), fullPage: true });
      }
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
