/**
 * A minimal Microsoft Entra ID endpoint over TLS on loopback, so that the real `@azure/identity` credentials
 * (MSAL underneath) and OpenID Connect clients get tokens from it unchanged. It serves what they fetch: the
 * OpenID configuration, instance discovery, the token endpoint (client credentials, authorization code with
 * PKCE, refresh token), the authorize endpoint (a user's sign-in and consent, answered at once), the end-session
 * endpoint (sign-out back to a registered redirect URI) and the signing keys.
 * Tokens are RS256 JWTs; the Dataverse emulator checks them against `jwks`, `issuer` and `audience`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { createTlsMaterial } from './certificates';
import { entraErrorBody, entraErrors } from './errors';
import { EntraTenant } from './tenant';

export interface EntraClient {
  clientId: string;
  /** The secret's value; a client may have a secret, a certificate, or both. */
  clientSecret?: string;
  /** PEM of a certificate whose private key signs client assertions. */
  certificatePem?: string;
  /** The service principal's object id (`oid` in tokens); a fresh GUID when omitted. */
  objectId?: string;
  displayName?: string;
  /**
   * Web redirect URIs, for the authorization code flow (`/oauth2/v2.0/authorize`); a sign-out's
   * `post_logout_redirect_uri` must be one of them too.
   */
  redirectUris?: string[];
}

/** A user of the tenant, who signs in at the authorize endpoint. */
export interface EntraUser {
  /** The user principal name (`preferred_username`), e.g. `ada@contoso.onmicrosoft.com`. */
  username: string;
  /** Display name (`name`). */
  name: string;
  /** `oid`; a fresh GUID when omitted. */
  objectId?: string;
  email?: string;
  /** App roles assigned to the user (`roles` in the id token). */
  roles?: string[];
  /** Object ids of the user's groups (`groups` in the id token). */
  groups?: string[];
  /** false: the user declines the app's consent prompt (the app gets `access_denied`, AADSTS65004). */
  consented?: boolean;
}

export interface TokenEndpointOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  clients: EntraClient[];
  /** When set, the only resource tokens are issued for (e.g. the Dataverse URL); otherwise any. */
  audience?: string;
  /** A GUID; a fresh one when omitted. */
  tenantId?: string;
  /** Lifetime of issued tokens; Entra's default is about an hour. */
  tokenLifetimeSeconds?: number;
  /**
   * Managed identities served App Service style (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`): the first one
   * without `userAssigned` answers for the system-assigned identity.
   */
  managedIdentities?: ManagedIdentity[];
  /** Users who sign in at the authorize endpoint; the first is the browser's signed-in account. */
  users?: EntraUser[];
}

export interface ManagedIdentity {
  clientId: string;
  objectId?: string;
  displayName?: string;
  userAssigned?: boolean;
}

export interface TokenEndpointStats {
  /** POSTs to the token endpoint, successful or not. */
  tokenRequests: number;
  tokensIssued: number;
  /** Every request as `METHOD path`, in order: shows what a client library fetched. */
  requests: string[];
}

export interface TokenEndpoint {
  /** `https://127.0.0.1:PORT`: the credential's `authorityHost`. */
  authorityHost: string;
  tenantId: string;
  /** The `iss` of every token: `${authorityHost}/${tenantId}/v2.0`. */
  issuer: string;
  tokenEndpoint: string;
  /** The public signing keys, as `/discovery/v2.0/keys` serves them. */
  jwks: { keys: JWK[] };
  /** The CA to trust: set `NODE_EXTRA_CA_CERTS` to it in the process that asks for tokens. */
  caCertPath: string;
  /** Environment for a process using ManagedIdentityCredential against this endpoint (App Service style). */
  managedIdentityEnv: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** `${authorityHost}/${tenantId}/oauth2/v2.0/authorize`. */
  authorizeEndpoint: string;
  /** The user the authorize endpoint signs in when the request has no `login_hint` (none: login_required). */
  signInAs(username: string | undefined): void;
  /** Who the browser is signed in as now: undefined once the end-session endpoint signed them out. */
  signedInUser(): string | undefined;
  /** Takes an app role away from a user: tokens issued from now on (refreshes too) lack it. */
  removeRole(username: string, role: string): void;
  /** Revokes a user's sign-in sessions: their refresh tokens get invalid_grant (AADSTS50173). */
  revokeSignInSessions(username: string): void;
  stats(): TokenEndpointStats;
  close(): Promise<void>;
}

const MANAGED_IDENTITY_PATH = '/msi/token';

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store, no-cache',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The discovery documents MSAL GETs below a tenant, by path after the tenant segment. */
const DISCOVERY = new Map<string, (tenant: EntraTenant, name: string) => unknown>([
  ['discovery/instance', (t) => t.instanceDiscovery()],
  ['v2.0/.well-known/openid-configuration', (t, name) => t.openIdConfiguration(name)],
  ['.well-known/openid-configuration', (t, name) => t.openIdConfiguration(name)],
  ['discovery/v2.0/keys', (t) => t.jwks],
  ['discovery/keys', (t) => t.jwks],
]);

/** Answers one request: discovery documents, the managed identity endpoint, the token endpoint. */
async function handle(tenant: EntraTenant, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', tenant.authorityHost);
  const path = url.pathname.replace(/\/+$/, '');
  tenant.stats.requests.push(`${req.method} ${path}`);
  const segments = path.split('/').filter(Boolean);
  const name = segments[0] ?? '';
  const rest = segments.slice(1).join('/');

  const discovery = DISCOVERY.get(rest);
  if (req.method === 'GET' && discovery && tenant.knownTenant(name))
    return sendJson(res, 200, discovery(tenant, name));
  if (req.method === 'GET' && path === MANAGED_IDENTITY_PATH) {
    const result = await tenant.managedIdentityToken(url, req.headers);
    return sendJson(res, result.status, result.body);
  }
  if (req.method === 'GET' && rest === 'oauth2/v2.0/authorize') {
    const result = tenant.authorize(name, url.searchParams);
    if ('redirect' in result) {
      res.writeHead(302, { location: result.redirect, 'cache-control': 'no-store, no-cache' });
      return void res.end();
    }
    res.writeHead(result.status, { 'content-type': 'text/plain; charset=utf-8' });
    return void res.end(result.page);
  }
  if (req.method === 'GET' && rest === 'oauth2/v2.0/logout') {
    const result = await tenant.endSession(name, url.searchParams);
    if ('redirect' in result) {
      res.writeHead(302, { location: result.redirect, 'cache-control': 'no-store, no-cache' });
      return void res.end();
    }
    res.writeHead(result.status, { 'content-type': 'text/plain; charset=utf-8' });
    return void res.end(result.page);
  }
  if (req.method === 'POST' && rest === 'oauth2/v2.0/token') {
    tenant.stats.tokenRequests += 1;
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded'))
      return sendJson(res, 400, entraErrorBody(entraErrors.notForm(), tenant.authorityHost));
    const result = await tenant.clientCredentialsToken(name, new URLSearchParams(await readBody(req)));
    return sendJson(res, result.status, result.body);
  }
  if (!tenant.knownTenant(name) && name !== '')
    return sendJson(res, 400, entraErrorBody(entraErrors.invalidTenant(name), tenant.authorityHost));
  sendJson(res, 404, { error: 'not_found', error_description: `No such endpoint: ${req.method} ${path}` });
}

export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const tls = await createTlsMaterial();
  const tenant = await EntraTenant.create(options);
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(tenant, req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: err.message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tenant.authorityHost = authorityHost;
  const { tenantId, stats } = tenant;

  return {
    authorityHost,
    tenantId,
    issuer: tenant.issuer,
    tokenEndpoint: `${authorityHost}/${tenantId}/oauth2/v2.0/token`,
    authorizeEndpoint: `${authorityHost}/${tenantId}/oauth2/v2.0/authorize`,
    signInAs: (username) => {
      tenant.signedInUser = username;
    },
    signedInUser: () => tenant.signedInUser,
    removeRole: (username, role) => tenant.removeRole(username, role),
    revokeSignInSessions: (username) => tenant.revokeSignInSessions(username),
    jwks: tenant.jwks,
    caCertPath: tls.caCertPath,
    managedIdentityEnv: {
      IDENTITY_ENDPOINT: `${authorityHost}${MANAGED_IDENTITY_PATH}`,
      IDENTITY_HEADER: tenant.identityHeader,
    },
    stats: () => ({ ...stats, requests: [...stats.requests] }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tls.dispose();
    },
  };
}
