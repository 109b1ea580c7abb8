/**
 * Changes Dataverse reports through a webhook step: the body is a RemoteExecutionContext (the .NET data
 * contract, as JSON), read here into a `DataverseChange`, the event type of the Dataverse → Stripe handlers.
 * Values come in the data-contract shape (`OptionSetValue`, `EntityReference`, `Money` objects) and are
 * flattened: an option set to its number, a lookup to its id, money to its value.
 */

/** The parts of a RemoteExecutionContext the connector reads; Dataverse sends more. */
export interface RemoteExecutionContext {
  MessageName: string;
  PrimaryEntityName: string;
  PrimaryEntityId: string;
  CorrelationId: string;
  OperationId?: string;
  OperationCreatedOn?: string;
  /** The user the operation ran as (the impersonated user under `MSCRMCallerID`). */
  UserId?: string;
  /** The user who called (the application user that impersonated, or the same as UserId). */
  InitiatingUserId?: string;
  InputParameters?: DataContractCollection;
  PreEntityImages?: DataContractCollection;
  PostEntityImages?: DataContractCollection;
  Depth?: number;
  [key: string]: unknown;
}

type DataContractCollection = Array<{ key: string; value: unknown }>;

/** One change to one Dataverse row, as the Dataverse → Stripe handlers receive it. */
export interface DataverseChange {
  /** The change's inbox id: the OperationId, else CorrelationId:row id:message. */
  id: string;
  /** The message as Dataverse names it: `Create`, `Update`, `Delete`, … */
  message: string;
  /** The table's logical name, lower case: `stc_refundrequest`, `account`. */
  table: string;
  /** The row's id, lower case. */
  rowId: string;
  /** The columns the change set (its Target), flattened. Empty for a delete or a body over 256 KB. */
  attributes: Record<string, unknown>;
  /** The row before the change, when the step registered a pre-image; flattened. */
  preImage?: Record<string, unknown>;
  /** The row as the change left it, when the step registered a post-image; flattened. */
  postImage?: Record<string, unknown>;
  /** The user the operation ran as. */
  userId?: string;
  /** The user who called (an application user impersonating `userId`, or the same user). */
  initiatingUserId?: string;
  correlationId: string;
  /** How deep in a chain of plug-ins and webhooks the operation ran (1 for a user's own change). */
  depth?: number;
  /** When Dataverse says the operation happened, in ms since the epoch. */
  occurredAtMs?: number;
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const WCF_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;
const REQUIRED = ['MessageName', 'PrimaryEntityName', 'PrimaryEntityId', 'CorrelationId'] as const;

/** The fields a RemoteExecutionContext must carry that `value` lacks (empty when it is one). */
export function missingContextFields(value: unknown): string[] {
  const record = value as Record<string, unknown> | null;
  return REQUIRED.filter((name) => typeof record?.[name] !== 'string' || record[name] === '');
}

/** The change's inbox id: Dataverse's OperationId, else one made of the ids Dataverse keeps on its retry. */
export function changeId(context: RemoteExecutionContext): string {
  return typeof context.OperationId === 'string' && context.OperationId !== EMPTY_GUID
    ? context.OperationId
    : `${context.CorrelationId}:${context.PrimaryEntityId}:${context.MessageName}`;
}

/** `dataverse.<table>.<message>`, e.g. `dataverse.stc_refundrequest.create`: the inbox's type of a change. */
export function dataverseEventType(table: string, message: string): string {
  return `dataverse.${table.toLowerCase()}.${message.toLowerCase()}`;
}

/** A WCF (`/Date(ms)/`) or ISO date in ms, or null. */
export function parseDataverseDate(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const wcf = WCF_DATE.exec(value);
  if (wcf) return Number(wcf[1]);
  const iso = Date.parse(value);
  return Number.isFinite(iso) ? iso : null;
}

/** Reads a RemoteExecutionContext (parsed JSON) as a change; throws a TypeError when it is not one. */
export function readDataverseChange(context: unknown): DataverseChange {
  const missing = missingContextFields(context);
  if (missing.length > 0)
    throw new TypeError(`Not a Dataverse RemoteExecutionContext: missing ${missing.join(', ')}`);
  const c = context as RemoteExecutionContext;
  const target = collectionValue(c.InputParameters, 'Target') as
    { Attributes?: DataContractCollection } | undefined;
  const image = collectionValue(c.PreEntityImages, undefined) as
    { Attributes?: DataContractCollection } | undefined;
  const after = collectionValue(c.PostEntityImages, undefined) as
    { Attributes?: DataContractCollection } | undefined;
  return {
    id: changeId(c),
    message: c.MessageName,
    table: c.PrimaryEntityName.toLowerCase(),
    rowId: c.PrimaryEntityId.toLowerCase(),
    attributes: flattenAttributes(target?.Attributes),
    preImage: image ? flattenAttributes(image.Attributes) : undefined,
    postImage: after ? flattenAttributes(after.Attributes) : undefined,
    userId: typeof c.UserId === 'string' ? c.UserId : undefined,
    initiatingUserId: typeof c.InitiatingUserId === 'string' ? c.InitiatingUserId : undefined,
    correlationId: c.CorrelationId,
    depth: typeof c.Depth === 'number' ? c.Depth : undefined,
    occurredAtMs: parseDataverseDate(c.OperationCreatedOn) ?? undefined,
  };
}

/** Dataverse GUIDs compare case-insensitively. */
export function sameId(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/** The value under `key` in a data-contract collection; the first entry's value when `key` is undefined. */
function collectionValue(collection: DataContractCollection | undefined, key: string | undefined): unknown {
  if (!Array.isArray(collection)) return undefined;
  return (key === undefined ? collection[0] : collection.find((entry) => entry.key === key))?.value;
}

function flattenAttributes(attributes: DataContractCollection | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const attribute of Array.isArray(attributes) ? attributes : [])
    out[attribute.key] = contractValue(attribute.value);
  return out;
}

function contractValue(value: unknown): unknown {
  if (value && typeof value === 'object') {
    const v = value as { Value?: unknown; Id?: unknown; LogicalName?: unknown };
    if ('Value' in v) return v.Value;
    if ('Id' in v && 'LogicalName' in v) return v.Id;
  }
  return value;
}
