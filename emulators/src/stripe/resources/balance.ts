/** Balance transactions, the balance, and payouts (with test helpers for automatic payouts). */
import type { RequestContext, StripeEngine } from '../engine';
import type { ObjectOperation } from '../operations';
import { exponentOf } from '../currencies';
import { invalidRequest } from '../errors';
import { allOf, fieldFilters, listObjects, paginate, StripeList, timeFilter } from '../list';
import { currency, mergeMetadata, nullableString, optionalString, Params, requiredInteger } from '../params';
import type { Scope, StripeObject } from '../store';

const DAY = 24 * 60 * 60;

export interface FeeDetail {
  amount: number;
  application: string | null;
  currency: string;
  description: string;
  type: 'stripe_fee' | 'application_fee' | 'tax';
}

export interface BalanceTransactionInit {
  amount: number;
  currency: string;
  fee?: FeeDetail[];
  type: string;
  reportingCategory: string;
  source: string;
  description: string | null;
}

export function createBalanceTransaction(
  engine: StripeEngine,
  scope: Scope,
  init: BalanceTransactionInit,
): StripeObject {
  // Money in a currency the account does not hold lands converted, as Stripe converts it, with the rate.
  const settled = engine.settlement[init.currency];
  const convert = (amount: number) =>
    settled ? convertMinor(amount, init.currency, settled.currency, settled.rate) : amount;
  const feeDetails = (init.fee ?? []).map((detail) =>
    settled ? { ...detail, amount: convert(detail.amount), currency: settled.currency } : detail,
  );
  const fee = feeDetails.reduce((sum, detail) => sum + detail.amount, 0);
  const amount = convert(init.amount);
  const currencyCode = settled?.currency ?? init.currency;
  const created = engine.now();
  const transaction: StripeObject = {
    id: engine.newId('txn'),
    object: 'balance_transaction',
    amount,
    available_on: created + 2 * DAY,
    balance_type: 'payments',
    created,
    currency: currencyCode,
    description: init.description,
    exchange_rate: settled ? settled.rate : null,
    fee,
    fee_details: feeDetails,
    net: amount - fee,
    reporting_category: init.reportingCategory,
    source: init.source,
    status: 'pending',
    type: init.type,
  };
  scope.insert(transaction);
  // Money a payout takes out is settled by that payout; money a reversing payout brings back is paid out again.
  if (init.type !== 'payout' || init.amount > 0) {
    let unpaid = scope.unpaidTransactions.get(currencyCode);
    if (!unpaid) scope.unpaidTransactions.set(currencyCode, (unpaid = []));
    unpaid.push(transaction);
  }
  return transaction;
}

/** An amount in `from`'s minor units, in `to`'s minor units at `rate` (major units of `to` per major unit of `from`). */
export function convertMinor(amount: number, from: string, to: string, rate: number): number {
  return Math.round((amount / 10 ** exponentOf(from)) * rate * 10 ** exponentOf(to));
}

/** Stripe's card processing fee for a charge of `amount`. */
export function processingFee(engine: StripeEngine, amount: number, currencyCode: string): FeeDetail[] {
  const fee = Math.round((amount * engine.fees.percent) / 100) + engine.fees.fixed;
  return [
    {
      amount: fee,
      application: null,
      currency: currencyCode,
      description: 'Stripe processing fees',
      type: 'stripe_fee',
    },
  ];
}

export function listBalanceTransactions(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
): StripeList {
  const payoutId = optionalString(params, 'payout');
  const filters = [...fieldFilters(params, 'type', 'source', 'currency'), timeFilter(params)];
  let items: readonly StripeObject[];
  if (payoutId) {
    const payout = engine.reference(ctx, 'payout', payoutId, 'payout');
    // Stripe knows what went into a payout only when it chose the transactions itself (its schedule).
    if (payout.automatic !== true) {
      throw invalidRequest(
        'Balance transaction history can only be filtered on automatic transfers, not manual.',
      );
    }
    items = ctx.scope.payoutTransactions.get(payoutId) ?? [];
  } else {
    items = ctx.scope.all('balance_transaction');
  }
  // A payout's transactions are listed as they are when nothing else is asked (tens of thousands of them).
  if (filters.some((filter) => filter !== undefined)) items = items.filter(allOf(filters));
  return paginate(items, params, '/v1/balance_transactions', ctx.scope);
}

export function retrieveBalance(engine: StripeEngine, ctx: RequestContext): StripeObject {
  const available = new Map<string, number>();
  const pending = new Map<string, number>();
  for (const transaction of ctx.scope.all('balance_transaction')) {
    const bucket = transaction.status === 'available' ? available : pending;
    bucket.set(transaction.currency, (bucket.get(transaction.currency) ?? 0) + transaction.net);
    if (!available.has(transaction.currency)) available.set(transaction.currency, 0);
    if (!pending.has(transaction.currency)) pending.set(transaction.currency, 0);
  }
  if (available.size === 0) {
    available.set('usd', 0);
    pending.set('usd', 0);
  }
  const amounts = (bucket: Map<string, number>) =>
    [...bucket].map(([code, amount]) => ({ amount, currency: code, source_types: { card: amount } }));
  return {
    id: 'balance',
    object: 'balance',
    available: amounts(available),
    connect_reserved: [...available.keys()].map((code) => ({ amount: 0, currency: code })),
    livemode: ctx.scope.livemode,
    pending: amounts(pending),
  };
}

// ---- payouts ---------------------------------------------------------------------------------------------

function balanceOf(scope: Scope, currencyCode: string): number {
  let total = 0;
  for (const transaction of scope.all('balance_transaction')) {
    if (transaction.currency === currencyCode) total += transaction.net;
  }
  return total;
}

function newPayout(
  engine: StripeEngine,
  ctx: RequestContext,
  init: {
    amount: number;
    currency: string;
    automatic: boolean;
    description: string | null;
    metadata: Record<string, string>;
    method: string;
    statementDescriptor: string | null;
    originalPayout?: string;
  },
): StripeObject {
  const created = engine.now();
  const payout: StripeObject = {
    id: engine.newId('po'),
    object: 'payout',
    amount: init.amount,
    application_fee: null,
    application_fee_amount: null,
    arrival_date: created + (init.method === 'instant' ? 0 : 2 * DAY),
    automatic: init.automatic,
    balance_transaction: null,
    created,
    currency: init.currency,
    description: init.description,
    destination: ctx.scope.bankAccountId,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: ctx.scope.livemode,
    metadata: init.metadata,
    method: init.method,
    original_payout: init.originalPayout ?? null,
    payout_method: null,
    reconciliation_status: init.automatic ? 'in_progress' : 'not_applicable',
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: init.statementDescriptor,
    status: 'pending',
    trace_id: { status: 'pending', value: null },
    type: 'bank_account',
  };
  ctx.scope.insert(payout);
  const transaction = createBalanceTransaction(engine, ctx.scope, {
    amount: -init.amount,
    currency: init.currency,
    type: 'payout',
    reportingCategory: 'payout',
    source: payout.id,
    description: init.description ?? 'STRIPE PAYOUT',
  });
  payout.balance_transaction = transaction.id;
  ctx.scope.payoutTransactions.set(payout.id, [transaction]);
  return payout;
}

/** POST /v1/payouts: a manual payout of part of the balance. */
export function createPayout(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const amount = requiredInteger(params, 'amount', 1);
  const code = currency(params);
  const balance = balanceOf(ctx.scope, code);
  if (amount > balance) {
    throw invalidRequest(
      'You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. ' +
        'You can use the /v1/balance endpoint to view your Stripe balance.',
      'amount',
      'balance_insufficient',
    );
  }
  const payout = newPayout(engine, ctx, {
    amount,
    currency: code,
    automatic: false,
    description: nullableString(params, 'description') ?? null,
    metadata: mergeMetadata({}, params),
    method: optionalString(params, 'method') ?? 'standard',
    statementDescriptor: nullableString(params, 'statement_descriptor') ?? null,
  });
  engine.emit(ctx, 'payout.created', payout);
  return payout;
}

export const updatePayout: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const payout = engine.get(ctx, 'payout', id);
  engine.update(ctx, payout, (p) => void (p.metadata = mergeMetadata(p.metadata, params)), 'payout.updated');
  return payout;
};

export function cancelPayout(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const payout = engine.get(ctx, 'payout', id);
  if (payout.status !== 'pending') {
    throw invalidRequest(
      `Payouts can only be canceled while they are pending.`,
      undefined,
      'payout_not_cancelable',
    );
  }
  return returnToBalance(engine, ctx, payout, {
    type: 'payout_cancel',
    description: 'Cancellation of payout',
    status: 'canceled',
  });
}

/**
 * A payout that will not arrive (canceled, or returned by the bank): its amount goes back to the balance
 * through one reversal transaction, which the payout names, and the payout takes its final status.
 */
function returnToBalance(
  engine: StripeEngine,
  ctx: RequestContext,
  payout: StripeObject,
  how: {
    type: 'payout_cancel' | 'payout_failure';
    description: string;
    status: 'canceled' | 'failed';
    failure?: { code: string; message: string };
  },
): StripeObject {
  const reversal = createBalanceTransaction(engine, ctx.scope, {
    amount: payout.amount,
    currency: payout.currency,
    type: how.type,
    reportingCategory: 'payout_reversal',
    source: payout.id,
    description: how.description,
  });
  engine.update(
    ctx,
    payout,
    (p) => {
      p.status = how.status;
      p.failure_balance_transaction = reversal.id;
      if (how.failure) {
        p.failure_code = how.failure.code;
        p.failure_message = how.failure.message;
      }
    },
    `payout.${how.status}`,
    // A bank's return arrives on its own; a cancel is the caller's request.
    { automatic: how.status === 'failed', always: true },
  );
  return payout;
}

/** Why a payout cannot be reversed, or null when it can. */
function whyNotReversible(payout: StripeObject): string | null {
  if (payout.reversed_by) return `Payout ${payout.id} has already been reversed by ${payout.reversed_by}.`;
  if (payout.original_payout || payout.amount < 0)
    return `Payout ${payout.id} is itself a reversal (a debit) and cannot be reversed.`;
  if (payout.status === 'pending')
    return `Payout ${payout.id} is pending; use /v1/payouts/${payout.id}/cancel to cancel it instead.`;
  if (payout.status !== 'paid' && payout.status !== 'in_transit')
    return `Payout ${payout.id} is ${payout.status} and cannot be reversed.`;
  return null;
}

/**
 * POST /v1/payouts/:id/reverse: a new, manual payout of the negated amount debits the bank account and brings
 * the money back to the balance; the two name each other (`reversed_by`, `original_payout`). Returns the
 * reversing payout, as Stripe does. The emulator does not check Stripe's bank-country and 90-day limits.
 */
export const reversePayoutRoute: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const original = engine.get(ctx, 'payout', id);
  const reason = whyNotReversible(original);
  if (reason) throw invalidRequest(reason);
  const reversal = newPayout(engine, ctx, {
    amount: -original.amount,
    currency: original.currency,
    automatic: false,
    description: null,
    metadata: mergeMetadata({}, params),
    method: 'standard',
    statementDescriptor: null,
    originalPayout: original.id,
  });
  engine.update(ctx, original, (p) => void (p.reversed_by = reversal.id), 'payout.updated');
  engine.emit(ctx, 'payout.created', reversal);
  return reversal;
};

export function listPayouts(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  return listObjects(ctx.scope, 'payout', params, '/v1/payouts', [
    ...fieldFilters(params, 'status'),
    timeFilter(params),
    timeFilter(params, 'arrival_date'),
    ...fieldFilters(params, 'destination'),
  ]);
}

/**
 * Test helper: the automatic payout Stripe would make now, sweeping every balance transaction of the currency
 * not yet paid out. Listing `/v1/balance_transactions?payout=po_…` then returns them (and the payout's own).
 */
export function createAutomaticPayout(
  engine: StripeEngine,
  ctx: RequestContext,
  currencyCode = 'usd',
): StripeObject {
  const unpaid = ctx.scope.unpaidTransactions.get(currencyCode) ?? [];
  ctx.scope.unpaidTransactions.set(currencyCode, []);
  const amount = unpaid.reduce((sum, t) => sum + t.net, 0);
  const payout = newPayout(engine, ctx, {
    amount,
    currency: currencyCode,
    automatic: true,
    description: 'STRIPE PAYOUT',
    metadata: {},
    method: 'standard',
    statementDescriptor: null,
  });
  const transactions = ctx.scope.payoutTransactions.get(payout.id)!;
  // Oldest first, the payout's own transaction last: the list then shows it first, as Stripe does.
  ctx.scope.payoutTransactions.set(payout.id, [...unpaid, ...transactions]);
  engine.emit(ctx, 'payout.created', payout, undefined, { automatic: true });
  return payout;
}

/** Test helper: the bank accepted the payout; its transactions become available, reconciliation completes. */
export function payPayout(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const payout = engine.get(ctx, 'payout', id);
  if (payout.status !== 'pending' && payout.status !== 'in_transit') {
    throw invalidRequest(`Payout ${id} is ${payout.status}; only a pending payout can be paid.`, 'payout');
  }
  for (const transaction of ctx.scope.payoutTransactions.get(id) ?? []) transaction.status = 'available';
  engine.update(
    ctx,
    payout,
    (p) => {
      p.status = 'paid';
      p.arrival_date = Math.min(p.arrival_date, engine.now());
      p.trace_id = { status: 'supported', value: `TRACE${id.slice(-10).toUpperCase()}` };
    },
    'payout.paid',
    { automatic: true, always: true },
  );
  if (payout.automatic) {
    engine.update(
      ctx,
      payout,
      (p) => void (p.reconciliation_status = 'completed'),
      'payout.reconciliation_completed',
      {
        automatic: true,
        always: true,
      },
    );
  }
  return payout;
}

/** Test helper: the bank returned the payout; the money goes back to the balance. */
export function failPayout(
  engine: StripeEngine,
  ctx: RequestContext,
  id: string,
  failureCode = 'account_closed',
): StripeObject {
  return returnToBalance(engine, ctx, engine.get(ctx, 'payout', id), {
    type: 'payout_failure',
    description: 'Payout failure',
    status: 'failed',
    failure: { code: failureCode, message: 'The bank account has been closed.' },
  });
}
