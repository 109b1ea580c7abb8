/**
 * The tenant behind the token endpoint: its registered clients and managed identities, its signing key,
 * the discovery documents MSAL reads, and the two grants it answers (client credentials, App Service
 * managed identity).
 */
import { randomUUID, X509Certificate, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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
import { type EntraErrorSpec, entraErrorBody, entraErrors } from './errors';
import type {
  EntraClient,
  ManagedIdentity,
  TokenEndpointOptions,
  TokenEndpointStats,
} from './token-endpoint';

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenResult {
  status: number;
  body: unknown;
}

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
      issuer: this.issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.authorityHost}/oidc/userinfo`,
      authorization_endpoint: `${tenantUrl}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${tenantUrl}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${tenantUrl}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'appid', 'azp', 'ver'],
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
    if (tenant !== this.tenantId) return this.fail(entraErrors.tenantNotFound(tenant));
    const grantType = form.get('grant_type');
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
