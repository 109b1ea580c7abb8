/**
 * The tenant behind the token endpoint: its registered clients, users and managed identities, its signing key,
 * the discovery documents MSAL and OpenID Connect clients read, and the grants it answers (client credentials,
 * App Service managed identity, the authorization code a user's sign-in at the authorize endpoint gives, and the
 * refresh token that comes with it when `offline_access` was asked for), and the end-session (sign-out) endpoint.
 */
import { randomBytes, randomUUID, X509Certificate, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  calculateJwkThumbprint,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type KeyLike,
} from 'jose';
import { type EntraErrorSpec, entraErrorBody, entraErrors } from './errors';
import type {
  EntraClient,
  EntraUser,
  ManagedIdentity,
  TokenEndpointOptions,
  TokenEndpointStats,
} from './token-endpoint';

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenResult {
  status: number;
  body: unknown;
}

/** The authorize endpoint's answer: a redirect back to the app, or an error page when it cannot redirect. */
export type AuthorizeResult = { redirect: string } | { status: number; page: string };

type RegisteredUser = EntraUser & {
  objectId: string;
  /** Refresh tokens issued before this (ms) are refused: the user's sign-in sessions were revoked. */
  tokensValidFromMs?: number;
};

/** A code the authorize endpoint gave, until redeemed or expired (Entra: ten minutes, once). */
interface IssuedCode {
  clientId: string;
  redirectUri: string;
  user: RegisteredUser;
  scopes: string[];
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresAtMs: number;
  redeemed: boolean;
}

/** A refresh token, redeemable by its client until the user's sessions are revoked. */
interface IssuedRefreshToken {
  clientId: string;
  user: RegisteredUser;
  scopes: string[];
  issuedAtMs: number;
}

const CODE_LIFETIME_MS = 10 * 60 * 1000;
/** The most groups Entra lists in a JWT's `groups` claim. */
const GROUPS_IN_TOKEN = 200;
/** Microsoft Graph: the resource of the access token a user's sign-in returns beside the id token. */
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

type RegisteredClient = EntraClient & { objectId: string; certificate?: X509Certificate };
type RegisteredIdentity = ManagedIdentity & { objectId: string };

interface TokenSubject {
  resource: string;
  clientId: string;
  objectId: string;
  displayName?: string;
  appidacr: '1' | '2';
}

function secretMatches(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class EntraTenant {
  readonly tenantId: string;
  readonly lifetime: number;
  readonly identityHeader = randomUUID();
  readonly stats: TokenEndpointStats = { tokenRequests: 0, tokensIssued: 0, requests: [] };
  /** Set once the server listens. */
  authorityHost = '';
  private readonly clients: Map<string, RegisteredClient>;
  private readonly audience: string | undefined;
  private readonly managedIdentities: RegisteredIdentity[];
  private readonly users: RegisteredUser[];
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, IssuedRefreshToken>();
  /** Who the authorize endpoint signs in without a `login_hint` (the browser's signed-in account). */
  signedInUser: string | undefined;

  private constructor(
    options: TokenEndpointOptions,
    private readonly privateKey: KeyLike,
    private readonly kid: string,
    readonly jwks: { keys: JWK[] },
  ) {
    this.tenantId = options.tenantId ?? randomUUID();
    this.lifetime = options.tokenLifetimeSeconds ?? 3599;
    this.clients = new Map(
      options.clients.map((c) => [
        c.clientId.toLowerCase(),
        {
          ...c,
          objectId: c.objectId ?? randomUUID(),
          certificate: c.certificatePem ? new X509Certificate(c.certificatePem) : undefined,
        },
      ]),
    );
    this.audience = options.audience?.replace(/\/+$/, '');
    this.managedIdentities = (options.managedIdentities ?? []).map((m) => ({
      ...m,
      objectId: m.objectId ?? randomUUID(),
    }));
    this.users = (options.users ?? []).map((u) => ({ ...u, objectId: u.objectId ?? randomUUID() }));
    this.signedInUser = this.users[0]?.username;
  }

  /** A tenant with a fresh RS256 signing key. */
  static async create(options: TokenEndpointOptions): Promise<EntraTenant> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const jwks = { keys: [{ ...publicJwk, kid, use: 'sig', alg: 'RS256' }] };
    return new EntraTenant(options, privateKey as KeyLike, kid, jwks);
  }

  get issuer(): string {
    return `${this.authorityHost}/${this.tenantId}/v2.0`;
  }

  knownTenant(tenant: string): boolean {
    return tenant === this.tenantId || tenant === 'common' || tenant === 'organizations';
  }

  fail(spec: EntraErrorSpec): TokenResult {
    return { status: spec.status, body: entraErrorBody(spec, this.authorityHost) };
  }

  private tenantUrl(tenant: string): string {
    return `${this.authorityHost}/${tenant}`;
  }

  openIdConfiguration(tenant: string): Record<string, unknown> {
    const tenantUrl = this.tenantUrl(tenant);
    const host = new URL(this.authorityHost).host;
    return {
      token_endpoint: `${tenantUrl}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${tenantUrl}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      // Entra's multi-tenant authorities name the issuer with a placeholder: each token's is its own tenant's.
      issuer:
        tenant === 'common' || tenant === 'organizations'
          ? `${this.authorityHost}/{tenantid}/v2.0`
          : this.issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.authorityHost}/oidc/userinfo`,
      authorization_endpoint: `${tenantUrl}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${tenantUrl}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${tenantUrl}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${tenantUrl}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: host,
      cloud_graph_host_name: host,
      msgraph_host: host,
      rbac_url: this.authorityHost,
    };
  }

  instanceDiscovery(): Record<string, unknown> {
    const host = new URL(this.authorityHost).host;
    return {
      tenant_discovery_endpoint: `${this.issuer}/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  private async signAccessToken(subject: TokenSubject): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      aud: subject.resource,
      tid: this.tenantId,
      oid: subject.objectId,
      sub: subject.objectId,
      appid: subject.clientId,
      azp: subject.clientId,
      appidacr: subject.appidacr,
      app_displayname: subject.displayName ?? subject.clientId,
      idtyp: 'app',
      roles: [],
      uti: randomUUID().replace(/-/g, ''),
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
      .setIssuedAt(now)
      .setNotBefore(now - 5 * 60)
      .setExpirationTime(now + this.lifetime)
      .sign(this.privateKey);
    this.stats.tokensIssued += 1;
    return token;
  }

  /** App Service's managed identity endpoint (api-version 2019-08-01), as MSAL's AppService source calls it. */
  async managedIdentityToken(url: URL, headers: IncomingMessage['headers']): Promise<TokenResult> {
    const fail = (status: number, message: string) => ({
      status,
      body: { statusCode: status, message, correlationId: randomUUID() },
    });
    this.stats.tokenRequests += 1;
    const given = headers['x-identity-header'];
    if (typeof given !== 'string' || !secretMatches(given, this.identityHeader)) {
      return fail(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
    }
    const resourceParam = url.searchParams.get('resource');
    if (!resourceParam) return fail(400, "The 'resource' query parameter is required.");
    const resource = resourceParam.replace(/\/\.default$/, '').replace(/\/+$/, '');
    if (this.audience !== undefined && resource !== this.audience) {
      return fail(400, `The resource ${resource} is not known in tenant ${this.tenantId}.`);
    }
    const identity = this.managedIdentity(url.searchParams);
    if (!identity)
      return fail(400, 'No managed identity found for the specified client id, object id or resource id.');
    const accessToken = await this.signAccessToken({ resource, ...identity, appidacr: '2' });
    return {
      status: 200,
      body: {
        access_token: accessToken,
        expires_on: String(Math.floor(Date.now() / 1000) + this.lifetime),
        resource,
        token_type: 'Bearer',
        client_id: identity.clientId,
      },
    };
  }

  /** The identity a managed identity request names by client id or object id, else the system-assigned one. */
  private managedIdentity(params: URLSearchParams): RegisteredIdentity | undefined {
    const clientId = params.get('client_id');
    const principalId = params.get('principal_id') ?? params.get('object_id');
    if (clientId)
      return this.managedIdentities.find((m) => m.clientId.toLowerCase() === clientId.toLowerCase());
    if (principalId)
      return this.managedIdentities.find((m) => m.objectId.toLowerCase() === principalId.toLowerCase());
    return this.managedIdentities.find((m) => !m.userAssigned);
  }

  /** The client credentials grant: tenant, grant type, client, its secret or assertion, the `.default` scope. */
  async clientCredentialsToken(tenant: string, form: URLSearchParams): Promise<TokenResult> {
    const grantType = form.get('grant_type');
    // A user's grants may also be redeemed at the multi-tenant authorities (`organizations`, `common`).
    const userGrant = grantType === 'authorization_code' || grantType === 'refresh_token';
    if (tenant !== this.tenantId && !(userGrant && this.knownTenant(tenant)))
      return this.fail(entraErrors.tenantNotFound(tenant));
    if (grantType === 'authorization_code') return this.authorizationCodeToken(form);
    if (grantType === 'refresh_token') return this.refreshTokenGrant(form);
    if (grantType !== 'client_credentials') return this.fail(entraErrors.unsupportedGrant(grantType));
    const clientId = form.get('client_id') ?? '';
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) return this.fail(entraErrors.unknownClient(clientId, this.tenantId));
    const appidacr = await this.authenticateClient(client, form, tenant);
    if (typeof appidacr !== 'string') return this.fail(appidacr);
    const resource = this.requestedResource(form);
    if (typeof resource !== 'string') return this.fail(resource);
    const accessToken = await this.signAccessToken({ resource, ...client, appidacr });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: this.lifetime,
        ext_expires_in: this.lifetime,
        access_token: accessToken,
      },
    };
  }

  /** `appidacr` of the client's proof: '1' for a secret, '2' for a certificate assertion; else the error. */
  private async authenticateClient(
    client: RegisteredClient,
    form: URLSearchParams,
    tenant: string,
  ): Promise<'1' | '2' | EntraErrorSpec> {
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (!client.clientSecret || !secretMatches(secret, client.clientSecret))
        return entraErrors.invalidSecret(client.clientId);
      return '1';
    }
    if (assertion === null) return entraErrors.noCredential();
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE)
      return entraErrors.assertionType(CLIENT_ASSERTION_TYPE);
    const failure = await checkClientAssertion(
      assertion,
      client.clientId,
      client.certificate,
      this.tenantUrl(tenant),
    );
    return failure ?? '2';
  }

  /**
   * `GET /{tenant}/oauth2/v2.0/authorize`: Entra's sign-in and consent pages, answered at once for the user the
   * browser is signed in as (`login_hint`, else `signedInUser`). A request Entra cannot trust the redirect URI of
   * gets an error page; any other failure, and a user who does not consent, go back to the app as `error`.
   */
  authorize(tenant: string, params: URLSearchParams): AuthorizeResult {
    const page = (spec: EntraErrorSpec): AuthorizeResult => ({
      status: spec.status,
      page: `Sign in: ${spec.error}: AADSTS${spec.code}: ${spec.message}`,
    });
    if (!this.knownTenant(tenant)) return page(entraErrors.tenantNotFound(tenant));
    const clientId = params.get('client_id') ?? '';
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) return page(entraErrors.unknownClient(clientId, this.tenantId));
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!client.redirectUris?.length) return page(entraErrors.noReplyAddress(client.clientId));
    if (!client.redirectUris.includes(redirectUri))
      return page(entraErrors.redirectMismatch(redirectUri, client.clientId));

    const back = (query: Record<string, string | undefined>): AuthorizeResult => {
      const url = new URL(redirectUri);
      for (const [name, value] of Object.entries({ ...query, state: params.get('state') ?? undefined }))
        if (value !== undefined) url.searchParams.set(name, value);
      return { redirect: url.toString() };
    };
    const refuse = (spec: EntraErrorSpec) => {
      const body = entraErrorBody(spec, this.authorityHost);
      return back({ error: spec.error, error_description: String(body.error_description) });
    };
    if (params.get('response_type') !== 'code')
      return refuse(entraErrors.unsupportedResponseType(params.get('response_type')));
    const method = params.get('code_challenge_method') ?? undefined;
    const codeChallenge = params.get('code_challenge') ?? undefined;
    if (codeChallenge !== undefined && method !== undefined && method !== 'S256' && method !== 'plain')
      return refuse(entraErrors.invalidChallengeMethod());
    const hint = params.get('login_hint')?.toLowerCase();
    const username = hint ?? this.signedInUser?.toLowerCase();
    const user = this.users.find((u) => u.username.toLowerCase() === username);
    if (!user) return refuse(entraErrors.loginRequired());
    if (user.consented === false) return refuse(entraErrors.consentDeclined());

    const code = `1.${randomBytes(48).toString('base64url')}`;
    this.codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      user,
      scopes: (params.get('scope') ?? '').split(' ').filter(Boolean),
      nonce: params.get('nonce') ?? undefined,
      codeChallenge,
      codeChallengeMethod: codeChallenge === undefined ? undefined : (method ?? 'plain'),
      expiresAtMs: Date.now() + CODE_LIFETIME_MS,
      redeemed: false,
    });
    return back({ code, session_state: randomUUID() });
  }

  /** The authorization code grant: the client's proof, the code (once, unexpired), its redirect URI, PKCE. */
  private async authorizationCodeToken(form: URLSearchParams): Promise<TokenResult> {
    const clientId = form.get('client_id') ?? '';
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) return this.fail(entraErrors.unknownClient(clientId, this.tenantId));
    const appidacr = await this.authenticateClient(client, form, this.tenantId);
    if (typeof appidacr !== 'string') return this.fail(appidacr);
    const issued = this.codes.get(form.get('code') ?? '');
    if (!issued || issued.clientId !== client.clientId) return this.fail(entraErrors.invalidCode());
    if (issued.redeemed) return this.fail(entraErrors.codeRedeemed());
    if (issued.expiresAtMs <= Date.now()) return this.fail(entraErrors.codeExpired());
    if (form.get('redirect_uri') !== issued.redirectUri)
      return this.fail(entraErrors.redirectMismatch(form.get('redirect_uri') ?? '', client.clientId));
    if (issued.codeChallenge !== undefined) {
      const verifier = form.get('code_verifier') ?? '';
      const derived =
        issued.codeChallengeMethod === 'S256'
          ? createHash('sha256').update(verifier).digest('base64url')
          : verifier;
      if (!verifier || derived !== issued.codeChallenge) return this.fail(entraErrors.verifierMismatch());
    }
    issued.redeemed = true;
    const user = issued.user;
    const scope = [...issued.scopes.filter((s) => s !== 'offline_access'), 'User.Read'].join(' ');
    const accessToken = await this.signUserAccessToken(client.clientId, user, scope);
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope,
      expires_in: this.lifetime,
      ext_expires_in: this.lifetime,
      access_token: accessToken,
    };
    if (issued.scopes.includes('openid'))
      body.id_token = await this.signIdToken(client.clientId, user, issued);
    if (issued.scopes.includes('offline_access'))
      body.refresh_token = this.issueRefreshToken(client.clientId, user, issued.scopes);
    return { status: 200, body };
  }

  private issueRefreshToken(clientId: string, user: RegisteredUser, scopes: string[]): string {
    const token = `1.${randomBytes(96).toString('base64url')}`;
    this.refreshTokens.set(token, { clientId, user, scopes, issuedAtMs: Date.now() });
    return token;
  }

  /**
   * The refresh token grant: new tokens that say what is true of the user now (an app role removed since the
   * sign-in is gone from `roles`), and a new refresh token; the old one stays redeemable, as Entra's does. A
   * token issued before the user's sessions were revoked is refused with invalid_grant (AADSTS50173).
   */
  private async refreshTokenGrant(form: URLSearchParams): Promise<TokenResult> {
    const clientId = form.get('client_id') ?? '';
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) return this.fail(entraErrors.unknownClient(clientId, this.tenantId));
    const appidacr = await this.authenticateClient(client, form, this.tenantId);
    if (typeof appidacr !== 'string') return this.fail(appidacr);
    const issued = this.refreshTokens.get(form.get('refresh_token') ?? '');
    if (!issued || issued.clientId !== client.clientId) return this.fail(entraErrors.invalidRefreshToken());
    const { user } = issued;
    if (user.tokensValidFromMs !== undefined && issued.issuedAtMs < user.tokensValidFromMs)
      return this.fail(entraErrors.refreshTokenRevoked());
    const asked = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const scopes = asked.length > 0 ? asked : issued.scopes;
    const scope = [...scopes.filter((s) => s !== 'offline_access'), 'User.Read'].join(' ');
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope,
      expires_in: this.lifetime,
      ext_expires_in: this.lifetime,
      access_token: await this.signUserAccessToken(client.clientId, user, scope),
      refresh_token: this.issueRefreshToken(client.clientId, user, issued.scopes),
    };
    if (scopes.includes('openid')) body.id_token = await this.signIdToken(client.clientId, user, { scopes });
    return { status: 200, body };
  }

  /** Takes an app role away from a user: the next tokens (a refresh included) no longer carry it. */
  removeRole(username: string, role: string): void {
    const user = this.user(username);
    user.roles = (user.roles ?? []).filter((r) => r !== role);
  }

  /** Revokes the user's sign-in sessions (Graph `revokeSignInSessions`): their refresh tokens stop working. */
  revokeSignInSessions(username: string): void {
    // One millisecond on, so that a token issued in this same millisecond counts as before the revocation.
    this.user(username).tokensValidFromMs = Date.now() + 1;
  }

  private user(username: string): RegisteredUser {
    const user = this.users.find((u) => u.username.toLowerCase() === username.toLowerCase());
    if (!user) throw new Error(`No user ${username} in the tenant`);
    return user;
  }

  /**
   * `GET /{tenant}/oauth2/v2.0/logout`, the discovery document's `end_session_endpoint` (OpenID Connect
   * RP-Initiated Logout 1.0, https://openid.net/specs/openid-connect-rpinitiated-1_0.html). As the Microsoft
   * identity platform documents it ("Send a sign-out request",
   * https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request): the user's
   * session with Entra ID ends; `post_logout_redirect_uri` is where the browser goes afterwards and must match
   * one of the redirect URIs registered for the application, otherwise no redirect happens; without it Entra
   * shows its own "signed out" page. The application is the `aud` of `id_token_hint` (a token this tenant
   * signed, expired or not) or `client_id`. `state` is handed back on the redirect.
   */
  async endSession(tenant: string, params: URLSearchParams): Promise<AuthorizeResult> {
    const page = (spec: EntraErrorSpec): AuthorizeResult => ({
      status: spec.status,
      page: `Sign out: ${spec.error}: AADSTS${spec.code}: ${spec.message}`,
    });
    if (!this.knownTenant(tenant)) return page(entraErrors.tenantNotFound(tenant));
    this.signedInUser = undefined;
    const redirectUri = params.get('post_logout_redirect_uri');
    if (!redirectUri) return { status: 200, page: 'You signed out of your account.' };
    const clientId = (await this.hintedClient(params.get('id_token_hint'))) ?? params.get('client_id') ?? '';
    const client = this.clients.get(clientId.toLowerCase());
    if (!client?.redirectUris?.includes(redirectUri))
      return page(entraErrors.logoutRedirectMismatch(redirectUri, clientId));
    const url = new URL(redirectUri);
    const state = params.get('state');
    if (state !== null) url.searchParams.set('state', state);
    return { redirect: url.toString() };
  }

  /** The `aud` of an id token this tenant signed; undefined for anything else. */
  private async hintedClient(idToken: string | null): Promise<string | undefined> {
    if (!idToken) return undefined;
    try {
      // The signature only: an expired hint still names the application.
      const { payload } = await compactVerify(idToken, createLocalJWKSet(this.jwks));
      const aud = (JSON.parse(new TextDecoder().decode(payload)) as { aud?: unknown }).aud;
      return typeof aud === 'string' ? aud : undefined;
    } catch {
      return undefined;
    }
  }

  /** A v2.0 id token as Entra issues it to a web app: `aud` the client, the user's claims, the request's nonce. */
  private async signIdToken(
    clientId: string,
    user: RegisteredUser,
    issued: { scopes: string[]; nonce?: string },
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: clientId,
      tid: this.tenantId,
      oid: user.objectId,
      // Pairwise: the same user has another `sub` in every app.
      sub: createHash('sha256').update(`${user.objectId}:${clientId}`).digest('base64url').slice(0, 43),
      name: user.name,
      preferred_username: user.username,
      uti: randomUUID().replace(/-/g, ''),
      rh: '0.AAAA.',
      ver: '2.0',
    };
    if (issued.nonce !== undefined) claims.nonce = issued.nonce;
    if (issued.scopes.includes('email') && user.email) claims.email = user.email;
    if (user.roles?.length) claims.roles = user.roles;
    if (user.groups !== undefined && user.groups.length > GROUPS_IN_TOKEN) {
      // Group overage: past 200 groups a JWT names where to read them instead of listing them.
      claims._claim_names = { groups: 'src1' };
      claims._claim_sources = {
        src1: {
          endpoint: `https://graph.windows.net/${this.tenantId}/users/${user.objectId}/getMemberObjects`,
        },
      };
    } else if (user.groups?.length) claims.groups = user.groups;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.lifetime)
      .sign(this.privateKey);
    this.stats.tokensIssued += 1;
    return token;
  }

  /** The delegated Microsoft Graph token that comes with a user's sign-in. */
  private async signUserAccessToken(clientId: string, user: RegisteredUser, scope: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      aud: GRAPH_APP_ID,
      tid: this.tenantId,
      oid: user.objectId,
      sub: user.objectId,
      appid: clientId,
      name: user.name,
      upn: user.username,
      scp: scope,
      idtyp: 'user',
      uti: randomUUID().replace(/-/g, ''),
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(`https://sts.windows.net/${this.tenantId}/`)
      .setIssuedAt(now)
      .setNotBefore(now - 5 * 60)
      .setExpirationTime(now + this.lifetime)
      .sign(this.privateKey);
    this.stats.tokensIssued += 1;
    return token;
  }

  /** The resource of the request's `<resource>/.default` scope, or the error. */
  private requestedResource(form: URLSearchParams): string | EntraErrorSpec {
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const resourceScope = scopes.find((s) => s.endsWith('/.default'));
    if (!resourceScope) return entraErrors.invalidScope(scopes);
    const resource = resourceScope.slice(0, -'/.default'.length).replace(/\/+$/, '');
    if (this.audience !== undefined && resource !== this.audience)
      return entraErrors.unknownResource(resource, this.tenantId);
    return resource;
  }
}

/** Checks a certificate client's signed assertion as Entra does: signature, issuer, subject, audience, time. */
async function checkClientAssertion(
  assertion: string,
  clientId: string,
  certificate: X509Certificate | undefined,
  tenantUrl: string,
): Promise<EntraErrorSpec | undefined> {
  const invalid = (code: number, message: string): EntraErrorSpec => ({
    status: 401,
    error: 'invalid_client',
    code,
    message,
  });
  if (!certificate) {
    return invalid(
      700027,
      `Client assertion failed signature validation: no certificate is registered for app '${clientId}'.`,
    );
  }
  let header;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return invalid(50027, 'Invalid JWT token. The client assertion is not a well-formed JWT.');
  }
  const sha1 = Buffer.from(certificate.fingerprint.replace(/:/g, ''), 'hex').toString('base64url');
  const sha256 = Buffer.from(certificate.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url');
  if (header.x5t !== undefined && header.x5t !== sha1 && header['x5t#S256'] !== sha256) {
    return invalid(
      700027,
      `Client assertion failed signature validation. The key was not found. Thumbprint of key used by client: '${Buffer.from(header.x5t, 'base64url').toString('hex').toUpperCase()}'.`,
    );
  }
  try {
    await jwtVerify(assertion, certificate.publicKey, {
      issuer: clientId,
      subject: clientId,
      audience: [`${tenantUrl}/oauth2/v2.0/token`, `${tenantUrl}/v2.0`, tenantUrl],
      algorithms: ['RS256', 'PS256'],
      clockTolerance: 300,
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      code === 'ERR_JWT_EXPIRED' ||
      (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && /nbf|iat/.test(String((err as Error).message)))
    ) {
      return invalid(700024, 'Client assertion is not within its valid time range.');
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      return invalid(700027, 'Client assertion contains an invalid signature.');
    }
    return invalid(700027, `Client assertion failed validation: ${(err as Error).message}.`);
  }
  return undefined;
}
