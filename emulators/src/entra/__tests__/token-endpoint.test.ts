/**
 * The local Entra ID endpoint against the real @azure/identity credentials. The credentials run in a
 * child process (tsx) started with NODE_EXTRA_CA_CERTS pointing at the endpoint's CA: MSAL accepts only
 * https authorities, and Node reads extra CAs only at process start, so this jest worker cannot do it.
 * Raw error responses are checked in-process over https with the CA passed explicitly.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  createClientCertificate,
  startTokenEndpoint,
  type TokenEndpoint,
  type TokenEndpointOptions,
} from '..';

const DATAVERSE = 'https://contoso.crm.dynamics.com';
const tsxCli = require.resolve('tsx/cli');

interface ChildResult {
  tokens: string[];
  error?: { name: string; message: string };
}

function getTokensInChild(
  endpoint: TokenEndpoint,
  input: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  const args = {
    tenantId: endpoint.tenantId,
    authorityHost: endpoint.authorityHost,
    scope: `${DATAVERSE}/.default`,
    times: 1,
    ...input,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsxCli, join(__dirname, 'get-token.child.ts'), JSON.stringify(args)],
      { env: { ...process.env, ...env, NODE_EXTRA_CA_CERTS: endpoint.caCertPath }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        if (!line) return reject(new Error(`child failed: ${err?.message ?? ''} ${stderr}`));
        resolve(JSON.parse(line) as ChildResult);
      },
    );
  });
}

function post(
  endpoint: TokenEndpoint,
  path: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      `${endpoint.authorityHost}${path}`,
      {
        method: 'POST',
        ca: readFileSync(endpoint.caCertPath),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The tenant under test: a secret client, a certificate client, a system- and a user-assigned identity. */
function tenantOf(certificatePem: string): TokenEndpointOptions {
  return {
    clients: [
      {
        clientId: 'secret-app',
        clientSecret: 'correct-horse',
        objectId: '11111111-2222-3333-4444-555555555555',
      },
      { clientId: 'cert-app', certificatePem },
    ],
    managedIdentities: [
      { clientId: 'mi-system', objectId: '66666666-7777-4888-9999-000000000000' },
      { clientId: 'mi-user', userAssigned: true },
    ],
    audience: DATAVERSE,
  };
}

describe('local Entra ID token endpoint', () => {
  let endpoint: TokenEndpoint;
  let certDir: string;
  let certificatePath: string;

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'stc-entra-test-'));
    const cert = await createClientCertificate(certDir, 'cert-app');
    certificatePath = cert.pemPath;
    endpoint = await startTokenEndpoint(tenantOf(cert.certificatePem));
  }, 30_000);

  afterAll(async () => {
    await endpoint?.close();
    await rm(certDir, { recursive: true, force: true });
  });

  it('issues ClientSecretCredential an RS256 token for the resource that verifies against its keys, and MSAL caches it', async () => {
    const before = endpoint.stats().tokensIssued;
    const result = await getTokensInChild(endpoint, {
      clientId: 'secret-app',
      clientSecret: 'correct-horse',
      times: 3,
    });
    expect(result.error).toBeUndefined();
    expect(result.tokens).toHaveLength(3);
    expect(new Set(result.tokens).size).toBe(1);
    expect(endpoint.stats().tokensIssued - before).toBe(1);

    const { payload, protectedHeader } = await jwtVerify(result.tokens[0], createLocalJWKSet(endpoint.jwks), {
      issuer: endpoint.issuer,
      audience: DATAVERSE,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      appid: 'secret-app',
      tid: endpoint.tenantId,
      oid: '11111111-2222-3333-4444-555555555555',
      appidacr: '1',
    });
    expect(payload.exp! - payload.iat!).toBeGreaterThan(3000);
    expect(endpoint.stats().requests).toEqual(
      expect.arrayContaining([
        `GET /${endpoint.tenantId}/v2.0/.well-known/openid-configuration`,
        `POST /${endpoint.tenantId}/oauth2/v2.0/token`,
      ]),
    );
  }, 60_000);

  it('issues ClientCertificateCredential a token after checking its signed client assertion', async () => {
    const result = await getTokensInChild(endpoint, { clientId: 'cert-app', certificatePath });
    expect(result.error).toBeUndefined();
    const { payload } = await jwtVerify(result.tokens[0], createLocalJWKSet(endpoint.jwks), {
      issuer: endpoint.issuer,
      audience: DATAVERSE,
    });
    expect(payload).toMatchObject({ appid: 'cert-app', appidacr: '2' });
  }, 60_000);

  it('issues ManagedIdentityCredential tokens App Service style, system- and user-assigned', async () => {
    const system = await getTokensInChild(
      endpoint,
      { managedIdentityClientId: '' },
      endpoint.managedIdentityEnv,
    );
    expect(system.error).toBeUndefined();
    const { payload } = await jwtVerify(system.tokens[0], createLocalJWKSet(endpoint.jwks), {
      issuer: endpoint.issuer,
      audience: DATAVERSE,
    });
    expect(payload).toMatchObject({ appid: 'mi-system', oid: '66666666-7777-4888-9999-000000000000' });

    const user = await getTokensInChild(
      endpoint,
      { managedIdentityClientId: 'mi-user' },
      endpoint.managedIdentityEnv,
    );
    expect(user.error).toBeUndefined();
    expect(JSON.parse(Buffer.from(user.tokens[0].split('.')[1], 'base64url').toString())).toMatchObject({
      appid: 'mi-user',
    });

    const wrongHeader = await getTokensInChild(
      endpoint,
      { managedIdentityClientId: '' },
      { ...endpoint.managedIdentityEnv, IDENTITY_HEADER: 'guessed' },
    );
    expect(wrongHeader.tokens).toHaveLength(0);
    expect(wrongHeader.error?.message).toMatch(/X-IDENTITY-HEADER|401/);
  }, 90_000);

  it('refuses a wrong secret with AADSTS7000215, which the credential reports', async () => {
    const result = await getTokensInChild(endpoint, { clientId: 'secret-app', clientSecret: 'wrong' });
    expect(result.tokens).toHaveLength(0);
    expect(result.error?.message).toContain('AADSTS7000215');
  }, 60_000);

  it('refuses a certificate the app does not have', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'stc-entra-other-'));
    try {
      const other = await createClientCertificate(otherDir, 'someone-else');
      const result = await getTokensInChild(endpoint, {
        clientId: 'cert-app',
        certificatePath: other.pemPath,
      });
      expect(result.error?.message).toContain('AADSTS700027');
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  }, 60_000);

  const tokenPath = () => `/${endpoint.tenantId}/oauth2/v2.0/token`;
  const scope = `${DATAVERSE}/.default`;

  it.each([
    [
      'wrong secret',
      { client_id: 'secret-app', client_secret: 'nope', scope },
      401,
      'invalid_client',
      7000215,
    ],
    [
      'unknown application',
      { client_id: 'ghost', client_secret: 'x', scope },
      400,
      'unauthorized_client',
      700016,
    ],
    ['no secret nor assertion', { client_id: 'secret-app', scope }, 401, 'invalid_client', 7000218],
    [
      'scope without /.default',
      { client_id: 'secret-app', client_secret: 'correct-horse', scope: DATAVERSE },
      400,
      'invalid_scope',
      1002012,
    ],
    [
      'another resource',
      {
        client_id: 'secret-app',
        client_secret: 'correct-horse',
        scope: 'https://graph.microsoft.com/.default',
      },
      400,
      'invalid_resource',
      500011,
    ],
  ])('answers %s with an Entra error body', async (_name, form, status, error, code) => {
    const res = await post(endpoint, tokenPath(), { grant_type: 'client_credentials', ...form });
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(error);
    expect(res.body.error_codes).toEqual([code]);
    expect(String(res.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(res.body.trace_id).toEqual(expect.any(String));
  });

  it('answers an unknown tenant and an unsupported grant type as Entra does', async () => {
    const tenant = await post(endpoint, '/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token', {
      grant_type: 'client_credentials',
      client_id: 'secret-app',
      client_secret: 'correct-horse',
      scope,
    });
    expect(tenant.status).toBe(400);
    expect(tenant.body.error_codes).toEqual([90002]);
    const grant = await post(endpoint, tokenPath(), {
      grant_type: 'password',
      client_id: 'secret-app',
      scope,
    });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
  });

  it('does not sign tokens with a key other than the one it publishes', async () => {
    const res = await post(endpoint, tokenPath(), {
      grant_type: 'client_credentials',
      client_id: 'secret-app',
      client_secret: 'correct-horse',
      scope,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    const other = await startTokenEndpoint({ clients: [] });
    try {
      await expect(jwtVerify(String(res.body.access_token), createLocalJWKSet(other.jwks))).rejects.toThrow();
    } finally {
      await other.close();
    }
  }, 30_000);
});
