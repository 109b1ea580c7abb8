/**
 * The service's configuration: read once from environment variables, typed and validated at start.
 * A wrong or missing variable stops the service with an error that names every offending variable.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  OutboundSettingsError,
  readOutboundSettings,
  STRIPE_MODES,
  stripeKeyMode,
  type OutboundSettings,
  type StripeMode,
} from './outbound';
import type { AlertSettings } from '../alerts';
import { ALERT_VARIABLES, AlertSettingsError, readAlertSettings } from './alerts';
import {
  CONSOLE_ENTRA_VARIABLES,
  readConsoleEntraSettings,
  type ConsoleEntraSettings,
} from './console-entra';

export { AlertSettingsError, parseAlertReceivers, readAlertSettings } from './alerts';
export { ENTRA_CALLBACK_PATH, type ConsoleEntraSettings } from './console-entra';
export {
  DEFAULT_APPROVAL_THRESHOLDS,
  parseApprovalThresholds,
  type ApprovalThresholds,
  DEFAULT_OUTBOUND_SETTINGS,
  OutboundSettingsError,
  readOutboundSettings,
  stripeKeyMode,
  type OutboundSettings,
  type StripeMode,
} from './outbound';

const DATAVERSE_AUTH_MODES = ['client-secret', 'certificate', 'managed-identity', 'default', 'none'] as const;
export type DataverseAuthMode = (typeof DATAVERSE_AUTH_MODES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const required = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .trim()
    .min(1, { error: `${name} is required` });
const optional = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
/** A Stripe connected account's id, as a setting or an option names one. */
export const isConnectedAccountId = (id: string): boolean => /^acct_\w+$/.test(id);
const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

const envSchema = z
  .object({
    STRIPE_API_KEY: required('STRIPE_API_KEY'),
    /** The one Stripe mode the service serves; STRIPE_API_KEY must be of it (checked in dependentProblems). */
    STRIPE_MODE: required('STRIPE_MODE').pipe(
      z.enum(STRIPE_MODES, { error: 'STRIPE_MODE must be test or live' }),
    ),
    STRIPE_WEBHOOK_SECRET: required('STRIPE_WEBHOOK_SECRET')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0, { error: 'STRIPE_WEBHOOK_SECRET needs at least one secret' })
      .refine((list) => list.every((s) => s.startsWith('whsec_')), {
        error: 'STRIPE_WEBHOOK_SECRET: every secret starts with whsec_',
      }),
    /** e.g. `http://127.0.0.1:12111` for the Stripe emulator; unset for api.stripe.com. */
    STRIPE_API_BASE: optional.pipe(
      z.url({ error: 'STRIPE_API_BASE must be a URL such as http://127.0.0.1:12111' }).optional(),
    ),
    STRIPE_MAX_NETWORK_RETRIES: int(0, 2),
    STRIPE_TIMEOUT_MS: int(1000, 30_000),
    /** The share of Stripe's limits the service's calls may use together (the merchant's own calls need the rest). */
    STRIPE_BUDGET_SHARE: z.coerce
      .number({ error: 'STRIPE_BUDGET_SHARE must be a number above 0 and at most 1, e.g. 0.5' })
      .gt(0, { error: 'STRIPE_BUDGET_SHARE must be above 0 and at most 1, e.g. 0.5' })
      .max(1, { error: 'STRIPE_BUDGET_SHARE must be above 0 and at most 1, e.g. 0.5' })
      .default(0.5),
    /** Requests per second Stripe allows the account in STRIPE_MODE; unset: 100 in live mode, 25 in test mode. */
    STRIPE_RATE_LIMIT: optional.pipe(
      z.coerce
        .number<string>({
          error: 'STRIPE_RATE_LIMIT must be a whole number of requests per second, e.g. 100',
        })
        .int({ error: 'STRIPE_RATE_LIMIT must be a whole number of requests per second, e.g. 100' })
        .min(1, { error: 'STRIPE_RATE_LIMIT must be at least 1' })
        .optional(),
    ),
    /** Requests per second Stripe allows one endpoint (`GET /v1/payment_intents/{id}` for any id is one). */
    STRIPE_ENDPOINT_RATE_LIMIT: int(1, 25),
    DATAVERSE_URL: required('DATAVERSE_URL').pipe(
      z.url({ error: 'DATAVERSE_URL must be a URL such as https://contoso.crm.dynamics.com' }),
    ),
    DATAVERSE_AUTH: z
      .enum(DATAVERSE_AUTH_MODES, {
        error: `DATAVERSE_AUTH must be one of ${DATAVERSE_AUTH_MODES.join(', ')}`,
      })
      .default('client-secret'),
    AZURE_TENANT_ID: optional,
    AZURE_CLIENT_ID: optional,
    AZURE_CLIENT_SECRET: optional,
    AZURE_CLIENT_CERTIFICATE_PATH: optional,
    AZURE_AUTHORITY_HOST: optional.pipe(
      z.url({ error: 'AZURE_AUTHORITY_HOST must be an https URL' }).optional(),
    ),
    DATABASE_URL: optional.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, { error: 'DATABASE_URL must be a postgres:// URL' })
        .optional(),
    ),
    DATABASE_POOL_MAX: int(1, 10),
    DATABASE_QUERY_TIMEOUT_MS: int(100, 30_000),
    DATABASE_CONNECT_TIMEOUT_MS: int(100, 10_000),
    DATABASE_SCHEMA: optional
      .default('public')
      .pipe(
        z
          .string()
          .regex(/^[a-z_][a-z0-9_]*$/, { error: 'DATABASE_SCHEMA must be a lower-case SQL identifier' }),
      ),
    SQLITE_PATH: optional.default('data/connector.db'),
    SQLITE_SYNCHRONOUS: z
      .enum(['normal', 'full'], { error: 'SQLITE_SYNCHRONOUS must be normal or full' })
      .default('normal'),
    DATAVERSE_WEBHOOK_KEY: required('DATAVERSE_WEBHOOK_KEY').min(16, {
      error: 'DATAVERSE_WEBHOOK_KEY must be at least 16 characters',
    }),
    DATAVERSE_WEBHOOK_HEADER: optional.default('x-stc-webhook-key'),
    ADMIN_API_KEY: required('ADMIN_API_KEY').min(16, {
      error: 'ADMIN_API_KEY must be at least 16 characters',
    }),
    PORT: int(0, 3000).pipe(z.number().max(65535, { error: 'PORT must be at most 65535' })),
    HOST: optional.default('0.0.0.0'),
    LOG_LEVEL: z
      .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
      .default('info'),
    WEBHOOK_MAX_BODY_BYTES: int(1024, 1_048_576),
    // Enough events at once for their Dataverse writes to fill batches; one object's events stay serialised.
    WORKER_CONCURRENCY: int(0, 128),
    DATAVERSE_BATCH_SIZE: int(1, 100).pipe(
      z.number().max(1000, { error: 'DATAVERSE_BATCH_SIZE must be at most 1000 (a $batch takes 1,000)' }),
    ),
    DATAVERSE_BATCH_DELAY_MS: int(0, 150),
    DATAVERSE_BATCHES_IN_FLIGHT: int(1, 4),
    WORKER_POLL_MS: int(10, 250),
    WORKER_GATHER_MS: int(0, 250),
    WORKER_LEASE_MS: int(1000, 60_000),
    // At most 10 minutes: a write begun by a handler counts as under way for 15 minutes at most (see the store).
    HANDLER_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(600_000, { error: 'HANDLER_TIMEOUT_MS must be at most 600000 (10 minutes)' })
      .default(55_000),
    RETRY_MAX_ATTEMPTS: int(1, 10),
    RETRY_BASE_MS: int(1, 1000),
    RETRY_MAX_MS: int(1, 3_600_000),
    RETRY_OUTAGE_HOURS: z.coerce.number().min(0).default(24),
    SHUTDOWN_GRACE_MS: int(0, 20_000),
    /** Folder of mapping files, loaded and checked at start; unset: the shipped `service/mappings/`. */
    MAPPINGS_DIR: optional,
    /** How often the active mapping version is read from the store (activations in other processes); 0: never. */
    MAPPINGS_POLL_SECONDS: z.coerce.number().min(0).default(5),
    /** true: a payment made without a Checkout Session gets an order too (one Stripe list per payment). */
    ORDERS_FROM_PAYMENTS: optional.pipe(
      z.enum(['true', 'false'], { error: 'ORDERS_FROM_PAYMENTS must be true or false' }).optional(),
    ),
    /** GL accounts of the payout journals (YAML or JSON); unset: the shipped `reconciliation/gl-accounts.yaml`. */
    GL_ACCOUNTS_PATH: optional,
    // How often missed payouts are looked for; 0 turns the sweep off (events alone reconcile payouts).
    PAYOUT_SWEEP_INTERVAL_MINUTES: z.coerce.number().min(0).default(60),
    PAYOUT_SWEEP_LOOKBACK_DAYS: z.coerce.number().positive().default(7),
    /**
     * Connected accounts whose payouts the sweep looks through too (comma-separated `acct_…`), besides the
     * platform's: the payouts of accounts whose events come through the Connect webhook.
     */
    PAYOUT_SWEEP_ACCOUNTS: optional.pipe(
      z
        .string()
        .transform((text) =>
          text
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean),
        )
        .refine((ids) => ids.every(isConnectedAccountId), {
          error: 'PAYOUT_SWEEP_ACCOUNTS lists connected accounts, acct_…, separated by commas',
        })
        .optional(),
    ),
    /** How often payments written without their fee get it from balance transactions listed in bulk; 0: never. */
    PAYMENT_FEES_INTERVAL_SECONDS: z.coerce.number().min(0).default(5),
    /** How often the service reports to Dataverse: sync issues and its status row; 0 turns reporting off. */
    REPORT_INTERVAL_SECONDS: z.coerce.number().min(0).default(30),
    /** The service's address as Dynamics 365 users reach it, shown on the connection page. */
    SERVICE_PUBLIC_URL: optional.pipe(
      z
        .url({ error: 'SERVICE_PUBLIC_URL must be a URL such as https://stripe-connector.contoso.com' })
        .optional(),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.RETRY_MAX_MS < env.RETRY_BASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RETRY_MAX_MS'],
        message: 'RETRY_MAX_MS must be at least RETRY_BASE_MS',
      });
    }
  });

/** Settings that depend on another one, checked on the raw environment so they are reported with the rest. */
function dependentProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const auth = (env.DATAVERSE_AUTH ?? '').trim() || 'client-secret';
  const needs: Record<string, string[]> = {
    'client-secret': ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'],
    certificate: ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_CERTIFICATE_PATH'],
  };
  for (const name of needs[auth] ?? []) {
    if (!set(name)) problems.push(`${name} is required when DATAVERSE_AUTH=${auth}`);
  }
  if (set('AZURE_AUTHORITY_HOST') && !env.AZURE_AUTHORITY_HOST!.trim().startsWith('https://')) {
    problems.push('AZURE_AUTHORITY_HOST must be an https URL (MSAL refuses http)');
  }
  const modeProblem = stripeModeProblem(env.STRIPE_API_KEY, env.STRIPE_MODE);
  if (modeProblem) problems.push(modeProblem);
  // Live keys, Dataverse tokens and customer data never travel in plain http (the emulators serve test mode).
  if ((env.STRIPE_MODE ?? '').trim() === 'live') {
    for (const name of ['STRIPE_API_BASE', 'DATAVERSE_URL'])
      if (set(name) && !env[name]!.trim().toLowerCase().startsWith('https://'))
        problems.push(`${name} must be an https URL when STRIPE_MODE=live`);
  }
  return problems;
}

/**
 * The environment without its empty variables: `PORT=` or `WORKER_CONCURRENCY=` (a line of an env file left
 * blank) means unset, so the default applies, never the 0 an empty number would read as.
 */
function withoutEmpty(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
}

/** Why STRIPE_API_KEY cannot serve STRIPE_MODE, or null; never shows more of the key than its prefix. */
function stripeModeProblem(apiKey: string | undefined, mode: string | undefined): string | null {
  const key = (apiKey ?? '').trim();
  const wanted = (mode ?? '').trim();
  if (!key) return null;
  const keyMode = stripeKeyMode(key);
  if (!keyMode) {
    return 'STRIPE_API_KEY must be a secret or restricted key (sk_test_, rk_test_, sk_live_ or rk_live_), so that its mode can be checked against STRIPE_MODE';
  }
  if ((STRIPE_MODES as readonly string[]).includes(wanted) && keyMode !== wanted) {
    return `STRIPE_MODE is ${wanted} but STRIPE_API_KEY is a ${keyMode}-mode key (${key.slice(0, 8)}…): the service serves one mode, set both to the same`;
  }
  return null;
}

/** Stripe's limits (or the ones set) times the share; at least one call per second each. */
function stripeBudget(e: z.infer<typeof envSchema>): ServiceConfig['stripe']['budget'] {
  const accountLimit = e.STRIPE_RATE_LIMIT ?? (e.STRIPE_MODE === 'live' ? 100 : 25);
  return {
    perSecond: Math.max(1, Math.floor(accountLimit * e.STRIPE_BUDGET_SHARE)),
    endpointPerSecond: Math.max(1, Math.floor(e.STRIPE_ENDPOINT_RATE_LIMIT * e.STRIPE_BUDGET_SHARE)),
  };
}

export type StoreConfig =
  | {
      engine: 'postgres';
      databaseUrl: string;
      schema?: string;
      poolMax?: number;
      queryTimeoutMs?: number;
      connectTimeoutMs?: number;
    }
  | { engine: 'sqlite'; path: string; synchronous?: 'normal' | 'full' };

export interface ServiceConfig {
  stripe: {
    apiKey: string;
    /** The one mode served: events and refund requests of the other mode are refused. */
    mode: StripeMode;
    webhookSecrets: string[];
    /** Host, port and protocol of STRIPE_API_BASE, for the SDK (`undefined` means api.stripe.com). */
    api?: { host: string; port: number; protocol: 'http' | 'https' };
    maxNetworkRetries: number;
    timeoutMs: number;
    /** Calls per second every process of the service may make together, per account and per endpoint. */
    budget: { perSecond: number; endpointPerSecond: number };
  };
  dataverse: {
    url: string;
    auth: DataverseAuthMode;
    tenantId?: string;
    clientId?: string;
    clientSecret?: string;
    clientCertificatePath?: string;
    authorityHost?: string;
    webhookKey: string;
    webhookHeader: string;
    /** How the handlers' upserts are gathered into `$batch` requests. */
    batch: { maxBatchSize: number; maxDelayMs: number; maxInFlight: number };
  };
  store: StoreConfig;
  http: { port: number; host: string; adminApiKey: string; maxBodyBytes: number };
  logLevel: (typeof LOG_LEVELS)[number];
  /** Absolute folder of the mapping files; undefined means the shipped `service/mappings/`. */
  mappingsDir?: string;
  /** Between two reads of the store's active mapping version; 0: only activations made in this process. */
  mappingsPollMs: number;
  /** Orders of payments made without a Checkout Session (sessions always make theirs). */
  orders: { fromPayments: boolean };
  worker: WorkerSettings;
  reconciliation: ReconciliationSettings;
  /** Sync issues and the status row in Dataverse. */
  reporting: { intervalMs: number; publicUrl?: string };
  /** The Dataverse → Stripe handlers' settings (refund policy, the service's own user). */
  outbound: OutboundSettings;
  /** Alert rules and the webhooks they notify. */
  alerts: AlertSettings;
  /** Microsoft Entra ID sign-in to the operator console; undefined: the admin key only. */
  consoleEntra?: ConsoleEntraSettings;
}

export interface ReconciliationSettings {
  /** Absolute path of the GL accounts file; undefined means the shipped `reconciliation/gl-accounts.yaml`. */
  glAccountsPath?: string;
  /** Between two payout sweeps; 0: no sweep. */
  sweepIntervalMs: number;
  /** How far back a sweep lists paid payouts. */
  sweepLookbackMs: number;
  /** Connected accounts swept too, besides the platform. */
  sweepAccounts: string[];
  /** Between two runs filling payments' fees from balance transactions listed in bulk; 0: never. */
  feesIntervalMs: number;
}

export interface WorkerSettings {
  /** Events processed at once by this process; 0 runs intake only. */
  concurrency: number;
  pollMs: number;
  /** How old a Stripe event must be before its first claim, so its burst is coalesced; 0: at once. */
  gatherMs?: number;
  leaseMs: number;
  handlerTimeoutMs: number;
  retry: RetrySettings;
  shutdownGraceMs: number;
}

export interface RetrySettings {
  /** Attempts in all (the first included) before a transient failure is dead-lettered. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /**
   * How long after its arrival an event whose dependency does not answer (Dataverse or Stripe down) keeps
   * being retried past `maxAttempts`, rather than dead-lettered; 0 or absent: never past them.
   */
  outageMs?: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee service/.env.example.`);
    this.name = 'ConfigError';
  }
}

/** The outbound handlers' settings, or undefined with their problems added to `problems`. */
function outboundSettings(env: NodeJS.ProcessEnv, problems: string[]): OutboundSettings | undefined {
  try {
    return readOutboundSettings(env);
  } catch (error) {
    if (!(error instanceof OutboundSettingsError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/** The alert settings, or undefined with their problems added to `problems`. */
function alertSettings(env: NodeJS.ProcessEnv, problems: string[]): AlertSettings | undefined {
  try {
    return readAlertSettings(env);
  } catch (error) {
    if (!(error instanceof AlertSettingsError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/** The sections read by their own modules, or undefined with their problems added to `problems`. */
function ownSections(env: NodeJS.ProcessEnv, problems: string[]) {
  return {
    outbound: outboundSettings(env, problems),
    alerts: alertSettings(env, problems),
    consoleEntra: readConsoleEntraSettings(env, problems),
  };
}

/** Where the mapping files are read and how often the active mapping version is. */
function mappingSettings(
  e: { MAPPINGS_DIR?: string; MAPPINGS_POLL_SECONDS: number },
  cwd: string,
): Pick<ServiceConfig, 'mappingsDir' | 'mappingsPollMs'> {
  return {
    mappingsDir: e.MAPPINGS_DIR ? path.resolve(cwd, e.MAPPINGS_DIR) : undefined,
    mappingsPollMs: Math.round(e.MAPPINGS_POLL_SECONDS * 1000),
  };
}

/** Reads and validates the configuration; throws a `ConfigError` that lists every problem at once. */
function retrySettings(e: z.infer<typeof envSchema>): RetrySettings {
  return {
    maxAttempts: e.RETRY_MAX_ATTEMPTS,
    baseMs: e.RETRY_BASE_MS,
    maxMs: e.RETRY_MAX_MS,
    outageMs: Math.round(e.RETRY_OUTAGE_HOURS * 3_600_000),
  };
}

export function loadConfig(given: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceConfig {
  const env = withoutEmpty(given);
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '');
        return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
      });
  problems.push(...dependentProblems(env));
  const { outbound, alerts, consoleEntra } = ownSections(env, problems);
  if (!parsed.success || problems.length > 0 || !outbound || !alerts)
    throw new ConfigError([...new Set(problems)]);
  const e = parsed.data;
  return {
    stripe: {
      apiKey: e.STRIPE_API_KEY,
      mode: e.STRIPE_MODE,
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET,
      api: e.STRIPE_API_BASE ? stripeApiBase(e.STRIPE_API_BASE) : undefined,
      maxNetworkRetries: e.STRIPE_MAX_NETWORK_RETRIES,
      timeoutMs: e.STRIPE_TIMEOUT_MS,
      budget: stripeBudget(e),
    },
    dataverse: {
      url: e.DATAVERSE_URL,
      auth: e.DATAVERSE_AUTH,
      tenantId: e.AZURE_TENANT_ID,
      clientId: e.AZURE_CLIENT_ID,
      clientSecret: e.AZURE_CLIENT_SECRET,
      clientCertificatePath: e.AZURE_CLIENT_CERTIFICATE_PATH,
      authorityHost: e.AZURE_AUTHORITY_HOST,
      webhookKey: e.DATAVERSE_WEBHOOK_KEY,
      webhookHeader: e.DATAVERSE_WEBHOOK_HEADER.toLowerCase(),
      batch: {
        maxBatchSize: e.DATAVERSE_BATCH_SIZE,
        maxDelayMs: e.DATAVERSE_BATCH_DELAY_MS,
        maxInFlight: e.DATAVERSE_BATCHES_IN_FLIGHT,
      },
    },
    store: storeConfigOf(e, cwd, e.DATABASE_POOL_MAX),
    http: {
      port: e.PORT,
      host: e.HOST,
      adminApiKey: e.ADMIN_API_KEY,
      maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
    },
    logLevel: e.LOG_LEVEL,
    ...mappingSettings(e, cwd),
    orders: { fromPayments: e.ORDERS_FROM_PAYMENTS === 'true' },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      pollMs: e.WORKER_POLL_MS,
      gatherMs: e.WORKER_GATHER_MS,
      leaseMs: e.WORKER_LEASE_MS,
      handlerTimeoutMs: e.HANDLER_TIMEOUT_MS,
      retry: retrySettings(e),
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    },
    reporting: {
      intervalMs: Math.round(e.REPORT_INTERVAL_SECONDS * 1000),
      publicUrl: e.SERVICE_PUBLIC_URL,
    },
    reconciliation: {
      glAccountsPath: e.GL_ACCOUNTS_PATH ? path.resolve(cwd, e.GL_ACCOUNTS_PATH) : undefined,
      sweepIntervalMs: Math.round(e.PAYOUT_SWEEP_INTERVAL_MINUTES * 60_000),
      sweepLookbackMs: Math.round(e.PAYOUT_SWEEP_LOOKBACK_DAYS * 86_400_000),
      sweepAccounts: e.PAYOUT_SWEEP_ACCOUNTS ?? [],
      feesIntervalMs: Math.round(e.PAYMENT_FEES_INTERVAL_SECONDS * 1000),
    },
    outbound,
    alerts,
    consoleEntra,
  };
}

function stripeApiBase(base: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(base);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

/** The SQLite file, resolved from `cwd`; `:memory:` stays an in-memory database (tests, one-off CLI runs). */
function sqlitePath(value: string, cwd: string): string {
  return value === ':memory:' ? value : path.resolve(cwd, value);
}

const storeEnvSchema = z.object({
  DATABASE_URL: envSchema.shape.DATABASE_URL,
  DATABASE_SCHEMA: envSchema.shape.DATABASE_SCHEMA,
  DATABASE_POOL_MAX: envSchema.shape.DATABASE_POOL_MAX,
  DATABASE_QUERY_TIMEOUT_MS: envSchema.shape.DATABASE_QUERY_TIMEOUT_MS,
  DATABASE_CONNECT_TIMEOUT_MS: envSchema.shape.DATABASE_CONNECT_TIMEOUT_MS,
  SQLITE_PATH: envSchema.shape.SQLITE_PATH,
  SQLITE_SYNCHRONOUS: envSchema.shape.SQLITE_SYNCHRONOUS,
});

/** Only the store's settings, for tools (the CLI) that need nothing else. */
export function loadStoreConfig(given: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): StoreConfig {
  const parsed = storeEnvSchema.safeParse(withoutEmpty(given));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  return storeConfigOf(parsed.data, cwd, 2);
}

function storeConfigOf(e: z.infer<typeof storeEnvSchema>, cwd: string, poolMax: number): StoreConfig {
  return e.DATABASE_URL
    ? {
        engine: 'postgres',
        databaseUrl: e.DATABASE_URL,
        schema: e.DATABASE_SCHEMA,
        poolMax,
        queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
        connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      }
    : { engine: 'sqlite', path: sqlitePath(e.SQLITE_PATH, cwd), synchronous: e.SQLITE_SYNCHRONOUS };
}

/** Every variable the service reads (documented in service/.env.example and the README). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(envSchema.shape),
  ...ALERT_VARIABLES,
  ...CONSOLE_ENTRA_VARIABLES,
];
