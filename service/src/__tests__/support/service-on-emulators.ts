/**
 * Test support: the service started in-process from its configuration on the Dataverse and Stripe
 * emulators, fresh for each test (a temporary folder for its SQLite store), stopped after it.
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
} from '@stc/emulators';
import { loadConfig, type ServiceConfig } from '../../config';
import { createDataverseClient, type DataverseWebApiClient } from '../../dataverse';
import { startService, type RunningService } from '../../service';

export interface ServiceOnEmulators {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  /** A Web API client on the Dataverse emulator, to read and write rows as a user would. */
  client: DataverseWebApiClient;
  adminKey: string;
  /** The test's folder: the service's working directory, where its SQLite store lives. */
  dir(): string;
  /** The configuration on the emulators, with `extra` variables on top. */
  configFor(extra?: Record<string, string>): ServiceConfig;
  /** Starts the service; it is stopped after the test. */
  start(config?: ServiceConfig): Promise<RunningService>;
}

export function serviceOnEmulators(name: string): ServiceOnEmulators {
  let dir: string;
  let service: RunningService | undefined;
  const fixture = { adminKey: `${name}-admin-key-0123456`, dir: () => dir } as ServiceOnEmulators;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `stc-${name}-`));
    fixture.dataverse = await startDataverseEmulator({ model });
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
    fs.rmSync(dir, { recursive: true, force: true });
  });
  fixture.configFor = (extra = {}) =>
    loadConfig(
      {
        STRIPE_API_KEY: fixture.stripeEmulator.apiKey,
        STRIPE_MODE: 'test',
        STRIPE_API_BASE: fixture.stripeEmulator.url,
        STRIPE_WEBHOOK_SECRET: `whsec_${name}`,
        STRIPE_MAX_NETWORK_RETRIES: '0',
        DATAVERSE_URL: fixture.dataverse.url,
        DATAVERSE_AUTH: 'none',
        DATAVERSE_WEBHOOK_KEY: `${name}-dataverse-key-0123`,
        ADMIN_API_KEY: fixture.adminKey,
        SQLITE_PATH: 'connector.db',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        WORKER_CONCURRENCY: '2',
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
