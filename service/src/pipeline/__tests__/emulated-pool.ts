/**
 * A worker pool over one store engine and both emulators, for tests that queue Stripe events in the inbox and
 * watch what the pool makes of them: the hooks that start and stop everything around each test, the pool
 * with the handlers given, and waiting for events to settle.
 */
import { model } from '@stc/solution';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
} from '@stc/emulators';
import { waitFor } from '@stc/testkit';
import { createDataverseClient } from '../../dataverse';
import { orderingObjectOf } from '../../store';
import { createLogger } from '../../observability/log';
import type { NewInboxEvent, Store } from '../../store';
import type { TestDatabase, TestEngine } from '../../__tests__/support/engines';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import type { EventHandler } from '../handler';
import { createWorkerPool, type WorkerPool } from '../pool';

/** A Stripe event as the emulator records it. */
export interface EmulatorEvent {
  id: string;
  object?: string;
  type: string;
  created: number;
  livemode?: boolean;
  data: { object: { id: string; object: string; payment_intent?: unknown } & Record<string, unknown> };
}

/** The inbox event intake would store for it, pending. */
export const inboxEvent = (event: EmulatorEvent): NewInboxEvent => ({
  source: 'stripe',
  account: '',
  eventId: event.id,
  type: event.type,
  objectId: orderingObjectOf(event.data.object),
  eventCreatedMs: event.created * 1000,
  payload: JSON.stringify(event),
  status: 'pending',
  receivedAtMs: Date.now(),
});

export interface EmulatedPool {
  readonly dataverse: DataverseEmulator;
  readonly stripe: StripeEmulator;
  readonly store: Store;
  /** Starts the pool with the handlers given; stopped after the test. */
  startPool(): void;
  /** Stops the pool started last (its events given back), as a process stopping does. */
  stopPool(): Promise<void>;
  /** Waits until each event is neither pending nor being worked. */
  settled(ids: string[]): Promise<void>;
}

/** Registers the hooks of the describe block it is called in, on `engine`. */
export function emulatedPool(engine: TestEngine, handlers: () => EventHandler[]): EmulatedPool {
  let dataverse: DataverseEmulator;
  let stripe: StripeEmulator;
  let db: TestDatabase;
  let pool: WorkerPool | undefined;

  beforeAll(async () => {
    dataverse = await startDataverseEmulator({ model });
  });
  afterAll(async () => {
    await dataverse?.close();
  });
  beforeEach(async () => {
    dataverse.store.clear();
    stripe = await startStripeEmulator({ rateLimit: false });
    db = await engine.open();
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    pool = undefined;
    await db.destroy();
    await stripe.close();
  });

  return {
    get dataverse() {
      return dataverse;
    },
    get stripe() {
      return stripe;
    },
    get store() {
      return db.store;
    },
    startPool() {
      pool = createWorkerPool({
        store: db.store,
        handlers: handlers(),
        dataverse: createDataverseClient({ baseUrl: dataverse.url }),
        stripeFor: () => stripe.client(),
        logger: createLogger({ level: 'silent' }),
        settings: testWorkerSettings(),
      });
      pool.start();
    },
    async stopPool() {
      await pool?.stop({ graceMs: 100 });
      pool = undefined;
    },
    async settled(ids) {
      // A deadline for a busy two-core machine (a CI run beside browser suites): settling takes well under a
      // second when it is idle.
      for (const id of ids)
        await waitFor(
          async () => {
            const e = await db.store.findEvent('stripe', '', id);
            return e !== null && !['pending', 'processing'].includes(e.status);
          },
          `event ${id} to be settled`,
          30_000,
        );
    },
  };
}
