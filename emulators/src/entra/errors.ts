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
    message: `The app requested an unsupported grant type '${grantType ?? ''}'. This endpoint issues tokens for client_credentials only.`,
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
  invalidTenant: (tenant: string): EntraErrorSpec => ({
    status: 400,
    error: 'invalid_tenant',
    code: 90002,
    message: `Tenant '${tenant}' not found.`,
  }),
};
