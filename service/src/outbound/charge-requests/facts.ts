/**
 * What the charge policy reads besides the request: the account or contact and its Stripe customer (from
 * Dataverse), the order or invoice the charge pays, and the customer's saved payment method (from Stripe).
 *
 * The payment method charged is the Stripe customer's `invoice_settings.default_payment_method`, the one
 * Stripe itself charges for the customer's invoices; when none is set, the customer's only saved card, if it
 * has exactly one. Two or more cards and no default is refused rather than guessed: which card a customer
 * expects to pay with is theirs to say (set the default in Stripe). Only the payment method's id is read on:
 * brand, last digits, fingerprint and expiry are never read into the request or written to Dataverse.
 */
import type Stripe from 'stripe';
import {
  Account,
  Contact,
  Invoice,
  SalesOrder,
  StripePaymentStatus,
  TransactionCurrency,
} from '@stc/solution/tables';
import type { DataverseClient } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import { MoneyError } from '../../mapping';
import { majorToMinor } from '../refund-requests/money';
import { idOf } from '../../write/stripe-objects';
import type { ChargeRequestRow } from './requests';

export interface CustomerFacts {
  kind: 'account' | 'contact';
  id: string;
  name: string | null;
  stripeCustomerId: string | null;
  livemode: boolean | null;
  stripeAccount: string | null;
}

export interface DocumentFacts {
  kind: 'salesorder' | 'invoice';
  id: string;
  number: string | null;
  /** Gone from Dynamics 365. */
  missing: boolean;
  /** Its payment status says it has been paid already, or an invoice is closed (paid or canceled). */
  settled: boolean;
  /** Lower-case ISO code of its currency, or null when it has none. */
  currency: string | null;
  /** Its total in minor units of its currency; null when it has none, or one with more decimals than that. */
  totalMinor: number | null;
}

/** The saved payment method a charge would use, or why there is none. */
export type SavedPaymentMethod = { id: string; source: 'default' | 'only card' } | { problem: string };

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);

/** The customer lookup names an account or a contact; the one that has the row is it. */
export async function readCustomer(dataverse: DataverseClient, id: string): Promise<CustomerFacts | null> {
  const A = Account.col;
  const columns = [A.stripeCustomerId, A.liveMode, A.stripeAccount];
  for (const [kind, entitySet, nameColumn] of [
    ['account', Account.entitySetName, Account.col.name],
    ['contact', Contact.entitySetName, Contact.col.fullName],
  ] as const) {
    const row = await dataverse.retrieve(entitySet, id, { select: [nameColumn, ...columns] });
    if (row)
      return {
        kind,
        id,
        name: str(row[nameColumn]),
        stripeCustomerId: str(row[A.stripeCustomerId]),
        livemode: bool(row[A.liveMode]),
        stripeAccount: str(row[A.stripeAccount]),
      };
  }
  return null;
}

const PAID = new Set<number>([
  StripePaymentStatus.paid,
  StripePaymentStatus.partially_refunded,
  StripePaymentStatus.refunded,
  StripePaymentStatus.disputed,
]);

/** The order or invoice the request names (the policy refuses one naming both), or null for none. */
export async function readDocument(
  dataverse: DataverseClient,
  request: ChargeRequestRow,
): Promise<DocumentFacts | null> {
  const target = request.salesOrderId
    ? {
        kind: 'salesorder' as const,
        id: request.salesOrderId,
        set: SalesOrder.entitySetName,
        number: 'ordernumber',
      }
    : request.invoiceId
      ? {
          kind: 'invoice' as const,
          id: request.invoiceId,
          set: Invoice.entitySetName,
          number: 'invoicenumber',
        }
      : null;
  if (!target) return null;
  const row = await dataverse.retrieve(target.set, target.id, {
    select: [
      target.number,
      'statecode',
      'totalamount',
      '_transactioncurrencyid_value',
      SalesOrder.col.paymentStatus,
    ],
  });
  if (!row)
    return {
      kind: target.kind,
      id: target.id,
      number: null,
      missing: true,
      settled: false,
      currency: null,
      totalMinor: null,
    };
  const status = row[SalesOrder.col.paymentStatus];
  const currencyRow = isGuid(row._transactioncurrencyid_value)
    ? await dataverse.retrieve(TransactionCurrency.entitySetName, row._transactioncurrencyid_value, {
        select: ['isocurrencycode'],
      })
    : null;
  const currency = str(currencyRow?.isocurrencycode)?.toLowerCase() ?? null;
  return {
    kind: target.kind,
    id: target.id,
    number: str(row[target.number]),
    missing: false,
    currency,
    totalMinor: currency ? minorOrNull(row.totalamount, currency) : null,
    settled:
      (typeof status === 'number' && PAID.has(status)) ||
      (target.kind === 'invoice' && (row.statecode === 2 || row.statecode === 3)) ||
      (target.kind === 'salesorder' && row.statecode === 2),
  };
}

function minorOrNull(amount: unknown, currency: string): number | null {
  if (amount === null || amount === undefined) return null;
  try {
    return majorToMinor(amount, currency);
  } catch (error) {
    if (error instanceof MoneyError) return null;
    throw error;
  }
}

/** Cards of one customer looked through for its only one; more than one is as good as many. */
const CARDS_LISTED = 2;

/** The Stripe customer's saved payment method, as the module comment says; Stripe failures are thrown. */
export async function savedPaymentMethod(
  stripe: Stripe,
  customerId: string,
): Promise<{ method: SavedPaymentMethod; livemode: boolean | null }> {
  let customer: Stripe.Customer | Stripe.DeletedCustomer;
  try {
    customer = await stripe.customers.retrieve(customerId);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404)
      return { method: { problem: `The Stripe customer ${customerId} does not exist.` }, livemode: null };
    throw error;
  }
  if ('deleted' in customer && customer.deleted)
    return { method: { problem: `The Stripe customer ${customerId} is deleted.` }, livemode: null };
  const live = (customer as Stripe.Customer).livemode;
  const preferred = idOf((customer as Stripe.Customer).invoice_settings?.default_payment_method ?? null);
  if (preferred) return { method: { id: preferred, source: 'default' }, livemode: live };
  const cards = await stripe.customers.listPaymentMethods(customerId, { type: 'card', limit: CARDS_LISTED });
  if (cards.data.length === 1)
    return { method: { id: cards.data[0].id, source: 'only card' }, livemode: live };
  return {
    method: {
      problem:
        cards.data.length === 0
          ? `The Stripe customer ${customerId} has no saved payment method: the customer has to save a card first (a Checkout Session or invoice payment with the card saved for later use).`
          : `The Stripe customer ${customerId} has several saved cards and no default payment method: set the default (invoice settings) in Stripe, then ask again.`,
    },
    livemode: live,
  };
}
