/**
 * The credential flow end to end: ClientSecretCredential (from createCredential) → the local Entra ID
 * endpoint → the client → the Dataverse emulator in `entra` mode, which checks the token and maps it to the
 * application user. The client runs in a tsx child process started with NODE_EXTRA_CA_CERTS set to the
 * endpoint's CA, because Node reads extra CAs only when a process starts and MSAL accepts only https.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from '@stc/solution';
import {
  createClientCertificate,
  SANDBOX_ADMIN,
  startDataverseEmulator,
  startTokenEndpoint,
  type DataverseEmulator,
  type TokenEndpoint,
} from '@stc/emulators';
import { runJsonChild } from '@stc/testkit';

const RESOURCE = 'https://stcsandbox.crm.dynamics.com';
const CLIENT_ID = '2f6d0c1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f';
const OBJECT_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const APP_USER_ID = '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918';

interface ChildOutput {
  single?: { id: string; created: boolean };
  written?: number;
  read?: Record<string, unknown>;
  stats?: { requests: number };
  error?: { name: string; message: string; status: number; code: string; transient: boolean };
}

const CERT_CLIENT_ID = '4c3b2a19-0817-4e6d-8c5b-4a3928170615';
const CERT_APP_USER_ID = '1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9';
const MI_CLIENT_ID = '5d4c3b2a-1908-4f7e-8d6c-5b4a39281706';
const MI_APP_USER_ID = '2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901';

// Every test starts a tsx child process: generous on a loaded machine.
jest.setTimeout(120_000);

let endpoint: TokenEndpoint;
let emulator: DataverseEmulator;
let certDir: string;
let certificatePath: string;

function runChild(input: Record<string, unknown>, env: Record<string, string> = {}): Promise<ChildOutput> {
  const args = {
    baseUrl: emulator.url,
    scope: `${RESOURCE}/.default`,
    tenantId: endpoint.tenantId,
    clientId: CLIENT_ID,
    clientSecret: 'sandbox-secret',
    authorityHost: endpoint.authorityHost,
    rows: 200,
    ...input,
  };
  return runJsonChild<ChildOutput>(join(__dirname, 'entra-flow.child.ts'), args, {
    env: { ...process.env, ...env, NODE_EXTRA_CA_CERTS: endpoint.caCertPath },
    timeoutMs: 90_000,
  });
}

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'stc-dv-cert-'));
  const certificate = await createClientCertificate(certDir, 'stripe-connector-cert');
  certificatePath = certificate.pemPath;
  endpoint = await startTokenEndpoint({
    clients: [
      { clientId: CERT_CLIENT_ID, certificatePem: certificate.certificatePem },
      {
        clientId: CLIENT_ID,
        clientSecret: 'sandbox-secret',
        objectId: OBJECT_ID,
        displayName: 'Stripe Connector',
      },
      { clientId: 'unlicensed-app', clientSecret: 'other-secret' },
    ],
    managedIdentities: [{ clientId: MI_CLIENT_ID }],
  });
  emulator = await startDataverseEmulator({
    model,
    auth: { mode: 'entra', issuer: endpoint.issuer, audience: RESOURCE, jwks: endpoint.jwks },
    systemUsers: [
      SANDBOX_ADMIN,
      {
        systemuserid: APP_USER_ID,
        fullname: 'Stripe Connector',
        applicationid: CLIENT_ID,
        azureactivedirectoryobjectid: OBJECT_ID,
      },
      {
        systemuserid: CERT_APP_USER_ID,
        fullname: 'Stripe Connector (certificate)',
        applicationid: CERT_CLIENT_ID,
      },
      {
        systemuserid: MI_APP_USER_ID,
        fullname: 'Stripe Connector (managed identity)',
        applicationid: MI_CLIENT_ID,
      },
    ],
  });
}, 30_000);

afterAll(async () => {
  await emulator?.close();
  await endpoint?.close();
  await rm(certDir, { recursive: true, force: true });
});

beforeEach(() => emulator.store.clear());

it('writes through the emulator in entra mode as the application user, with one token for every request', async () => {
  const issuedBefore = endpoint.stats().tokensIssued;
  const out = await runChild({});
  expect(out.error).toBeUndefined();
  expect(out.single?.created).toBe(true);
  expect(out.written).toBe(200);
  expect(emulator.store.count('stc_payments')).toBe(201);
  expect(out.read?._createdby_value).toBe(APP_USER_ID);
  expect(out.stats!.requests).toBeGreaterThan(3);
  expect(endpoint.stats().tokensIssued - issuedBefore).toBe(1);
}, 90_000);

it('writes with the certificate credential (a signed client assertion) as its own application user', async () => {
  const out = await runChild({ kind: 'certificate', clientId: CERT_CLIENT_ID, certificatePath, rows: 20 });
  expect(out.error).toBeUndefined();
  expect(out.written).toBe(20);
  expect(out.read?._createdby_value).toBe(CERT_APP_USER_ID);
  expect(emulator.store.count('stc_payments')).toBe(21);
}, 90_000);

it('writes with the managed identity credential (system-assigned, App Service style endpoint)', async () => {
  const out = await runChild(
    { kind: 'managed-identity', clientId: '', rows: 20 },
    endpoint.managedIdentityEnv,
  );
  expect(out.error).toBeUndefined();
  expect(out.written).toBe(20);
  expect(out.read?._createdby_value).toBe(MI_APP_USER_ID);

  const unknown = await runChild(
    { kind: 'managed-identity', clientId: 'no-such-identity', rows: 1 },
    endpoint.managedIdentityEnv,
  );
  expect(unknown.error).toMatchObject({ status: 401, transient: false });
  expect(unknown.error!.message).toMatch(/No managed identity found/);
}, 90_000);

it('reports a wrong client secret as a permanent 401 naming Entra’s AADSTS code, and writes nothing', async () => {
  const out = await runChild({ clientSecret: 'wrong', rows: 1 });
  expect(out.error).toMatchObject({ name: 'DataverseError', status: 401, transient: false });
  expect(out.error!.message).toContain('AADSTS7000215');
  expect(emulator.store.count('stc_payments')).toBe(0);
});

it('reports a token for another resource, refused by Dataverse, as a 401 with what to check', async () => {
  const out = await runChild({ scope: 'https://other.crm.dynamics.com/.default', rows: 1 });
  expect(out.error).toMatchObject({ status: 401, code: '0x80072243', transient: false });
  expect(out.error!.message).toMatch(/scope/);
  expect(emulator.store.count('stc_payments')).toBe(0);
});

it('reports an application with no application user in the environment as 403', async () => {
  const out = await runChild({ clientId: 'unlicensed-app', clientSecret: 'other-secret', rows: 1 });
  expect(out.error).toMatchObject({ status: 403, transient: false });
  expect(out.error!.message).toMatch(/not a member of the organization.*add one/);
});
