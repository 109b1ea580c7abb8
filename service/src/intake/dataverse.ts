/**
 * Dataverse webhook intake: the body is a RemoteExecutionContext (JSON) posted by a service endpoint step.
 * The inbox id is the context's own: OperationId when Dataverse set one, else CorrelationId + PrimaryEntityId +
 * MessageName, so Dataverse's single retry of a 502/503/504 is recognised as a duplicate.
 */
import {
  changeId,
  dataverseEventType,
  missingContextFields,
  parseDataverseDate,
  type RemoteExecutionContext,
} from '../dataverse';
import type { NewInboxEvent } from '../store';
import { WebhookRejection } from './rejection';

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
  const missing = missingContextFields(context);
  if (missing.length > 0) {
    throw new WebhookRejection(
      400,
      'not_an_event',
      `Body is not a RemoteExecutionContext: missing ${missing.join(', ')}`,
    );
  }
  return {
    source: 'dataverse',
    account: '',
    eventId: changeId(context),
    type: dataverseEventType(context.PrimaryEntityName, context.MessageName),
    objectId: `${context.PrimaryEntityName}(${context.PrimaryEntityId})`,
    eventCreatedMs: parseDataverseDate(context.OperationCreatedOn) ?? nowMs,
    payload,
  };
}
