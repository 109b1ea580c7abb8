/**
 * Fresh state from Stripe: a mapping that asks for it (`refresh`) maps the object as Stripe has it now,
 * not the event's copy, which may be older than a later event already processed or in an old API version.
 */
import type Stripe from 'stripe';
import {
  applyMapping,
  eventEnvelope,
  mappingApplies,
  type CompiledMapping,
  type EventEnvelope,
  type MappedRow,
} from '../mapping';
import type { StripeEventHandler, SyncContext } from '../pipeline/handler';
import { mustReadObject } from './payload';

export type StripeObject = { id: string; object: string } & Record<string, unknown>;

type Retriever = (stripe: Stripe, id: string, expand: string[]) => Promise<StripeObject>;

const expandParams = (expand: string[]) => (expand.length ? { expand } : {});

// The SDK's typed resources, seen as the plain JSON objects the mappings read.
const asObject = (pending: Promise<unknown>) => pending as Promise<StripeObject>;

const retrievers: Record<string, Retriever> = {
  payment_intent: (stripe, id, expand) => asObject(stripe.paymentIntents.retrieve(id, expandParams(expand))),
  charge: (stripe, id, expand) => asObject(stripe.charges.retrieve(id, expandParams(expand))),
  refund: (stripe, id, expand) => asObject(stripe.refunds.retrieve(id, expandParams(expand))),
  dispute: (stripe, id, expand) => asObject(stripe.disputes.retrieve(id, expandParams(expand))),
  customer: (stripe, id, expand) => asObject(stripe.customers.retrieve(id, expandParams(expand))),
  subscription: (stripe, id, expand) => asObject(stripe.subscriptions.retrieve(id, expandParams(expand))),
  invoice: (stripe, id, expand) => asObject(stripe.invoices.retrieve(id, expandParams(expand))),
  credit_note: (stripe, id, expand) => asObject(stripe.creditNotes.retrieve(id, expandParams(expand))),
  invoice_payment: (stripe, id, expand) =>
    asObject(stripe.invoicePayments.retrieve(id, expandParams(expand))),
  product: (stripe, id, expand) => asObject(stripe.products.retrieve(id, expandParams(expand))),
  price: (stripe, id, expand) => asObject(stripe.prices.retrieve(id, expandParams(expand))),
};

/** The Stripe client for the event's account: Connect events are read from the connected account. */
export function stripeForEvent(event: Stripe.Event, context: SyncContext): Stripe {
  return context.stripeFor(event.account ?? null);
}

/** Retrieves a Stripe object by type and id, with expansions. */
export async function retrieveObject(
  event: Stripe.Event,
  context: SyncContext,
  type: string,
  id: string,
  expand: string[] = [],
): Promise<StripeObject> {
  const retrieve = retrievers[type];
  if (!retrieve) throw new Error(`no Stripe retrieval for object type "${type}"`);
  return retrieve(stripeForEvent(event, context), id, expand);
}

/**
 * The object to map: the one given (the event's copy), unless it must be read from Stripe (see
 * mustReadObject: its payload may be older than what is written, or the mapping needs what it lacks).
 */
export async function objectForMapping(
  mapping: CompiledMapping,
  event: Stripe.Event,
  context: SyncContext,
  given: StripeObject | undefined,
  id: string,
): Promise<StripeObject> {
  if (given && !mustReadObject(mapping, given, context)) return given;
  return retrieveObject(event, context, mapping.source, id, mapping.refresh?.expand ?? []);
}

/** Applies the mapping when its `when` holds; null otherwise. */
export async function mapIfApplies(
  mapping: CompiledMapping,
  object: StripeObject,
  envelope: EventEnvelope,
): Promise<MappedRow | null> {
  if (!(await mappingApplies(mapping, object, envelope))) return null;
  return applyMapping(mapping, object, envelope);
}

export { eventEnvelope };

/** The id of a field that is either an id or an expanded object. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  return undefined;
}

/**
 * Logs an event whose object the handler does not map; the event is acknowledged, nothing is written, and
 * the pipeline records it so (`skipped`).
 */
export function logUnmapped(event: Stripe.Event, context: SyncContext, resource: string): void {
  const object = event.data.object as unknown as StripeObject;
  context.log.warn(
    { eventId: event.id, type: event.type, object: object.object },
    `${resource} handler got an object it does not map`,
  );
  context.nothingWritten?.(`the ${resource} handler does not map a ${String(object.object)} object`);
}

/**
 * Logs why the event writes nothing (`<reason>; nothing written`) and tells the pipeline, which records the
 * event `skipped` with the reason rather than applied. Only for an event that, as a whole, writes nothing.
 */
export function reportNothingWritten(context: SyncContext, fields: object, reason: string): void {
  context.log.info(fields, `${reason}; nothing written`);
  context.nothingWritten?.(reason);
}

/**
 * A handler of one resource's events that works the event's object when it is of `type` (anything else is
 * logged and left, see eventObjectOf).
 */
export function objectEventHandler(
  resource: string,
  eventTypes: string[],
  type: string,
  handle: (object: StripeObject, event: Stripe.Event, context: SyncContext) => Promise<void>,
): StripeEventHandler {
  return {
    resource,
    eventTypes,
    async handle(event, context) {
      const object = eventObjectOf(event, type, context, resource);
      if (object) await handle(object, event, context);
    },
  };
}

/** The event's object when it is of the type the handler maps; otherwise logged (`logUnmapped`) and null. */
export function eventObjectOf(
  event: Stripe.Event,
  type: string,
  context: SyncContext,
  resource: string,
): StripeObject | null {
  const object = event.data.object as unknown as StripeObject;
  if (object.object === type) return object;
  logUnmapped(event, context, resource);
  return null;
}
