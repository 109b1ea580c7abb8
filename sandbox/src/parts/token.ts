/**
 * The local Entra ID token endpoint part: three app registrations (the service's, one for scripts, and the
 * operator console's sign-in, with an operator who holds its Connector.Admin role), the settings the Dataverse
 * emulator checks tokens with, and a credentials file for scripts and checks.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startTokenEndpoint } from '@stc/emulators';
import type { SandboxPart } from '../cli';
import { SCRIPTS_CLIENT_ID, SERVICE_CLIENT_ID } from './run';

/** The operator console's app registration (sign-in with Entra ID) and the operator its authorize page signs in. */
export const CONSOLE_CLIENT_ID = '3f0d5c2a-7b1e-4c9d-8a6f-2e4b1c0d9a73';
export const CONSOLE_ROLE = 'Connector.Admin';
export const CONSOLE_OPERATOR = {
  username: 'olive.operator@sandbox.onmicrosoft.com',
  name: 'Olive Operator',
  roles: [CONSOLE_ROLE],
};

/** What the service needs for the console's Entra ID sign-in. */
export interface ConsoleSignInInfo {
  clientId: string;
  clientSecret: string;
  requiredRole: string;
  operator: { username: string; name: string };
}

/** What `credentials.json` in the run folder holds: enough to get a token for the Dataverse emulator. */
export interface ScriptCredentials {
  tokenEndpoint: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** `http://127.0.0.1:PORT/.default`: the emulator's origin, as for a real environment. */
  scope: string;
  /** The CA of the endpoint's TLS certificate. */
  caCertPath: string;
  /** The systemuserid the scripts' app user maps to. */
  userId: string;
}

export interface EntraPartInfo {
  authorityHost: string;
  tenantId: string;
  caCertPath: string;
  credentials: ScriptCredentials;
  consoleSignIn: ConsoleSignInInfo;
}

export const CREDENTIALS_FILE = 'credentials.json';

export const tokenPart: SandboxPart = {
  name: 'token',
  async start(options, _started, run) {
    if (options.dataverseAuth !== 'entra') return undefined;
    const consoleSecret = randomBytes(24).toString('base64url');
    const endpoint = await startTokenEndpoint({
      clients: [
        {
          clientId: SERVICE_CLIENT_ID,
          clientSecret: run.secrets.serviceClientSecret,
          objectId: run.users.service.azureactivedirectoryobjectid,
          displayName: 'Stripe Connector Service',
        },
        {
          clientId: SCRIPTS_CLIENT_ID,
          clientSecret: run.secrets.scriptsClientSecret,
          objectId: run.users.scripts.azureactivedirectoryobjectid,
          displayName: 'Sandbox Scripts',
        },
        {
          clientId: CONSOLE_CLIENT_ID,
          clientSecret: consoleSecret,
          displayName: 'Stripe Connector Console',
          // The port is fixed before the parts start (runSandbox); sign-out comes back to /console/.
          redirectUris: [
            `http://127.0.0.1:${options.servicePort}/console/signin/entra/callback`,
            `http://127.0.0.1:${options.servicePort}/console/`,
          ],
        },
      ],
      users: [CONSOLE_OPERATOR],
    });
    // The port is fixed before the parts start (runSandbox), so the audience is known here.
    const audience = `http://127.0.0.1:${options.dataversePort}`;
    const credentials: ScriptCredentials = {
      tokenEndpoint: endpoint.tokenEndpoint,
      authorityHost: endpoint.authorityHost,
      tenantId: endpoint.tenantId,
      clientId: SCRIPTS_CLIENT_ID,
      clientSecret: run.secrets.scriptsClientSecret,
      scope: `${audience}/.default`,
      caCertPath: endpoint.caCertPath,
      userId: run.users.scripts.systemuserid,
    };
    const file = path.join(run.dir, CREDENTIALS_FILE);
    fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    return {
      name: 'token',
      url: endpoint.tokenEndpoint,
      note: `client credentials for scripts: ${path.join(run.displayDir, CREDENTIALS_FILE)}`,
      stop: () => endpoint.close(),
      dataverseAuth: { mode: 'entra', issuer: endpoint.issuer, audience, jwks: endpoint.jwks },
      entra: {
        authorityHost: endpoint.authorityHost,
        tenantId: endpoint.tenantId,
        caCertPath: endpoint.caCertPath,
        credentials,
        consoleSignIn: {
          clientId: CONSOLE_CLIENT_ID,
          clientSecret: consoleSecret,
          requiredRole: CONSOLE_ROLE,
          operator: CONSOLE_OPERATOR,
        },
      },
    };
  },
};

/**
 * A client-credentials token from the local endpoint, over TLS trusting its CA (this process was not started
 * with NODE_EXTRA_CA_CERTS, so the CA is given to the request).
 */
export function requestToken(credentials: ScriptCredentials): Promise<{ token: string; expiresAt: number }> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
    scope: credentials.scope,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(
      credentials.tokenEndpoint,
      {
        method: 'POST',
        ca: fs.readFileSync(credentials.caCertPath),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(text || '{}') as {
            access_token?: string;
            expires_in?: number;
            error_description?: string;
          };
          if (res.statusCode !== 200 || !parsed.access_token) {
            reject(
              new Error(`token request failed (${res.statusCode}): ${parsed.error_description ?? text}`),
            );
            return;
          }
          resolve({ token: parsed.access_token, expiresAt: Date.now() + (parsed.expires_in ?? 3600) * 1000 });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A bearer-token source that asks again five minutes before the token expires. */
export function tokenSource(credentials: ScriptCredentials): () => Promise<string> {
  let current: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (!current || current.expiresAt - Date.now() < 5 * 60_000) current = await requestToken(credentials);
    return current.token;
  };
}
