/**
 * Credit notes (`/v1/credit_notes`): an amount taken off a finalized invoice, by its lines or as one amount.
 * On an open invoice the credit first lowers what is still due (`pre_payment_amount`); the rest
 * (`post_payment_amount`, all of it on a paid invoice) goes back to the customer as `refund_amount` (a refund
 * of the invoice's payment), `credit_amount` (the customer's credit balance) or `out_of_band_amount`, which
 * must add up to it. When none is given, the emulator credits the customer's balance.
 */
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest } from '../errors';
import { fieldFilters, listObjects, paginate, type StripeList } from '../list';
import type { ObjectOperation } from '../operations';
import {
  mergeMetadata,
  nullableString,
  optionalArray,
  optionalInteger,
  optionalString,
  type Params,
  requiredString,
} from '../params';
import type { StripeObject } from '../store';
import { changeCustomerBalance } from './billing';
import { createRefund } from './payments';

const REASONS = ['duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory'];

/** What the post-payment part of a credit note becomes. */
interface Settlement {
  refund: number;
  credit: number;
  outOfBand: number;
}

export function createCreditNote(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const invoice = engine.reference(ctx, 'invoice', requiredString(params, 'invoice'), 'invoice');
  if (!['open', 'paid'].includes(invoice.status)) {
    throw invalidRequest(
      `A credit note can only be issued on an open or paid invoice; ${invoice.id} is ${invoice.status}.`,
      'invoice',
    );
  }
  const reason = optionalString(params, 'reason') ?? null;
  if (reason !== null && !REASONS.includes(reason)) {
    throw invalidRequest(`Invalid reason: must be one of ${REASONS.join(', ')}`, 'reason');
  }
  const id = engine.newId('cn');
  const lines = readLines(engine, ctx, invoice, params);
  const total = lines.length > 0 ? lines.reduce((sum, l) => sum + l.amount, 0) : requestedAmount(params);
  const creditable =
    invoice.total - invoice.pre_payment_credit_notes_amount - invoice.post_payment_credit_notes_amount;
  if (total > creditable) {
    throw invalidRequest(
      `The credit note's total (${total}) is more than the invoice's remaining creditable amount (${creditable}).`,
      'amount',
    );
  }
  const prePayment = invoice.status === 'open' ? Math.min(total, invoice.amount_remaining) : 0;
  const postPayment = total - prePayment;
  const settlement = settle(params, postPayment, invoice);
  const creditNote = newCreditNote(engine, ctx, invoice, { id, lines, total, prePayment, postPayment });
  creditNote.reason = reason;
  creditNote.memo = nullableString(params, 'memo') ?? null;
  creditNote.metadata = mergeMetadata({}, params);
  creditNote.out_of_band_amount = settlement.outOfBand || null;
  applyToInvoice(engine, ctx, invoice, creditNote, 1);
  if (settlement.refund > 0) creditNote.refunds = [refundOf(engine, ctx, invoice, settlement.refund)];
  if (settlement.credit > 0) {
    creditNote.customer_balance_transaction = creditBalance(
      engine,
      ctx,
      invoice,
      creditNote,
      -settlement.credit,
    ).id;
  }
  ctx.scope.insert(creditNote);
  engine.emit(ctx, 'credit_note.created', creditNote);
  return creditNote;
}

function requestedAmount(params: Params): number {
  const amount = optionalInteger(params, 'amount', 1);
  if (amount === undefined) {
    throw invalidRequest('You must pass one of `amount`, `lines` or `shipping_cost`.', 'amount');
  }
  return amount;
}

/** `refund_amount`, `credit_amount`, `out_of_band_amount`: checked to add up to the post-payment amount. */
function settle(params: Params, postPayment: number, invoice: StripeObject): Settlement {
  const refund = optionalInteger(params, 'refund_amount', 0);
  const credit = optionalInteger(params, 'credit_amount', 0);
  const outOfBand = optionalInteger(params, 'out_of_band_amount', 0);
  if (refund === undefined && credit === undefined && outOfBand === undefined) {
    return { refund: 0, credit: postPayment, outOfBand: 0 };
  }
  const settlement = { refund: refund ?? 0, credit: credit ?? 0, outOfBand: outOfBand ?? 0 };
  const sum = settlement.refund + settlement.credit + settlement.outOfBand;
  if (sum !== postPayment) {
    throw invalidRequest(
      `The sum of refund_amount, credit_amount and out_of_band_amount (${sum}) must equal the credit note's ` +
        `post-payment amount (${postPayment}).`,
      refund !== undefined ? 'refund_amount' : credit !== undefined ? 'credit_amount' : 'out_of_band_amount',
    );
  }
  if (settlement.refund > 0 && !invoice.amount_paid) {
    throw invalidRequest(`Invoice ${invoice.id} has no payment to refund.`, 'refund_amount');
  }
  return settlement;
}

/** The credit note's lines: an invoice line by quantity or amount, or a custom line (unit amount × quantity). */
function readLines(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  params: Params,
): StripeObject[] {
  return (optionalArray(params, 'lines') ?? []).map((raw, index) => {
    const line = (raw ?? {}) as Params;
    const type = requiredString(line, 'type');
    const quantity = optionalInteger(line, 'quantity', 0);
    const base = {
      object: 'credit_note_line_item',
      discount_amount: 0,
      discount_amounts: [],
      id: engine.newId('cnli'),
      livemode: ctx.scope.livemode,
      metadata: mergeMetadata({}, line),
      pretax_credit_amounts: [],
      tax_rates: [],
      taxes: [],
    };
    if (type === 'custom_line_item') {
      const unitAmount = optionalInteger(line, 'unit_amount', 0);
      if (unitAmount === undefined) {
        throw invalidRequest(
          `Missing required param: lines[${index}][unit_amount].`,
          `lines[${index}][unit_amount]`,
        );
      }
      const amount = unitAmount * (quantity ?? 1);
      const description = optionalString(line, 'description') ?? null;
      return {
        ...base,
        amount,
        description,
        invoice_line_item: null,
        quantity: quantity ?? 1,
        type,
        unit_amount: unitAmount,
        unit_amount_decimal: String(unitAmount),
      };
    }
    if (type !== 'invoice_line_item') {
      throw invalidRequest(
        `Invalid lines[${index}][type]: must be one of invoice_line_item, custom_line_item`,
        `lines[${index}][type]`,
      );
    }
    const lineId = requiredString(line, 'invoice_line_item');
    const invoiceLine = invoice.lines.data.find((l: StripeObject) => l.id === lineId);
    if (!invoiceLine) {
      throw invalidRequest(
        `No such invoice line item: '${lineId}' on invoice ${invoice.id}`,
        `lines[${index}][invoice_line_item]`,
        'resource_missing',
      );
    }
    const given = optionalInteger(line, 'amount', 0);
    const unit = invoiceLine.quantity ? invoiceLine.amount / invoiceLine.quantity : invoiceLine.amount;
    const amount = given ?? Math.round(unit * (quantity ?? invoiceLine.quantity));
    if (amount > invoiceLine.amount) {
      throw invalidRequest(
        `The amount for line ${lineId} (${amount}) is more than the line's amount (${invoiceLine.amount}).`,
        `lines[${index}][amount]`,
      );
    }
    return {
      ...base,
      amount,
      description: invoiceLine.description,
      invoice_line_item: lineId,
      quantity: quantity ?? (given === undefined ? invoiceLine.quantity : 1),
      type,
      unit_amount: null,
      unit_amount_decimal: null,
    };
  });
}

function newCreditNote(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  amounts: { id: string; lines: StripeObject[]; total: number; prePayment: number; postPayment: number },
): StripeObject {
  const { id, lines, total } = amounts;
  const sequence = ctx.scope.all('credit_note').filter((c) => c.invoice === invoice.id).length + 1;
  const now = engine.now();
  return {
    id,
    object: 'credit_note',
    amount: total,
    amount_shipping: 0,
    created: now,
    currency: invoice.currency,
    customer: invoice.customer,
    customer_account: null,
    customer_balance_transaction: null,
    discount_amount: 0,
    discount_amounts: [],
    effective_at: now,
    invoice: invoice.id,
    lines: {
      object: 'list',
      data: lines,
      has_more: false,
      total_count: lines.length,
      url: `/v1/credit_notes/${id}/lines`,
    },
    livemode: ctx.scope.livemode,
    memo: null,
    metadata: {},
    number: `${invoice.number}-CN-${String(sequence).padStart(2, '0')}`,
    out_of_band_amount: null,
    pdf: `https://pay.stripe.com/credit_notes/emulator/${id}/pdf`,
    post_payment_amount: amounts.postPayment,
    pre_payment_amount: amounts.prePayment,
    pretax_credit_amounts: [],
    reason: null,
    refunds: [],
    shipping_cost: null,
    status: 'issued',
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    total_taxes: [],
    type: amounts.postPayment > 0 ? (amounts.prePayment > 0 ? 'mixed' : 'post_payment') : 'pre_payment',
    voided_at: null,
  };
}

/**
 * The invoice takes the credit note (`sign` 1) or gives it back when it is voided (-1): its pre- and
 * post-payment credit note amounts, and what is still due; an open invoice credited in full is paid.
 */
function applyToInvoice(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  creditNote: StripeObject,
  sign: 1 | -1,
): void {
  const pre = sign * creditNote.pre_payment_amount;
  const post = sign * creditNote.post_payment_amount;
  const previous = engine.change(invoice, (i) => {
    i.pre_payment_credit_notes_amount += pre;
    i.post_payment_credit_notes_amount += post;
    if (pre !== 0) {
      i.amount_due -= pre;
      i.amount_remaining -= pre;
    }
  });
  engine.emit(ctx, 'invoice.updated', invoice, previous);
  if (invoice.status === 'open' && invoice.amount_remaining === 0 && pre > 0) {
    const now = engine.now();
    engine.update(
      ctx,
      invoice,
      (i) => {
        i.status = 'paid';
        i.status_transitions = { ...i.status_transitions, paid_at: now };
        i.next_payment_attempt = null;
        i.auto_advance = false;
      },
      'invoice.paid',
    );
  }
}

/** A refund of the invoice's payment (`charge.refunded`, `refund.created`), as the credit note lists it. */
function refundOf(engine: StripeEngine, ctx: RequestContext, invoice: StripeObject, amount: number) {
  const paymentIntent = ctx.scope.invoicePayments.get(invoice.id);
  if (!paymentIntent)
    throw invalidRequest(`Invoice ${invoice.id} has no payment to refund.`, 'refund_amount');
  const refund = createRefund(engine, ctx, { payment_intent: paymentIntent, amount: String(amount) });
  return { amount_refunded: amount, payment_record_refund: null, refund: refund.id, type: 'refund' };
}

/** A change of the customer's credit balance (negative: credit) by a credit note, and `customer.updated`. */
function creditBalance(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  creditNote: StripeObject,
  amount: number,
): StripeObject {
  const customer = engine.get(ctx, 'customer', invoice.customer);
  return changeCustomerBalance(engine, ctx, customer, {
    amount,
    currency: invoice.currency,
    type: 'credit_note',
    invoice: null,
    creditNote: creditNote.id,
  });
}

export function listCreditNotes(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = fieldFilters(params, 'customer', 'invoice');
  return listObjects(ctx.scope, 'credit_note', params, '/v1/credit_notes', filters);
}

export const listCreditNoteLines: ObjectOperation<StripeList> = (engine, ctx, id, params) => {
  const creditNote = engine.get(ctx, 'credit_note', id);
  return paginate([...creditNote.lines.data].reverse(), params, `/v1/credit_notes/${id}/lines`);
};

export const updateCreditNote: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const creditNote = engine.get(ctx, 'credit_note', id);
  const memo = nullableString(params, 'memo');
  engine.update(
    ctx,
    creditNote,
    (c) => {
      if (memo !== undefined) c.memo = memo;
      c.metadata = mergeMetadata(c.metadata, params);
    },
    'credit_note.updated',
  );
  return creditNote;
};

/**
 * Voiding gives the invoice its credit back and takes back a credit to the customer's balance. A credit
 * note that refunded money cannot be voided (the refund has left), as on Stripe.
 */
export const voidCreditNote: ObjectOperation<StripeObject> = (engine, ctx, id) => {
  const creditNote = engine.get(ctx, 'credit_note', id);
  if (creditNote.status === 'void') throw invalidRequest(`Credit note ${id} is already voided.`);
  if (creditNote.refunds.length > 0) {
    throw invalidRequest(`Credit note ${id} refunded a payment and cannot be voided.`);
  }
  const invoice = engine.get(ctx, 'invoice', creditNote.invoice);
  if (invoice.status === 'paid' && creditNote.pre_payment_amount > 0) {
    throw invalidRequest(
      `Credit note ${id} settled invoice ${invoice.id}, which is paid, and cannot be voided.`,
    );
  }
  applyToInvoice(engine, ctx, invoice, creditNote, -1);
  if (creditNote.customer_balance_transaction) {
    const credited = ctx.scope.find(creditNote.customer_balance_transaction);
    if (credited) creditBalance(engine, ctx, invoice, creditNote, -credited.amount);
  }
  engine.update(
    ctx,
    creditNote,
    (c) => {
      c.status = 'void';
      c.voided_at = engine.now();
    },
    'credit_note.voided',
  );
  return creditNote;
};

/** GET /v1/customers/:id/balance_transactions: the changes of the customer's credit balance. */
export const listCustomerBalanceTransactions: ObjectOperation<StripeList> = (engine, ctx, id, params) => {
  engine.get(ctx, 'customer', id);
  const filters = [(t: StripeObject) => t.customer === id, ...fieldFilters(params, 'invoice')];
  return listObjects(
    ctx.scope,
    'customer_balance_transaction',
    params,
    `/v1/customers/${id}/balance_transactions`,
    filters,
  );
};
