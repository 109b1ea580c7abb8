/**
 * Console sign-in with Microsoft Entra ID through the whole redirect dance: the service (supertest on its
 * callback), the local Entra ID endpoint over https with its own CA (handed to openid-client's HTTP options),
 * and the cookies a browser would carry between them.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import request from 'supertest';
import { startTokenEndpoint, type TokenEndpoint } from '@stc/emulators';
import { readConsoleEntraSettings, type ConsoleEntraSettings } from '../../config/console-entra';
import { createApp } from '../../intake/app';
import { createLogger } from '../../observability/log';
import { createSqliteStore, type Store } from '../../store';
import type { ApiError, Me } from '../contract';
import { maskedSettings } from '../settings';
import type { ServiceConfig } from '../../config';

const ADMIN_KEY = 'admin-api-key-0123456789abcdef';
const CLIENT_ID = '5d3f1c2e-8a4b-4c6d-9e0f-123456789abc';
const CLIENT_SECRET = 'console~secret.value-0123456789';
const OPERATORS_GROUP = '0b7c1a2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
const PUBLIC_URL = 'http://console.test';
const REDIRECT_URI = `${PUBLIC_URL}/console/signin/entra/callback`;

type Server = ReturnType<ReturnType<typeof createApp>['callback']>;

/** The browser's request to the authorize endpoint; the emulator answers with a redirect back to the app. */
function followAuthorize(
  url: string,
  ca: string,
): Promise<{ status: number; location?: string; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
    }).on('error', reject);
  });
}

/** `name=value` of each Set-Cookie, by name. */
function cookies(res: request.Response): Map<string, { value: string; attributes: string }> {
  const list = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return new Map(
    list.map((line) => {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), { value: pair.slice(eq + 1), attributes: attributes.join(';') }];
    }),
  );
}

describe('console sign-in with Microsoft Entra ID', () => {
  let endpoint: TokenEndpoint;
  let ca: string;
  let settings: ConsoleEntraSettings;
  let store: Store;
  let server: Server;

  beforeAll(async () => {
    endpoint = await startTokenEndpoint({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      users: [
        { username: 'ada@contoso.onmicrosoft.com', name: 'Ada Lovelace', roles: ['Connector.Admin'] },
        { username: 'bob@contoso.onmicrosoft.com', name: 'Bob Reader', roles: ['Connector.Reader'] },
        { username: 'dan@contoso.onmicrosoft.com', name: 'Dan Ops', groups: [OPERATORS_GROUP] },
        { username: 'eve@contoso.onmicrosoft.com', name: 'Eve Declines', consented: false },
        {
          username: 'gus@contoso.onmicrosoft.com',
          name: 'Gus Manygroups',
          groups: Array.from(
            { length: 250 },
            (_, i) => `0b7c1a2d-3e4f-4a5b-8c6d-${String(i).padStart(12, '0')}`,
          ),
        },
      ],
    });
    ca = readFileSync(endpoint.caCertPath, 'utf8');
    const problems: string[] = [];
    settings = readConsoleEntraSettings(
      {
        CONSOLE_ENTRA_TENANT_ID: endpoint.tenantId,
        CONSOLE_ENTRA_CLIENT_ID: CLIENT_ID,
        CONSOLE_ENTRA_CLIENT_SECRET: CLIENT_SECRET,
        CONSOLE_ENTRA_AUTHORITY_HOST: endpoint.authorityHost,
        CONSOLE_PUBLIC_URL: `${PUBLIC_URL}/console`,
        CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
        CONSOLE_ENTRA_ALLOWED_GROUPS: OPERATORS_GROUP,
      },
      problems,
    )!;
    expect(problems).toEqual([]);
    expect(settings.redirectUri).toBe(REDIRECT_URI);
  }, 30_000);
  afterAll(() => endpoint.close());

  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    server = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      console: { entraSignIn: { settings, ca } },
    }).callback();
  });
  afterEach(() => store.close());

  /** Starts the sign-in and lets Entra ID sign `username` in: the callback URL it sends back and the flow cookie. */
  async function throughEntra(
    username: string,
  ): Promise<{ authorizeUrl: URL; callback: URL; flowCookie: string }> {
    const start = await request(server).get('/console/signin/entra');
    expect(start.status).toBe(302);
    const authorizeUrl = new URL(start.headers.location);
    const flow = cookies(start).get('stc_console_signin');
    expect(flow?.attributes).toMatch(/HttpOnly/);
    endpoint.signInAs(username);
    const answer = await followAuthorize(authorizeUrl.toString(), ca);
    expect(answer.status).toBe(302);
    const callback = new URL(answer.location!);
    return { authorizeUrl, callback, flowCookie: `stc_console_signin=${flow!.value}` };
  }

  const atCallback = (callback: URL, flowCookie?: string) => {
    const req = request(server).get(`${callback.pathname}${callback.search}`);
    return flowCookie ? req.set('Cookie', flowCookie) : req;
  };

  const me = (sessionCookie: string) => request(server).get('/console/api/me').set('Cookie', sessionCookie);
  /** The session's cookies as the browser sends them back: the session and its sealed refresh and id tokens. */
  const sessionCookies = (res: request.Response) =>
    ['stc_console', 'stc_console_rt', 'stc_console_idt']
      .map((name) => `${name}=${cookies(res).get(name)!.value}`)
      .join('; ');

  it('signs in a user with the app role: the session cookie, then /console/api/me says entra and their name', async () => {
    const { authorizeUrl, callback, flowCookie } = await throughEntra('ada@contoso.onmicrosoft.com');
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(endpoint.authorizeEndpoint);
    expect(authorizeUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('nonce')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(authorizeUrl.searchParams.get('state'));
    expect(callback.searchParams.get('code')).toBeTruthy();

    const res = await atCallback(callback, flowCookie);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/console/');
    const set = cookies(res);
    expect(set.get('stc_console_signin')?.attributes).toMatch(/Max-Age=0/);
    const session = set.get('stc_console');
    expect(session?.attributes).toMatch(/HttpOnly/);
    expect(session?.attributes).toMatch(/SameSite=Strict/);
    expect(session?.attributes).toMatch(/Path=\/console/);

    const who = await me(sessionCookies(res));
    expect(who.status).toBe(200);
    expect(who.body as Me).toMatchObject({ name: 'Ada Lovelace', method: 'entra' });
    expect((who.body as Me).expiresAtMs).toBeGreaterThan(Date.now() + 7 * 3600_000);
  }, 30_000);

  it('signs in a member of an allowed group without the role', async () => {
    const { callback, flowCookie } = await throughEntra('dan@contoso.onmicrosoft.com');
    const res = await atCallback(callback, flowCookie);
    expect(res.status).toBe(302);
    const who = await me(sessionCookies(res));
    expect(who.body).toMatchObject({ name: 'Dan Ops', method: 'entra' });
  }, 30_000);

  it('refuses a user without the role or a group, saying what access is needed', async () => {
    const { callback, flowCookie } = await throughEntra('bob@contoso.onmicrosoft.com');
    const res = await atCallback(callback, flowCookie);
    expect(res.status).toBe(403);
    expect(res.type).toBe('text/html');
    expect(res.text).toContain(
      'Bob Reader is signed in to Microsoft Entra ID but may not operate this connector',
    );
    expect(res.text).toContain('the app role Connector.Admin');
    expect(cookies(res).has('stc_console')).toBe(false);
  }, 30_000);

  it('tells a user in more than 200 groups, whose token lists none, to use the app role', async () => {
    const { callback, flowCookie } = await throughEntra('gus@contoso.onmicrosoft.com');
    const res = await atCallback(callback, flowCookie);
    expect(res.status).toBe(403);
    expect(res.text).toContain(
      'Gus Manygroups is signed in to Microsoft Entra ID but may not operate this connector',
    );
    expect(res.text).toContain('who is in more than 200: use the app role');
  }, 30_000);

  it('refuses the sign-in of a user who declines consent, with Entra’s reason', async () => {
    const { callback, flowCookie } = await throughEntra('eve@contoso.onmicrosoft.com');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await atCallback(callback, flowCookie);
    expect(res.status).toBe(403);
    expect(res.text).toContain('AADSTS65004: User declined to consent to access the app.');
    expect(res.text).not.toContain('Trace ID');
    expect(cookies(res).has('stc_console')).toBe(false);
  }, 30_000);

  it('refuses an answer whose state was tampered with, and one without the flow cookie', async () => {
    const { callback, flowCookie } = await throughEntra('ada@contoso.onmicrosoft.com');
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const res = await atCallback(tampered, flowCookie);
    expect(res.status).toBe(400);
    expect(res.text).toContain('does not belong to the sign-in this browser started (state mismatch)');
    expect(cookies(res).has('stc_console')).toBe(false);

    const noCookie = await atCallback(callback);
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toContain('This sign-in was not started in this browser');
    const forged = await atCallback(
      callback,
      'stc_console_signin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    );
    expect(forged.status).toBe(400);
    expect(cookies(forged).has('stc_console')).toBe(false);
  }, 30_000);

  it('refuses a code used a second time (Entra refuses to redeem it again)', async () => {
    const { callback, flowCookie } = await throughEntra('ada@contoso.onmicrosoft.com');
    expect((await atCallback(callback, flowCookie)).status).toBe(302);
    const replay = await atCallback(callback, flowCookie);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('AADSTS54005');
    expect(cookies(replay).has('stc_console')).toBe(false);
  }, 30_000);

  it('tells the sign-in page that Entra sign-in is offered, and the admin key still signs in', async () => {
    const anonymous = await request(server).get('/console/api/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body as ApiError).toMatchObject({ error: { code: 'unauthorized' }, entraSignIn: true });

    const signIn = await request(server).post('/console/api/session').send({ adminKey: ADMIN_KEY });
    expect(signIn.status).toBe(204);
    const who = await me(`stc_console=${cookies(signIn).get('stc_console')!.value}`);
    expect(who.body).toMatchObject({ name: 'Administrator', method: 'admin-key' });
  });

  it('marks the cookies Secure when the console is reached over https, even through a TLS proxy', async () => {
    const behindProxy = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      console: {
        entraSignIn: {
          settings: { ...settings, redirectUri: 'https://stc.contoso.com/console/signin/entra/callback' },
          ca,
        },
      },
    }).callback();
    const res = await request(behindProxy).get('/console/signin/entra');
    expect(res.status).toBe(302);
    expect(cookies(res).get('stc_console_signin')?.attributes).toMatch(/; Secure/);
    expect(new URL(res.headers.location).searchParams.get('redirect_uri')).toBe(
      'https://stc.contoso.com/console/signin/entra/callback',
    );
  }, 30_000);

  it('answers a page naming the settings to check when the authority cannot be reached', async () => {
    const unreachable = createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      console: { entraSignIn: { settings: { ...settings, authorityHost: 'https://127.0.0.1:9' } } },
    }).callback();
    const res = await request(unreachable).get('/console/signin/entra');
    expect(res.status).toBe(502);
    expect(res.text).toContain('Microsoft Entra ID could not be reached');
    expect(res.text).not.toMatch(/at .*\.ts:\d+/);
  }, 30_000);
});

describe('console Entra sign-in settings', () => {
  const base = {
    CONSOLE_ENTRA_TENANT_ID: 'contoso.onmicrosoft.com',
    CONSOLE_ENTRA_CLIENT_ID: CLIENT_ID,
    CONSOLE_ENTRA_CLIENT_SECRET: CLIENT_SECRET,
    CONSOLE_PUBLIC_URL: 'https://stc.contoso.com',
    CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
  };

  it('is off without a tenant and client, and defaults to the public cloud', () => {
    const problems: string[] = [];
    expect(readConsoleEntraSettings({}, problems)).toBeUndefined();
    expect(readConsoleEntraSettings(base, problems)).toMatchObject({
      authorityHost: 'https://login.microsoftonline.com',
      redirectUri: 'https://stc.contoso.com/console/signin/entra/callback',
      allowedGroups: [],
    });
    expect(problems).toEqual([]);
  });

  it('needs a role or groups, the secret and the public URL, and never repeats the secret', () => {
    const problems: string[] = [];
    const { CONSOLE_ENTRA_REQUIRED_ROLE: _role, CONSOLE_PUBLIC_URL: _url, ...rest } = base;
    expect(readConsoleEntraSettings(rest, problems)).toBeUndefined();
    expect(problems).toEqual([
      "CONSOLE_PUBLIC_URL is required for the console's Entra ID sign-in",
      expect.stringContaining(
        'CONSOLE_ENTRA_REQUIRED_ROLE (an app role such as Connector.Admin) or CONSOLE_ENTRA_ALLOWED_GROUPS',
      ),
    ]);
    const more: string[] = [];
    readConsoleEntraSettings(
      { ...base, CONSOLE_ENTRA_CLIENT_SECRET: '', CONSOLE_ENTRA_AUTHORITY_HOST: 'http://login' },
      more,
    );
    expect(more).toEqual([
      "CONSOLE_ENTRA_CLIENT_SECRET is required for the console's Entra ID sign-in",
      expect.stringContaining('CONSOLE_ENTRA_AUTHORITY_HOST must be an https URL'),
    ]);
  });

  it('shows the client secret masked in the console settings', () => {
    const consoleEntra = readConsoleEntraSettings(base, [])!;
    const settings = maskedSettings({ consoleEntra } as unknown as ServiceConfig);
    const section = settings.sections.find((s) => s.name === 'Console sign-in (Entra ID)');
    const entries = section?.entries ?? [];
    expect(entries.find((e) => e.key === 'clientSecret')).toMatchObject({ secret: true });
    expect(JSON.stringify(settings)).not.toContain(CLIENT_SECRET);
    expect(entries.find((e) => e.key === 'requiredRole')?.value).toBe('Connector.Admin');
  });
});
