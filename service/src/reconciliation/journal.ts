/**
 * A payout's journal, built as its balance transactions stream past: sums per group in exact integer
 * minor units (BigInt), never the transactions themselves, so memory stays flat however many there are.
 */
import { minorToMajor } from '../mapping';
import type { JournalGroup, ReconciliationConfig } from './config';

export interface BalanceTransactionLike {
  id: string;
  type: string;
  reporting_category?: string | null;
  amount: number;
  fee: number;
  net: number;
  currency: string;
}

export interface JournalLine {
  /** `<payout id>:<group>`: the line's alternate key, stable across runs. */
  key: string;
  number: number;
  group: JournalGroup;
  account: string;
  description: string;
  /** Minor units; exactly one of debit and credit is non-zero. */
  debit: bigint;
  credit: bigint;
  /**
   * The date the line posts on, `YYYY-MM-DD`: the payout's arrival date for its own lines, the date the payout
   * came back to the balance for the reversing pair. A period export takes the lines posted in it.
   */
  postingDate: string;
}

/** How a payout did not stay out: the bank returned it, or it was reversed (POST /v1/payouts/:id/reverse). */
export type PayoutReturn = 'failed' | 'reversed';

/** How a reversal of the payout came to nothing: the bank refused its debit, or it was canceled (pending). */
export type ReversalUndone = 'failed' | 'canceled';

/**
 * The line sets that post after the payout's own lines, each two lines (`clearing` and `balance`) keyed
 * `<payout id>:<set>:<group>`: `failed` and `reversed` move the payout's amount back into the balance;
 * `reversal-undone` mirrors the `reversed` pair when that reversal later failed or was canceled.
 */
export type ReturnLineSet = PayoutReturn | 'reversal-undone';

/** The keys of a line set of the payout (`ReturnLineSet`): its clearing line, then its balance line. */
export function returnLineKeys(payoutId: string, set: ReturnLineSet): [string, string] {
  return [`${payoutId}:${set}:clearing`, `${payoutId}:${set}:balance`];
}

export interface PayoutJournal {
  payoutId: string;
  currency: string;
  /** The payout amount, minor units. */
  total: bigint;
  lines: JournalLine[];
  totalDebit: bigint;
  totalCredit: bigint;
  /** totalDebit - totalCredit: zero when the transactions' net sums to the payout. */
  difference: bigint;
  balanced: boolean;
  /** Balance transactions summed (the payout's own is not one of them). */
  transactions: number;
  /**
   * How the payout came back to the balance, as it stands: `failed` when the bank returned it, `reversed`
   * while a reversal of it stands. Null when it stayed out, including when its reversal was undone.
   */
  returned: PayoutReturn | null;
  /**
   * Set when a reversal whose reversing pair had been written later failed or was canceled: the pair stays
   * and two more lines, posted on `date`, undo it.
   */
  reversalUndone: { how: ReversalUndone; date: string } | null;
}

/** When and how a payout came back to the balance; `date` is `YYYY-MM-DD`. */
export interface PayoutReturnDated {
  how: PayoutReturn;
  date: string;
}

const LINE_ORDER: JournalGroup[] = [
  'clearing',
  'gross',
  'refunds',
  'disputes',
  'adjustments',
  'balance',
  'fees',
];

/** True for the payout's own transaction (and its reversal), which the journal's clearing line stands for. */
export function isPayoutTransaction(transaction: BalanceTransactionLike, payoutId: string): boolean {
  const source = (transaction as { source?: unknown }).source;
  const sourceId = typeof source === 'object' && source ? (source as { id?: unknown }).id : source;
  return (
    (transaction.type === 'payout' || transaction.reporting_category === 'payout') && sourceId === payoutId
  );
}

export class PayoutJournalBuilder {
  private readonly sums = new Map<JournalGroup, bigint>();
  private fees = 0n;
  private count = 0;
  /** Dates of the pairs to post, by how the payout came back. */
  private readonly returns = new Map<PayoutReturn, string>();
  private undone: { how: ReversalUndone; date: string } | null = null;

  constructor(
    private readonly config: ReconciliationConfig,
    readonly payoutId: string,
    readonly currency: string,
    /** Minor units. */
    readonly payoutAmount: number,
    /** The payout's arrival date, `YYYY-MM-DD`: the posting date of every line but the reversing pair. */
    readonly date: string,
  ) {}

  add(transaction: BalanceTransactionLike): void {
    // The payout's own transaction is the clearing line (the payout amount); a fee it carries (an instant
    // payout's) left the balance too, and is a fee like the others.
    if (isPayoutTransaction(transaction, this.payoutId)) {
      this.fees += BigInt(transaction.fee);
      return;
    }
    const category = transaction.reporting_category ?? transaction.type;
    const group = this.config.categories[category] ?? this.config.otherCategories;
    this.sums.set(group, (this.sums.get(group) ?? 0n) + BigInt(transaction.amount));
    this.fees += BigInt(transaction.fee);
    this.count += 1;
  }

  /**
   * The payout came back to the balance on `date` (`YYYY-MM-DD`): the journal gets reversing lines posted on
   * that date (see `reversingLines`), not on the arrival date, which may lie in a period already exported; on
   * the arrival date when `date` comes before it.
   * Both kinds can be marked: a reversal whose pair was written stays in the journal when the payout then
   * fails.
   */
  markReturned(how: PayoutReturn, date: string): void {
    this.returns.set(how, this.notBeforeArrival(date));
  }

  /**
   * A date of the payout's coming back, not before its own lines' date: a payout that fails before the day it
   * was to arrive (made on 30 March for 2 April, failed on 31 March) has its pair posted with its own lines, so
   * that no period holds the pair without them.
   */
  private notBeforeArrival(date: string): string {
    return date < this.date ? this.date : date;
  }

  /**
   * The reversal marked with `markReturned('reversed', …)` failed or was canceled on `date`: its reversing
   * pair stays (it may be in a period already exported) and two lines posted on `date` undo it (see
   * `undoingLines`).
   */
  markReversalUndone(how: ReversalUndone, date: string): void {
    if (!this.returns.has('reversed'))
      throw new Error(
        `payout ${this.payoutId}: a reversal can be undone only once its reversing pair is marked`,
      );
    this.undone = { how, date: this.notBeforeArrival(date) };
  }

  build(): PayoutJournal {
    const amounts = new Map<JournalGroup, { debit: bigint; credit: bigint }>();
    const side = (group: JournalGroup, debitWhenPositive: boolean, value: bigint) => {
      if (value === 0n) return;
      const positive = value > 0n;
      const magnitude = positive ? value : -value;
      amounts.set(
        group,
        positive === debitWhenPositive ? { debit: magnitude, credit: 0n } : { debit: 0n, credit: magnitude },
      );
    };
    const total = BigInt(this.payoutAmount);
    side('clearing', true, total);
    // Fees taken from the transactions, plus fee-category transactions (negative amount = a cost).
    side('fees', true, this.fees - (this.sums.get('fees') ?? 0n));
    // Money into the balance is a credit (income); money out of it a debit.
    for (const [group, sum] of this.sums) if (group !== 'fees') side(group, false, sum);
    let number = 0;
    const lines: JournalLine[] = [];
    for (const group of LINE_ORDER) {
      const amount = amounts.get(group);
      if (!amount) continue;
      number += 1;
      lines.push({
        key: `${this.payoutId}:${group}`,
        number,
        group,
        account: this.config.accounts[group].account,
        description: this.config.accounts[group].description ?? group,
        ...amount,
        postingDate: this.date,
      });
    }
    // The reversal's pair, the lines undoing it, then the failure's pair: in the order they happen.
    const reversedOn = this.returns.get('reversed');
    if (reversedOn !== undefined) {
      const pair = this.reversingLines({ how: 'reversed', date: reversedOn }, total, lines.length);
      lines.push(...pair);
      if (this.undone) lines.push(...this.undoingLines(pair, this.undone, lines.length));
    }
    const failedOn = this.returns.get('failed');
    if (failedOn !== undefined)
      lines.push(...this.reversingLines({ how: 'failed', date: failedOn }, total, lines.length));
    const totalDebit = lines.reduce((sum, line) => sum + line.debit, 0n);
    const totalCredit = lines.reduce((sum, line) => sum + line.credit, 0n);
    const difference = totalDebit - totalCredit;
    return {
      payoutId: this.payoutId,
      currency: this.currency,
      total,
      lines,
      totalDebit,
      totalCredit,
      difference,
      balanced: difference === 0n,
      transactions: this.count,
      returned: this.returns.has('failed')
        ? 'failed'
        : this.returns.has('reversed') && !this.undone
          ? 'reversed'
          : null,
      reversalUndone: this.undone,
    };
  }

  /**
   * A payout that did not stay out: its amount will not reach the bank (clearing credited back) and is in the
   * Stripe balance again (balance debited), so clearing nets to zero and the entry still balances. A later
   * payout that takes the money out credits the balance account (category `payout_reversal` or `payout`).
   * The two lines balance on their own, as the payout's own lines do, so a period holding only one of the two
   * sets (the payout arrived in one period and came back in the next) still balances per payout.
   */
  private reversingLines(returned: PayoutReturnDated, total: bigint, after: number): JournalLine[] {
    const { how, date } = returned;
    const magnitude = total < 0n ? -total : total;
    if (magnitude === 0n) return [];
    const positive = total > 0n;
    const why = how === 'failed' ? 'Payout failed' : 'Payout reversed';
    const [clearingKey, balanceKey] = returnLineKeys(this.payoutId, how);
    const line = (group: 'clearing' | 'balance', number: number, debit: boolean): JournalLine => ({
      key: group === 'clearing' ? clearingKey : balanceKey,
      number,
      group,
      account: this.config.accounts[group].account,
      description: returnDescription(why, this.config.accounts[group].description ?? group),
      debit: debit ? magnitude : 0n,
      credit: debit ? 0n : magnitude,
      postingDate: date,
    });
    return [line('clearing', after + 1, !positive), line('balance', after + 2, positive)];
  }

  /**
   * A reversal that came to nothing (its debit refused by the bank, or canceled while pending): the money it
   * brought back into the balance left it again, and the payout stayed out. The reversing pair is not taken
   * back (it may be in a period already exported); each of its lines is mirrored, same account and amount on
   * the other side, posted on the day the reversal came to nothing. The two lines balance on their own.
   */
  private undoingLines(
    pair: JournalLine[],
    undone: { how: ReversalUndone; date: string },
    after: number,
  ): JournalLine[] {
    const why = undone.how === 'failed' ? 'Reversal failed' : 'Reversal canceled';
    const [clearingKey, balanceKey] = returnLineKeys(this.payoutId, 'reversal-undone');
    return pair.map((line, index) => ({
      ...line,
      key: line.group === 'clearing' ? clearingKey : balanceKey,
      number: after + index + 1,
      description: returnDescription(why, this.config.accounts[line.group].description ?? line.group),
      debit: line.credit,
      credit: line.debit,
      postingDate: undone.date,
    }));
  }
}

/**
 * A reversing line's or undoing line's description: what happened first, then the account's description.
 * Exports cut descriptions short (Finance's text holds 60 characters with the payout id), and what happened
 * is what tells these lines from the payout's own and from each other.
 */
function returnDescription(why: string, account: string): string {
  return `${why}: ${account}`;
}

/** Minor units (BigInt) to the exact major-unit number Dataverse takes. */
export function toMajor(amount: bigint, currency: string): number {
  return minorToMajor(amount, currency);
}
