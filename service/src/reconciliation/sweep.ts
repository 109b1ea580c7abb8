/**
 * The payout sweep: on an interval, lists recent paid and failed payouts from Stripe and reconciles every
 * one whose journal entry does not show what Stripe says of the payout now (its event was missed, an earlier
 * run failed or did not balance, or the payout has been reversed or has failed since, or its reversal has).
 */
import type Stripe from 'stripe';
import { JournalEntry, JournalLine } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../dataverse/types';
import type { StripeObject } from '../write/stripe-objects';
import type { HandlerLogger } from '../pipeline/handler';
import { startSchedule, type Schedule } from '../pipeline/schedule';
import {
  JOURNAL_BALANCED,
  JOURNAL_FAILED,
  JOURNAL_MISMATCH,
  JOURNAL_NOT_RECONCILABLE,
  JOURNAL_REVERSED,
  payoutReturn,
  transactionsListed,
  type PayoutReconciler,
} from './reconcile';

export interface PayoutSweepOptions {
  reconciler: PayoutReconciler;
  stripe: Stripe;
  dataverse: DataverseClient;
  log: HandlerLogger;
  /** Connected account to sweep; default the platform. */
  account?: string | null;
  /** How far back to look for paid and failed payouts. Default 7 days. */
  lookbackMs?: number;
  now?: () => number;
}

export interface SweepResult {
  checked: number;
  /** Payouts run whose journal balances (or that have no journal to balance). */
  reconciled: string[];
  /**
   * Payouts whose journal does not balance: run by this sweep and found so, or whose entry says Mismatch while
   * Stripe says of the payout what it said then (not run again: its transactions would sum the same).
   */
  mismatched: string[];
  failed: Array<{ payoutId: string; error: string }>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Whether the payout's entry needs no new run: it already shows what Stripe says of the payout now, so a run
 * would write it again unchanged.
 * - A manual payout (or a reversal): Not reconcilable, whether reversed or not; a failed one never journaled
 *   has nothing to correct.
 * - An automatic payout Stripe has not reconciled: a failed one has nothing to journal (it failed before Stripe
 *   reconciled it); a paid one is run again, which writes its payout row, until Stripe has.
 * - An automatic payout Stripe has reconciled: Failed when it failed (paid, then returned by the bank: an entry
 *   missing or still Balanced is written), Reversed while a reversal of it stands, Balanced otherwise, which
 *   includes a payout whose reversal failed or was canceled since (its reversal is read fresh from Stripe): a
 *   Reversed entry is run again once, which keeps its reversing pair, adds the two lines undoing it and makes
 *   it Balanced, settled from then on. A Mismatch stands while the payout stands: its transactions would sum
 *   the same (the operator runs it again with `reconcile --payout` once the cause is mended); one failed or
 *   reversed since is run again.
 */
async function settled(
  options: PayoutSweepOptions,
  payout: StripeObject,
  entry: Row | null,
): Promise<boolean> {
  const status = entry?.[JournalEntry.col.status] ?? undefined;
  if (payout.automatic !== true)
    return status === JOURNAL_NOT_RECONCILABLE || (status === undefined && payout.status === 'failed');
  if (!transactionsListed(payout)) return payout.status === 'failed';
  const returned = await payoutReturn(options.stripe, options.account, payout);
  const expected =
    returned === 'failed' ? JOURNAL_FAILED : returned === 'reversed' ? JOURNAL_REVERSED : JOURNAL_BALANCED;
  if (status === JOURNAL_MISMATCH && expected === JOURNAL_BALANCED) return true;
  if (status !== expected) return false;
  // Lines written before stc_postingdate existed post on their entry's date in an export, which is wrong for
  // a failure's or reversal's pair: such an entry is reconciled once more, which dates every line.
  if (status === JOURNAL_FAILED || status === JOURNAL_REVERSED)
    return !(await hasUndatedLines(options.dataverse, String(entry![JournalEntry.primaryId])));
  return true;
}

async function hasUndatedLines(dataverse: DataverseClient, entryId: string): Promise<boolean> {
  const undated = await dataverse.retrieveMultiple(JournalLine.entitySetName, {
    select: [JournalLine.primaryId],
    filter: `${JournalLine.lookup.journalentryid.value} eq ${entryId} and ${JournalLine.col.postingDate} eq null`,
    top: 1,
  });
  return undated.length > 0;
}

export async function sweepPayouts(options: PayoutSweepOptions): Promise<SweepResult> {
  const now = options.now ?? Date.now;
  const since = Math.floor((now() - (options.lookbackMs ?? 7 * DAY_MS)) / 1000);
  const account = options.account ?? null;
  const result: SweepResult = { checked: 0, reconciled: [], mismatched: [], failed: [] };
  const swept = new Set<string>();
  // Failed ones too: a paid payout can still fail, and its entry then needs the reversing lines.
  for (const status of ['paid', 'failed'] as const) {
    const payouts = options.stripe.payouts.list(
      { status, created: { gte: since }, limit: 100 },
      account ? { stripeAccount: account } : undefined,
    );
    for await (const listed of payouts) {
      const payout = listed as unknown as StripeObject;
      await sweepOne(options, result, payout, swept);
      await sweepOriginal(options, result, payout, swept);
    }
  }
  return result;
}

/**
 * The payout a reversal reversed, when the sweep did not list it (made before its look-back; Stripe reverses
 * up to 90 days after): a reversal that failed or was canceled with its events missed is then still undone
 * on the original's entry.
 */
async function sweepOriginal(
  options: PayoutSweepOptions,
  result: SweepResult,
  reversal: StripeObject,
  swept: Set<string>,
): Promise<void> {
  const original = reversal.original_payout;
  const id = typeof original === 'string' ? original : (original as { id?: string } | null)?.id;
  if (!id || swept.has(id)) return;
  const account = options.account ?? null;
  let payout: StripeObject;
  try {
    payout = (await options.stripe.payouts.retrieve(
      id,
      undefined,
      account ? { stripeAccount: account } : undefined,
    )) as unknown as StripeObject;
  } catch (error) {
    result.failed.push({ payoutId: id, error: (error as Error).message });
    options.log.error({ payout: id, err: error }, 'payout sweep could not read a reversed payout');
    return;
  }
  await sweepOne(options, result, payout, swept);
}

async function sweepOne(
  options: PayoutSweepOptions,
  result: SweepResult,
  payout: StripeObject,
  swept: Set<string>,
) {
  if (swept.has(payout.id)) return;
  swept.add(payout.id);
  const account = options.account ?? null;
  result.checked += 1;
  const entry = await options.dataverse.retrieveByKey(
    JournalEntry.entitySetName,
    { [JournalEntry.col.stripePayoutId]: payout.id },
    { select: [JournalEntry.primaryId, JournalEntry.col.status] },
  );
  try {
    if (await settled(options, payout, entry)) {
      if (entry?.[JournalEntry.col.status] === JOURNAL_MISMATCH) result.mismatched.push(payout.id);
      return;
    }
    // By id: the run reads the payout afresh. The copy listed may be minutes old by now (a page of a hundred
    // is run one by one), older than what a payout event's run has written since.
    const outcome = await options.reconciler.reconcile({
      stripe: options.stripe,
      dataverse: options.dataverse,
      log: options.log,
      payout: payout.id,
      account,
    });
    if (outcome.kind === 'journal' && !outcome.journal.balanced) result.mismatched.push(payout.id);
    else result.reconciled.push(payout.id);
  } catch (error) {
    // One payout failing must not stop the sweep; the next sweep tries it again.
    result.failed.push({ payoutId: payout.id, error: (error as Error).message });
    options.log.error({ payout: payout.id, err: error }, 'payout sweep could not reconcile a payout');
  }
}

export type PayoutSweepSchedule = Schedule;

/** Sweeps every `intervalMs` (a sweep never overlaps the previous one); the timer does not hold the process. */
export function startPayoutSweep(
  options: PayoutSweepOptions & { intervalMs: number; onSweep?: (result: SweepResult) => void },
): PayoutSweepSchedule {
  return startSchedule({
    what: 'payout sweep',
    intervalMs: options.intervalMs,
    log: options.log,
    run: () => sweepPayouts(options),
    onRun: options.onSweep,
  });
}
