/**
 * The sandbox's local alert receiver in Chromium: the service's alerter (its rules, formats and delivery) posts
 * a firing dead_letters alert to the receiver in the JSON and Teams formats, and the receiver's page lists both
 * messages with what they say. Screenshot: docs/screenshots/sandbox-alerts.png (the README's alerts step).
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { startAlertReceiver, type AlertReceiver } from '@stc/sandbox/src/parts/alerts';
import { createAlerter, DEFAULT_ALERT_THRESHOLDS } from '@stc/service/src/alerts';
import { parseAlertReceivers } from '@stc/service/src/config/alerts';
import { describeBrowser, launchChromium, SCREENSHOTS } from './helpers';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

describeBrowser('the sandbox alert receiver', () => {
  let receiver: AlertReceiver;
  let browser: Browser;
  beforeAll(async () => {
    receiver = await startAlertReceiver({ print: () => undefined });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
  });

  it('shows the service’s dead-letter alert, in both formats, on its page', async () => {
    const problems: string[] = [];
    const receivers = parseAlertReceivers(receiver.webhookUrls.join(','), problems);
    expect(problems).toEqual([]);
    const alerter = createAlerter({
      store: {
        queueDepth: async () => ({ pending: 0, processing: 0, dead: 1 }),
        oldestWaitingMs: async () => null,
      },
      dataverse: { retrieveMultiple: async () => [] } as never,
      registry: new Registry(),
      log: quiet as never,
      settings: {
        receivers,
        intervalMs: 1000,
        renotifyMs: 0,
        timeoutMs: 2000,
        thresholds: DEFAULT_ALERT_THRESHOLDS,
      },
    });
    expect(await alerter.round()).toMatchObject({ delivered: 2, waiting: 0 });

    const page = await browser.newPage({ viewport: { width: 1040, height: 500 } });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    await page.goto(receiver.url);
    const said = page.getByText('1 event(s) in the dead-letter queue (alert at 1)');
    await said.first().waitFor();
    expect(await said.count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByText(/firing/i).count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'sandbox-alerts.png'), fullPage: true });
    await page.close();
  }, 60_000);
});
