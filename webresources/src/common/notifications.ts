/**
 * On load of an order, invoice, account or contact: one form notification per linked Stripe payment that
 * failed or is disputed, read with one Web API request.
 */
import { Payment, PaymentStatus } from '@stc/solution/tables';
import { formatMoney, lookupFor, readBoolean, readNumber, readString } from '@stc/pcf-controls';
import { message } from './strings';
import { errorText, formRecord, moneyFormatter, type Platform } from './record';

const P = Payment.col;
/** Notifications this script set, so that a reload clears the ones no longer true. */
export const NOTIFICATION_PREFIX = 'stc_payment_';
/** A form shows a handful of notifications at most; the panel lists the rest. */
export const MAX_NOTIFICATIONS = 5;

export interface PaymentAlert {
  stripeId: string;
  kind: 'failed' | 'disputed';
  text: string;
}

export function alertsQuery(lookupValue: string, recordId: string): string {
  const select = [P.stripeId, P.status, P.amount, P.currency, P.disputed, P.failureMessage, P.failureCode];
  return (
    `?$select=${select.join(',')}` +
    `&$filter=${lookupValue} eq ${recordId} and (${P.status} eq ${PaymentStatus.failed} or ${P.status} eq ${PaymentStatus.disputed} or ${P.disputed} eq true)` +
    `&$orderby=${P.stripeCreatedOn} desc&$top=${MAX_NOTIFICATIONS}`
  );
}

export function alertFromRow(row: Record<string, unknown>, languageId: number): PaymentAlert {
  const stripeId = readString(row, P.stripeId) ?? '';
  const currency = readString(row, P.currency) ?? '';
  const amount = formatMoney(moneyFormatter(languageId), readNumber(row, P.amount) ?? 0, currency);
  const disputed = readBoolean(row, P.disputed) || readNumber(row, P.status) === PaymentStatus.disputed;
  if (disputed)
    return { stripeId, kind: 'disputed', text: message(languageId, 'paymentDisputed', stripeId, amount) };
  const reason = readString(row, P.failureMessage) || readString(row, P.failureCode) || '—';
  return { stripeId, kind: 'failed', text: message(languageId, 'paymentFailed', stripeId, amount, reason) };
}

/** Shows the alerts of the form's record; a new record has none. Errors are shown, never thrown into the form. */
export async function showPaymentAlerts(
  formContext: Xrm.FormContext,
  host: Platform,
): Promise<PaymentAlert[]> {
  const record = formRecord(formContext);
  const lookup = lookupFor(Payment.lookup, record.entityTypeName);
  if (!record.id || !lookup) return [];
  let alerts: PaymentAlert[];
  try {
    const response = await host.webApi.retrieveMultipleRecords(
      Payment.logicalName,
      alertsQuery(lookup.value, record.id),
    );
    alerts = response.entities.map((row) => alertFromRow(row, host.languageId));
  } catch (error) {
    formContext.ui.setFormNotification(
      message(host.languageId, 'readFailed', errorText(error)),
      'WARNING',
      `${NOTIFICATION_PREFIX}error`,
    );
    return [];
  }
  formContext.ui.clearFormNotification(`${NOTIFICATION_PREFIX}error`);
  for (const alert of alerts) {
    const id = `${NOTIFICATION_PREFIX}${alert.stripeId}`;
    formContext.ui.clearFormNotification(id);
    formContext.ui.setFormNotification(alert.text, alert.kind === 'disputed' ? 'ERROR' : 'WARNING', id);
  }
  return alerts;
}
