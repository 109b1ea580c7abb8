/**
 * The companion service as a child process (`service/src/main.ts` with its configuration in environment
 * variables, as an admin runs it), its log in the run folder, Stripe's webhook pointed at its
 * `/webhooks/stripe`, and the solution's Dataverse webhook steps pointed at its `/webhooks/dataverse`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { registerSolutionSteps } from '@stc/emulators';
import type { SandboxOptions, SandboxPart } from '../cli';
import type { SandboxRun } from './run';
import type { EntraPartInfo } from './token';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const SERVICE_PROCESS = path.join(__dirname, 'service-process.ts');
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const SERVICE_LOG = 'service.log';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

interface ServiceEnvInput {
  options: SandboxOptions;
  run: SandboxRun;
  stripe: { url: string; apiKey: string };
  dataverseUrl: string;
  entra?: EntraPartInfo;
  postgresSchema?: string;
  /** The local alert receiver's entries (`json=http://…`), put beside the caller's ALERT_WEBHOOK_URLS. */
  alertWebhookUrls?: string[];
}

/** The service's environment: the caller's, with every setting the sandbox decides put on top. */
export function serviceEnvironment(input: ServiceEnvInput, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { options, run, stripe, dataverseUrl, entra } = input;
  const env: NodeJS.ProcessEnv = {
    ...base,
    STRIPE_API_KEY: stripe.apiKey,
    // The emulator's key is a test key; the service serves test mode only.
    STRIPE_MODE: 'test',
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: run.secrets.stripeWebhookSecrets.join(','),
    DATAVERSE_URL: dataverseUrl,
    DATAVERSE_WEBHOOK_KEY: run.secrets.dataverseWebhookKey,
    DATAVERSE_WEBHOOK_HEADER: run.secrets.dataverseWebhookHeader,
    DATAVERSE_SERVICE_USER_ID: run.users.service.systemuserid,
    ADMIN_API_KEY: run.secrets.adminApiKey,
    PORT: String(options.servicePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: base.LOG_LEVEL ?? 'info',
    // Events are picked up as they arrive (intake notifies the workers); polling only catches stragglers.
    WORKER_POLL_MS: base.WORKER_POLL_MS ?? '50',
    SHUTDOWN_GRACE_MS: base.SHUTDOWN_GRACE_MS ?? '5000',
    // The caller's receivers stay; the sandbox's own is added beside them.
    ALERT_WEBHOOK_URLS: [base.ALERT_WEBHOOK_URLS?.trim(), ...(input.alertWebhookUrls ?? [])]
      .filter(Boolean)
      .join(','),
    // Rules checked every 2 s, so an alert reaches the receiver seconds after its cause.
    ALERT_INTERVAL_SECONDS: base.ALERT_INTERVAL_SECONDS ?? '2',
  };
  if (entra) {
    Object.assign(env, {
      DATAVERSE_AUTH: 'client-secret',
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_CLIENT_ID: run.users.service.applicationid,
      AZURE_CLIENT_SECRET: run.secrets.serviceClientSecret,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      // Node reads extra CAs only at start: MSAL in the service trusts the local endpoint through this.
      NODE_EXTRA_CA_CERTS: entra.caCertPath,
      // The console's sign-in with Entra ID, as an operator of the local tenant.
      CONSOLE_ENTRA_TENANT_ID: entra.tenantId,
      CONSOLE_ENTRA_CLIENT_ID: entra.consoleSignIn.clientId,
      CONSOLE_ENTRA_CLIENT_SECRET: entra.consoleSignIn.clientSecret,
      CONSOLE_ENTRA_AUTHORITY_HOST: entra.authorityHost,
      CONSOLE_PUBLIC_URL: `http://127.0.0.1:${options.servicePort}`,
      CONSOLE_ENTRA_REQUIRED_ROLE: entra.consoleSignIn.requiredRole,
    });
  } else {
    env.DATAVERSE_AUTH = 'none';
    for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_AUTHORITY_HOST']) delete env[name];
    env.AZURE_CLIENT_ID = run.users.service.applicationid;
  }
  if (options.store === 'postgres') {
    env.DATABASE_URL = base.DATABASE_URL || DEFAULT_DATABASE_URL;
    env.DATABASE_SCHEMA = input.postgresSchema;
  } else {
    delete env.DATABASE_URL;
    env.SQLITE_PATH = path.join(run.dir, 'connector.db');
  }
  return env;
}

/** Reads the service's JSON log until it says where it listens (PORT may be 0), or the process ends. */
async function waitForListening(child: ChildProcess, logPath: string): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  for (;;) {
    const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
    for (const line of text.split('\n')) {
      if (!line.includes('service listening')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'service listening' && entry.url) return entry.url;
      } catch {
        // A line still being written; read again.
      }
    }
    if (exited || Date.now() > deadline) {
      const tail = text.trim().split('\n').slice(-15).join('\n');
      throw new Error(
        `the service ${exited ?? `did not listen within ${START_TIMEOUT_MS / 1000} s`}; its log (${logPath}) ends:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export const servicePart: SandboxPart = {
  name: 'service',
  async start(options, started, run) {
    const stripe = started.get('stripe')?.stripe;
    const dataverse = started.get('dataverse')?.dataverse;
    if (!stripe || !dataverse) throw new Error('the service part needs the Stripe and Dataverse parts first');
    const entra = started.get('token')?.entra;
    const alertWebhookUrls = started.get('alerts')?.alerts?.webhookUrls;
    // PostgreSQL: a schema of this run's own, dropped at the end, so runs never share an inbox.
    const postgresSchema =
      options.store === 'postgres' ? `stc_sandbox_${randomBytes(4).toString('hex')}` : undefined;
    const env = serviceEnvironment(
      { options, run, stripe, dataverseUrl: dataverse.url, entra, postgresSchema, alertWebhookUrls },
      process.env,
    );
    const logPath = path.join(run.dir, SERVICE_LOG);
    const log = fs.openSync(logPath, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', SERVICE_PROCESS], {
      cwd: REPO_ROOT,
      env,
      stdio: ['pipe', log, log],
      // Its own process group: Ctrl-C in the terminal reaches the sandbox, which stops the service once.
      detached: true,
    });
    fs.closeSync(log);
    // The sandbox dying without a stop still ends the service: its stdin closes (see service-process.ts).
    let stopping = false;
    child.once('exit', (code, signal) => {
      if (!stopping)
        console.error(
          `service: exited on its own (${signal ?? `code ${code}`}); its log: ${path.join(run.displayDir, SERVICE_LOG)}`,
        );
    });
    const stop = async () => {
      stopping = true;
      stripe.setWebhook(null);
      await stopChild(child);
      if (postgresSchema) await dropSchema(env.DATABASE_URL!, postgresSchema);
    };
    let url: string;
    try {
      url = await waitForListening(child, logPath);
    } catch (error) {
      await stop();
      throw error;
    }
    stripe.setWebhook({ url: `${url}/webhooks/stripe`, secret: run.secrets.stripeWebhookSecrets });
    // The solution's steps, as importing it registers them, with the key the admin would set.
    registerSolutionSteps(dataverse, {
      url: `${url}/webhooks/dataverse`,
      headers: { [run.secrets.dataverseWebhookHeader]: run.secrets.dataverseWebhookKey },
    });
    return {
      name: 'service',
      url,
      note: `pid ${child.pid}, ${options.store}, log: ${path.join(run.displayDir, SERVICE_LOG)}`,
      // The sandbox's own admin key, generated for this run: what signs in to the console.
      lines: [
        `console: ${url}/console (admin key: ${run.secrets.adminApiKey})`,
        ...(entra
          ? [
              `console: or "Sign in with Microsoft Entra ID", which signs ${entra.consoleSignIn.operator.name} (${entra.consoleSignIn.operator.username}) in at once`,
            ]
          : []),
      ],
      pid: child.pid,
      stop,
    };
  },
};
