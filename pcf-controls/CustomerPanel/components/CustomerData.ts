/**
 * The customer panel's read (one retrieveRecord with expands) and its one write (the Stripe customer id),
 * and the arithmetic of the summary. Names come from the table model (@stc/solution/tables).
 */
import {
  Account,
  StcBillingIntervalLabels,
  Contact,
  Payment,
  PaymentStatus,
  StcPaymentStatusLabels,
  StripeInvoice,
  StripeInvoiceStatus,
  Subscription,
  SubscriptionStatus,
  StcSubscriptionStatusLabels,
} from '@stc/solution/tables';
import { roundMoney } from '../../shared/money';
import { labelOf, optionKey, readBoolean, readDate, readNumber, readString, WebApi } from '../../shared/rows';
import type {
  CustomerSource,
  CustomerSummary,
  ModeTotals,
  MoneyTotal,
  RecentPayment,
  SubscriptionView,
} from './types';

export const RECENT_PAYMENTS = 5;
const P = Payment.col;
const S = Subscription.col;
const I = StripeInvoice.col;

/** The tables the panel can sit on, with their navigation properties to the Stripe rows. */
export const CUSTOMER_TABLES = {
  [Account.logicalName]: {
    customerId: Account.col.stripeCustomerId,
    liveMode: Account.col.liveMode,
    stripeAccount: Account.col.stripeAccount,
    payments: Account.toMany.stc_payment_stc_customerid,
    subscriptions: Account.toMany.stc_subscription_stc_customerid,
    invoices: Account.toMany.stc_stripeinvoice_stc_customerid,
  },
  [Contact.logicalName]: {
    customerId: Contact.col.stripeCustomerId,
    liveMode: Contact.col.liveMode,
    stripeAccount: Contact.col.stripeAccount,
    payments: Contact.toMany.stc_payment_stc_customerid,
    subscriptions: Contact.toMany.stc_subscription_stc_customerid,
    invoices: Contact.toMany.stc_stripeinvoice_stc_customerid,
  },
} as const;

type CustomerTable = (typeof CUSTOMER_TABLES)[keyof typeof CUSTOMER_TABLES];

export function customerTable(entityTypeName: string): CustomerTable | undefined {
  return (CUSTOMER_TABLES as Record<string, CustomerTable>)[entityTypeName];
}

/** Stripe customer ids: `cus_` and letters or digits (the API's own format), never anything a URL would mangle. */
export const STRIPE_CUSTOMER_ID = /^cus_[A-Za-z0-9]{4,250}$/;

/** Money that reached the merchant: captured payments, including those refunded or disputed later. */
const PAID: (keyof typeof PaymentStatus)[] = ['succeeded', 'partially_refunded', 'refunded', 'disputed'];
const ACTIVE_SUBSCRIPTIONS: (keyof typeof SubscriptionStatus)[] = ['active', 'trialing', 'past_due'];

export function summaryQuery(table: CustomerTable): string {
  const payments = [
    P.stripeId,
    P.amount,
    P.currency,
    P.status,
    P.amountRefunded,
    P.disputed,
    P.stripeCreatedOn,
    P.liveMode,
    P.stripeAccount,
  ];
  const subscriptions = [
    S.stripeId,
    S.name,
    S.description,
    S.status,
    S.amount,
    S.currency,
    S.interval,
    S.intervalCount,
    S.currentPeriodEnd,
    S.cancelAtPeriodEnd,
    S.monthlyRecurringRevenue,
    S.liveMode,
    S.stripeAccount,
  ];
  const invoices = [I.status, I.currency, I.amountRemaining, I.liveMode];
  return (
    `?$select=${table.customerId},${table.liveMode},${table.stripeAccount}` +
    `&$expand=${table.payments}($select=${payments.join(',')};$orderby=${P.stripeCreatedOn} desc),` +
    `${table.subscriptions}($select=${subscriptions.join(',')}),` +
    `${table.invoices}($select=${invoices.join(',')})`
  );
}

function addTo(list: MoneyTotal[], currency: string, amount: number): void {
  const found = list.find((t) => t.currency === currency);
  if (found) found.amount = roundMoney(found.amount + amount, currency);
  else list.push({ currency, amount: roundMoney(amount, currency) });
}

function totalsFor(totals: ModeTotals[], livemode: boolean): ModeTotals {
  let found = totals.find((t) => t.livemode === livemode);
  if (!found) {
    found = { livemode, paid: [], refunded: [], openInvoices: 0, openInvoiceAmount: [], mrr: [] };
    totals.push(found);
  }
  return found;
}

const rowsOf = (row: Record<string, unknown>, navigation: string) =>
  Array.isArray(row[navigation]) ? (row[navigation] as Record<string, unknown>[]) : [];

function recentPayment(row: Record<string, unknown>): RecentPayment {
  const status = optionKey(PaymentStatus, readNumber(row, P.status));
  return {
    id: readString(row, Payment.primaryId) ?? readString(row, P.stripeId) ?? '',
    stripeId: readString(row, P.stripeId) ?? '',
    statusLabel: labelOf(row, P.status, StcPaymentStatusLabels),
    amount: readNumber(row, P.amount) ?? 0,
    currency: readString(row, P.currency) ?? '',
    created: readDate(row, P.stripeCreatedOn),
    disputed: readBoolean(row, P.disputed) || status === 'disputed',
    statusIsDisputed: status === 'disputed',
    livemode: readBoolean(row, P.liveMode),
    stripeAccount: readString(row, P.stripeAccount) || undefined,
  };
}

function subscriptionView(row: Record<string, unknown>): SubscriptionView {
  const count = readNumber(row, S.intervalCount) ?? 1;
  const interval =
    readNumber(row, S.interval) !== undefined ? labelOf(row, S.interval, StcBillingIntervalLabels) : '';
  return {
    id: readString(row, Subscription.primaryId) ?? readString(row, S.stripeId) ?? '',
    stripeId: readString(row, S.stripeId) ?? '',
    description:
      readString(row, S.description) || readString(row, S.name) || readString(row, S.stripeId) || '',
    statusLabel: labelOf(row, S.status, StcSubscriptionStatusLabels),
    amount: readNumber(row, S.amount),
    currency: readString(row, S.currency) ?? '',
    intervalLabel: count > 1 ? `${count} × ${interval}` : interval,
    periodEnd: readDate(row, S.currentPeriodEnd),
    cancelAtPeriodEnd: readBoolean(row, S.cancelAtPeriodEnd),
    livemode: readBoolean(row, S.liveMode),
    stripeAccount: readString(row, S.stripeAccount) || undefined,
  };
}

export function summaryFromRow(table: CustomerTable, row: Record<string, unknown>): CustomerSummary {
  const totals: ModeTotals[] = [];
  const payments = rowsOf(row, table.payments);
  for (const payment of payments) {
    const status = optionKey(PaymentStatus, readNumber(payment, P.status));
    const currency = readString(payment, P.currency) ?? '';
    const mode = totalsFor(totals, readBoolean(payment, P.liveMode));
    if (status && PAID.includes(status)) addTo(mode.paid, currency, readNumber(payment, P.amount) ?? 0);
    const refunded = readNumber(payment, P.amountRefunded) ?? 0;
    if (refunded > 0) addTo(mode.refunded, currency, refunded);
  }
  for (const invoice of rowsOf(row, table.invoices)) {
    if (readNumber(invoice, I.status) !== StripeInvoiceStatus.open) continue;
    const mode = totalsFor(totals, readBoolean(invoice, I.liveMode));
    mode.openInvoices += 1;
    addTo(
      mode.openInvoiceAmount,
      readString(invoice, I.currency) ?? '',
      readNumber(invoice, I.amountRemaining) ?? 0,
    );
  }
  const active = rowsOf(row, table.subscriptions).filter((s) =>
    ACTIVE_SUBSCRIPTIONS.some((key) => SubscriptionStatus[key] === readNumber(s, S.status)),
  );
  for (const subscription of active) {
    const mrr = readNumber(subscription, S.monthlyRecurringRevenue);
    if (mrr === undefined || mrr === 0) continue;
    addTo(
      totalsFor(totals, readBoolean(subscription, S.liveMode)).mrr,
      readString(subscription, S.currency) ?? '',
      mrr,
    );
  }
  const activeSubscriptions = active
    .map(subscriptionView)
    .sort((a, b) => (a.periodEnd?.getTime() ?? Infinity) - (b.periodEnd?.getTime() ?? Infinity));
  const all = payments
    .map(recentPayment)
    .sort((a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0));
  return {
    stripeCustomerId: readString(row, table.customerId) || undefined,
    livemode: readBoolean(row, table.liveMode),
    stripeAccount: readString(row, table.stripeAccount) || undefined,
    // Live first: it is the money that matters; test totals are shown apart, marked.
    totals: totals.sort((a, b) => Number(b.livemode) - Number(a.livemode)),
    activeSubscriptions,
    recentPayments: all.slice(0, RECENT_PAYMENTS),
    disputedPayments: all.filter((p) => p.disputed),
  };
}

export function webApiCustomerSource(webAPI: WebApi): CustomerSource {
  return {
    async summary(entityTypeName, id) {
      const table = customerTable(entityTypeName);
      if (!table) throw new Error(`Stripe customers are not linked to ${entityTypeName} records.`);
      const row = await webAPI.retrieveRecord(entityTypeName, id, summaryQuery(table));
      return summaryFromRow(table, row);
    },
    async link(entityTypeName, id, stripeCustomerId) {
      const table = customerTable(entityTypeName);
      if (!table) throw new Error(`Stripe customers are not linked to ${entityTypeName} records.`);
      await webAPI.updateRecord(entityTypeName, id, { [table.customerId]: stripeCustomerId });
    },
  };
}
