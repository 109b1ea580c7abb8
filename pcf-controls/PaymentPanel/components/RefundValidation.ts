import {
  amountText,
  currencyExponent,
  DEFAULT_NUMBER_FORMAT,
  readAmount,
  roundMoney,
  type NumberFormat,
} from '../../shared/money';
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
 * as the user reads it, for the message. The amount is read with the user's number format (`format`; the
 * documented default where the host gives none): separators it cannot place are an error, never a guess.
 */
export function validateRefund(
  form: RefundForm,
  refundable: number,
  currency: string,
  formattedRefundable: string,
  format: NumberFormat = DEFAULT_NUMBER_FORMAT,
): { errors: RefundErrors; value?: ValidRefund } {
  const errors: RefundErrors = {};
  const reading = readAmount(form.amountText, format);
  const amount = reading.ok ? reading.amount : undefined;
  const exponent = currencyExponent(currency);
  if (form.amountText.trim() === '') {
    errors.amount = { key: 'Refund_AmountRequired', args: [] };
  } else if (!reading.ok) {
    errors.amount = amountFormatMessage(reading.problem, currency, format);
  } else if (reading.decimals > exponent) {
    errors.amount = { key: 'Refund_AmountPrecision', args: [currency.toUpperCase(), exponent] };
  } else if (reading.amount <= 0) {
    errors.amount = { key: 'Refund_AmountPositive', args: [] };
  } else if (roundMoney(reading.amount, currency) > roundMoney(refundable, currency)) {
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

/**
 * How to type the amount, with examples in the user's number format and the currency's exponent: separators
 * out of place get the decimal separator and a grouped and an ungrouped example; anything else one example.
 */
function amountFormatMessage(
  problem: 'invalid' | 'separators',
  currency: string,
  format: NumberFormat,
): Message {
  if (problem === 'separators' && format.groupSeparator !== '')
    return {
      key: 'Refund_AmountSeparators',
      args: [
        format.decimalSeparator,
        amountText(1234.5, currency, format, { pad: true, grouped: true }),
        amountText(1234.5, currency, format, { pad: true }),
      ],
    };
  return { key: 'Refund_AmountInvalid', args: [amountText(12.5, currency, format, { pad: true })] };
}
