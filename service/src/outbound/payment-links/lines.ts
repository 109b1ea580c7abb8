/**
 * A quote's, order's or invoice's lines as the line items of a Stripe Checkout Session, exact in the currency's minor
 * units. A line Stripe can take as it is (a whole quantity at its unit price, no discount, no tax) keeps its
 * quantity and unit price; any other line (a discount, tax, or a fractional quantity) is one unit at its
 * extended amount, named with its quantity, since a Checkout line item has no discount or tax of its own
 * made from an amount. Freight is a line of its own. The page's total must be the document's total to the
 * minor unit; an order-level discount, which a Checkout Session cannot carry without a Stripe coupon, makes
 * the two differ and the request is refused with the reason.
 */
import { MoneyError } from '../../mapping';
import { formatMinor, majorToMinor } from '../refund-requests/money';
import type { DocumentLine, PayableDocument } from './documents';

export interface CheckoutLine {
  name: string;
  quantity: number;
  /** Minor units. */
  unitAmount: number;
}

export type CheckoutPlan = { lines: CheckoutLine[]; total: number } | { problem: string };

/** Stripe's longest product name. */
const NAME_LENGTH = 250;

const amount = (value: unknown) => (value === null || value === undefined ? 0 : value);

function checkoutLine(line: DocumentLine, currency: string, place: number): CheckoutLine {
  const quantity = typeof line.quantity === 'number' ? line.quantity : Number.NaN;
  if (!(quantity > 0)) throw new MoneyError(`line ${place} has no quantity`);
  const unit = majorToMinor(amount(line.pricePerUnit), currency);
  const discount = majorToMinor(amount(line.discount), currency);
  const tax = majorToMinor(amount(line.tax), currency);
  const extended = majorToMinor(amount(line.extendedAmount), currency);
  if (extended < 0) throw new MoneyError(`line ${place} (${line.description}) is negative`);
  const name = line.description.slice(0, NAME_LENGTH);
  if (Number.isInteger(quantity) && discount === 0 && tax === 0 && unit * quantity === extended)
    return { name, quantity, unitAmount: unit };
  return {
    name: `${quantity} × ${line.description}`.slice(0, NAME_LENGTH),
    quantity: 1,
    unitAmount: extended,
  };
}

/** The line items of the document's payment page, or why it cannot have one. */
export function checkoutPlan(document: PayableDocument): CheckoutPlan {
  const currency = document.currency;
  if (!currency) return { problem: `The ${label(document)} has no currency.` };
  if (document.lines.length === 0) return { problem: `The ${label(document)} has no lines to pay.` };
  try {
    const lines = document.lines.map((line, i) => checkoutLine(line, currency, i + 1));
    const freight = majorToMinor(amount(document.freightAmount), currency);
    if (freight > 0) lines.push({ name: 'Freight', quantity: 1, unitAmount: freight });
    const total = lines.reduce((sum, line) => sum + line.quantity * line.unitAmount, 0);
    const documentTotal = majorToMinor(amount(document.totalAmount), currency);
    if (total !== documentTotal)
      return {
        problem:
          `The ${label(document)} total ${formatMinor(documentTotal, currency)} is not the sum of its lines and freight ` +
          `(${formatMinor(total, currency)}): a discount on the whole ${label(document)} cannot go on a Stripe payment page. ` +
          'Put the discount on the lines, then ask again.',
      };
    if (total <= 0) return { problem: `The ${label(document)} total is zero: there is nothing to pay.` };
    return { lines, total };
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    return { problem: `The ${label(document)} cannot be paid through Stripe: ${error.message}.` };
  }
}

export const label = (document: Pick<PayableDocument, 'kind'>) =>
  ({ quote: 'quote', salesorder: 'order', invoice: 'invoice' })[document.kind];
