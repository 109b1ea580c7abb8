/**
 * Posting notifications to the receivers. Each receiver has its own outbox: what it did not take (an error
 * answer, a timeout, a network failure) stays there, in order, and is sent again next round, so a receiver
 * that is down never holds the others back nor breaks the service. Webhook URLs carry their secret in the
 * path or query, so only the origin ever reaches a log line.
 */
import type { HandlerLogger } from '../pipeline/handler';
import { messageFor, type ReceiverFormat } from './formats';
import type { AlertNotification } from './notifications';

export interface AlertReceiver {
  format: ReceiverFormat;
  url: string;
}

/** Notifications a receiver has not taken yet; the oldest are dropped beyond this. */
const OUTBOX_LIMIT = 100;

/** The URL as a log line may show it: scheme and host only. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '(not a URL)';
  }
}

export interface Outbox {
  receiver: AlertReceiver;
  waiting: AlertNotification[];
}

export function outboxesFor(receivers: readonly AlertReceiver[]): Outbox[] {
  return receivers.map((receiver) => ({ receiver, waiting: [] }));
}

async function post(receiver: AlertReceiver, body: object, options: DeliveryOptions) {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const response = await (options.fetch ?? fetch)(receiver.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
  });
  // The body is not needed; reading it frees the connection.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
}

export interface DeliveryOptions {
  timeoutMs: number;
  log: HandlerLogger;
  fetch?: typeof fetch;
  /** Aborted when the service stops: what is being sent stays in the outbox. */
  signal?: AbortSignal;
}

/** Sends what waits in one outbox, in order; stops at the first failure. Never throws. */
export async function flushOutbox(outbox: Outbox, options: DeliveryOptions): Promise<number> {
  const { receiver } = outbox;
  if (outbox.waiting.length > OUTBOX_LIMIT) {
    const dropped = outbox.waiting.splice(0, outbox.waiting.length - OUTBOX_LIMIT);
    options.log.warn(
      { receiver: maskUrl(receiver.url), format: receiver.format, dropped: dropped.length },
      'alert receiver has not taken notifications for long; the oldest were dropped',
    );
  }
  let sent = 0;
  while (outbox.waiting.length > 0) {
    const notification = outbox.waiting[0];
    try {
      await post(receiver, messageFor(receiver.format, notification), options);
    } catch (error) {
      if (options.signal?.aborted) return sent;
      const message = (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message;
      const reason = message.split(receiver.url).join(maskUrl(receiver.url));
      options.log.warn(
        {
          receiver: maskUrl(receiver.url),
          format: receiver.format,
          alert: notification.alert,
          waiting: outbox.waiting.length,
          reason,
        },
        'alert not delivered; sent again next round',
      );
      return sent;
    }
    outbox.waiting.shift();
    sent += 1;
  }
  return sent;
}
