/** The service's Stripe configuration pointed at a Stripe emulator: test mode, no SDK retries, a given budget. */
import type { StripeEmulator } from '@stc/emulators';
import type { ServiceConfig } from '../../config';

export function stripeConfigFor(
  emulator: StripeEmulator,
  budget: ServiceConfig['stripe']['budget'],
): ServiceConfig['stripe'] {
  return {
    apiKey: emulator.apiKey,
    mode: 'test',
    webhookSecrets: [],
    api: { host: emulator.host, port: emulator.port, protocol: 'http' },
    maxNetworkRetries: 0,
    timeoutMs: 30_000,
    budget,
  };
}
