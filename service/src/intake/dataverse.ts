/**
 * Dataverse webhook intake: the body is a RemoteExecutionContext (JSON) posted by a service endpoint step.
 * The inbox id is the context's own: OperationId when Dataverse set one, else CorrelationId + PrimaryEntityId +
 * MessageName, so Dataverse's single retry of a 502/503/504 is recognised as a duplicate.
 */
import type { NewInboxEvent } from '../store';
import { WebhookRejection } from './rejection';

export interface RemoteExecutionContext {
  MessageName: string;
  PrimaryEntityName: string;
  PrimaryEntityId: string;
  CorrelationId: string;
  OperationId?: string;
  OperationCreatedOn?: string;
  [key: string]: unknown;
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const WCF_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;

export function parseDataverseWebhook(
  payload: string,
  nowMs: number,
): Omit<NewInboxEvent, 'status' | 'receivedAtMs'> {
  let context: RemoteExecutionContext;
  try {
    // Dataverse's serializer may prefix a byte-order mark.
    context = JSON.parse(payload.charCodeAt(0) === 0xfeff ? payload.slice(1) : payload);
  } catch {
    throw new WebhookRejection(400, 'malformed_json', 'Body is not valid JSON');
  }
  const missing = ['MessageName', 'PrimaryEntityName', 'PrimaryEntityId', 'CorrelationId'].filter(
    (name) =>
      typeof (context as Record<string, unknown> | null)?.[name] !== 'string' ||
      (context as Record<string, unknown>)[name] === '',
  );
  if (missing.length > 0) {
    throw new WebhookRejection(
      400,
      'not_an_event',
      `Body is not a RemoteExecutionContext: missing ${missing.join(', ')}`,
    );
  }
  const operationId =
    typeof context.OperationId === 'string' && context.OperationId !== EMPTY_GUID
      ? context.OperationId
      : null;
  return {
    source: 'dataverse',
    account: '',
    eventId: operationId ?? `${context.CorrelationId}:${context.PrimaryEntityId}:${context.MessageName}`,
    type: dataverseEventType(context.PrimaryEntityName, context.MessageName),
    objectId: `${context.PrimaryEntityName}(${context.PrimaryEntityId})`,
    eventCreatedMs: parseDataverseDate(context.OperationCreatedOn) ?? nowMs,
    payload,
  };
}

/** `dataverse.<table>.<message>`, e.g. `dataverse.stc_refundrequest.create`: what handlers list in `eventTypes`. */
export function dataverseEventType(table: string, message: string): string {
  return `dataverse.${table.toLowerCase()}.${message.toLowerCase()}`;
}

function parseDataverseDate(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const wcf = WCF_DATE.exec(value);
  if (wcf) return Number(wcf[1]);
  const iso = Date.parse(value);
  return Number.isFinite(iso) ? iso : null;
}
