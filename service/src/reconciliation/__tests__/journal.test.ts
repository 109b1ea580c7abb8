/** The journal's arithmetic and its configuration, without the emulators. */
import {
  loadReconciliationConfig,
  parseReconciliationConfig,
  PayoutJournalBuilder,
  ReconciliationConfigError,
} from '..';

const config = loadReconciliationConfig();
const txn = (id: string, type: string, category: string, amount: number, fee = 0) => ({
  id,
  type,
  reporting_category: category,
  amount,
  fee,
  net: amount - fee,
  currency: 'kwd',
  source: type === 'payout' ? 'po_1' : `src_${id}`,
});

test('a payout that fails before the day it was to arrive has its pair posted on that day, with its own lines', () => {
  const builder = new PayoutJournalBuilder(config, 'po_1', 'kwd', 9_650, '2026-04-02');
  builder.add(txn('t1', 'charge', 'charge', 10_000, 350));
  builder.markReturned('failed', '2026-03-31');
  const journal = builder.build();
  expect(new Set(journal.lines.map((l) => l.postingDate))).toEqual(new Set(['2026-04-02']));
  expect(journal.balanced).toBe(true);
});

test("a fee on the payout's own transaction (an instant payout's) is a fee: the journal balances", () => {
  // The balance gave the payout and its fee: the charges' nets sum to 9.650 KWD = 9.500 paid out + 0.150.
  const builder = new PayoutJournalBuilder(config, 'po_1', 'kwd', 9_500, '2026-01-30');
  builder.add(txn('t1', 'charge', 'charge', 10_000, 350));
  builder.add(txn('t2', 'payout', 'payout', -9_500, 150));
  const journal = builder.build();
  expect(journal.lines.map((l) => [l.key, l.debit, l.credit])).toEqual([
    ['po_1:clearing', 9_500n, 0n],
    ['po_1:gross', 0n, 10_000n],
    ['po_1:fees', 500n, 0n],
  ]);
  expect(journal).toMatchObject({ balanced: true, difference: 0n });
});

test('charges, a refund, a dispute and an adjustment: lines per group, debits equal credits exactly', () => {
  const builder = new PayoutJournalBuilder(
    config,
    'po_1',
    'kwd',
    10_000 - 350 - 1_500 - 2_000 + 100 - 15,
    '2026-01-30',
  );
  builder.add(txn('t1', 'charge', 'charge', 10_000, 350)); // 10.000 KWD, fee 0.350
  builder.add(txn('t2', 'refund', 'refund', -1_500));
  builder.add(txn('t3', 'adjustment', 'dispute', -2_000, 15));
  builder.add(txn('t4', 'adjustment', 'other_adjustment', 100));
  builder.add(txn('t5', 'payout', 'payout', -6_235)); // the payout's own transaction is the clearing line
  const journal = builder.build();
  expect(journal.lines.map((l) => [l.key, l.account, l.debit, l.credit])).toEqual([
    ['po_1:clearing', '1050', 6_235n, 0n],
    ['po_1:gross', '4000', 0n, 10_000n],
    ['po_1:refunds', '4100', 1_500n, 0n],
    ['po_1:disputes', '4200', 2_000n, 0n],
    ['po_1:adjustments', '4900', 0n, 100n],
    ['po_1:fees', '6100', 365n, 0n],
  ]);
  expect(journal).toMatchObject({ balanced: true, difference: 0n, transactions: 4 });
});

test('amounts beyond 2^53 minor units still sum exactly', () => {
  const big = 2 ** 52;
  const builder = new PayoutJournalBuilder(config, 'po_1', 'usd', 0, '2026-01-30');
  builder.add(txn('a', 'charge', 'charge', big));
  builder.add(txn('b', 'charge', 'charge', big + 1));
  const journal = builder.build();
  expect(journal.lines.find((l) => l.group === 'gross')!.credit).toBe(2n * BigInt(big) + 1n);
  expect(journal.balanced).toBe(false);
  expect(journal.difference).toBe(-(2n * BigInt(big) + 1n));
});

test('a category missing from the config goes to otherCategories', () => {
  const custom = parseReconciliationConfig(
    JSON.stringify({ ...config, categories: { charge: 'gross' }, otherCategories: 'disputes' }),
  );
  const builder = new PayoutJournalBuilder(custom, 'po_1', 'usd', 50, '2026-01-30');
  builder.add(txn('a', 'topup', 'topup', 50));
  expect(builder.build().lines.map((l) => l.group)).toEqual(['clearing', 'disputes']);
});

test('a config without an account names the missing setting', () => {
  expect(() =>
    parseReconciliationConfig('accounts:\n  gross: { account: "4000" }\n', 'my-accounts.yaml'),
  ).toThrow(ReconciliationConfigError);
  expect(() =>
    parseReconciliationConfig('accounts:\n  gross: { account: "4000" }\n', 'my-accounts.yaml'),
  ).toThrow(/my-accounts\.yaml: accounts\.fees: /);
  expect(() => loadReconciliationConfig('/nonexistent/accounts.yaml')).toThrow(/cannot read \/nonexistent/);
});

test('a returned payout keeps its lines and reverses clearing into the balance; a negative payout the other way', () => {
  const builder = new PayoutJournalBuilder(config, 'po_1', 'kwd', 9_650, '2026-01-30');
  builder.add(txn('t1', 'charge', 'charge', 10_000, 350));
  builder.markReturned('failed', '2026-02-03');
  const failed = builder.build();
  expect(failed.lines.map((l) => [l.key, l.account, l.debit, l.credit])).toEqual([
    ['po_1:clearing', '1050', 9_650n, 0n],
    ['po_1:gross', '4000', 0n, 10_000n],
    ['po_1:fees', '6100', 350n, 0n],
    ['po_1:failed:clearing', '1050', 0n, 9_650n],
    ['po_1:failed:balance', '1040', 9_650n, 0n],
  ]);
  expect(failed).toMatchObject({ balanced: true, returned: 'failed', totalDebit: 19_650n });
  // The payout's own lines post on its arrival date, the reversing pair on the day it came back; each set
  // balances on its own, so a period holding only one of them balances too.
  const byDate = new Map<string, { debit: bigint; credit: bigint; keys: string[] }>();
  for (const line of failed.lines) {
    const sums = byDate.get(line.postingDate) ?? { debit: 0n, credit: 0n, keys: [] };
    byDate.set(line.postingDate, {
      debit: sums.debit + line.debit,
      credit: sums.credit + line.credit,
      keys: [...sums.keys, line.key],
    });
  }
  expect(Object.fromEntries(byDate)).toEqual({
    '2026-01-30': { debit: 10_000n, credit: 10_000n, keys: ['po_1:clearing', 'po_1:gross', 'po_1:fees'] },
    '2026-02-03': { debit: 9_650n, credit: 9_650n, keys: ['po_1:failed:clearing', 'po_1:failed:balance'] },
  });

  // A debit payout (money taken from the bank into the balance) reversed: each side the other way.
  const debit = new PayoutJournalBuilder(config, 'po_2', 'kwd', -500, '2026-01-30');
  debit.add(txn('t2', 'adjustment', 'other_adjustment', -500));
  debit.markReturned('reversed', '2026-02-03');
  expect(debit.build().lines.map((l) => [l.key, l.debit, l.credit])).toEqual([
    ['po_2:clearing', 0n, 500n],
    ['po_2:adjustments', 500n, 0n],
    ['po_2:reversed:clearing', 500n, 0n],
    ['po_2:reversed:balance', 0n, 500n],
  ]);
});

test('a reversal undone after its pair was written: the pair stays, mirrored by two lines on the day it was undone', () => {
  const builder = new PayoutJournalBuilder(config, 'po_1', 'kwd', 9_650, '2026-01-30');
  builder.add(txn('t1', 'charge', 'charge', 10_000, 350));
  builder.markReturned('reversed', '2026-02-02');
  builder.markReversalUndone('canceled', '2026-03-02');
  const journal = builder.build();
  expect(journal.lines.map((l) => [l.number, l.key, l.account, l.debit, l.credit, l.postingDate])).toEqual([
    [1, 'po_1:clearing', '1050', 9_650n, 0n, '2026-01-30'],
    [2, 'po_1:gross', '4000', 0n, 10_000n, '2026-01-30'],
    [3, 'po_1:fees', '6100', 350n, 0n, '2026-01-30'],
    [4, 'po_1:reversed:clearing', '1050', 0n, 9_650n, '2026-02-02'],
    [5, 'po_1:reversed:balance', '1040', 9_650n, 0n, '2026-02-02'],
    [6, 'po_1:reversal-undone:clearing', '1050', 9_650n, 0n, '2026-03-02'],
    [7, 'po_1:reversal-undone:balance', '1040', 0n, 9_650n, '2026-03-02'],
  ]);
  expect(journal.lines.slice(-2).map((l) => [l.group, l.description])).toEqual([
    ['clearing', 'Reversal canceled: Stripe payout clearing'],
    ['balance', 'Reversal canceled: Stripe balance'],
  ]);
  // Standing no longer: the payout stayed out. Each date's lines balance on their own.
  expect(journal).toMatchObject({
    balanced: true,
    returned: null,
    reversalUndone: { how: 'canceled', date: '2026-03-02' },
  });
  for (const date of ['2026-01-30', '2026-02-02', '2026-03-02']) {
    const on = journal.lines.filter((l) => l.postingDate === date);
    expect(on.reduce((sum, l) => sum + l.debit - l.credit, 0n)).toBe(0n);
  }

  // Undone, then the payout itself failed: the failure's pair follows, and the entry is a failed one.
  const failed = new PayoutJournalBuilder(config, 'po_2', 'kwd', -500, '2026-01-30');
  failed.add(txn('t2', 'adjustment', 'other_adjustment', -500));
  failed.markReturned('reversed', '2026-02-02');
  failed.markReversalUndone('failed', '2026-02-10');
  failed.markReturned('failed', '2026-02-10');
  const debit = failed.build();
  expect(debit.lines.map((l) => [l.key, l.debit, l.credit])).toEqual([
    ['po_2:clearing', 0n, 500n],
    ['po_2:adjustments', 500n, 0n],
    ['po_2:reversed:clearing', 500n, 0n],
    ['po_2:reversed:balance', 0n, 500n],
    ['po_2:reversal-undone:clearing', 0n, 500n],
    ['po_2:reversal-undone:balance', 500n, 0n],
    ['po_2:failed:clearing', 500n, 0n],
    ['po_2:failed:balance', 0n, 500n],
  ]);
  expect(debit).toMatchObject({ balanced: true, returned: 'failed' });

  // Nothing to undo without the reversal's pair.
  const bare = new PayoutJournalBuilder(config, 'po_3', 'kwd', 100, '2026-01-30');
  expect(() => bare.markReversalUndone('failed', '2026-02-10')).toThrow(/reversing pair/);
});

test('money a returned payout brought back, taken out by a later payout, credits the balance account', () => {
  const builder = new PayoutJournalBuilder(config, 'po_3', 'kwd', 9_650 + 1_000, '2026-01-30');
  // Sourced from the payouts that brought the money back, not from this one.
  const failure = { ...txn('t3', 'payout_failure', 'payout_reversal', 9_650), source: 'po_1' };
  const reversal = { ...txn('t4', 'payout', 'payout', 1_000), source: 'po_2r' };
  builder.add(failure);
  builder.add(reversal);
  const journal = builder.build();
  expect(journal.lines.map((l) => [l.group, l.account, l.debit, l.credit])).toEqual([
    ['clearing', '1050', 10_650n, 0n],
    ['balance', '1040', 0n, 10_650n],
  ]);
  expect(journal.balanced).toBe(true);
});

test('a config copied before the balance account existed still loads, with the default one', () => {
  const { balance: _balance, ...older } = config.accounts;
  const parsed = parseReconciliationConfig(JSON.stringify({ ...config, accounts: older }));
  expect(parsed.accounts.balance).toEqual({ account: '1040', description: 'Stripe balance' });
});
