/**
 * The local Entra ID endpoint after the sign-in: the refresh token that comes with `offline_access` (new tokens
 * that reflect an app role removed since, invalid_grant once the user's sessions are revoked) and the
 * end-session endpoint (the browser's session ended, back only to a registered redirect URI).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startTokenEndpoint, type TokenEndpoint } from '..';

const CLIENT_ID = '11111111-2222-4333-8444-555555555556';
const SECRET = 'web-app-secret-value-2';
const CALLBACK = 'http://127.0.0.1:3000/console/signin/entra/callback';
const SIGN_IN_PAGE = 'http://127.0.0.1:3000/console/';

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
            // A redirect or a plain page.
          }
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('Entra ID endpoint: refresh tokens and sign-out', () => {
  let endpoint: TokenEndpoint;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  beforeAll(async () => {
    endpoint = await startTokenEndpoint({
      clients: [
        { clientId: CLIENT_ID, clientSecret: SECRET, redirectUris: [CALLBACK, SIGN_IN_PAGE] },
        { clientId: '99999999-2222-4333-8444-555555555556', clientSecret: 'other', redirectUris: [] },
      ],
      users: [
        { username: 'ada@contoso.onmicrosoft.com', name: 'Ada', roles: ['Connector.Admin', 'Reader'] },
        { username: 'bob@contoso.onmicrosoft.com', name: 'Bob', roles: ['Connector.Admin'] },
      ],
    });
  }, 30_000);
  afterAll(() => endpoint.close());

  /** Signs `username` in with `scope` and redeems the code: the token response. */
  async function signIn(username: string, scope = 'openid profile offline_access'): Promise<Answer> {
    const answer = await call(
      endpoint,
      `${endpoint.authorizeEndpoint}?${new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope,
        login_hint: username,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    const code = new URL(answer.location!).searchParams.get('code')!;
    return call(endpoint, endpoint.tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      client_secret: SECRET,
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    });
  }

  const refresh = (refreshToken: string, secret = SECRET) =>
    call(endpoint, endpoint.tokenEndpoint, {
      grant_type: 'refresh_token',
      client_id: CLIENT_ID,
      client_secret: secret,
      refresh_token: refreshToken,
    });

  const roles = async (idToken: unknown) =>
    (
      await jwtVerify(String(idToken), createLocalJWKSet(endpoint.jwks), {
        issuer: endpoint.issuer,
        audience: CLIENT_ID,
      })
    ).payload.roles;

  it('gives a refresh token only with offline_access, and a refresh answers the roles the user has now', async () => {
    expect(
      (await signIn('ada@contoso.onmicrosoft.com', 'openid profile')).body.refresh_token,
    ).toBeUndefined();
    const tokens = await signIn('ada@contoso.onmicrosoft.com');
    expect(typeof tokens.body.refresh_token).toBe('string');
    expect(await roles(tokens.body.id_token)).toEqual(['Connector.Admin', 'Reader']);

    const first = await refresh(String(tokens.body.refresh_token));
    expect(first.status).toBe(200);
    expect(await roles(first.body.id_token)).toEqual(['Connector.Admin', 'Reader']);
    expect(first.body.refresh_token).not.toBe(tokens.body.refresh_token);

    endpoint.removeRole('ada@contoso.onmicrosoft.com', 'Connector.Admin');
    const after = await refresh(String(first.body.refresh_token));
    expect(after.status).toBe(200);
    expect(await roles(after.body.id_token)).toEqual(['Reader']);

    const wrongSecret = await refresh(String(after.body.refresh_token), 'not-it');
    expect(wrongSecret.body).toMatchObject({ error: 'invalid_client' });
    const unknown = await refresh('1.not-a-token-this-tenant-issued');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'invalid_grant', error_codes: [9002313] });
  });

  it('refuses the refresh tokens of a user whose sessions were revoked with invalid_grant AADSTS50173', async () => {
    const tokens = await signIn('bob@contoso.onmicrosoft.com');
    endpoint.revokeSignInSessions('bob@contoso.onmicrosoft.com');
    const refused = await refresh(String(tokens.body.refresh_token));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    expect(String(refused.body.error_description)).toMatch(/^AADSTS50173: The provided grant has expired/);
    // A new sign-in gets a refresh token that works.
    const again = await signIn('bob@contoso.onmicrosoft.com');
    expect((await refresh(String(again.body.refresh_token))).status).toBe(200);
  });

  it('publishes the end-session endpoint, ends the session and goes back to a registered URI with the state', async () => {
    const config = await call(endpoint, `/${endpoint.tenantId}/v2.0/.well-known/openid-configuration`);
    const endSession = String(config.body.end_session_endpoint);
    expect(endSession).toBe(`${endpoint.authorityHost}/${endpoint.tenantId}/oauth2/v2.0/logout`);
    const tokens = await signIn('bob@contoso.onmicrosoft.com');
    endpoint.signInAs('bob@contoso.onmicrosoft.com');

    const out = await call(
      endpoint,
      `${endSession}?${new URLSearchParams({
        id_token_hint: String(tokens.body.id_token),
        post_logout_redirect_uri: SIGN_IN_PAGE,
        state: 'bye-1',
      }).toString()}`,
    );
    expect(out.status).toBe(302);
    expect(out.location).toBe(`${SIGN_IN_PAGE}?state=bye-1`);
    expect(endpoint.signedInUser()).toBeUndefined();
    // Signed out: the authorize endpoint no longer signs anyone in without a hint.
    const authorize = await call(
      endpoint,
      `${endpoint.authorizeEndpoint}?${new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid',
      }).toString()}`,
    );
    expect(new URL(authorize.location!).searchParams.get('error')).toBe('login_required');
  });

  it('does not redirect to a URI the application has not registered, nor for a hint it did not sign', async () => {
    const tokens = await signIn('bob@contoso.onmicrosoft.com');
    const endSession = `${endpoint.authorityHost}/${endpoint.tenantId}/oauth2/v2.0/logout`;
    const elsewhere = await call(
      endpoint,
      `${endSession}?${new URLSearchParams({
        id_token_hint: String(tokens.body.id_token),
        post_logout_redirect_uri: 'https://evil.example/',
      }).toString()}`,
    );
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeUndefined();
    expect(elsewhere.text).toContain('AADSTS50011');
    expect(elsewhere.text).toContain('https://evil.example/');

    const [header, , signature] = String(tokens.body.id_token).split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ aud: CLIENT_ID })).toString('base64url')}.${signature}`;
    const unsigned = await call(
      endpoint,
      `${endSession}?${new URLSearchParams({ id_token_hint: forged, post_logout_redirect_uri: SIGN_IN_PAGE }).toString()}`,
    );
    expect(unsigned.status).toBe(400);
    expect(unsigned.location).toBeUndefined();

    const noUri = await call(endpoint, endSession);
    expect(noUri.status).toBe(200);
    expect(noUri.text).toBe('You signed out of your account.');
  });
});
