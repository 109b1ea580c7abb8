/**
 * The local Entra ID endpoint's user sign-in, over https with its CA passed explicitly: discovery, the
 * authorize endpoint's redirects, the authorization code grant with PKCE, and the id token it signs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTokenEndpoint, type TokenEndpoint } from '..';

const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const SECRET = 'web-app-secret-value';
const REDIRECT_URI = 'http://127.0.0.1:3000/console/signin/entra/callback';

interface Answer {
  status: number;
  location?: string;
  body: Record<string, unknown>;
  text: string;
}

function call(endpoint: TokenEndpoint, url: string, form?: Record<string, string>): Promise<Answer> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(url, endpoint.authorityHost),
      {
        method: form ? 'POST' : 'GET',
        ca: readFileSync(endpoint.caCertPath),
        headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // A redirect or a plain error page.
          }
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('Entra ID endpoint: user sign-in (authorization code with PKCE)', () => {
  let endpoint: TokenEndpoint;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  beforeAll(async () => {
    endpoint = await startTokenEndpoint({
      clients: [{ clientId: CLIENT_ID, clientSecret: SECRET, redirectUris: [REDIRECT_URI] }],
      users: [
        {
          username: 'ada@contoso.onmicrosoft.com',
          name: 'Ada Lovelace',
          objectId: '9a8b7c6d-0000-4000-8000-000000000001',
          roles: ['Connector.Admin'],
        },
        { username: 'eve@contoso.onmicrosoft.com', name: 'Eve', consented: false },
      ],
    });
  }, 30_000);
  afterAll(() => endpoint.close());

  const authorize = (extra: Record<string, string> = {}) =>
    call(
      endpoint,
      `${endpoint.authorizeEndpoint}?${new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: REDIRECT_URI,
        scope: 'openid profile email',
        state: 'state-123',
        nonce: 'nonce-456',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      }).toString()}`,
    );

  const redeem = (code: string, extra: Record<string, string> = {}) =>
    call(endpoint, endpoint.tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      client_secret: SECRET,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      ...extra,
    });

  it('publishes the v2.0 OpenID configuration with the authorize, token and keys endpoints', async () => {
    const config = await call(endpoint, `/${endpoint.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(config.body).toMatchObject({
      issuer: endpoint.issuer,
      authorization_endpoint: endpoint.authorizeEndpoint,
      token_endpoint: endpoint.tokenEndpoint,
      jwks_uri: `${endpoint.authorityHost}/${endpoint.tenantId}/discovery/v2.0/keys`,
      response_types_supported: expect.arrayContaining(['code']),
    });
    const keys = await call(endpoint, `/${endpoint.tenantId}/discovery/v2.0/keys`);
    expect(keys.body).toEqual(endpoint.jwks);

    // The multi-tenant authorities name the issuer with Entra's placeholder, and redeem a user's code.
    const organizations = await call(endpoint, '/organizations/v2.0/.well-known/openid-configuration');
    expect(organizations.body).toMatchObject({
      issuer: `${endpoint.authorityHost}/{tenantid}/v2.0`,
      authorization_endpoint: `${endpoint.authorityHost}/organizations/oauth2/v2.0/authorize`,
    });
    const code = new URL((await authorize()).location!).searchParams.get('code')!;
    const atOrganizations = await call(endpoint, `/organizations/oauth2/v2.0/token`, {
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      client_secret: SECRET,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(atOrganizations.status).toBe(200);
    const appOnly = await call(endpoint, `/organizations/oauth2/v2.0/token`, {
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: SECRET,
      scope: 'https://example.crm.dynamics.com/.default',
    });
    expect(appOnly.body).toMatchObject({ error: 'invalid_request' });
  });

  it('signs the user in, redirects back with code and state, and redeems the code once for an RS256 id token', async () => {
    const answer = await authorize();
    expect(answer.status).toBe(302);
    const back = new URL(answer.location!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe('state-123');
    const code = back.searchParams.get('code')!;

    const tokens = await redeem(code);
    expect(tokens.status).toBe(200);
    const idToken = String(tokens.body.id_token);
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: 'RS256', kid: endpoint.jwks.keys[0].kid });
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(endpoint.jwks), {
      issuer: endpoint.issuer,
      audience: CLIENT_ID,
    });
    expect(payload).toMatchObject({
      name: 'Ada Lovelace',
      preferred_username: 'ada@contoso.onmicrosoft.com',
      oid: '9a8b7c6d-0000-4000-8000-000000000001',
      tid: endpoint.tenantId,
      nonce: 'nonce-456',
      roles: ['Connector.Admin'],
      ver: '2.0',
    });

    const again = await redeem(code);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('refuses a code whose PKCE verifier does not match its challenge', async () => {
    const code = new URL((await authorize()).location!).searchParams.get('code')!;
    const wrong = await redeem(code, { code_verifier: randomBytes(32).toString('base64url') });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant', error_codes: [501481] });
    const wrongSecret = await redeem(code, { client_secret: 'not-it' });
    expect(wrongSecret.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });

  it('sends a user who declines consent back with access_denied, and shows a page for an unknown redirect URI', async () => {
    const declined = await authorize({ login_hint: 'eve@contoso.onmicrosoft.com' });
    const back = new URL(declined.location!);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS65004: User declined to consent/);
    expect(back.searchParams.get('state')).toBe('state-123');
    expect(back.searchParams.get('code')).toBeNull();

    const elsewhere = await authorize({ redirect_uri: 'https://evil.example/callback' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeUndefined();
    expect(elsewhere.text).toContain('AADSTS50011');
  });

  it('answers login_required when nobody is signed in', async () => {
    endpoint.signInAs(undefined);
    try {
      const back = new URL((await authorize()).location!);
      expect(back.searchParams.get('error')).toBe('login_required');
    } finally {
      endpoint.signInAs('ada@contoso.onmicrosoft.com');
    }
  });
});
