/**
 * Stripe SDK clients: one per account (the platform's for null, `stripeAccount` for Connect), made on first
 * use. Given a budget, every request of every client waits for its place in it (see budget.ts).
 */
import Stripe from 'stripe';
import type { ServiceConfig } from '../config';
import type { Registry } from 'prom-client';
import { createStripeBudget, type BudgetLedger, type StripeBudget } from './budget';
import { budgetedHttpClient } from './budgeted-http';
import { createStripeBudgetMetrics } from './metrics';

export type StripeFor = (account: string | null) => Stripe;

/** Told of every answer Stripe gave: its status and how long the request took (ms). */
export type StripeResponseObserver = (status: number, elapsedMs: number) => void;

export function createStripeClients(
  config: ServiceConfig['stripe'],
  options: { budget?: StripeBudget; onResponse?: StripeResponseObserver; beforeRequest?: () => void } = {},
): StripeFor {
  const clients = new Map<string, Stripe>();
  // One HTTP client (and its connection pool) for every account.
  const httpClient = options.budget
    ? budgetedHttpClient(Stripe.createNodeHttpClient(), options.budget, {
        mode: config.mode,
        beforeRequest: options.beforeRequest,
      })
    : undefined;
  return (account) => {
    const key = account ?? '';
    let client = clients.get(key);
    if (!client) {
      client = new Stripe(config.apiKey, {
        maxNetworkRetries: config.maxNetworkRetries,
        timeout: config.timeoutMs,
        telemetry: false,
        ...(httpClient ? { httpClient } : {}),
        ...(config.api ?? {}),
        ...(account ? { stripeAccount: account } : {}),
      });
      const observe = options.onResponse;
      if (observe)
        client.on('response', (response: Stripe.ResponseEvent) => observe(response.status, response.elapsed));
      clients.set(key, client);
    }
    return client;
  };
}

/**
 * The clients of a service process: every request in the budget shared through `ledger` (the store), its
 * metrics on `registry`; a store failure is logged and the requests wait for the store to answer again.
 */
export function createBudgetedStripeClients(
  config: ServiceConfig['stripe'],
  ledger: BudgetLedger,
  options: {
    registry?: Registry;
    log?: { warn(details: object, message: string): void };
    onResponse?: StripeResponseObserver;
    /** Asked before each request is sent (a retry too); throwing refuses it (see budgeted-http). */
    beforeRequest?: () => void;
  } = {},
): { stripeFor: StripeFor; budget: StripeBudget } {
  const observer = options.registry
    ? createStripeBudgetMetrics(options.registry, () => budget.waiting())
    : {};
  const budget: StripeBudget = createStripeBudget({
    ledger,
    settings: config.budget,
    observer: {
      ...observer,
      storeFailed(error) {
        observer.storeFailed?.(error);
        options.log?.warn({ err: error }, 'Stripe budget: the store did not answer; requests wait');
      },
    },
  });
  return {
    stripeFor: createStripeClients(config, {
      budget,
      onResponse: options.onResponse,
      beforeRequest: options.beforeRequest,
    }),
    budget,
  };
}
