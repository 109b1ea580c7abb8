/**
 * Sync from Stripe: the form command stamps `stc_syncrequestedon` on a payment, account or contact; the
 * Dataverse webhook step on that column brings the update here, and the Stripe object (the payment intent or
 * charge, or the customer) is read again, in the row's connected account, and written through the same
 * mappings and handlers as Stripe's own events.
 *
 * Account and contact updates also go to the customers-outbound handler (user edits to Stripe):
 * `withSyncRequests` wraps it, so one handler takes those event types and a change that carries
 * `stc_syncrequestedon` is synced from Stripe after the outbound handler has run.
 */
import type Stripe from 'stripe';
import { Account, Contact, Payment } from '@stc/solution/tables';
import type { MappingSet } from '../../mapping';
import { createCustomersHandler, type CustomerMappingNames } from '../customers';
import { syncPayment } from '../payments';
import type { DataverseChange } from '../../dataverse/change';
import { retrieveObject } from '../../write/stripe-objects';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';

export const SYNC_REQUESTED_COLUMN = Payment.col.syncRequestedOn;

const ROWS: Record<string, { entitySet: string; stripeId: string; stripeAccount: string }> = {
  [Payment.logicalName]: {
    entitySet: Payment.entitySetName,
    stripeId: Payment.col.stripeId,
    stripeAccount: Payment.col.stripeAccount,
  },
  [Account.logicalName]: {
    entitySet: Account.entitySetName,
    stripeId: Account.col.stripeCustomerId,
    stripeAccount: Account.col.stripeAccount,
  },
  [Contact.logicalName]: {
    entitySet: Contact.entitySetName,
    stripeId: Contact.col.stripeCustomerId,
    stripeAccount: Contact.col.stripeAccount,
  },
};

/** Whether the change stamped the Sync from Stripe column. */
export function isSyncRequest(change: DataverseChange): boolean {
  return SYNC_REQUESTED_COLUMN in change.attributes;
}

/** A v1-shaped Stripe event around the object read now, so the mappings stamp the row as for any event. */
function syntheticEvent(
  type: string,
  object: { id: string; livemode?: unknown },
  account: string | null,
  id: string,
): Stripe.Event {
  return {
    id,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: object.livemode === true,
    account: account ?? undefined,
    api_version: null,
    pending_webhooks: 0,
    request: null,
    data: { object },
  } as unknown as Stripe.Event;
}

export function createSyncRequestsHandler(
  mappings: () => MappingSet,
  customers?: CustomerMappingNames,
): DataverseChangeHandler {
  const customersHandler = createCustomersHandler(mappings, customers);
  return {
    source: 'dataverse',
    resource: 'sync-requests',
    changes: [{ table: Payment.logicalName, messages: ['Update'] }],
    async handle(change, context) {
      const table = change.table;
      const shape = ROWS[table];
      if (!shape || !isSyncRequest(change)) {
        context.log.info({ table, eventId: change.id }, 'not a Sync from Stripe request; nothing to do');
        return;
      }
      const row = await context.dataverse.retrieve(shape.entitySet, change.rowId, {
        select: [shape.stripeId, shape.stripeAccount],
      });
      const stripeId = typeof row?.[shape.stripeId] === 'string' ? String(row[shape.stripeId]) : '';
      if (!stripeId) {
        context.log.warn(
          { table, rowId: change.rowId },
          'Sync from Stripe on a row with no Stripe id; nothing to read',
        );
        return;
      }
      const stripeAccount = row?.[shape.stripeAccount];
      const account = typeof stripeAccount === 'string' && stripeAccount ? stripeAccount : null;
      await syncFromStripe(table, stripeId, account, change.id, context);
      context.log.info({ table, stripeId, account }, 'synced from Stripe on request');
    },
  };

  async function syncFromStripe(
    table: string,
    stripeId: string,
    account: string | null,
    eventId: string,
    context: SyncContext,
  ): Promise<void> {
    const fresh = { ...context, payloadMayBeStale: true };
    if (table === Payment.logicalName) {
      // The payment handlers read the intent (or a charge without one) from Stripe themselves.
      const charge = stripeId.startsWith('ch_');
      const event = syntheticEvent(
        charge ? 'charge.updated' : 'payment_intent.updated',
        { id: stripeId },
        account,
        eventId,
      );
      await syncPayment(
        mappings(),
        charge ? { charge: stripeId } : { paymentIntent: stripeId },
        event,
        fresh,
      );
      return;
    }
    const probe = syntheticEvent('customer.updated', { id: stripeId }, account, eventId);
    const customer = await retrieveObject(probe, fresh, 'customer', stripeId);
    const type = customer.deleted === true ? 'customer.deleted' : 'customer.updated';
    await customersHandler.handle(syntheticEvent(type, customer, account, eventId), fresh);
  }
}

/**
 * The customers-outbound handler extended with Sync from Stripe: it keeps its event types, runs as before,
 * and a change that stamped `stc_syncrequestedon` is then synced from Stripe by `syncRequests`.
 */
export function withSyncRequests(
  outbound: DataverseChangeHandler,
  syncRequests: DataverseChangeHandler,
): DataverseChangeHandler {
  return {
    source: 'dataverse',
    resource: outbound.resource,
    changes: outbound.changes,
    async handle(change, context) {
      await outbound.handle(change, context);
      if (change.message.toLowerCase() === 'update' && isSyncRequest(change))
        await syncRequests.handle(change, context);
    },
  };
}
