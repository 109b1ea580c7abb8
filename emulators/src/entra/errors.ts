/** The errors Entra ID answers failed token requests with, and the body it sends them in. */
import { randomUUID } from 'node:crypto';

export interface EntraErrorSpec {
  status: number;
  error: string;
  code: number;
  message: string;
}

/** The body Entra ID sends with a failed token request. */
export function entraErrorBody(spec: EntraErrorSpec, authorityHost: string): Record<string, unknown> {
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

const NOT_INSTALLED =
  'This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.';

/** Entra's answers to the token requests it refuses, by cause (AADSTS codes and wording as Entra sends them). */
export const entraErrors = {
  tenantNotFound: (tenant: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  unsupportedGrant: (grantType: string | null): EntraErrorSpec => ({
    status: 400,
    error: 'unsupported_grant_type',
    code: 70003,
    message: `The app requested an unsupported grant type '${grantType ?? ''}'. This endpoint issues tokens for client_credentials and authorization_code only.`,
  }),
  unknownClient: (clientId: string, tenantId: string): EntraErrorSpec => ({
    status: 400,
    error: 'unauthorized_client',
    code: 700016,
    message: `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. ${NOT_INSTALLED} You may have sent your authentication request to the wrong tenant.`,
  }),
  invalidSecret: (clientId: string): EntraErrorSpec => ({
    status: 401,
    error: 'invalid_client',
    code: 7000215,
    message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  assertionType: (expected: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 50027,
    message: `Invalid client_assertion_type: expected '${expected}'.`,
  }),
  noCredential: (): EntraErrorSpec => ({
    status: 401,
    error: 'invalid_client',
    code: 7000218,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  invalidScope: (scopes: string[]): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_scope',
    code: 1002012,
    message: `The provided value for scope ${scopes.join(' ') || '(none)'} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  unknownResource: (resource: string, tenantId: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_resource',
    code: 500011,
    message: `The resource principal named ${resource} was not found in the tenant named ${tenantId}. ${NOT_INSTALLED} You might have sent your authentication request to the wrong tenant.`,
  }),
  notForm: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 900144,
    message: "The request body must contain the following parameter: 'grant_type'.",
  }),
  noReplyAddress: (clientId: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 500113,
    message: `No reply address is registered for the application '${clientId}'.`,
  }),
  redirectMismatch: (redirectUri: string, clientId: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 50011,
    message: `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
  }),
  unsupportedResponseType: (responseType: string | null): EntraErrorSpec => ({
    status: 400,
    error: 'unsupported_response_type',
    code: 700054,
    message: `response_type '${responseType ?? ''}' is not enabled for the application.`,
  }),
  invalidChallengeMethod: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 50148,
    message: "The code_challenge_method must be 'S256' or 'plain'.",
  }),
  loginRequired: (): EntraErrorSpec => ({
    status: 400,
    error: 'login_required',
    code: 50058,
    message: 'A silent sign-in request was sent but no user is signed in.',
  }),
  consentDeclined: (): EntraErrorSpec => ({
    status: 400,
    error: 'access_denied',
    code: 65004,
    message: 'User declined to consent to access the app.',
  }),
  invalidCode: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 9002313,
    message: 'Invalid request. Request is malformed or invalid.',
  }),
  codeRedeemed: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 54005,
    message:
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  }),
  codeExpired: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 70008,
    message:
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
  }),
  verifierMismatch: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 501481,
    message: 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
  }),
  invalidRefreshToken: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 9002313,
    message:
      'Invalid request. Request is malformed or invalid. The refresh token is not one this tenant issued.',
  }),
  refreshTokenRevoked: (): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_grant',
    code: 50173,
    message:
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
  }),
  logoutRedirectMismatch: (uri: string, clientId: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    code: 50011,
    message: `The redirect URI '${uri}' specified in the sign-out request does not match the redirect URIs configured for the application '${clientId}'.`,
  }),
  invalidTenant: (tenant: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_tenant',
    code: 90002,
    message: `Tenant '${tenant}' not found.`,
  }),
};
