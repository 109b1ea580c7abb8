/**
 * Customers: `customer.created|updated|deleted` → an account or a contact, by the rule in the mapping
 * files (customers.yaml). A customer is never duplicated: the row is found by stc_stripecustomerid in
 * either table, then by e-mail in the chosen table, and created only when neither finds one.
 * The common case (the row exists) is one request: an update by alternate key, without a read.
 */
import type Stripe from 'stripe';
import type { CompiledMapping, MappedRow, MappingSet } from '../../mapping';
import { applyMapping } from '../../mapping';
import {
  eventEnvelope,
  mapIfApplies,
  objectForMapping,
  type StripeObject,
  eventObjectOf,
  reportNothingWritten,
} from '../../write/stripe-objects';
import {
  isConflict,
  isDuplicate,
  isNotFound,
  linkWaitingRows,
  odataString,
  writeMappedRow,
} from '../../write/rows';
import { PAYMENT_INTENT_MAPPING } from '../payments';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';
import { Account, Payment, StripeInvoice } from '@stc/solution/tables';

/** The payment columns holding the Stripe customer id and the link to its account or contact. */
const PAYMENT_CUSTOMER_ID = Payment.col.stripeCustomerId;
const PAYMENT_CUSTOMER_LOOKUP = Payment.col.customerid;
const MAX_ROWS_TO_LINK = 500;

export interface CustomerMappingNames {
  /** Tried in order: the first whose `when` holds decides the table; the others are where an existing row may be. */
  live: string[];
  /** Applied, update only, to every table that has a row for a deleted customer. */
  deleted: string[];
  /** The column of the chosen table matched against the customer's e-mail before creating a row. */
  emailColumn: string;
  /**
   * Which customers may claim a row entered by hand with the same e-mail: `live` (default) keeps test-mode
   * customers from taking over real accounts and contacts; `always` also lets test mode match (sandboxes).
   */
  matchByEmail: 'live' | 'always' | 'never';
}

export const DEFAULT_CUSTOMER_MAPPINGS: CustomerMappingNames = {
  live: ['customer_contact', 'customer_account'],
  deleted: ['customer_deleted_contact', 'customer_deleted_account'],
  emailColumn: 'emailaddress1',
  matchByEmail: 'live',
};

async function updateOnly(context: SyncContext, mapped: MappedRow): Promise<boolean> {
  try {
    await writeMappedRow(context.dataverse, context.log, mapped, { mode: 'updateOnly' });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** An existing row of the table with this e-mail and no Stripe customer yet (the oldest, if several). */
async function findByEmail(
  context: SyncContext,
  mapping: CompiledMapping,
  emailColumn: string,
  email: string,
): Promise<string | null> {
  const idColumn = mapping.table.primaryIdColumn;
  const keyColumn = mapping.keyColumns[0];
  const rows = await context.dataverse.retrieveMultiple(mapping.entitySet, {
    select: [idColumn],
    filter: `${emailColumn} eq ${odataString(email)} and ${keyColumn} eq null`,
    orderBy: ['createdon asc'],
    top: 1,
  });
  const id = rows[0]?.[idColumn];
  return typeof id === 'string' ? id : null;
}

/** Metadata naming the Dynamics 365 row a customer was made from, by table. */
const MADE_FROM: Record<string, string> = { account: 'd365_accountid', contact: 'd365_contactid' };

/** The columns of a row's name, by table: a customer without a name gives them from its e-mail or id. */
const NAME_COLUMNS: Record<string, string[]> = { account: ['name'], contact: ['firstname', 'lastname'] };

/**
 * The mapped row as it may go onto a row that exists already (entered in Dynamics 365, matched by e-mail or
 * named in the customer's metadata): it fills, never clears. A column Stripe has nothing for keeps the row's
 * value, and so do the name columns when the customer has no name (their fallback, the e-mail or id, would
 * replace a name typed in Dynamics 365).
 */
function fillingOnly(mapping: CompiledMapping, mapped: MappedRow, customer: StripeObject): MappedRow {
  const named = typeof customer.name === 'string' && customer.name.trim() !== '';
  const names = new Set(named ? [] : (NAME_COLUMNS[mapping.table.logicalName] ?? []));
  const row = Object.fromEntries(
    Object.entries(mapped.row).filter(
      ([column, value]) => value !== null && value !== '' && !names.has(column),
    ),
  );
  return { ...mapped, row };
}

/** The column naming the connected account a row's Stripe customer is in (empty: the platform). */
const STRIPE_ACCOUNT_COLUMN = Account.col.stripeAccount;
/** Reads and writes of the named row before it is left alone: its etag changed that many times meanwhile. */
const MADE_FROM_ATTEMPTS = 3;

/**
 * The row a customer made from Dynamics 365 names in its metadata, when it exists: updated (its Stripe
 * customer id set) rather than a second row made, whichever of the customer's event and the service's own
 * write-back comes first. Metadata is anyone's to set (a connected account's own customers, an API key's
 * holder), so the row is taken only when it has no Stripe customer yet or has this one, in the same Stripe
 * account as the event's; written under the etag read, so a link made meanwhile is not overwritten.
 */
async function updateMadeFrom(
  context: SyncContext,
  mapping: CompiledMapping,
  mapped: MappedRow,
  customer: StripeObject,
  event: Stripe.Event,
): Promise<string | null> {
  const key = MADE_FROM[mapping.table.logicalName];
  const id = (customer.metadata as Record<string, unknown> | undefined)?.[key];
  if (!key || typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  const linkColumn = mapping.keyColumns[0];
  for (let attempt = 1; ; attempt++) {
    const row = await context.dataverse.retrieve(mapping.entitySet, id, {
      select: [linkColumn, STRIPE_ACCOUNT_COLUMN],
    });
    if (!row) return null;
    const linkedTo = typeof row[linkColumn] === 'string' && row[linkColumn] !== '' ? row[linkColumn] : null;
    const rowAccount =
      typeof row[STRIPE_ACCOUNT_COLUMN] === 'string' ? row[STRIPE_ACCOUNT_COLUMN] || null : null;
    const eventAccount = event.account ?? null;
    if ((linkedTo !== null && linkedTo !== customer.id) || rowAccount !== eventAccount) {
      context.log.warn(
        { customer: customer.id, table: mapping.table.logicalName, id, linkedTo, rowAccount, eventAccount },
        'Stripe customer names in its metadata a row of another customer or Stripe account: not matched to it',
      );
      return null;
    }
    try {
      await context.dataverse.update(mapping.entitySet, id, fillingOnly(mapping, mapped, customer).row, {
        ifMatch: String(row['@odata.etag'] ?? '*'),
      });
      break;
    } catch (error) {
      if (isNotFound(error)) return null;
      // Changed since it was read (a link written meanwhile): read again.
      if (isConflict(error) && attempt < MADE_FROM_ATTEMPTS) continue;
      throw error;
    }
  }
  context.log.info(
    { customer: customer.id, table: mapping.table.logicalName, id },
    'Stripe customer matched to the row it was made from',
  );
  return id;
}

/**
 * Payments and invoices written before their customer's row existed (their events worked beside the
 * customer's) have no customer link; once the row exists (created, matched by e-mail, or made from Dynamics
 * 365), they are linked to it. Bounded: at most one page of each.
 */
async function linkWaitingToCustomer(
  set: MappingSet,
  context: SyncContext,
  customerId: string,
  table: CompiledMapping['table'],
  rowId: string,
): Promise<void> {
  const target = `/${table.entitySetName}(${rowId})`;
  const payments = set.get(PAYMENT_INTENT_MAPPING).table;
  const lookup = payments.columns.find((column) => column.logicalName === PAYMENT_CUSTOMER_LOOKUP);
  const paymentNavigation =
    lookup && (lookup.type === 'customer' || lookup.type === 'lookup')
      ? lookup.navigation[table.logicalName]
      : undefined;
  if (paymentNavigation)
    await linkWaitingRows(
      context.dataverse,
      {
        entitySet: payments.entitySetName,
        primaryId: payments.primaryIdColumn,
        filter: `${PAYMENT_CUSTOMER_ID} eq ${odataString(customerId)} and _${PAYMENT_CUSTOMER_LOOKUP}_value eq null`,
        top: MAX_ROWS_TO_LINK,
      },
      { navigation: paymentNavigation, target },
    );
  const invoiceNavigation = (StripeInvoice.lookup.customerid.bind as Record<string, string>)[
    table.logicalName
  ];
  if (invoiceNavigation)
    await linkWaitingRows(
      context.dataverse,
      {
        entitySet: StripeInvoice.entitySetName,
        primaryId: StripeInvoice.primaryId,
        filter: `${StripeInvoice.col.stripeCustomerId} eq ${odataString(customerId)} and ${StripeInvoice.lookup.customerid.value} eq null`,
        top: MAX_ROWS_TO_LINK,
      },
      { navigation: invoiceNavigation, target },
    );
}

/** One customer event being synced: the mappings, the customer as it is now, the event and its context. */
interface CustomerSync {
  set: MappingSet;
  names: CustomerMappingNames;
  customer: StripeObject;
  event: Stripe.Event;
  context: SyncContext;
}

async function syncLiveCustomer({ set, names, customer, event, context }: CustomerSync): Promise<void> {
  const envelope = eventEnvelope(event);
  const live = names.live.map((name) => set.get(name));
  let chosen: MappedRow | null = null;
  let chosenMapping: CompiledMapping | undefined;
  for (const mapping of live) {
    chosen = await mapIfApplies(mapping, customer, envelope);
    if (chosen) {
      chosenMapping = mapping;
      break;
    }
  }
  if (!chosen || !chosenMapping) {
    reportNothingWritten(
      context,
      { eventId: event.id, customer: customer.id },
      'no customer mapping applies',
    );
    return;
  }

  // 1. The row synced before, in the chosen table, then in the others (the rule may have changed since).
  if (await updateOnly(context, chosen)) return;
  for (const other of live.filter(
    (mapping) => mapping.table.logicalName !== chosenMapping!.table.logicalName,
  )) {
    if (await updateOnly(context, await applyMapping(other, customer, envelope))) return;
  }

  // 2. The row the customer was made from in Dynamics 365 (Create in Stripe): named by its metadata.
  const madeFrom = await updateMadeFrom(context, chosenMapping, chosen, customer, event);
  if (madeFrom) {
    await linkWaitingToCustomer(set, context, customer.id, chosenMapping.table, madeFrom);
    return;
  }

  // 3. A row entered in Dynamics 365 by hand, with the same e-mail and no Stripe customer yet.
  const email = chosen.row[names.emailColumn];
  const mayMatch = names.matchByEmail === 'always' || (names.matchByEmail === 'live' && envelope.livemode);
  if (mayMatch && typeof email === 'string' && email !== '') {
    const id = await findByEmail(context, chosenMapping, names.emailColumn, email);
    if (id) {
      await context.dataverse.update(
        chosenMapping.entitySet,
        id,
        fillingOnly(chosenMapping, chosen, customer).row,
      );
      context.log.info(
        { customer: customer.id, table: chosenMapping.table.logicalName, id },
        'Stripe customer matched to an existing row by e-mail',
      );
      await linkWaitingToCustomer(set, context, customer.id, chosenMapping.table, id);
      return;
    }
  }

  // 4. A new row. A concurrent create of the same customer makes this one an update.
  let written;
  try {
    written = await writeMappedRow(context.dataverse, context.log, chosen, { mode: 'createOnly' });
  } catch (error) {
    if (!isDuplicate(error)) throw error;
    written = await writeMappedRow(context.dataverse, context.log, chosen, { mode: 'updateOnly' });
  }
  await linkWaitingToCustomer(set, context, customer.id, chosenMapping.table, written.id);
}

/**
 * A deleted customer's rows, marked by the `deleted` mappings. A `customer.deleted` event says the customer
 * is deleted whatever its payload carries (some senders leave out `deleted: true`), so the mappings see it so.
 */
async function syncDeletedCustomer({ set, names, customer, event, context }: CustomerSync): Promise<void> {
  const envelope = eventEnvelope(event);
  const deleted = { ...customer, deleted: true };
  let updated = 0;
  for (const name of names.deleted) {
    const mapped = await mapIfApplies(set.get(name), deleted, envelope);
    // A deleted customer never creates a row: only rows that exist are updated.
    if (mapped && (await updateOnly(context, mapped))) updated += 1;
  }
  if (updated === 0)
    reportNothingWritten(
      context,
      { eventId: event.id, customer: customer.id },
      'no account or contact of this deleted customer',
    );
}

export function createCustomersHandler(
  mappings: () => MappingSet,
  names: CustomerMappingNames = DEFAULT_CUSTOMER_MAPPINGS,
): StripeEventHandler {
  return {
    resource: 'customers',
    eventTypes: ['customer.created', 'customer.updated', 'customer.deleted'],
    async handle(event, context) {
      const payload = eventObjectOf(event, 'customer', context, 'customers');
      if (!payload) return;
      const set = mappings();
      const deleted = event.type === 'customer.deleted' || payload.deleted === true;
      // Fresh state: the customer as Stripe has it now (a customer deleted since reads back as deleted).
      // Also when the payload may be older than the row (an event of the same second applied before it).
      const refreshing =
        [...names.live, ...names.deleted].map((name) => set.get(name)).find((mapping) => mapping.refresh) ??
        (context.payloadMayBeStale ? set.get(names.live[0]) : undefined);
      const customer =
        deleted || !refreshing
          ? payload
          : await objectForMapping(refreshing, event, context, payload, payload.id);
      if (deleted || customer.deleted === true)
        await syncDeletedCustomer({ set, names, customer, event, context });
      else await syncLiveCustomer({ set, names, customer, event, context });
    },
  };
}
