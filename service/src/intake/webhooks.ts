/**
 * The webhook routes: Stripe's, served before Koa as the hot path, and Dataverse's, a Koa route. Each verifies,
 * stores (committed before the answer, so an acknowledged event is never lost) and acknowledges.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from '@koa/router';
import type Koa from 'koa';
import { parseDataverseWebhook } from './dataverse';
import { WebhookRejection } from './rejection';
import { createStripeWebhookVerifier } from './stripe';
import { constantTimeKeyCheck } from './auth';
import { ACK, ACK_DUPLICATE, ACK_IGNORED, type AppDeps, type IntakeContext } from './context';
import type { EventSource } from '../store';

// Labelled children bound once: no label lookup per request on the hot path.
const sourceCounters = (intake: IntakeContext, source: EventSource) => ({
  received: intake.metrics.received.labels(source),
  verified: intake.metrics.verified.labels(source),
  duplicates: intake.metrics.duplicates.labels(source),
});

/**
 * Stripe intake: verify, store, acknowledge. Returns the body of the 200; throws a WebhookRejection for bad
 * input.
 */
function createStripeIntake(intake: IntakeContext, secrets: readonly string[]) {
  const verifyStripe = createStripeWebhookVerifier(secrets);
  const counters = sourceCounters(intake, 'stripe');
  return async (req: IncomingMessage, state: { eventId?: string }): Promise<string> => {
    counters.received.inc();
    const payload = await intake.readRawBody(req, 'stripe');
    const receivedAtMs = intake.now();
    const header = req.headers['stripe-signature'];
    let record;
    try {
      record = verifyStripe(
        payload,
        typeof header === 'string' && header !== '' ? header : undefined,
        receivedAtMs,
      ).record;
    } catch (error) {
      intake.countRejection('stripe', error);
    }
    counters.verified.inc();
    state.eventId = record.eventId;
    const { inserted, queued } = await intake.insert(record, receivedAtMs);
    if (!inserted) {
      counters.duplicates.inc();
      intake.logger.debug(
        { eventId: record.eventId, account: record.account, type: record.type },
        'duplicate event acknowledged',
      );
      return ACK_DUPLICATE;
    }
    if (queued) intake.onQueued({ source: 'stripe', receivedAtMs });
    return queued ? ACK : ACK_IGNORED;
  };
}

const sendJson = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

/**
 * The Stripe webhook is the hot path: it is served before Koa, whose per-request context, middleware chain
 * and response handling measured about as much CPU as the whole intake (verify + durable insert). Same
 * answers and log lines as the Koa routes, through the same `failureReply`.
 */
export function serveStripeBeforeKoa(app: Koa, intake: IntakeContext, secrets: readonly string[]): void {
  const intakeStripe = createStripeIntake(intake, secrets);
  const koaCallback = app.callback.bind(app);
  app.callback = (() => {
    const handleWithKoa = koaCallback();
    return (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      if (req.method === 'POST' && (url === '/webhooks/stripe' || url.startsWith('/webhooks/stripe?'))) {
        const state: { eventId?: string } = {};
        return intakeStripe(req, state).then(
          (body) => sendJson(res, 200, body),
          (error) => {
            const reply = intake.failureReply(error, {
              path: '/webhooks/stripe',
              method: 'POST',
              eventId: state.eventId,
            });
            sendJson(res, reply.status, JSON.stringify(reply.body));
          },
        );
      }
      return handleWithKoa(req, res);
    };
  }) as typeof app.callback;
}

/** POST /webhooks/dataverse: the key header, then parse, store and acknowledge. */
export function registerDataverseWebhook(
  router: Router,
  intake: IntakeContext,
  webhook: AppDeps['dataverseWebhook'],
): void {
  const isDataverseKey = constantTimeKeyCheck(webhook.key);
  const dataverseHeader = (webhook.header ?? 'x-stc-webhook-key').toLowerCase();
  const counters = sourceCounters(intake, 'dataverse');
  router.post('/webhooks/dataverse', async (ctx) => {
    counters.received.inc();
    const key = ctx.get(dataverseHeader);
    if (!isDataverseKey(key || undefined)) {
      const rejection = key
        ? new WebhookRejection(401, 'bad_key', 'Wrong webhook key')
        : new WebhookRejection(401, 'missing_key', `Missing ${dataverseHeader} header`);
      intake.countRejection('dataverse', rejection);
    }
    const payload = await intake.readRawBody(ctx.req, 'dataverse');
    const receivedAtMs = intake.now();
    let record;
    try {
      record = parseDataverseWebhook(payload, receivedAtMs);
    } catch (error) {
      intake.countRejection('dataverse', error);
    }
    counters.verified.inc();
    ctx.state.eventId = record.eventId;
    const { inserted, queued } = await intake.insert(record, receivedAtMs);
    const log = intake.logger.child({ eventId: record.eventId, source: 'dataverse', type: record.type });
    if (!inserted) counters.duplicates.inc();
    else if (queued) intake.onQueued();
    log.info({ duplicate: !inserted, queued }, 'Dataverse event received');
    ctx.type = 'application/json';
    ctx.body = !inserted ? ACK_DUPLICATE : queued ? ACK : ACK_IGNORED;
  });
}
