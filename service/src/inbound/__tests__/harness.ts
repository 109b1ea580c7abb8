/**
 * Test support: the default handlers over the default mapping files, a Stripe stub and a Dataverse client,
 * with the pipeline's router and, for ordering tests, the store's per-object ordering stamp.
 */
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import type { DataverseClient } from '../../dataverse/types';
import { loadMappings, type MappingSet } from '../../mapping';
import { createSqliteStore, type Store } from '../../store';
import { orderingObjectOf } from '../../store';
import { createHandlerRouter, type HandlerRouter } from '../../pipeline/routing';
import {
  createSyncHandlers,
  DEFAULT_CUSTOMER_MAPPINGS,
  DEFAULT_MAPPINGS_DIR,
  type CustomerMappingNames,
} from '../../handlers';
import type { HandlerLogger, SyncContext } from '../../pipeline/handler';
import { StripeStub } from './stripe-stub';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export class RecordingLogger implements HandlerLogger {
  readonly entries: LogEntry[] = [];
  info(obj: object, msg?: string) {
    this.entries.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string) {
    this.entries.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string) {
    this.entries.push({ level: 'error', obj, msg });
  }
}

let sharedMappings: MappingSet | undefined;
export const defaultMappings = () => (sharedMappings ??= loadMappings(DEFAULT_MAPPINGS_DIR, { model }));

export class SyncHarness {
  readonly log = new RecordingLogger();
  readonly router: HandlerRouter;
  private readonly clients = new Map<string, Stripe>();

  constructor(
    readonly stripe: StripeStub,
    readonly dataverse: DataverseClient,
    customers: Partial<CustomerMappingNames> = {},
    options: { ordersFromPayments?: boolean } = {},
  ) {
    this.router = createHandlerRouter(
      createSyncHandlers({
        mappings: defaultMappings,
        customers: { ...DEFAULT_CUSTOMER_MAPPINGS, ...customers },
        ...options,
      }),
    );
  }

  get context(): SyncContext {
    return {
      dataverse: this.dataverse,
      stripeFor: (account) => {
        const name = account ?? '';
        let client = this.clients.get(name);
        if (!client) this.clients.set(name, (client = this.stripe.stripeFor(account)));
        return client;
      },
      log: this.log,
    };
  }

  /** Routes the event as the pipeline does and runs its handler. */
  async deliver(event: Stripe.Event, payloadMayBeStale = false): Promise<string> {
    const handler = this.router.stripe(event.type);
    if (!handler) return 'ignored';
    await handler.handle(event, { ...this.context, payloadMayBeStale });
    return handler.resource;
  }
}

/**
 * The pipeline's ordering rule over the store: an event from an earlier second than the last one applied to
 * its object is superseded, never handed to a handler. Each event goes through the store's inbox, claim and outcome.
 */
export class OrderedDelivery {
  private constructor(
    private readonly store: Store,
    private readonly harness: SyncHarness,
  ) {}

  /** Over an in-memory SQLite store, or over `store` (migrated, e.g. a test engine's) when given. */
  static async open(harness: SyncHarness, store?: Store): Promise<OrderedDelivery> {
    if (store) return new OrderedDelivery(store, harness);
    const memory = createSqliteStore({ path: ':memory:' });
    await memory.migrate();
    return new OrderedDelivery(memory, harness);
  }

  async deliver(event: Stripe.Event): Promise<'applied' | 'superseded' | 'duplicate'> {
    const account = event.account ?? '';
    const objectId = orderingObjectOf(event.data.object as { id?: unknown });
    const inserted = await this.store.insertEvent({
      source: 'stripe',
      account,
      eventId: event.id,
      type: event.type,
      objectId,
      eventCreatedMs: event.created * 1000,
      payload: JSON.stringify(event),
      status: 'pending',
      receivedAtMs: Date.now(),
    });
    if (!inserted) return 'duplicate';
    const [claimed] = await this.store.claimEvents({ owner: 'test', limit: 1, leaseMs: 60_000 });
    const startedAtMs = Date.now();
    const stamp = await this.store.getObjectStamp('stripe', account, objectId);
    // As the worker pool: no order is known within one second, so only an earlier second is superseded.
    if (stamp && stamp.eventCreatedMs > claimed.eventCreatedMs) {
      await this.store.completeEvent({
        event: claimed,
        owner: 'test',
        outcome: { kind: 'superseded', by: stamp },
        startedAtMs,
        finishedAtMs: Date.now(),
        stampObject: false,
      });
      return 'superseded';
    }
    await this.harness.deliver(event, stamp?.eventCreatedMs === claimed.eventCreatedMs);
    await this.store.completeEvent({
      event: claimed,
      owner: 'test',
      outcome: { kind: 'applied' },
      startedAtMs,
      finishedAtMs: Date.now(),
      stampObject: true,
    });
    return 'applied';
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
