/**
 * The one reader of balance transactions in bulk, 100 a page: by payout (reconciliation: the transactions a
 * payout settled) or by creation time (payment fees: the transactions of recent charges). One list request
 * gives the fee, net and exchange rate of up to 100 payments, where a read per payment would cost 100.
 */
import type Stripe from 'stripe';
import { listPages, type Page, type RateLimitPolicy } from './paging';

export type BalanceTransactionFilter = { payout: string } | { createdGte: number };

export interface BalanceTransactionListOptions {
  /** The connected account, or null for the platform. */
  account: string | null;
  rateLimit?: RateLimitPolicy;
  sleep?: (ms: number) => Promise<void>;
}

/** Pages of balance transactions by payout, or created at or after `createdGte` (Unix seconds), newest first. */
export function balanceTransactionPages(
  stripe: Stripe,
  filter: BalanceTransactionFilter,
  options: BalanceTransactionListOptions,
): AsyncGenerator<Page> {
  const requestOptions = options.account ? { stripeAccount: options.account } : undefined;
  const scope = 'payout' in filter ? { payout: filter.payout } : { created: { gte: filter.createdGte } };
  return listPages(
    (startingAfter) =>
      stripe.balanceTransactions.list(
        { ...scope, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) },
        requestOptions,
      ) as unknown as Promise<Page>,
    { rateLimit: options.rateLimit, sleep: options.sleep },
  );
}
