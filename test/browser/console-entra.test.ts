/**
 * Signing in to the operator console with Microsoft Entra ID, in Chromium: the service (in-process, its console
 * pages and API) with Entra sign-in configured against the local Entra ID endpoint, whose authorize endpoint signs
 * the configured user in at once. The browser trusts the endpoint's throw-away certificate (ignoreHTTPSErrors);
 * the service checks it against the endpoint's CA. Skipped like the other browser suites without Chromium.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { startTokenEndpoint, type TokenEndpoint } from '@stc/emulators';
import { createApp, createLogger, createSqliteStore, type Store } from '@stc/service';
import type { ConsoleEntraSettings } from '@stc/service/src/config';
import { describeBrowser, launchChromium } from './helpers';

const ADMIN_KEY = 'admin-api-key-entra-0123456789';
const CLIENT_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const CLIENT_SECRET = 'console-browser-secret-0123456789';

describeBrowser('the operator console signed in with Microsoft Entra ID', () => {
  let endpoint: TokenEndpoint;
  let store: Store;
  let server: Server;
  let consoleUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    // The redirect URI names the service's port, so the port comes first and the app after it.
    let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    consoleUrl = `${serviceUrl}/console/`;
    endpoint = await startTokenEndpoint({
      clients: [
        {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          // The console's page too: sign-out comes back to it (post_logout_redirect_uri).
          redirectUris: [`${serviceUrl}/console/signin/entra/callback`, consoleUrl],
        },
      ],
      users: [
        { username: 'grace@contoso.onmicrosoft.com', name: 'Grace Hopper', roles: ['Connector.Admin'] },
        { username: 'mallory@contoso.onmicrosoft.com', name: 'Mallory Guest' },
      ],
    });
    const settings: ConsoleEntraSettings = {
      tenantId: endpoint.tenantId,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      authorityHost: endpoint.authorityHost,
      redirectUri: `${serviceUrl}/console/signin/entra/callback`,
      requiredRole: 'Connector.Admin',
      allowedGroups: [],
      roleRecheckMinutes: 10,
    };
    handle = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_entra'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      console: { entraSignIn: { settings, ca: readFileSync(endpoint.caCertPath, 'utf8') } },
    }).callback();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await endpoint?.close();
    await store?.close();
  });

  async function clickEntraSignIn() {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    await page.goto(consoleUrl);
    await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).click();
    return { context, page };
  }

  it('signs a user with the app role in and lands on the overview', async () => {
    endpoint.signInAs('grace@contoso.onmicrosoft.com');
    const { context, page } = await clickEntraSignIn();
    try {
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/console/');
      await page.getByText('Signed in as Grace Hopper').waitFor();
      const me = await page.evaluate(() => fetch('/console/api/me').then((r) => r.json()));
      expect(me).toMatchObject({ name: 'Grace Hopper', method: 'entra' });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('signs out of the console and of Entra ID, lands on the sign-in page, and Back does not reopen the console', async () => {
    endpoint.signInAs('grace@contoso.onmicrosoft.com');
    const { context, page } = await clickEntraSignIn();
    try {
      await page.getByText('Signed in as Grace Hopper').waitFor();
      const before = endpoint.stats().requests.length;
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).waitFor();
      expect(page.url()).toBe(consoleUrl);
      // The browser went through Entra ID's end-session endpoint, which ended its session there.
      expect(endpoint.stats().requests.slice(before)).toContain(
        `GET /${endpoint.tenantId}/oauth2/v2.0/logout`,
      );
      expect(endpoint.signedInUser()).toBeUndefined();
      const cookies = (await context.cookies()).map((c) => c.name);
      expect(cookies.filter((name) => name.startsWith('stc_console'))).toEqual([]);

      await page.goBack();
      await page.waitForLoadState('load');
      await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).waitFor();
      expect(await page.getByText('Signed in as Grace Hopper').count()).toBe(0);
      expect(await page.getByRole('heading', { name: 'Overview', level: 1 }).count()).toBe(0);
      const me = await page.evaluate(() => fetch('/console/api/me').then((r) => r.status));
      expect(me).toBe(401);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('shows a user without the role why they are not signed in', async () => {
    endpoint.signInAs('mallory@contoso.onmicrosoft.com');
    const { context, page } = await clickEntraSignIn();
    try {
      await page.getByRole('heading', { name: 'You are not signed in' }).waitFor();
      expect(await page.locator('#message').innerText()).toContain(
        'Mallory Guest is signed in to Microsoft Entra ID but may not operate this connector: it needs the app role Connector.Admin',
      );
      await page.getByRole('link', { name: 'Back to the sign-in page' }).click();
      await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);
});
