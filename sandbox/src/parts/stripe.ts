/** The Stripe emulator part; its webhook is pointed at the service once the service runs. */
import { startStripeEmulator } from '@stc/emulators';
import type { SandboxPart } from '../cli';

export const stripePart: SandboxPart = {
  name: 'stripe',
  async start(options) {
    // Test mode's rate limit (25 requests a second) stays on, as the service meets it against Stripe.
    const emulator = await startStripeEmulator({ port: options.stripePort });
    return { name: 'stripe', url: emulator.url, stop: () => emulator.close(), stripe: emulator };
  },
};
