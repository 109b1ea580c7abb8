/**
 * Starts the Stripe API emulator: the engine, its HTTP face (gateway.ts) and webhooks, and the test
 * helpers that make Stripe's own schedule happen now.
 */
import type { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import Stripe from 'stripe';
import { StripeEngine, type EngineOptions, type StripeEvent } from './engine';
import { faultRoutes, StripeFaults, type StripeFaultSpec, type StripeRequestRecord } from './faults';
import { stripeApp } from './gateway';
import type { RateLimitOptions } from './ratelimit';
import * as balance from './resources/balance';
import * as bankDebits from './resources/bank-debits';
import * as billing from './resources/billing';
import * as payments from './resources/payments';
import { type Route, ROUTES } from './routes';
import type { Scope, StripeObject } from './store';
import { trigger } from './triggers';
import { type DeliveryAttempt, type WebhookOptions, WebhookSender } from './webhooks';

export interface StripeEmulatorOptions extends EngineOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /**
   * Secret keys the API accepts. Unset: any well-formed `sk_test_…`/`rk_test_…` (test mode) or
   * `sk_live_…`/`rk_live_…` (live mode) key.
   */
  apiKeys?: string[];
  /** Connected accounts that exist; unset: any `acct_…` id is accepted. */
  connectedAccounts?: string[];
  /** Requests per second per account (default 25, like test mode); false turns the limit off. */
  rateLimit?: number | RateLimitOptions | false;
  webhook?: WebhookOptions | null;
  /** Refuse parameters an endpoint does not take, as Stripe does (400 `parameter_unknown`); default true. */
  strictParameters?: boolean;
}

export interface AccountSelector {
  /** Connected account (`acct_…`); default the platform account. */
  account?: string | null;
  livemode?: boolean;
}

export interface StripeEmulator {
  /** Base URL, e.g. `http://127.0.0.1:12111`. */
  url: string;
  host: string;
  port: number;
  /** A key the emulator accepts. */
  apiKey: string;
  engine: StripeEngine;
  /** Every event so far, all accounts, oldest first. */
  readonly events: StripeEvent[];
  /** Events of one account (default the platform), oldest first. */
  eventsFor(selector?: AccountSelector): StripeEvent[];
  /** Every webhook delivery attempt so far. */
  readonly deliveries: DeliveryAttempt[];
  setWebhook(options: WebhookOptions | null): void;
  deliverPending(): Promise<{ attempted: number; delivered: number; failed: number }>;
  waitForDeliveries(timeoutMs?: number): Promise<void>;
  /** Options for `new Stripe(key, …)` that point the SDK here. */
  sdkOptions(extra?: Stripe.StripeConfig): Stripe.StripeConfig;
  /** An SDK client for this emulator (no network retries unless asked). */
  client(options?: Stripe.StripeConfig & { apiKey?: string }): Stripe;
  testHelpers: TestHelpers;
  /** Faults for the next matching requests, taken in the order added (see faults.ts). */
  injectFault(fault: StripeFaultSpec): void;
  clearFaults(): void;
  /** Every API request so far, with its idempotency key and outcome, oldest first. */
  readonly requests: StripeRequestRecord[];
  /** Stops listening and resets open connections: clients get connection refused until `goOnline`. */
  goOffline(): Promise<void>;
  /** Listens again on the same port. */
  goOnline(): Promise<void>;
  close(): Promise<void>;
}

/** What Stripe does on its own schedule (or the bank does), made to happen now. */
export interface TestHelpers {
  /** Sweep the unpaid balance transactions of a currency into a new automatic payout (`payout.created`). */
  createAutomaticPayout(options?: AccountSelector & { currency?: string }): StripeObject;
  /** Pay a payout: `payout.paid`, then `payout.reconciliation_completed` for automatic payouts. */
  payPayout(id: string, options?: AccountSelector): StripeObject;
  failPayout(id: string, options?: AccountSelector & { failureCode?: string }): StripeObject;
  /** The bank decides a dispute: `charge.dispute.closed` (and `funds_reinstated` when won). */
  closeDispute(id: string, outcome: 'won' | 'lost', options?: AccountSelector): StripeObject;
  /**
   * The bank settles a `processing` ACH debit (a `pm_usBankAccount_*` test account): the payment succeeds, or
   * fails as the test account's return says (see bank-accounts.ts). Stripe does it days later on its own.
   */
  settleBankDebit(paymentIntentId: string, options?: AccountSelector): StripeObject;
  /** A subscription's period ends: the next invoice is created and paid (or fails). */
  renewSubscription(id: string, options?: AccountSelector): StripeObject;
  /**
   * Bulk history for load tests: `count` confirmed card payments (PaymentIntent, charge, balance transaction),
   * made in-process. Without `events: true` they record no events and send no webhooks. Returns the
   * PaymentIntent ids, oldest first.
   */
  seedPayments(options: SeedPaymentsOptions): string[];
  /**
   * `stripe trigger <eventType>`: make the API calls the Stripe CLI makes for that event (see triggers.ts for
   * the list). Returns the events it caused and the ids of what it made.
   */
  trigger(eventType: string, options?: AccountSelector): TriggerResult;
}

export interface TriggerResult {
  trigger: string;
  objects: Record<string, string | null>;
  events: Array<{ id: string; type: string }>;
}

export interface SeedPaymentsOptions extends AccountSelector {
  count: number;
  /** Smallest currency unit; a function gives each payment its own amount (default 1000 + i % 500). */
  amount?: number | ((index: number) => number);
  currency?: string;
  /** Test card token (default `pm_card_visa`). */
  paymentMethod?: string;
  customer?: string;
  events?: boolean;
}

const DEFAULT_KEY = 'sk_test_emulator';

/** `stripe trigger`: the events the trigger caused and the ids of what it made. */
function runTrigger(engine: StripeEngine, scope: Scope, eventType: string): TriggerResult {
  const before = scope.all('event').length;
  const results = trigger(engine, scope, eventType);
  const objects = Object.fromEntries(
    Object.entries(results).map(([name, value]) => [name, (value as { id?: string } | null)?.id ?? null]),
  );
  const events = scope
    .all('event')
    .slice(before)
    .map((event) => ({ id: event.id, type: event.type }));
  return { trigger: eventType, objects, events };
}

/** A request context of the selected account, for work done outside a request. */
function background(engine: StripeEngine, selector?: AccountSelector) {
  return engine.background(selector?.account ?? null, selector?.livemode ?? false);
}

function seedPayments(engine: StripeEngine, seed: SeedPaymentsOptions): string[] {
  const ctx = background(engine, seed);
  const amountOf =
    typeof seed.amount === 'function'
      ? seed.amount
      : (i: number) => (seed.amount as number | undefined) ?? 1000 + (i % 500);
  const create = (i: number) =>
    payments.createPaymentIntent(engine, ctx, {
      amount: String(amountOf(i)),
      currency: seed.currency ?? 'usd',
      payment_method: seed.paymentMethod ?? 'pm_card_visa',
      confirm: 'true',
      ...(seed.customer ? { customer: seed.customer } : {}),
    }).id;
  const ids: string[] = [];
  for (let i = 0; i < seed.count; i++) {
    ids.push(seed.events ? create(i) : engine.withoutEvents(() => create(i)));
  }
  return ids;
}

function testHelpers(engine: StripeEngine): TestHelpers {
  const selected = (selector?: AccountSelector) => background(engine, selector);
  return {
    createAutomaticPayout: (selector) =>
      balance.createAutomaticPayout(engine, selected(selector), selector?.currency ?? 'usd'),
    payPayout: (id, selector) => balance.payPayout(engine, selected(selector), id),
    failPayout: (id, selector) => balance.failPayout(engine, selected(selector), id, selector?.failureCode),
    closeDispute: (id, outcome, selector) => {
      const ctx = selected(selector);
      return payments.closeDisputeAs(engine, ctx, engine.get(ctx, 'dispute', id), outcome);
    },
    settleBankDebit: (id, selector) => bankDebits.settleBankDebit(engine, selected(selector), id),
    renewSubscription: (id, selector) => billing.renewSubscription(engine, selected(selector), id),
    trigger: (eventType, selector) => runTrigger(engine, selected(selector).scope, eventType),
    seedPayments: (seed) => seedPayments(engine, seed),
  };
}

/** Stops accepting connections and resets the open ones: clients get connection refused. */
async function stopListening(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

async function listenAgain(server: Server, port: number, host: string): Promise<void> {
  if (server.listening) return;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const engine = new StripeEngine(options);
  const webhooks = new WebhookSender(engine, options.webhook ?? null);
  const faults = new StripeFaults();
  const routes: Route[] = [
    ...ROUTES,
    ...faultRoutes(faults),
    { method: 'post', path: '/_emulator/webhooks/deliver', operation: () => webhooks.deliverPending() },
    {
      method: 'post',
      path: '/_emulator/trigger/:event',
      operation: (_e, ctx, _p, path) => runTrigger(engine, ctx.scope, path.event),
    },
  ];
  const app = stripeApp(engine, options, routes, faults);
  const host = options.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, host, () => resolve(listening));
    listening.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  engine.hostedUrl = `http://${host}:${port}`;
  const apiKey = options.apiKeys?.[0] ?? DEFAULT_KEY;
  const sdkOptions = (extra: Stripe.StripeConfig = {}): Stripe.StripeConfig => ({
    host,
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    ...extra,
  });

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    apiKey,
    engine,
    get events() {
      return [...engine.eventLog];
    },
    eventsFor(selector) {
      return [...background(engine, selector).scope.all('event')] as StripeEvent[];
    },
    get deliveries() {
      return [...webhooks.attempts];
    },
    setWebhook: (webhook) => webhooks.configure(webhook),
    deliverPending: () => webhooks.deliverPending(),
    waitForDeliveries: (timeoutMs) => webhooks.waitForDeliveries(timeoutMs),
    sdkOptions,
    client: ({ apiKey: key, ...config } = {}) => new Stripe(key ?? apiKey, sdkOptions(config)),
    testHelpers: testHelpers(engine),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    get requests() {
      return [...faults.requests];
    },
    goOffline: () => stopListening(server),
    goOnline: () => listenAgain(server, port, host),
    close: async () => {
      webhooks.close();
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
