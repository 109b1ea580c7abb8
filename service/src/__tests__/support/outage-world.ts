/**
 * Test support for outage tests: the service in-process on the Stripe and Dataverse emulators, Stripe's
 * webhooks and the solution's Dataverse steps pointed at it, alerts sent to a local JSON receiver, and a
 * restart that brings the service back on the same port and store (as after a crash or a deploy).
 * Retries are short (RETRY_BASE_MS 20, RETRY_MAX_MS 200) so an outage of many attempts takes little time.
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
import type Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { loadConfig } from '../../config';
import { createDataverseClient } from '../../dataverse';
import { createLogger } from '../../observability/log';
import { startService, type RunningService } from '../../service';
import { Receiver } from '../../alerts/__tests__/receiver';

export const OUTAGE_SECRET = 'whsec_outages_0123456789';
const DATAVERSE_KEY = 'outages-dataverse-key-0123456789';
const KEY_HEADER = 'x-stc-webhook-key';

export interface OutageWorld {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  stripe: Stripe;
  service: RunningService;
  alerts: Receiver;
  /** Stops the service (gracefully, as a deploy does) and starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops the service only; `startService` brings it back, with `env` on top of its settings if given. */
  stopService(): Promise<void>;
  startService(env?: Record<string, string>): Promise<void>;
  /** A Web API write as this user (MSCRMCallerID); the id of a created row. */
  asUser(userId: string, method: 'POST' | 'PATCH', pathAndQuery: string, body: unknown): Promise<string>;
  /** Alert notifications received so far, as `<alert> <status>`. */
  alertLog(): string[];
  close(): Promise<void>;
}

export async function startOutageWorld(
  users: SystemUser[],
  env: Record<string, string> = {},
): Promise<OutageWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-outages-'));
  const dataverse = await startDataverseEmulator({ model, systemUsers: users });
  const stripeEmulator = await startStripeEmulator({ rateLimit: false });
  const alerts = new Receiver();
  await alerts.start();
  let port = '0';
  let service: RunningService | undefined;
  const logger = createLogger({ level: 'silent' });
  const baseEnv = {
    STRIPE_API_KEY: stripeEmulator.apiKey,
    STRIPE_MODE: 'test',
    STRIPE_API_BASE: stripeEmulator.url,
    STRIPE_WEBHOOK_SECRET: OUTAGE_SECRET,
    STRIPE_MAX_NETWORK_RETRIES: '0',
    STRIPE_TIMEOUT_MS: '1000',
    DATAVERSE_URL: dataverse.url,
    DATAVERSE_AUTH: 'none',
    DATAVERSE_WEBHOOK_KEY: DATAVERSE_KEY,
    DATAVERSE_WEBHOOK_HEADER: KEY_HEADER,
    DATAVERSE_SERVICE_USER_ID: users[0].systemuserid,
    ADMIN_API_KEY: 'outages-admin-key-0123456789',
    SQLITE_PATH: 'connector.db',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: '4',
    WORKER_POLL_MS: '20',
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    ALERT_WEBHOOK_URLS: `json=${alerts.url}/alerts`,
    ALERT_INTERVAL_SECONDS: '0.1',
    ALERT_TIMEOUT_SECONDS: '2',
    ALERT_UNAVAILABLE_MINUTES: '0',
    ...env,
  };

  const world = {
    dataverse,
    stripeEmulator,
    stripe: stripeEmulator.client(),
    alerts,
    get service(): RunningService {
      if (!service) throw new Error('the service is stopped');
      return service;
    },
    async startService(extra: Record<string, string> = {}) {
      const config = loadConfig({ ...baseEnv, ...extra, PORT: port }, dir);
      const client = createDataverseClient({
        baseUrl: dataverse.url,
        retry: { baseDelayMs: 5, maxDelayMs: 50 },
      });
      service = await startService(config, { dataverse: client, logger });
      port = String(service.port);
    },
    async stopService() {
      await service?.stop();
      service = undefined;
    },
    async restart() {
      await world.stopService();
      await world.startService();
    },
    async asUser(userId: string, method: 'POST' | 'PATCH', pathAndQuery: string, body: unknown) {
      const res = await fetch(`${dataverse.url}${pathAndQuery}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          MSCRMCallerID: userId,
          ...(method === 'PATCH' ? { 'If-Match': '*' } : {}),
        },
        body: JSON.stringify(body),
      });
      if (res.status >= 400) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${await res.text()}`);
      return /\(([0-9a-f-]{36})\)$/i.exec(res.headers.get('odata-entityid') ?? '')?.[1] ?? '';
    },
    alertLog: () => alerts.received.map((m) => `${m.body.alert} ${m.body.status}`),
    async close() {
      await world.stopService();
      await stripeEmulator.close();
      await dataverse.close();
      await alerts.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await world.startService();
  stripeEmulator.setWebhook({ url: `${world.service.url}/webhooks/stripe`, secret: OUTAGE_SECRET });
  registerSolutionSteps(dataverse, {
    url: `${world.service.url}/webhooks/dataverse`,
    headers: { [KEY_HEADER]: DATAVERSE_KEY },
    table: 'stc_refundrequest',
  });
  return world;
}

/** Waits for a condition (testkit's waitFor with the description first and a generous time). */
export function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  return waitFor(probe, what, timeoutMs, 20) as Promise<T>;
}
