/**
 * Test support: the service started in-process from its configuration on the Dataverse and Stripe
 * emulators, fresh for each test (a temporary folder for its SQLite store, or a fresh database on a store
 * engine), stopped after it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { model } from '@stc/solution';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
  type SystemUser,
  registerSolutionSteps,
} from '@stc/emulators';
import { loadConfig, type ServiceConfig } from '../../config';
import { createDataverseClient, type DataverseWebApiClient } from '../../dataverse';
import { startService, type RunningService } from '../../service';
import { asUserAt, USERS } from '../../outbound/refund-requests/__tests__/world';
import type { TestDatabase, TestEngine } from './engines';

export interface ServiceOnEmulators {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  /** A Web API client on the Dataverse emulator, to read and write rows as a user would. */
  client: DataverseWebApiClient;
  adminKey: string;
  /** STRIPE_WEBHOOK_SECRET and DATAVERSE_WEBHOOK_KEY of the configuration. */
  webhookSecret: string;
  webhookKey: string;
  /** The store's database on the engine of the options, once the test's hooks have run. */
  db?: TestDatabase;
  /** The test's folder: the service's working directory, where its SQLite store lives. */
  dir(): string;
  /** The configuration on the emulators, with `extra` variables on top. */
  configFor(extra?: Record<string, string>): ServiceConfig;
  /** Starts the service; it is stopped after the test. */
  start(config?: ServiceConfig): Promise<RunningService>;
}

export interface ServiceOnEmulatorsOptions {
  /** The Dataverse emulator's users (the first is the caller without a token); default one administrator. */
  systemUsers?: SystemUser[];
  /**
   * The store: a fresh database on this engine for each test (`db`); without one, the SQLite file
   * connector.db in the test's folder, worked by two workers.
   */
  engine?: TestEngine;
}

export function serviceOnEmulators(
  name: string,
  options: ServiceOnEmulatorsOptions = {},
): ServiceOnEmulators {
  let dir: string;
  let service: RunningService | undefined;
  const fixture = {
    adminKey: `${name}-admin-key-0123456`,
    webhookSecret: `whsec_${name}`,
    webhookKey: `${name}-dataverse-key-0123`,
    dir: () => dir,
  } as ServiceOnEmulators;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `stc-${name}-`));
    if (options.engine) fixture.db = await options.engine.open();
    fixture.dataverse = await startDataverseEmulator({
      model,
      ...(options.systemUsers ? { systemUsers: options.systemUsers } : {}),
    });
    fixture.stripeEmulator = await startStripeEmulator({ rateLimit: false });
    fixture.client = createDataverseClient({
      baseUrl: fixture.dataverse.url,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await fixture.stripeEmulator.close();
    await fixture.dataverse.close();
    await fixture.db?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  fixture.configFor = (extra = {}) =>
    loadConfig(
      {
        STRIPE_API_KEY: fixture.stripeEmulator.apiKey,
        STRIPE_MODE: 'test',
        STRIPE_API_BASE: fixture.stripeEmulator.url,
        STRIPE_WEBHOOK_SECRET: fixture.webhookSecret,
        STRIPE_MAX_NETWORK_RETRIES: '0',
        DATAVERSE_URL: fixture.dataverse.url,
        DATAVERSE_AUTH: 'none',
        DATAVERSE_WEBHOOK_KEY: fixture.webhookKey,
        ADMIN_API_KEY: fixture.adminKey,
        ...(fixture.db ? fixture.db.env : { SQLITE_PATH: 'connector.db', WORKER_CONCURRENCY: '2' }),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        ...extra,
      },
      dir,
    );
  fixture.start = async (config = fixture.configFor()) => {
    service = await startService(config);
    return service;
  };
  return fixture;
}

export interface RunningServiceOnEngine extends ServiceOnEmulators {
  db: TestDatabase;
  /** Started before each test. */
  service: RunningService;
  /** A Web API call as this user (MSCRMCallerID), as a form's save makes it; the id of a created row. */
  asUser(userId: string, method: 'POST' | 'PATCH', url: string, body: unknown): Promise<string>;
}

/**
 * The service running before each test on a fresh database of `engine`, on emulators whose users are the
 * refund world's (USERS, the service user the configuration's DATAVERSE_SERVICE_USER_ID): Stripe's events
 * delivered to it, and the solution's webhook steps of `table` posting to it. Workers poll every 20 ms and
 * retry from 50 ms; `env` goes on top of the configuration.
 */
export function runningServiceOnEngine(
  engine: TestEngine,
  name: string,
  options: { table: string; env?: Record<string, string> },
): RunningServiceOnEngine {
  const fixture = serviceOnEmulators(name, {
    engine,
    systemUsers: Object.values(USERS).map((u) => ({ ...u, roles: [...u.roles] })),
  }) as RunningServiceOnEngine;
  beforeEach(async () => {
    fixture.service = await fixture.start(
      fixture.configFor({
        DATAVERSE_SERVICE_USER_ID: USERS.service.systemuserid,
        WORKER_POLL_MS: '20',
        RETRY_BASE_MS: '50',
        ...options.env,
      }),
    );
    fixture.stripeEmulator.setWebhook({
      url: `${fixture.service.url}/webhooks/stripe`,
      secret: fixture.webhookSecret,
    });
    registerSolutionSteps(fixture.dataverse, {
      url: `${fixture.service.url}/webhooks/dataverse`,
      headers: { 'x-stc-webhook-key': fixture.webhookKey },
      table: options.table,
    });
  });
  fixture.asUser = async (userId, method, url, body) =>
    (await asUserAt(fixture.dataverse.url, userId, method, url, body)).id ?? '';
  return fixture;
}
