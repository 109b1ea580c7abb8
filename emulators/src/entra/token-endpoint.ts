/**
 * A minimal Microsoft Entra ID endpoint for the client-credentials flow, over TLS on loopback, so that
 * the real `@azure/identity` credentials (MSAL underneath) get tokens from it unchanged. It serves what
 * MSAL fetches: the OpenID configuration, instance discovery, the token endpoint and the signing keys.
 * Tokens are RS256 JWTs; the Dataverse emulator checks them against `jwks`, `issuer` and `audience`.
 */
import { randomUUID, X509Certificate, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type KeyLike,
} from 'jose';
import { createTlsMaterial } from './certificates';

export interface EntraClient {
  clientId: string;
  /** The secret's value; a client may have a secret, a certificate, or both. */
  clientSecret?: string;
  /** PEM of a certificate whose private key signs client assertions. */
  certificatePem?: string;
  /** The service principal's object id (`oid` in tokens); a fresh GUID when omitted. */
  objectId?: string;
  displayName?: string;
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
  stats(): TokenEndpointStats;
  close(): Promise<void>;
}

const MANAGED_IDENTITY_PATH = '/msi/token';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface EntraErrorSpec {
  status: number;
  error: string;
  code: number;
  message: string;
}

/** The body Entra ID sends with a failed token request. */
function entraErrorBody(spec: EntraErrorSpec, authorityHost: string): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    error: spec.error,
    error_description: `AADSTS${spec.code}: ${spec.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [spec.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${authorityHost}/error?code=${spec.code}`,
  };
}

function secretMatches(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

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

export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const tenantId = options.tenantId ?? randomUUID();
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const clients = new Map(
    options.clients.map((c) => [
      c.clientId.toLowerCase(),
      {
        ...c,
        objectId: c.objectId ?? randomUUID(),
        certificate: c.certificatePem ? new X509Certificate(c.certificatePem) : undefined,
      },
    ]),
  );
  const audience = options.audience?.replace(/\/+$/, '');
  const managedIdentities = (options.managedIdentities ?? []).map((m) => ({
    ...m,
    objectId: m.objectId ?? randomUUID(),
  }));
  const identityHeader = randomUUID();

  const tls = await createTlsMaterial();
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, use: 'sig', alg: 'RS256' }] };

  const stats: TokenEndpointStats = { tokenRequests: 0, tokensIssued: 0, requests: [] };
  let authorityHost = '';

  const tenantUrl = (tenant: string) => `${authorityHost}/${tenant}`;
  const openIdConfiguration = (tenant: string) => ({
    token_endpoint: `${tenantUrl(tenant)}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${tenantUrl(tenant)}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${authorityHost}/${tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${authorityHost}/oidc/userinfo`,
    authorization_endpoint: `${tenantUrl(tenant)}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${tenantUrl(tenant)}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${tenantUrl(tenant)}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'appid', 'azp', 'ver'],
    kerberos_endpoint: `${tenantUrl(tenant)}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: new URL(authorityHost).host,
    cloud_graph_host_name: new URL(authorityHost).host,
    msgraph_host: new URL(authorityHost).host,
    rbac_url: authorityHost,
  });
  const instanceDiscovery = () => {
    const host = new URL(authorityHost).host;
    return {
      tenant_discovery_endpoint: `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  };

  const knownTenant = (tenant: string) =>
    tenant === tenantId || tenant === 'common' || tenant === 'organizations';

  async function signAccessToken(subject: {
    resource: string;
    clientId: string;
    objectId: string;
    displayName?: string;
    appidacr: '1' | '2';
  }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: subject.resource,
      tid: tenantId,
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
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(`${authorityHost}/${tenantId}/v2.0`)
      .setIssuedAt(now)
      .setNotBefore(now - 5 * 60)
      .setExpirationTime(now + lifetime)
      .sign(privateKey as KeyLike);
  }

  /** App Service's managed identity endpoint (api-version 2019-08-01), as MSAL's AppService source calls it. */
  async function managedIdentityToken(url: URL, headers: IncomingMessage['headers']) {
    const fail = (status: number, message: string) => ({
      status,
      body: { statusCode: status, message, correlationId: randomUUID() },
    });
    stats.tokenRequests += 1;
    const given = headers['x-identity-header'];
    if (typeof given !== 'string' || !secretMatches(given, identityHeader)) {
      return fail(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
    }
    const resourceParam = url.searchParams.get('resource');
    if (!resourceParam) return fail(400, "The 'resource' query parameter is required.");
    const resource = resourceParam.replace(/\/\.default$/, '').replace(/\/+$/, '');
    if (audience !== undefined && resource !== audience) {
      return fail(400, `The resource ${resource} is not known in tenant ${tenantId}.`);
    }
    const clientId = url.searchParams.get('client_id');
    const principalId = url.searchParams.get('principal_id') ?? url.searchParams.get('object_id');
    const identity = clientId
      ? managedIdentities.find((m) => m.clientId.toLowerCase() === clientId.toLowerCase())
      : principalId
        ? managedIdentities.find((m) => m.objectId.toLowerCase() === principalId.toLowerCase())
        : managedIdentities.find((m) => !m.userAssigned);
    if (!identity)
      return fail(400, 'No managed identity found for the specified client id, object id or resource id.');
    const accessToken = await signAccessToken({ resource, ...identity, appidacr: '2' });
    stats.tokensIssued += 1;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        expires_on: String(Math.floor(Date.now() / 1000) + lifetime),
        resource,
        token_type: 'Bearer',
        client_id: identity.clientId,
      },
    };
  }

  async function token(tenant: string, form: URLSearchParams): Promise<{ status: number; body: unknown }> {
    const fail = (spec: EntraErrorSpec) => ({
      status: spec.status,
      body: entraErrorBody(spec, authorityHost),
    });
    if (tenant !== tenantId) {
      return fail({
        status: 400,
        error: 'invalid_request',
        code: 90002,
        message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      });
    }
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') {
      return fail({
        status: 400,
        error: 'unsupported_grant_type',
        code: 70003,
        message: `The app requested an unsupported grant type '${grantType ?? ''}'. This endpoint issues tokens for client_credentials only.`,
      });
    }
    const clientId = form.get('client_id') ?? '';
    const client = clients.get(clientId.toLowerCase());
    if (!client) {
      return fail({
        status: 400,
        error: 'unauthorized_client',
        code: 700016,
        message: `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      });
    }

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    let appidacr: '1' | '2';
    if (secret !== null) {
      if (!client.clientSecret || !secretMatches(secret, client.clientSecret)) {
        return fail({
          status: 401,
          error: 'invalid_client',
          code: 7000215,
          message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`,
        });
      }
      appidacr = '1';
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
        return fail({
          status: 400,
          error: 'invalid_request',
          code: 50027,
          message: `Invalid client_assertion_type: expected '${CLIENT_ASSERTION_TYPE}'.`,
        });
      }
      const failure = await checkClientAssertion(
        assertion,
        client.clientId,
        client.certificate,
        tenantUrl(tenant),
      );
      if (failure) return fail(failure);
      appidacr = '2';
    } else {
      return fail({
        status: 401,
        error: 'invalid_client',
        code: 7000218,
        message:
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      });
    }

    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const resourceScope = scopes.find((s) => s.endsWith('/.default'));
    if (!resourceScope) {
      return fail({
        status: 400,
        error: 'invalid_scope',
        code: 1002012,
        message: `The provided value for scope ${scopes.join(' ') || '(none)'} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      });
    }
    const resource = resourceScope.slice(0, -'/.default'.length).replace(/\/+$/, '');
    if (audience !== undefined && resource !== audience) {
      return fail({
        status: 400,
        error: 'invalid_resource',
        code: 500011,
        message: `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      });
    }

    const accessToken = await signAccessToken({ resource, ...client, appidacr });
    stats.tokensIssued += 1;
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: accessToken,
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', authorityHost);
    const path = url.pathname.replace(/\/+$/, '');
    stats.requests.push(`${req.method} ${path}`);
    const segments = path.split('/').filter(Boolean);
    const tenant = segments[0] ?? '';
    const rest = segments.slice(1).join('/');

    if (req.method === 'GET') {
      if (rest === 'discovery/instance' && knownTenant(tenant))
        return sendJson(res, 200, instanceDiscovery());
      if (
        (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration') &&
        knownTenant(tenant)
      ) {
        return sendJson(res, 200, openIdConfiguration(tenant));
      }
      if ((rest === 'discovery/v2.0/keys' || rest === 'discovery/keys') && knownTenant(tenant))
        return sendJson(res, 200, jwks);
    }
    if (req.method === 'GET' && path === MANAGED_IDENTITY_PATH) {
      const result = await managedIdentityToken(url, req.headers);
      return sendJson(res, result.status, result.body);
    }
    if (req.method === 'POST' && rest === 'oauth2/v2.0/token') {
      stats.tokenRequests += 1;
      const type = req.headers['content-type'] ?? '';
      if (!type.startsWith('application/x-www-form-urlencoded')) {
        const spec = {
          status: 400,
          error: 'invalid_request',
          code: 900144,
          message: "The request body must contain the following parameter: 'grant_type'.",
        };
        return sendJson(res, 400, entraErrorBody(spec, authorityHost));
      }
      const result = await token(tenant, new URLSearchParams(await readBody(req)));
      return sendJson(res, result.status, result.body);
    }
    if (!knownTenant(tenant) && tenant !== '') {
      const spec = {
        status: 400,
        error: 'invalid_tenant',
        code: 90002,
        message: `Tenant '${tenant}' not found.`,
      };
      return sendJson(res, 400, entraErrorBody(spec, authorityHost));
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No such endpoint: ${req.method} ${path}` });
  }

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: err.message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authorityHost,
    tenantId,
    issuer: `${authorityHost}/${tenantId}/v2.0`,
    tokenEndpoint: `${authorityHost}/${tenantId}/oauth2/v2.0/token`,
    jwks,
    caCertPath: tls.caCertPath,
    managedIdentityEnv: {
      IDENTITY_ENDPOINT: `${authorityHost}${MANAGED_IDENTITY_PATH}`,
      IDENTITY_HEADER: identityHeader,
    },
    stats: () => ({ ...stats, requests: [...stats.requests] }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tls.dispose();
    },
  };
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
