/**
 * An Entra ID session after the sign-in: its role re-checked with a refresh at Entra ID at most every
 * CONSOLE_ROLE_RECHECK_MINUTES (a removed role or an invalid_grant ends it), and its sign-out, which also ends the
 * session at Entra ID (the end-session URL with id_token_hint, back to the sign-in page). Over the local Entra ID
 * endpoint, with the service's clock moved by the test.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import request from 'supertest';
import { startTokenEndpoint, type TokenEndpoint } from '@stc/emulators';
import { readConsoleEntraSettings, type ConsoleEntraSettings } from '../../config/console-entra';
import { createApp } from '../../intake/app';
import { createLogger } from '../../observability/log';
import { createSqliteStore, type Store } from '../../store';
import type { ApiError, SignedOut } from '../contract';

const ADMIN_KEY = 'admin-api-key-0123456789abcdef';
const CLIENT_ID = '5d3f1c2e-8a4b-4c6d-9e0f-123456789abd';
const CLIENT_SECRET = 'console~secret.value-session-0123456789';
const PUBLIC_URL = 'http://console.test';
const REDIRECT_URI = `${PUBLIC_URL}/console/signin/entra/callback`;
const SIGN_IN_PAGE = `${PUBLIC_URL}/console/`;
const MINUTE = 60_000;

type Server = ReturnType<ReturnType<typeof createApp>['callback']>;

function followRedirect(
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

/** Each Set-Cookie by name: its value and attributes. */
function setCookies(res: request.Response): Map<string, { value: string; attributes: string }> {
  const list = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return new Map(
    list.map((line) => {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), { value: pair.slice(eq + 1), attributes: attributes.join(';') }];
    }),
  );
}

/** A browser's cookie jar for the console: what the answers set, cleared cookies dropped. */
class Jar {
  private readonly values = new Map<string, string>();
  take(res: request.Response): this {
    for (const [name, { value, attributes }] of setCookies(res)) {
      if (/Max-Age=0/.test(attributes)) this.values.delete(name);
      else this.values.set(name, value);
    }
    return this;
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  without(name: string): Jar {
    const copy = new Jar();
    for (const [n, v] of this.values) if (n !== name) copy.values.set(n, v);
    return copy;
  }
  header(): string {
    return [...this.values].map(([n, v]) => `${n}=${v}`).join('; ');
  }
}

describe('console sessions signed in with Microsoft Entra ID', () => {
  let endpoint: TokenEndpoint;
  let ca: string;
  let settings: ConsoleEntraSettings;
  let store: Store;
  let server: Server;
  let clock: number;

  beforeAll(async () => {
    endpoint = await startTokenEndpoint({
      clients: [
        { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI, SIGN_IN_PAGE] },
      ],
      users: [
        { username: 'ada@contoso.onmicrosoft.com', name: 'Ada Lovelace', roles: ['Connector.Admin'] },
        { username: 'ivy@contoso.onmicrosoft.com', name: 'Ivy Leaver', roles: ['Connector.Admin'] },
        { username: 'jon@contoso.onmicrosoft.com', name: 'Jon Revoked', roles: ['Connector.Admin'] },
        { username: 'kim@contoso.onmicrosoft.com', name: 'Kim Cookie', roles: ['Connector.Admin'] },
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
        CONSOLE_PUBLIC_URL: PUBLIC_URL,
        CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
      },
      problems,
    )!;
    expect(problems).toEqual([]);
    expect(settings.roleRecheckMinutes).toBe(10);
  }, 30_000);
  afterAll(() => endpoint.close());

  const serve = (entraSettings: ConsoleEntraSettings): Server =>
    createApp({
      store,
      logger: createLogger({ level: 'silent' }),
      takes: () => true,
      stripeWebhookSecrets: ['whsec_console_test'],
      dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
      adminApiKey: ADMIN_KEY,
      now: () => clock,
      console: { entraSignIn: { settings: entraSettings, ca } },
    }).callback();

  beforeEach(async () => {
    clock = Date.now();
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    server = serve(settings);
  });
  afterEach(() => store.close());

  /** Through Entra ID to the callback: its answer, the authorize URL and the browser's cookies. */
  async function throughEntra(username: string) {
    const start = await request(server).get('/console/signin/entra');
    expect(start.status).toBe(302);
    const authorizeUrl = new URL(start.headers.location);
    expect(authorizeUrl.searchParams.get('scope')).toContain('offline_access');
    endpoint.signInAs(username);
    const answer = await followRedirect(start.headers.location, ca);
    const callback = new URL(answer.location!);
    const jar = new Jar().take(start);
    const done = await request(server)
      .get(`${callback.pathname}${callback.search}`)
      .set('Cookie', jar.header());
    return { done, jar, authorizeUrl };
  }

  /** Signs `username` in through Entra ID: the browser's cookies afterwards. */
  async function signIn(username: string): Promise<Jar> {
    const { done, jar } = await throughEntra(username);
    expect(done.status).toBe(302);
    jar.take(done);
    expect(jar.has('stc_console')).toBe(true);
    expect(jar.has('stc_console_rt')).toBe(true);
    expect(jar.has('stc_console_idt')).toBe(true);
    const rt = setCookies(done).get('stc_console_rt')!;
    expect(rt.attributes).toMatch(/HttpOnly/);
    expect(rt.attributes).toMatch(/SameSite=Strict/);
    expect(rt.attributes).toMatch(/Path=\/console/);
    return jar;
  }

  const me = (jar: Jar) => request(server).get('/console/api/me').set('Cookie', jar.header());
  const tokenRequests = () => endpoint.stats().tokenRequests;

  it('keeps no token readable in the cookies', async () => {
    const jar = await signIn('ada@contoso.onmicrosoft.com');
    // The refresh and id tokens are sealed: no JWT (eyJ…) and no refresh token (1.…) in what the browser holds.
    expect(jar.header()).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(jar.header()).not.toMatch(/=1\./);
  }, 30_000);

  it('re-checks the role only after CONSOLE_ROLE_RECHECK_MINUTES, and refuses the session once the role is removed', async () => {
    const jar = await signIn('ivy@contoso.onmicrosoft.com');
    const before = tokenRequests();
    clock += 5 * MINUTE;
    expect((await me(jar)).status).toBe(200);
    expect(tokenRequests()).toBe(before);

    clock += 6 * MINUTE;
    const rechecked = await me(jar);
    expect(rechecked.status).toBe(200);
    expect(rechecked.body).toMatchObject({ name: 'Ivy Leaver', method: 'entra' });
    expect(tokenRequests()).toBe(before + 1);
    jar.take(rechecked);
    expect(setCookies(rechecked).has('stc_console_rt')).toBe(true);

    endpoint.removeRole('ivy@contoso.onmicrosoft.com', 'Connector.Admin');
    clock += 9 * MINUTE;
    expect((await me(jar)).status).toBe(200);
    expect(tokenRequests()).toBe(before + 1);

    clock += 2 * MINUTE;
    const refused = await request(server).get('/console/api/overview').set('Cookie', jar.header());
    expect(refused.status).toBe(401);
    expect(refused.body as ApiError).toMatchObject({
      error: {
        code: 'session_ended',
        message:
          'Ivy Leaver no longer has the app role Connector.Admin in Microsoft Entra ID: you are signed out of the console.',
      },
      entraSignIn: true,
    });
    jar.take(refused);
    expect(jar.has('stc_console')).toBe(false);
    expect(jar.has('stc_console_rt')).toBe(false);
    expect((await me(jar)).status).toBe(401);
  }, 30_000);

  it('refuses the session when Entra ID answers invalid_grant (the user’s sessions revoked)', async () => {
    const jar = await signIn('jon@contoso.onmicrosoft.com');
    endpoint.revokeSignInSessions('jon@contoso.onmicrosoft.com');
    clock += 11 * MINUTE;
    const refused = await me(jar);
    expect(refused.status).toBe(401);
    const { error } = refused.body as ApiError;
    expect(error.code).toBe('session_ended');
    expect(error.message).toMatch(
      /^Microsoft Entra ID no longer accepts your sign-in \(invalid_grant: AADSTS50173: The provided grant has expired/,
    );
    expect(error.message).not.toContain('Trace ID');
    expect(setCookies(refused).get('stc_console')?.attributes).toMatch(/Max-Age=0/);
  }, 30_000);

  it('refuses an Entra session whose refresh cookie is missing, and leaves admin-key sessions alone', async () => {
    const jar = await signIn('kim@contoso.onmicrosoft.com');
    const refused = await me(jar.without('stc_console_rt'));
    expect(refused.status).toBe(401);
    expect((refused.body as ApiError).error.message).toContain('lacks its refresh cookie');

    const admin = new Jar().take(
      await request(server).post('/console/api/session').send({ adminKey: ADMIN_KEY }),
    );
    const before = tokenRequests();
    clock += 60 * MINUTE;
    const who = await me(admin);
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ method: 'admin-key' });
    expect(tokenRequests()).toBe(before);
    const out = await request(server)
      .delete('/console/api/session')
      .set('Cookie', admin.header())
      .set('X-Requested-With', 'stc-console');
    expect(out.status).toBe(204);
    expect(setCookies(out).get('stc_console')?.attributes).toMatch(/Max-Age=0/);
  }, 30_000);

  it('signs out of Entra ID too: the end-session URL with id_token_hint, back to the sign-in page', async () => {
    const jar = await signIn('ada@contoso.onmicrosoft.com');
    const out = await request(server)
      .delete('/console/api/session')
      .set('Cookie', jar.header())
      .set('X-Requested-With', 'stc-console');
    expect(out.status).toBe(200);
    const url = new URL((out.body as SignedOut).signOutUrl);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${endpoint.authorityHost}/${endpoint.tenantId}/oauth2/v2.0/logout`,
    );
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(SIGN_IN_PAGE);
    const hint = url.searchParams.get('id_token_hint')!;
    const claims = JSON.parse(Buffer.from(hint.split('.')[1], 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ aud: CLIENT_ID, preferred_username: 'ada@contoso.onmicrosoft.com' });
    jar.take(out);
    expect(jar.has('stc_console')).toBe(false);
    expect(jar.has('stc_console_rt')).toBe(false);
    expect(jar.has('stc_console_idt')).toBe(false);
    expect((await me(jar)).status).toBe(401);

    // The browser goes there: Entra ID ends its session and sends it back to the sign-in page.
    endpoint.signInAs('ada@contoso.onmicrosoft.com');
    const atEntra = await followRedirect(url.toString(), ca);
    expect(atEntra.status).toBe(302);
    expect(atEntra.location).toBe(SIGN_IN_PAGE);
    expect(endpoint.signedInUser()).toBeUndefined();
  }, 30_000);

  it('keeps a session while Entra ID cannot be reached for up to three intervals, then refuses it', async () => {
    // A tenant of its own, stopped after the sign-in.
    const lone = await startTokenEndpoint({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      users: [{ username: 'lee@contoso.onmicrosoft.com', name: 'Lee Offline', roles: ['Connector.Admin'] }],
    });
    const saved = { endpoint, ca };
    try {
      endpoint = lone;
      ca = readFileSync(lone.caCertPath, 'utf8');
      server = serve({ ...settings, tenantId: lone.tenantId, authorityHost: lone.authorityHost });
      const jar = await signIn('lee@contoso.onmicrosoft.com');
      await lone.close();
      clock += 11 * MINUTE;
      expect((await me(jar)).status).toBe(200);
      clock += 10 * MINUTE;
      expect((await me(jar)).status).toBe(200);
      clock += 10 * MINUTE;
      const refused = await me(jar);
      expect(refused.status).toBe(401);
      expect((refused.body as ApiError).error).toEqual({
        code: 'session_ended',
        message:
          'Your role could not be re-checked with Microsoft Entra ID for 31 minutes: you are signed out of the console. Sign in again.',
      });
    } finally {
      ({ endpoint, ca } = saved);
    }
  }, 30_000);

  describe('with CONSOLE_ENTRA_TENANTS (the organizations authority)', () => {
    const OTHER_TENANT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
    const multiTenant = (tenants: string) => {
      const problems: string[] = [];
      const multi = readConsoleEntraSettings(
        {
          CONSOLE_ENTRA_TENANTS: tenants,
          CONSOLE_ENTRA_CLIENT_ID: CLIENT_ID,
          CONSOLE_ENTRA_CLIENT_SECRET: CLIENT_SECRET,
          CONSOLE_ENTRA_AUTHORITY_HOST: endpoint.authorityHost,
          CONSOLE_PUBLIC_URL: PUBLIC_URL,
          CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
        },
        problems,
      )!;
      expect(problems).toEqual([]);
      return multi;
    };

    it('signs in a user of a listed tenant, its issuer checked, and re-checks the role at that tenant', async () => {
      server = serve(multiTenant(`${OTHER_TENANT}, ${endpoint.tenantId.toUpperCase()}`));
      const { done, jar, authorizeUrl } = await throughEntra('ada@contoso.onmicrosoft.com');
      expect(authorizeUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize');
      expect(done.status).toBe(302);
      jar.take(done);
      expect((await me(jar)).body).toMatchObject({ name: 'Ada Lovelace', method: 'entra' });
      const before = endpoint.stats().requests.length;
      clock += 11 * MINUTE;
      const rechecked = await me(jar);
      expect(rechecked.status).toBe(200);
      expect(endpoint.stats().requests.slice(before)).toContain(
        `POST /${endpoint.tenantId}/oauth2/v2.0/token`,
      );
    }, 30_000);

    it('refuses a user of a tenant that is not listed', async () => {
      server = serve(multiTenant(OTHER_TENANT));
      const { done, jar } = await throughEntra('ada@contoso.onmicrosoft.com');
      expect(done.status).toBe(403);
      expect(done.text).toContain(
        `Users of the Microsoft Entra ID tenant ${endpoint.tenantId} may not operate this connector: it lets in only the tenants listed in CONSOLE_ENTRA_TENANTS`,
      );
      jar.take(done);
      expect(jar.has('stc_console')).toBe(false);
    }, 30_000);

    it('ends the sessions of a tenant taken off the list at their next request', async () => {
      server = serve(multiTenant(endpoint.tenantId));
      const jar = await signIn('ada@contoso.onmicrosoft.com');
      server = serve(multiTenant(OTHER_TENANT));
      const refused = await me(jar);
      expect(refused.status).toBe(401);
      expect((refused.body as ApiError).error.message).toBe(
        `Users of the Microsoft Entra ID tenant ${endpoint.tenantId} may no longer operate this connector (CONSOLE_ENTRA_TENANTS): you are signed out of the console.`,
      );
    }, 30_000);

    it('needs tenant ids and the organizations authority', () => {
      const problems: string[] = [];
      readConsoleEntraSettings(
        {
          CONSOLE_ENTRA_TENANTS: 'contoso.onmicrosoft.com',
          CONSOLE_ENTRA_TENANT_ID: OTHER_TENANT,
          CONSOLE_ENTRA_CLIENT_ID: CLIENT_ID,
          CONSOLE_ENTRA_CLIENT_SECRET: CLIENT_SECRET,
          CONSOLE_PUBLIC_URL: PUBLIC_URL,
          CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
        },
        problems,
      );
      expect(problems).toEqual([
        'CONSOLE_ENTRA_TENANTS signs users in through the organizations authority: leave CONSOLE_ENTRA_TENANT_ID empty (or organizations)',
        'CONSOLE_ENTRA_TENANTS must list tenant ids (GUIDs), comma apart',
      ]);
    });
  });

  it('reads CONSOLE_ROLE_RECHECK_MINUTES and refuses a value that is not 1 to 480 minutes', () => {
    const base = {
      CONSOLE_ENTRA_TENANT_ID: 'contoso.onmicrosoft.com',
      CONSOLE_ENTRA_CLIENT_ID: CLIENT_ID,
      CONSOLE_ENTRA_CLIENT_SECRET: CLIENT_SECRET,
      CONSOLE_PUBLIC_URL: 'https://stc.contoso.com',
      CONSOLE_ENTRA_REQUIRED_ROLE: 'Connector.Admin',
    };
    expect(readConsoleEntraSettings({ ...base, CONSOLE_ROLE_RECHECK_MINUTES: '3' }, [])).toMatchObject({
      roleRecheckMinutes: 3,
    });
    for (const wrong of ['0', 'ten', '2.5', '481']) {
      const problems: string[] = [];
      expect(
        readConsoleEntraSettings({ ...base, CONSOLE_ROLE_RECHECK_MINUTES: wrong }, problems),
      ).toBeUndefined();
      expect(problems).toEqual([
        'CONSOLE_ROLE_RECHECK_MINUTES must be a whole number of minutes from 1 to 480 (default 10)',
      ]);
    }
  });
});
