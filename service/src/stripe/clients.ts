/** Stripe SDK clients: one per account (the platform's for null, `stripeAccount` for Connect), made on first use. */
import Stripe from 'stripe';
import type { ServiceConfig } from '../config';

export type StripeFor = (account: string | null) => Stripe;

export function createStripeClients(config: ServiceConfig['stripe']): StripeFor {
  const clients = new Map<string, Stripe>();
  return (account) => {
    const key = account ?? '';
    let client = clients.get(key);
    if (!client) {
      client = new Stripe(config.apiKey, {
        maxNetworkRetries: config.maxNetworkRetries,
        timeout: config.timeoutMs,
        telemetry: false,
        ...(config.api ?? {}),
        ...(account ? { stripeAccount: account } : {}),
      });
      clients.set(key, client);
    }
    return client;
  };
}
