/**
 * Fees and net without a read per payment. A payment row written from an event's copy has its status and
 * amount at once but no fee when the copy names its balance transaction by id only. The filler notes such
 * payments and, shortly after, lists the balance transactions created since the oldest of them (100 a page,
 * the reader reconciliation uses) and writes each noted payment's fee and net. A fee in another currency
 * than the payment's (a settlement currency) is not the payment's: it is left empty, never shown wrong, as
 * payments.yaml does; the transaction's row (stc_balancetransaction) carries it with its exchange rate.
 */
import type Stripe from 'stripe';
import { Payment } from '@stc/solution/tables';
import { DataverseError } from '../../dataverse/errors';
import type { BatchOperation, DataverseClient, Row } from '../../dataverse/types';
import { minorToMajor } from '../../mapping';
import type { HandlerLogger } from '../../pipeline/handler';
import { balanceTransactionPages } from '../../stripe/balance-transactions';
import type { RateLimitPolicy } from '../../stripe/paging';
import { odataString } from '../../write/rows';

/** A payment written without its fee: its charge, when the charge was made, and the Connect account. */
export interface PaymentWithoutFee {
  chargeId: string;
  /** The charge's `created` (Unix seconds): its balance transaction is created with it. */
  created: number;
  account: string | null;
}

export interface FeeFillResult {
  /** Payment rows given their fee and net. */
  filled: number;
  /** Noted payments whose transaction is in another currency: the transaction id written, no fee. */
  otherCurrency: number;
  /** Noted payments still waiting for their transaction (tried again on the next run). */
  waiting: number;
  /** Balance transaction list requests sent. */
  requests: number;
}

export interface FeeFiller {
  /** Notes a payment row written without its fee; the next run fills it. */
  note(payment: PaymentWithoutFee): void;
  /** How many noted payments wait. */
  pending(): number;
  /** Lists the noted payments' balance transactions in bulk and writes their fees. */
  fill(deps: {
    stripeFor(account: string | null): Stripe;
    dataverse: DataverseClient;
    log: HandlerLogger;
  }): Promise<FeeFillResult>;
}

export interface FeeFillerOptions {
  /** Runs a noted payment may wait for its transaction before it is given up (logged). Default 30. */
  maxRuns?: number;
  rateLimit?: RateLimitPolicy;
  sleep?: (ms: number) => Promise<void>;
}

/** Payments looked up in Dataverse per query (the ids go in the URL). */
const CHARGES_PER_QUERY = 50;
/** Listed from a little before the oldest noted charge: a transaction's `created` may trail its charge's. */
const MARGIN_SECONDS = 60;

interface Noted extends PaymentWithoutFee {
  runs: number;
}

type Transaction = {
  id: string;
  source?: unknown;
  fee: number;
  net: number;
  currency: string;
  exchange_rate?: number | null;
};

export function createFeeFiller(options: FeeFillerOptions = {}): FeeFiller {
  const noted = new Map<string, Noted>();
  const maxRuns = options.maxRuns ?? 30;
  const keyOf = (p: PaymentWithoutFee) => `${p.account ?? ''}|${p.chargeId}`;
  return {
    note(payment) {
      const key = keyOf(payment);
      if (!noted.has(key)) noted.set(key, { ...payment, runs: 0 });
    },
    pending: () => noted.size,
    async fill(deps) {
      const result: FeeFillResult = { filled: 0, otherCurrency: 0, waiting: 0, requests: 0 };
      const accounts = new Set([...noted.values()].map((p) => p.account));
      for (const account of accounts) {
        const mine = new Map(
          [...noted.values()].filter((p) => p.account === account).map((p) => [p.chargeId, p]),
        );
        const found = await listTransactions(deps.stripeFor(account), account, mine, options, result);
        await writeFees(deps.dataverse, found, result);
        for (const [chargeId, payment] of mine) {
          if (found.has(chargeId)) noted.delete(keyOf(payment));
          else if (++payment.runs >= maxRuns) {
            noted.delete(keyOf(payment));
            deps.log.warn(
              { chargeId, account, runs: payment.runs },
              'no balance transaction listed for this charge; its fee and net stay empty',
            );
          }
        }
      }
      result.waiting = noted.size;
      return result;
    },
  };
}

/** The balance transactions of `charges`, by charge id, from the pages created since the oldest of them. */
async function listTransactions(
  stripe: Stripe,
  account: string | null,
  charges: Map<string, Noted>,
  options: FeeFillerOptions,
  result: FeeFillResult,
): Promise<Map<string, Transaction>> {
  const found = new Map<string, Transaction>();
  const oldest = Math.min(...[...charges.values()].map((p) => p.created));
  const pages = balanceTransactionPages(
    stripe,
    { createdGte: oldest - MARGIN_SECONDS },
    { account, rateLimit: options.rateLimit, sleep: options.sleep },
  );
  for await (const page of pages) {
    result.requests += 1;
    for (const item of page.data) {
      const transaction = item as unknown as Transaction;
      const source = typeof transaction.source === 'string' ? transaction.source : undefined;
      if (source && charges.has(source)) found.set(source, transaction);
    }
    // Newest first: once every noted charge is found, older pages have nothing for them.
    if (found.size === charges.size) break;
  }
  return found;
}

/**
 * Writes fee and net to the payments of the found charges that have none yet: one query and one `$batch` of
 * updates per CHARGES_PER_QUERY charges, so a burst's fees cost a few requests, not one per payment. A failed
 * update fails the run (the rest of its batch is written); the next run finds what is still without a fee.
 */
async function writeFees(
  dataverse: DataverseClient,
  found: Map<string, Transaction>,
  result: FeeFillResult,
): Promise<void> {
  const chargeIds = [...found.keys()];
  for (let i = 0; i < chargeIds.length; i += CHARGES_PER_QUERY) {
    const ids = chargeIds.slice(i, i + CHARGES_PER_QUERY);
    const rows = await dataverse.retrieveMultiple(Payment.entitySetName, {
      select: [Payment.primaryId, Payment.col.chargeId, Payment.col.currency, Payment.col.fee],
      filter: `Microsoft.Dynamics.CRM.In(PropertyName='${Payment.col.chargeId}',PropertyValues=[${ids.map(odataString).join(',')}])`,
    });
    const updates: Array<BatchOperation & { kind: 'update' }> = [];
    for (const row of rows) {
      const transaction = found.get(String(row[Payment.col.chargeId]));
      if (!transaction || (row[Payment.col.fee] ?? null) !== null) continue;
      updates.push({
        kind: 'update',
        entitySet: Payment.entitySetName,
        id: String(row[Payment.primaryId]),
        row: feeColumns(row, transaction),
      });
    }
    if (updates.length === 0) continue;
    const answers = await dataverse.executeBatch(updates, { continueOnError: true });
    const failed = answers.find((a) => a.error);
    answers.forEach((answer, n) => {
      if (answer.error) return;
      if (Payment.col.fee in updates[n].row) result.filled += 1;
      else result.otherCurrency += 1;
    });
    if (failed?.error) throw new DataverseError(failed.error);
  }
}

/**
 * Fee and net in the payment's currency; a transaction in another currency gives its id, the currency the
 * money landed in and Stripe's exchange rate.
 */
function feeColumns(row: Row, transaction: Transaction): Row {
  const update: Row = {
    [Payment.col.stripeBalanceTransactionId]: transaction.id,
    [Payment.col.settlementCurrency]: transaction.currency,
  };
  if (typeof transaction.exchange_rate === 'number')
    update[Payment.col.exchangeRate] = transaction.exchange_rate;
  if (String(row[Payment.col.currency] ?? '').toLowerCase() !== transaction.currency.toLowerCase())
    return update;
  update[Payment.col.fee] = minorToMajor(transaction.fee, transaction.currency);
  update[Payment.col.net] = minorToMajor(transaction.net, transaction.currency);
  return update;
}
