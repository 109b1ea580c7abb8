/**
 * Dataverse → Stripe customers: a user's change to an account or contact that carries `stc_stripecustomerid`
 * updates that Stripe customer (name, e-mail, phone, address, and `d365_accountid`/`d365_contactid` in its
 * metadata), in the row's connected account when `stc_stripeaccount` is set.
 *
 * What is sent is what the change set (its Target), for the columns it set: not the row as it is when the
 * change is worked, which a Stripe event applied in between may have written back to Stripe's values (so the
 * user's edit would look already in Stripe and be lost). A row's changes are worked oldest first, so its
 * newest edit wins, and comes back to the row through the customer's own event.
 *
 * Two guards keep Stripe → Dataverse → Stripe from looping: a change made by the service's own application
 * user (which is how Stripe's data arrives in Dataverse) is not echoed, and an update that would change
 * nothing on the customer is not sent. A row marked Create in Stripe without a Stripe customer gets one.
 *
 * A change Stripe refuses for what it says (an e-mail that is not an address) is not retried: the row's Stripe
 * Sync Error tells the user why, until Stripe takes a change of the row or already has what it set.
 */
import Stripe from 'stripe';
import { Account, Contact } from '@stc/solution/tables';
import { sameId, type DataverseChange } from '../../dataverse/change';
import { countryCode } from '../../mapping';
import { isResourceMissing } from '../../stripe';
import type { DataverseClient, Row } from '../../dataverse/types';
import { serviceUserResolver } from '../refund-requests/directory';
import { madeUnderRequestKey } from '../refund-requests/stripe-refund';
import { DEFAULT_OUTBOUND_SETTINGS, type OutboundSettings } from '../../config/outbound';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';

type Party = 'account' | 'contact';

const ADDRESS_COLUMNS = {
  line1: 'address1_line1',
  line2: 'address1_line2',
  city: 'address1_city',
  state: 'address1_stateorprovince',
  postal_code: 'address1_postalcode',
  country: 'address1_country',
} as const;
type AddressField = keyof typeof ADDRESS_COLUMNS;

interface PartyShape {
  entitySet: string;
  primaryId: string;
  metadataKey: string;
  nameColumns: string[];
  name(row: Row): string;
  /** Metadata the Stripe → Dataverse customer mapping relies on to send the customer back to this table. */
  extraMetadata: Record<string, string>;
  /**
   * Metadata telling how the name was made from the row's columns: Stripe has one name, and splitting it back
   * into first and last name guesses ("Jan van der Berg"); the customer mapping takes these while they still
   * make Stripe's name.
   */
  nameParts(row: Row): Record<string, string>;
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

const PARTIES: Record<Party, PartyShape> = {
  account: {
    entitySet: 'accounts',
    primaryId: 'accountid',
    metadataKey: 'd365_accountid',
    nameColumns: ['name'],
    name: (row) => text(row.name),
    extraMetadata: {},
    nameParts: () => ({}),
  },
  contact: {
    entitySet: 'contacts',
    primaryId: 'contactid',
    metadataKey: 'd365_contactid',
    nameColumns: ['firstname', 'lastname'],
    name: (row) => [text(row.firstname), text(row.lastname)].filter(Boolean).join(' '),
    extraMetadata: { d365_type: 'contact' },
    nameParts: (row) => ({ d365_firstname: text(row.firstname), d365_lastname: text(row.lastname) }),
  },
};

export interface CustomersOutboundHandlerOptions {
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: Pick<OutboundSettings, 'serviceUserId' | 'serviceApplicationId'> &
    Partial<Pick<OutboundSettings, 'stripeMode'>>;
}

export function createCustomersOutboundHandler(
  options: CustomersOutboundHandlerOptions = {},
): DataverseChangeHandler {
  const serviceUser = serviceUserResolver(options.settings ?? DEFAULT_OUTBOUND_SETTINGS);
  const stripeMode = options.settings?.stripeMode;
  return {
    source: 'dataverse',
    resource: 'customers-outbound',
    changes: [
      { table: 'account', messages: ['Create', 'Update'] },
      { table: 'contact', messages: ['Create', 'Update'] },
    ],
    async handle(change, context) {
      const party = change.table as Party;
      const shape = PARTIES[party];
      if (!shape) {
        context.log.warn({ table: change.table }, 'customers-outbound got a table it does not sync');
        return;
      }
      const rowId = change.rowId;
      const self = await serviceUser(context.dataverse, context.log);
      if (self && sameId(change.userId, self)) {
        context.log.info(
          { table: party, rowId },
          "the service's own change to a customer row; not echoed to Stripe",
        );
        return;
      }
      await pushCustomer(party, rowId, change, context, stripeMode);
    },
  };
}

/** The columns of the row that make the Stripe customer's name, e-mail, phone and address. */
function customerColumns(shape: PartyShape): string[] {
  return [...shape.nameColumns, 'emailaddress1', 'telephone1', ...Object.values(ADDRESS_COLUMNS)];
}

/** What a change says of the customer: the values to send and the columns they are taken from. */
interface ChangeValues {
  /** The row's columns with the values the change set over them. */
  values: Row;
  /** The columns the change set (an update's); null: every column with a value (a create, or a fallback). */
  changed: Set<string> | null;
}

/**
 * The values of a change: those its Target set, over the row as the change left it (its post-image, when the
 * step registered one) and, for the columns neither names, the row as it is now (the other part of a
 * contact's name). A change without its Target (Dataverse leaves it out of a body over 256 KB) falls back to
 * the row as it is now, every column with a value.
 */
function changeValues(shape: PartyShape, change: DataverseChange, row: Row): ChangeValues {
  const attributes = change.attributes;
  if (Object.keys(attributes).length === 0) return { values: row, changed: null };
  const values: Row = { ...row };
  for (const column of customerColumns(shape)) {
    if (change.postImage && Object.hasOwn(change.postImage, column))
      values[column] = change.postImage[column];
    if (Object.hasOwn(attributes, column)) values[column] = attributes[column];
  }
  const changed = change.message.toLowerCase() === 'create' ? null : new Set(Object.keys(attributes));
  return { values, changed };
}

/**
 * Sends a change of the row to its Stripe customer. An update sends only the columns the change set, so a
 * blank column clears the Stripe field only when a user cleared it, and a field the change did not touch keeps
 * what Stripe has.
 */
async function pushCustomer(
  party: Party,
  rowId: string,
  change: DataverseChange,
  context: SyncContext,
  stripeMode?: OutboundSettings['stripeMode'],
): Promise<void> {
  const shape = PARTIES[party];
  const row = await readRow(context.dataverse, shape, rowId);
  if (!row) {
    context.log.warn({ table: party, rowId }, 'the row no longer exists; nothing to send to Stripe');
    return;
  }
  const customerId = text(row.stc_stripecustomerid);
  const rowLive = row[columnsOf(shape).liveMode];
  if (customerId && stripeMode && typeof rowLive === 'boolean' && rowLive !== (stripeMode === 'live')) {
    // Its key cannot reach the other mode's customer, which Stripe would answer as missing.
    const reason = `the row's Stripe customer is in ${rowLive ? 'live' : 'test'} mode; the service serves ${stripeMode} mode`;
    context.log.info({ table: party, rowId, customerId }, `${reason}; nothing sent`);
    context.nothingWritten?.(reason);
    return;
  }
  if (!customerId) {
    if (row[columnsOf(shape).createInStripe] !== true) return;
    try {
      await createCustomer(party, rowId, row, context);
    } catch (error) {
      // Noted on the row: the user's to correct, not the operator's.
      if (!refusedByStripe(error)) throw error;
      context.nothingWritten?.(refusalReason(error));
    }
    return;
  }
  const stripe = context.stripeFor(text(row.stc_stripeaccount) || null);
  let customer: Stripe.Customer | Stripe.DeletedCustomer;
  try {
    customer = await stripe.customers.retrieve(customerId);
  } catch (error) {
    if (isResourceMissing(error)) {
      context.log.warn(
        { table: party, rowId, customerId },
        'the Stripe customer named by the row does not exist; nothing sent',
      );
      return;
    }
    throw error;
  }
  if ((customer as Stripe.DeletedCustomer).deleted) {
    context.log.info({ table: party, rowId, customerId }, 'the Stripe customer is deleted; nothing sent');
    return;
  }
  const { values, changed } = changeValues(shape, change, row);
  const update = customerUpdate(shape, rowId, values, customer as Stripe.Customer, changed);
  if (!update) {
    context.log.info(
      { table: party, rowId, customerId },
      'the Stripe customer already has what the change set; nothing sent',
    );
    await clearRefusal(shape, rowId, row, context);
    return;
  }
  try {
    await stripe.customers.update(customerId, update);
  } catch (error) {
    if (!refusedByStripe(error)) throw error;
    await noteRefusal(shape, rowId, error, context);
    context.nothingWritten?.(refusalReason(error));
    return;
  }
  await clearRefusal(shape, rowId, row, context);
  context.log.info(
    { table: party, rowId, customerId, fields: Object.keys(update) },
    'Stripe customer updated from Dataverse',
  );
}

/**
 * The Stripe customer of an account or contact: the one it has, or, for a row marked Create in Stripe, the
 * one made now as a change of the row would make it (same idempotency key, so the two never make two). Null
 * when the row is gone or has none and is not marked.
 */
export async function ensureStripeCustomer(
  party: Party,
  rowId: string,
  context: SyncContext,
): Promise<string | null> {
  const shape = PARTIES[party];
  const row = await readRow(context.dataverse, shape, rowId);
  if (!row) return null;
  const existing = text(row[columnsOf(shape).stripeCustomerId]);
  if (existing) return existing;
  if (row[columnsOf(shape).createInStripe] !== true) return null;
  return createCustomer(party, rowId, row, context);
}

async function readRow(dataverse: DataverseClient, shape: PartyShape, rowId: string): Promise<Row | null> {
  const select = [
    shape.primaryId,
    ...customerColumns(shape),
    columnsOf(shape).stripeCustomerId,
    columnsOf(shape).stripeAccount,
    columnsOf(shape).createInStripe,
    columnsOf(shape).stripeSyncError,
    columnsOf(shape).liveMode,
  ];
  return dataverse.retrieve(shape.entitySet, rowId, { select });
}

/** Stripe's refusal of what the change says (400): retrying the same values cannot help. */
export const refusedByStripe = (error: unknown): error is Stripe.errors.StripeInvalidRequestError =>
  error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 400;

/** Longest Stripe Sync Error the column holds. */
const SYNC_ERROR_LENGTH = 1000;

const refusalReason = (error: Stripe.errors.StripeInvalidRequestError) =>
  `Stripe refused the change (${error.code ?? error.type}); the row's Stripe Sync Error says why`;

/** Writes on the row why Stripe refused its change: the user's to correct. */
async function noteRefusal(
  shape: PartyShape,
  rowId: string,
  error: Stripe.errors.StripeInvalidRequestError,
  context: SyncContext,
): Promise<void> {
  const c = columnsOf(shape);
  const reason = `Stripe refused the change: ${error.message}`;
  await context.dataverse.update(shape.entitySet, rowId, {
    [c.stripeSyncError]:
      reason.length > SYNC_ERROR_LENGTH ? `${reason.slice(0, SYNC_ERROR_LENGTH - 1)}…` : reason,
    [c.stripeSyncErrorOn]: new Date().toISOString(),
  });
  context.log.warn(
    { table: shape.entitySet, rowId, code: error.code, param: error.param },
    'Stripe refused the change of the row; its Stripe Sync Error says why',
  );
}

/** A change Stripe took (or had already): an earlier refusal noted on the row no longer holds. */
async function clearRefusal(shape: PartyShape, rowId: string, row: Row, context: SyncContext): Promise<void> {
  const c = columnsOf(shape);
  if (!text(row[c.stripeSyncError])) return;
  await context.dataverse.update(shape.entitySet, rowId, {
    [c.stripeSyncError]: null,
    [c.stripeSyncErrorOn]: null,
  });
}

/**
 * The fields that differ, as a Stripe update; null when nothing would change. `changed` names the columns in
 * scope (null: every column of `row` with a value). An address is sent whole: the fields of the columns in
 * scope from `row`, the others as the customer has them.
 */
function customerUpdate(
  shape: PartyShape,
  rowId: string,
  row: Row,
  customer: Stripe.Customer,
  changed: Set<string> | null,
): Stripe.CustomerUpdateParams | null {
  // A create sends what the row has; an update sends what the change set, blanks included.
  const inScope = (columns: string[]) =>
    columns.some((c) => (changed ? changed.has(c) : text(row[c]) !== ''));
  const update: Stripe.CustomerUpdateParams = {};

  const name = shape.name(row);
  if (inScope(shape.nameColumns) && name !== text(customer.name)) update.name = name;
  const email = text(row.emailaddress1);
  if (inScope(['emailaddress1']) && email !== text(customer.email)) update.email = email;
  const phone = text(row.telephone1);
  if (inScope(['telephone1']) && phone !== text(customer.phone)) update.phone = phone;

  if (inScope(Object.values(ADDRESS_COLUMNS))) {
    const current = customer.address ?? null;
    const address = Object.fromEntries(
      (Object.keys(ADDRESS_COLUMNS) as AddressField[]).map((field) => [
        field,
        changed && !changed.has(ADDRESS_COLUMNS[field])
          ? text(current?.[field])
          : text(row[ADDRESS_COLUMNS[field]]),
      ]),
    ) as Record<AddressField, string>;
    // Dynamics 365 holds the country's name (the customer mapping writes it so), Stripe the ISO code.
    address.country = countryCode(address.country) ?? address.country;
    const differs = (Object.keys(address) as AddressField[]).some(
      (field) => address[field] !== text(current?.[field]),
    );
    if (differs) update.address = Object.values(address).some(Boolean) ? address : '';
  }

  const metadata: Record<string, string> = {
    [shape.metadataKey]: rowId,
    ...shape.extraMetadata,
    ...shape.nameParts(row),
  };
  if (Object.entries(metadata).some(([key, value]) => customer.metadata?.[key] !== value))
    update.metadata = metadata;

  return Object.keys(update).length > 0 ? update : null;
}

/**
 * A row marked Create in Stripe that has no Stripe customer yet: the customer is made from the row (with
 * its id in the metadata, so the customer's own events come back to this row) under an idempotency key of
 * the row, so a change delivered twice makes one customer; its id is written back by the service's user.
 * Stripe's refusal of the row's values is noted on the row (Stripe Sync Error) and thrown.
 */
async function createCustomer(party: Party, rowId: string, row: Row, context: SyncContext): Promise<string> {
  const shape = PARTIES[party];
  const stripe = context.stripeFor(text(row.stc_stripeaccount) || null);
  const params =
    customerUpdate(shape, rowId, row, { metadata: {} } as unknown as Stripe.Customer, null) ?? {};
  let customer: Stripe.Customer;
  try {
    customer = await stripe.customers.create(params as Stripe.CustomerCreateParams, {
      idempotencyKey: `d365-${party}-${rowId}-create`,
    });
  } catch (error) {
    if (refusedByStripe(error)) {
      await noteRefusal(shape, rowId, error, context);
      throw error;
    }
    // The key was used with other values: a change of the row and a subscription request each made the
    // customer from the row as they read it, and the row was edited in between. The customer is the one made.
    const made = await madeUnderRequestKey(error, () => customerMadeFrom(stripe, shape, rowId));
    if (!made) throw error;
    customer = made;
  }
  const c = columnsOf(shape);
  await context.dataverse.update(shape.entitySet, rowId, {
    [c.stripeCustomerId]: customer.id,
    [c.liveMode]: customer.livemode,
    ...(text(row[c.stripeSyncError]) ? { [c.stripeSyncError]: null, [c.stripeSyncErrorOn]: null } : {}),
  });
  context.log.info(
    { table: party, rowId, customerId: customer.id },
    'Stripe customer created from Dataverse',
  );
  return customer.id;
}

/**
 * The customer made from the row (its id in the metadata), found by Stripe's search. Search finds a new
 * customer within about a minute: until it does, the change is retried.
 */
async function customerMadeFrom(stripe: Stripe, shape: PartyShape, rowId: string): Promise<Stripe.Customer> {
  const found = await stripe.customers.search({
    query: `metadata['${shape.metadataKey}']:'${rowId}'`,
    limit: 1,
  });
  if (found.data[0]) return found.data[0];
  throw Object.assign(
    new Error(
      `Stripe made a customer for ${rowId} under its key that its search does not show yet; tried again later`,
    ),
    { transient: true },
  );
}

/** The connector's columns of the account or contact table the shape reads. */
function columnsOf(shape: PartyShape): typeof Account.col | typeof Contact.col {
  return shape.entitySet === Account.entitySetName ? Account.col : Contact.col;
}
