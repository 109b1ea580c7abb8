import { currencyExponent, decimalsTyped, parseAmount, roundMoney } from '../../shared/money';
import type { RefundReason } from './types';

export const NOTE_MAX_LENGTH = 2000;

export interface RefundForm {
  amountText: string;
  reason?: RefundReason;
  note: string;
}

/** A message is a resx key and its arguments, so that validation stays a pure function of the form. */
export interface Message {
  key: string;
  args: (string | number)[];
}

export interface RefundErrors {
  amount?: Message;
  reason?: Message;
  note?: Message;
}

export interface ValidRefund {
  amount: number;
  reason: RefundReason;
  note: string;
}

/**
 * Checks a refund form against what the payment still allows. `formattedRefundable` is the refundable amount
 * as the user reads it, for the message.
 */
export function validateRefund(
  form: RefundForm,
  refundable: number,
  currency: string,
  formattedRefundable: string,
): { errors: RefundErrors; value?: ValidRefund } {
  const errors: RefundErrors = {};
  const amount = parseAmount(form.amountText);
  const exponent = currencyExponent(currency);
  if (form.amountText.trim() === '') {
    errors.amount = { key: 'Refund_AmountRequired', args: [] };
  } else if (amount === undefined) {
    errors.amount = { key: 'Refund_AmountInvalid', args: [] };
  } else if (decimalsTyped(form.amountText) > exponent) {
    errors.amount = { key: 'Refund_AmountPrecision', args: [currency.toUpperCase(), exponent] };
  } else if (amount <= 0) {
    errors.amount = { key: 'Refund_AmountPositive', args: [] };
  } else if (roundMoney(amount, currency) > roundMoney(refundable, currency)) {
    errors.amount = { key: 'Refund_AmountTooHigh', args: [formattedRefundable] };
  }
  if (!form.reason) errors.reason = { key: 'Refund_ReasonRequired', args: [] };
  if (form.note.length > NOTE_MAX_LENGTH)
    errors.note = { key: 'Refund_NoteTooLong', args: [NOTE_MAX_LENGTH] };

  if (errors.amount || errors.reason || errors.note || amount === undefined || !form.reason)
    return { errors };
  return {
    errors,
    value: { amount: roundMoney(amount, currency), reason: form.reason, note: form.note.trim() },
  };
}
