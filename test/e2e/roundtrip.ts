/**
 * The whole system on loopback for round-trip tests: the Stripe and Dataverse emulators, the service (HTTP
 * intake and workers, in-process from its own factories) with Stripe's webhooks pointed at it, and helpers to
 * act as a Dynamics 365 user (Web API with MSCRMCallerID) and to wait for the pipeline to go quiet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
  type SystemUser,
  type WebhookRegistration,
  registerSolutionSteps,
} from '@stc/emulators';
import { createSyncHandlers, loadConfig, startService, type RunningService } from '@stc/service';
import { waitFor as poll } from '@stc/testkit';

export const WEBHOOK_SECRET = 'whsec_roundtrip_e2e';
export const DATAVERSE_KEY = 'dataverse-webhook-key-e2e-0123456789';
export const KEY_HEADER = 'x-stc-webhook-key';
export const ADMIN_KEY = 'admin-api-key-e2e-0123456789';

export interface RoundTrip {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  stripe: Stripe;
  service: RunningService;
  /** Registers a Dataverse webhook step that posts to the service's `/webhooks/dataverse` with its key. */
  registerStep(step: Omit<WebhookRegistration, 'url' | 'auth'>): void;
  /** Registers the steps the solution ships on `table` (webhookSteps), as importing the solution does. */
  registerSolutionSteps(table: string): void;
  /** A Web API write as this user (MSCRMCallerID); the id of a created row. */
  asUser(
    userId: string,
    method: 'POST' | 'PATCH',
    pathAndQuery: string,
    body: unknown,
  ): Promise<string | undefined>;
  /** Until no webhook is in flight either way and the service's queue is empty, twice in a row. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** testkit's waitFor with the description first, as these tests read, and the time a round trip takes. */
export function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  return poll(probe, what, timeoutMs, 25) as Promise<T>;
}

/** The people of the refund round trips: the service's application user, a requester, a finance approver. */
export const REFUND_USERS = {
  service: {
    systemuserid: '5e0c7a11-0000-4000-8000-0000000000a1',
    fullname: 'Stripe Connector Service',
    roles: ['Stripe Connector Service'],
  },
  requester: {
    systemuserid: '5e0c7a11-0000-4000-8000-0000000000b1',
    fullname: 'Rita Requester',
    roles: ['Stripe Refund Requester'],
  },
  approver: {
    systemuserid: '5e0c7a11-0000-4000-8000-0000000000c1',
    fullname: 'Frank Finance',
    roles: ['Stripe Finance Approver'],
  },
};

/**
 * Starts everything. The first user is the service's application user (the emulator's caller without a
 * token); `env` adds service settings. The Dataverse → Stripe handlers read theirs from `process.env`, as
 * in production, so those are set there for the test's duration.
 */
export async function startRoundTrip(
  users: SystemUser[],
  env: Record<string, string> = {},
): Promise<RoundTrip> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-roundtrip-'));
  const dataverse = await startDataverseEmulator({ model, systemUsers: users });
  const stripeEmulator = await startStripeEmulator({ rateLimit: false });
  const stripe = stripeEmulator.client();
  const handlerEnv = { DATAVERSE_SERVICE_USER_ID: users[0].systemuserid, ...env };
  const config = loadConfig(
    {
      STRIPE_API_KEY: stripeEmulator.apiKey,
      STRIPE_MODE: 'test',
      STRIPE_API_BASE: stripeEmulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      DATAVERSE_URL: dataverse.url,
      DATAVERSE_AUTH: 'none',
      DATAVERSE_WEBHOOK_KEY: DATAVERSE_KEY,
      DATAVERSE_WEBHOOK_HEADER: KEY_HEADER,
      ADMIN_API_KEY: ADMIN_KEY,
      SQLITE_PATH: path.join(dir, 'connector.db'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WORKER_CONCURRENCY: '4',
      WORKER_POLL_MS: '20',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '200',
      ...handlerEnv,
    },
    dir,
  );
  const service = await startService(config, { handlers: createSyncHandlers({ outbound: config.outbound }) });
  stripeEmulator.setWebhook({ url: `${service.url}/webhooks/stripe`, secret: WEBHOOK_SECRET });

  const quiet = async () => {
    await dataverse.webhooksIdle();
    await stripeEmulator.waitForDeliveries(10_000);
    const depth = await service.store.queueDepth();
    return depth.pending === 0 && depth.processing === 0;
  };

  const registerStep = (step: Omit<WebhookRegistration, 'url' | 'auth'>) =>
    void dataverse.registerWebhook({
      ...step,
      url: `${service.url}/webhooks/dataverse`,
      auth: { type: 'HttpHeader', headers: { [KEY_HEADER]: DATAVERSE_KEY } },
    });

  return {
    dataverse,
    stripeEmulator,
    stripe,
    service,
    registerStep,
    registerSolutionSteps(table) {
      registerSolutionSteps(dataverse, {
        url: `${service.url}/webhooks/dataverse`,
        headers: { [KEY_HEADER]: DATAVERSE_KEY },
        table,
      });
    },
    async asUser(userId, method, pathAndQuery, body) {
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
      return /\(([0-9a-f-]{36})\)$/i.exec(res.headers.get('odata-entityid') ?? '')?.[1];
    },
    async settle(timeoutMs = 15_000) {
      await waitFor(
        'the pipeline to go quiet',
        async () => (await quiet()) && (await new Promise((r) => setTimeout(r, 50)), await quiet()),
        timeoutMs,
      );
    },
    async close() {
      await service.stop();
      await stripeEmulator.close();
      await dataverse.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
