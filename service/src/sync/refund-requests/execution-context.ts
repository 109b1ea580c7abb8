/**
 * Reading a Dataverse RemoteExecutionContext (the body a webhook step posts) as the handlers need it: who
 * made the change, and which columns the change carried. Values come in the .NET data-contract shape
 * (`OptionSetValue`, `EntityReference`, `Money` objects, `/Date(ms)/` strings) and are flattened here.
 */
import type Stripe from 'stripe';

export interface ExecutionContext {
  MessageName: string;
  PrimaryEntityName: string;
  PrimaryEntityId: string;
  CorrelationId: string;
  /** The user the operation ran as (the impersonated user under `MSCRMCallerID`). */
  UserId?: string;
  /** The user who called (the application user that impersonated, or the same as UserId). */
  InitiatingUserId?: string;
  InputParameters?: Array<{ key: string; value: unknown }>;
  Depth?: number;
}

export function executionContextOf(event: Stripe.Event): ExecutionContext {
  const context = event.data.object as unknown as ExecutionContext;
  if (
    !context ||
    typeof context.PrimaryEntityId !== 'string' ||
    typeof context.PrimaryEntityName !== 'string'
  ) {
    throw new TypeError(
      `Event ${event.id} (${event.type}) does not carry a Dataverse RemoteExecutionContext`,
    );
  }
  return context;
}

/** Dataverse GUIDs compare case-insensitively. */
export function sameId(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/**
 * The columns the change set, flattened (`OptionSetValue` → its number, `EntityReference` → its id,
 * `Money` → its value). Empty when the message carried no Target (deletes, or a body over 256 KB).
 */
export function targetAttributes(context: ExecutionContext): Record<string, unknown> {
  const target = context.InputParameters?.find((p) => p.key === 'Target')?.value as
    { Attributes?: Array<{ key: string; value: unknown }> } | undefined;
  const out: Record<string, unknown> = {};
  for (const attribute of target?.Attributes ?? []) out[attribute.key] = contractValue(attribute.value);
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
