/**
 * What every intake route shares: the app's dependencies with their defaults filled in, the per-source
 * counters, reading a bounded raw body, storing a verified event, and how a failure is answered and logged.
 */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import type { ConsoleDeps } from '../console';
import type { MappingVersionOps } from '../mapping-versions';
import type { Logger } from '../observability/log';
import { WebhookRejection } from './rejection';
import type { EventSource, NewInboxEvent, Store } from '../store';
import { createMetrics, type Metrics } from '../observability/metrics';

export interface AppDeps {
  store: Store;
  logger: Logger;
  /**
   * Whether a worker takes events of this type from this source (the pipeline's routing, handed in by the
   * service); the others are recorded as `ignored`.
   */
  takes(type: string, source: EventSource): boolean;
  /** Every `whsec_…` secret accepted (several during rotation). */
  stripeWebhookSecrets: readonly string[];
  dataverseWebhook: { key: string; header?: string };
  adminApiKey: string;
  metrics?: Metrics;
  /** Largest webhook body accepted, in bytes (413 beyond); default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Called after a new event is queued: wakes idle workers of this process (for a Stripe event, once its burst
   * has gathered). Given the event's source and receipt time when one webhook queued it.
   */
  onEventQueued?: (queued?: { source: EventSource; receivedAtMs: number }) => void;
  now?: () => number;
  /** Mapping versions for the console's /console/api/mappings routes; those routes answer 404 without it. */
  mappingVersions?: MappingVersionOps;
  /** What the operator console's API reads beyond the store (configuration, Dataverse, alerts). */
  console?: Omit<ConsoleDeps, 'adminApiKey'>;
}

export const ACK = '{"received":true}';
export const ACK_DUPLICATE = '{"received":true,"duplicate":true}';
export const ACK_IGNORED = '{"received":true,"ignored":true}';

export interface FailureReply {
  status: number;
  body: { error: { code: string; message: string } };
}

export interface IntakeContext {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  onQueued: (queued?: { source: EventSource; receivedAtMs: number }) => void;
  /** How any failure is answered and logged: shared by the error middleware and the Stripe fast path. */
  failureReply(error: unknown, where: { path: string; method: string; eventId?: string }): FailureReply;
  readRawBody(req: IncomingMessage, source: EventSource): Promise<string>;
  /** Counts a rejection of this source's input, then rethrows the error. */
  countRejection(source: EventSource, error: unknown): never;
  /** Stores a verified event, `pending` when a worker takes its type and `ignored` otherwise. */
  insert(
    record: Omit<NewInboxEvent, 'status' | 'receivedAtMs'>,
    receivedAtMs: number,
  ): Promise<{ inserted: boolean; queued: boolean }>;
}

export function createIntakeContext(deps: AppDeps): IntakeContext {
  const { store, logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ store });
  const limit = deps.maxBodyBytes ?? 1_048_576;
  return {
    store,
    logger,
    metrics,
    now: deps.now ?? Date.now,
    onQueued: deps.onEventQueued ?? (() => undefined),
    failureReply: (error, where) => failureReply(logger, error, where),
    readRawBody(req, source) {
      return getRawBody(req, { limit, length: req.headers['content-length'], encoding: 'utf8' }).catch(
        (error) => {
          const type = (error as { type?: string }).type;
          const rejection =
            type === 'entity.too.large'
              ? new WebhookRejection(413, 'too_large', `Body larger than ${limit} bytes`)
              : new WebhookRejection(400, 'malformed_json', 'Could not read the request body');
          metrics.rejected.inc({ source, reason: rejection.reason });
          throw rejection;
        },
      );
    },
    countRejection(source, error) {
      if (error instanceof WebhookRejection) metrics.rejected.inc({ source, reason: error.reason });
      throw error;
    },
    async insert(record, receivedAtMs) {
      const queued = deps.takes(record.type, record.source);
      // Every field named, in one order: each webhook's event has the same shape. Spreading the record and
      // adding fields made V8 define them one by one on its slow path (about 2 to 3 µs a webhook).
      const event: NewInboxEvent = {
        source: record.source,
        account: record.account,
        eventId: record.eventId,
        type: record.type,
        objectId: record.objectId,
        eventCreatedMs: record.eventCreatedMs,
        payload: record.payload,
        status: queued ? 'pending' : 'ignored',
        receivedAtMs,
      };
      return { inserted: await store.insertEvent(event), queued };
    },
  };
}

function failureReply(
  logger: Logger,
  error: unknown,
  where: { path: string; method: string; eventId?: string },
): FailureReply {
  if (error instanceof WebhookRejection) {
    logger.warn({ path: where.path, status: error.status, reason: error.reason }, error.message);
    return { status: error.status, body: { error: { code: error.reason, message: error.message } } };
  }
  const status = (error as { status?: number }).status;
  const expose = (error as { expose?: boolean }).expose;
  if (status && status < 500 && expose) {
    logger.warn({ path: where.path, status }, (error as Error).message);
    return { status, body: { error: { code: 'bad_request', message: (error as Error).message } } };
  }
  logger.error(
    { err: error, path: where.path, method: where.method, eventId: where.eventId },
    'request failed',
  );
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: 'Internal error; see the service log' } },
  };
}
