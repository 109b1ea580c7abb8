/** Shared test setup: an emulator on a free loopback port, an SDK client, and a webhook receiver. */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator, type StripeEmulatorOptions } from '..';

export async function emulatorWithClient(
  options: StripeEmulatorOptions = {},
): Promise<{ emulator: StripeEmulator; stripe: Stripe }> {
  const emulator = await startStripeEmulator({ rateLimit: false, ...options });
  return { emulator, stripe: emulator.client() };
}

/**
 * A fresh emulator and SDK client for every test of the file, closed after it; `use` receives them (the
 * file keeps them in its own variables). Returns `typesAfter(from)`: the types of the events the current
 * emulator emitted since `from` (an earlier `events.length`), in order.
 */
export function emulatorForEachTest(
  use: (started: { emulator: StripeEmulator; stripe: Stripe }) => void,
): (from: number) => string[] {
  let emulator: StripeEmulator | undefined;
  beforeEach(async () => {
    const started = await emulatorWithClient();
    emulator = started.emulator;
    use(started);
  });
  afterEach(() => emulator?.close());
  return (from) => emulator!.events.slice(from).map((event) => event.type);
}

/** A confirmed USD payment of `amount` with a test card (default `pm_card_visa`); `extra` adds parameters. */
export function confirmedPayment(
  stripe: Stripe,
  amount: number,
  card = 'pm_card_visa',
  extra: Partial<Stripe.PaymentIntentCreateParams> = {},
): Promise<Stripe.Response<Stripe.PaymentIntent>> {
  return stripe.paymentIntents.create({
    amount,
    currency: 'usd',
    payment_method: card,
    confirm: true,
    ...extra,
  });
}

export interface ReceivedWebhook {
  body: string;
  signature: string;
  contentType: string;
}

/** A webhook endpoint that records what arrives and answers with the status `respond` picks. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: (hook: ReceivedWebhook, index: number) => number = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const hook = {
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['stripe-signature'] ?? ''),
        contentType: String(req.headers['content-type'] ?? ''),
      };
      const index = this.received.length;
      this.received.push(hook);
      res.statusCode = this.respond(hook, index);
      res.end();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
    return this;
  }

  eventTypes(): string[] {
    return this.received.map((r) => JSON.parse(r.body).type);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const WEBHOOK_SECRET = 'whsec_test_emulator_secret';
