/**
 * Payout reconciliation end to end on the emulators: payments, a refund and an automatic payout made in the
 * Stripe emulator, the payout events handled by the registered payouts handler through the real `stripe`
 * SDK and the real Dataverse client, rows and the journal read back through the Web API.
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { Registry } from 'prom-client';
import type Stripe from 'stripe';
import { runCli } from '../../cli';
import { createSyncHandlers } from '../../handlers';
import { defaultMappings, RecordingLogger } from '../../inbound/__tests__/harness';
import type { SyncContext } from '../../pipeline/handler';
import { createHandlerRouter } from '../../pipeline/routing';
import {
  createPayoutReconciler,
  createReconciliationMetrics,
  JOURNAL_BALANCED,
  JOURNAL_FAILED,
  JOURNAL_MISMATCH,
  JOURNAL_NOT_RECONCILABLE,
  JOURNAL_REVERSED,
  loadReconciliationConfig,
  type PayoutReconciler,
  startPayoutSweep,
  sweepPayouts,
  type SweepResult,
} from '..';
import { dataverseEmulatorForFile, option } from '../../inbound/__tests__/setup';
import { waitFor } from '@stc/testkit';
import { cliEnv, collectingIo } from '../../__tests__/support/cli';
import { balancedUsdEntry } from '../../__tests__/support/journal';
import type { DataverseClient } from '../../dataverse/types';
import type { StripeObject } from '../../write/stripe-objects';

jest.setTimeout(60_000);

const dataverse = dataverseEmulatorForFile();
let stripeEmulator: StripeEmulator;
let stripe: Stripe;
let log: RecordingLogger;
let registry: Registry;
let metrics: ReturnType<typeof createReconciliationMetrics>;

beforeEach(async () => {
  stripeEmulator = await startStripeEmulator({ rateLimit: false });
  stripe = stripeEmulator.client();
  log = new RecordingLogger();
  registry = new Registry();
  metrics = createReconciliationMetrics(registry);
});
afterEach(() => stripeEmulator.close());

const context = (): SyncContext => ({ dataverse: dataverse.client, stripeFor: () => stripe, log });

/** The payout's latest event of `type`, through the registered handler (given `reconciler` and client). */
async function deliver(
  type: string,
  payoutId: string,
  through: { reconciler?: PayoutReconciler; dataverse?: DataverseClient } = {},
) {
  const event = stripeEmulator.events.filter((e) => e.type === type && e.data.object.id === payoutId).at(-1);
  if (!event) throw new Error(`no ${type} event for ${payoutId}`);
  // The registered handlers, as the service builds them, with this test's metrics.
  const handler = createHandlerRouter(
    createSyncHandlers({ mappings: defaultMappings, payouts: { metrics, reconciler: through.reconciler } }),
  ).stripe(type);
  expect(handler?.resource).toBe('payouts');
  await handler!.handle(event as unknown as Stripe.Event, {
    ...context(),
    ...(through.dataverse ? { dataverse: through.dataverse } : {}),
  });
}

/** 250 card payments of 10.00 to 14.99 and a partial refund, swept into one automatic payout and paid. */
async function paidPayout(count = 250) {
  const ids = stripeEmulator.testHelpers.seedPayments({ count, amount: (i) => 1000 + (i % 500) });
  await stripe.refunds.create({ payment_intent: ids[0], amount: 300 });
  const payout = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(payout.id);
  const transactions = [
    ...(stripeEmulator.engine.scope(null).payoutTransactions.get(payout.id) ?? []),
  ] as unknown as Array<{ amount: number; fee: number; net: number; type: string }>;
  return { payout: stripeEmulator.engine.scope(null).find(payout.id)!, transactions };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function journalOf(payoutId: string) {
  const entry = await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payoutId });
  const lines = entry
    ? await dataverse.client.retrieveMultiple('stc_journallines', {
        filter: `_stc_journalentryid_value eq ${String(entry.stc_journalentryid)}`,
        orderBy: ['stc_linenumber asc'],
      })
    : [];
  return { entry, lines };
}

test('payout.paid: payout, every balance transaction and a balanced journal with the fees', async () => {
  const { payout, transactions } = await paidPayout();
  const charges = transactions.filter((t) => t.type === 'charge');
  const refunds = transactions.filter((t) => t.type === 'refund');
  expect(charges).toHaveLength(250);
  expect(refunds).toHaveLength(1);

  await deliver('payout.paid', payout.id);

  const row = await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id });
  expect(row).toMatchObject({
    stc_amount: payout.amount / 100,
    stc_status: option('stc_payoutstatus', 'paid'),
    stc_automatic: true,
  });
  expect(row!.stc_reconciledon).toBeTruthy();
  expect(dataverse.emulator.store.count('stc_balancetransactions')).toBe(252);
  const linked = await dataverse.client.retrieveMultiple('stc_balancetransactions', {
    select: ['stc_stripeid'],
    filter: `_stc_payoutid_value eq ${String(row!.stc_payoutid)}`,
    pageSize: 5000,
  });
  expect(linked).toHaveLength(252);

  const { entry, lines } = await journalOf(payout.id);
  const fees = sum(transactions.filter((t) => t.type !== 'payout').map((t) => t.fee));
  expect(entry).toMatchObject(balancedUsdEntry(payout.amount, row!.stc_payoutid));
  const accounts = loadReconciliationConfig().accounts;
  expect(lines.map((l) => [l.stc_glaccount, l.stc_category, l.stc_debit, l.stc_credit])).toEqual([
    [accounts.clearing.account, 'clearing', payout.amount / 100, 0],
    [accounts.gross.account, 'gross', 0, sum(charges.map((t) => t.amount)) / 100],
    [accounts.refunds.account, 'refunds', 3, 0],
    [accounts.fees.account, 'fees', fees / 100, 0],
  ]);
  // Debits equal credits to the cent: integer minor units, not floating sums of major units.
  const cents = (field: string) => sum(lines.map((l) => Math.round(Number(l[field]) * 100)));
  expect(cents('stc_debit')).toBe(cents('stc_credit'));
  expect(await registry.getSingleMetricAsString('stc_payouts_reconciled_total')).toContain(
    'stc_payouts_reconciled_total{outcome="balanced"} 1',
  );
});

test('re-running the same payout replaces its lines and rows, never duplicates them', async () => {
  const { payout } = await paidPayout(120);
  await deliver('payout.paid', payout.id);
  const first = await journalOf(payout.id);
  // A line an earlier configuration wrote that this one does not produce is removed on the next run.
  await dataverse.client.upsertByKey(
    'stc_journallines',
    { stc_linekey: `${payout.id}:disputes` },
    {
      stc_name: 'stale',
      stc_glaccount: '4200',
      stc_debit: 1,
      'stc_journalentryid@odata.bind': `/stc_journalentries(${String(first.entry!.stc_journalentryid)})`,
    },
  );
  await deliver('payout.reconciliation_completed', payout.id);
  const second = await journalOf(payout.id);
  expect(second.entry!.stc_journalentryid).toBe(first.entry!.stc_journalentryid);
  expect(second.lines.map((l) => l.stc_linekey)).toEqual(first.lines.map((l) => l.stc_linekey));
  expect(dataverse.emulator.store.count('stc_journalentries')).toBe(1);
  expect(dataverse.emulator.store.count('stc_journallines')).toBe(first.lines.length);
  expect(dataverse.emulator.store.count('stc_balancetransactions')).toBe(122);
  expect(dataverse.emulator.store.count('stc_payouts')).toBe(1);
});

test('a payout whose transactions do not sum to it is marked Mismatch, logged and counted', async () => {
  const { payout } = await paidPayout(10);
  const stated = payout.amount as number;
  payout.amount = stated + 7; // the bank was told 0.07 more than the transactions add up to

  await deliver('payout.paid', payout.id);

  const { entry } = await journalOf(payout.id);
  expect(entry).toMatchObject({ stc_status: JOURNAL_MISMATCH, stc_difference: 0.07 });
  const error = log.entries.find((e) => e.level === 'error');
  expect(error?.msg).toMatch(/does not balance/);
  expect(error?.obj).toMatchObject({ payout: payout.id, difference: '7' });
  expect(await registry.getSingleMetricAsString('stc_reconciliation_mismatch_total')).toMatch(
    /stc_reconciliation_mismatch_total 1$/m,
  );
  const row = await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id });
  expect(row!.stc_reconciledon).toBeNull();

  // The sweep reports it as not balancing every time, and does not list its transactions again while the
  // payout stands as it was: it is counted once.
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });
  for (let run = 0; run < 2; run++)
    expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [payout.id], failed: [] });
  expect(await registry.getSingleMetricAsString('stc_reconciliation_mismatch_total')).toMatch(
    /stc_reconciliation_mismatch_total 1$/m,
  );
});

/**
 * The Dataverse client, except that the first `$batch` of the run using it waits until `open()`: that run has
 * read Stripe and the entry's lines, and writes after. `reached` settles when it is held.
 */
function heldAtFirstBatch() {
  let open!: () => void;
  let isHeld!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (isHeld = resolve));
  let held = false;
  const client: DataverseClient = Object.create(dataverse.client);
  client.executeBatch = async (...args: Parameters<DataverseClient['executeBatch']>) => {
    if (!held) {
      held = true;
      isHeld();
      await gate;
    }
    return dataverse.client.executeBatch(...args);
  };
  return { client, reached, open };
}

/** A paid payout journaled, the copy of it the sweep listed while it was paid, and then its failure. */
async function failedAfterListed() {
  const { payout } = await paidPayout(20);
  await deliver('payout.paid', payout.id);
  const listed = (await stripe.payouts.retrieve(payout.id)) as unknown as StripeObject;
  expect(listed.status).toBe('paid');
  stripeEmulator.testHelpers.failPayout(payout.id, { failureCode: 'account_closed' });
  return { payout, listed };
}

/** The second run lets the first go on once it has finished, or half a second on if it waits for the first. */
const finishedOrWaiting = (second: Promise<unknown>) =>
  Promise.race([second, new Promise((resolve) => setTimeout(resolve, 500))]);

async function expectFailedWithPair(payoutId: string) {
  const { entry, lines } = await journalOf(payoutId);
  expect(entry).toMatchObject({ stc_status: JOURNAL_FAILED, stc_difference: 0 });
  expect(lines.slice(-2).map((l) => l.stc_linekey)).toEqual([
    `${payoutId}:failed:clearing`,
    `${payoutId}:failed:balance`,
  ]);
  expect(cents(lines, 'stc_debit')).toBe(cents(lines, 'stc_credit'));
}

test('the sweep with an older copy of a payout and its payout.failed at once: the entry ends Failed', async () => {
  const { payout, listed } = await failedAfterListed();
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  // The sweep's run writes what the paid copy says; the failure's run starts while it is held.
  const held = heldAtFirstBatch();
  const sweepRun = reconciler.reconcile({ stripe, dataverse: held.client, log, payout: listed });
  await held.reached;
  const eventRun = deliver('payout.failed', payout.id, { reconciler });
  await finishedOrWaiting(eventRun);
  held.open();
  await Promise.all([sweepRun, eventRun]);
  await expectFailedWithPair(payout.id);
});

test('the sweep reads a payout afresh for its run: a copy listed before the payout failed does not undo it', async () => {
  const { payout, listed } = await failedAfterListed();
  await deliver('payout.failed', payout.id);
  // The sweep's page was listed while the payout was paid; its run comes after the failure's has ended.
  const listedBefore = Object.create(stripe) as Stripe;
  listedBefore.payouts = Object.assign(Object.create(stripe.payouts), {
    list: (params: Stripe.PayoutListParams) =>
      (async function* () {
        if (params.status === 'paid') yield listed;
      })(),
  });
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const result = await sweepPayouts({ reconciler, stripe: listedBefore, dataverse: dataverse.client, log });
  expect(result).toMatchObject({ checked: 1, failed: [] });
  await expectFailedWithPair(payout.id);
});

test('a sweep run that waited for the payout.failed run reads the payout again: the entry ends Failed', async () => {
  const { payout, listed } = await failedAfterListed();
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const held = heldAtFirstBatch();
  const eventRun = deliver('payout.failed', payout.id, { reconciler, dataverse: held.client });
  await held.reached;
  // The paid copy is older than what the failure's run writes: the sweep's run must not write it after.
  const sweepRun = reconciler.reconcile({ stripe, dataverse: dataverse.client, log, payout: listed });
  await finishedOrWaiting(sweepRun);
  held.open();
  await Promise.all([sweepRun, eventRun]);
  await expectFailedWithPair(payout.id);
});

test('payout.failed marks the payout row Failed with the bank reason', async () => {
  stripeEmulator.testHelpers.seedPayments({ count: 3 });
  const payout = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.failPayout(payout.id, { failureCode: 'account_closed' });
  await deliver('payout.failed', payout.id);
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id })).toMatchObject({
    stc_status: option('stc_payoutstatus', 'failed'),
    stc_failurecode: 'account_closed',
  });
  expect(dataverse.emulator.store.count('stc_journalentries')).toBe(0);
});

/** Debit minus credit per GL account over the given entries' lines, in cents. */
async function netByAccount(...payoutIds: string[]): Promise<Record<string, number>> {
  const net: Record<string, number> = {};
  for (const id of payoutIds) {
    for (const line of (await journalOf(id)).lines) {
      const account = String(line.stc_glaccount);
      net[account] =
        (net[account] ?? 0) +
        Math.round(Number(line.stc_debit) * 100) -
        Math.round(Number(line.stc_credit) * 100);
    }
  }
  return net;
}

const cents = (lines: Array<Record<string, unknown>>, field: string) =>
  sum(lines.map((l) => Math.round(Number(l[field]) * 100)));

test('a manual payout is marked Not reconcilable with the reason: no transactions, no mismatch, no error', async () => {
  stripeEmulator.testHelpers.seedPayments({ count: 5, amount: () => 2000 });
  const manual = await stripe.payouts.create({ amount: 5000, currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(manual.id);
  // Stripe refuses to list what a manual payout paid out; the handler must not ask.
  await expect(stripe.balanceTransactions.list({ payout: manual.id })).rejects.toMatchObject({
    statusCode: 400,
  });

  await deliver('payout.paid', manual.id);

  const row = await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: manual.id });
  expect(row).toMatchObject({ stc_status: option('stc_payoutstatus', 'paid'), stc_automatic: false });
  const { entry, lines } = await journalOf(manual.id);
  expect(entry).toMatchObject({
    stc_status: JOURNAL_NOT_RECONCILABLE,
    stc_total: 50,
    stc_difference: null,
    _stc_payoutid_value: row!.stc_payoutid,
  });
  expect(entry!.stc_statusnote).toMatch(
    /^Manual payout: Stripe lists balance transactions by payout for automatic payouts only/,
  );
  expect(lines).toHaveLength(0);
  expect(dataverse.emulator.store.count('stc_balancetransactions')).toBe(0);
  expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
  expect(await registry.getSingleMetricAsString('stc_reconciliation_mismatch_total')).toMatch(
    /stc_reconciliation_mismatch_total 0$/m,
  );
  expect(await registry.getSingleMetricAsString('stc_payouts_reconciled_total')).toContain(
    'stc_payouts_reconciled_total{outcome="not_reconcilable"} 1',
  );
  // The sweep leaves it as it is.
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  expect(await sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log })).toEqual({
    checked: 1,
    reconciled: [],
    mismatched: [],
    failed: [],
  });
});

const utcDate = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** What a journal line posts: its row, key, account, amounts and posting date. */
const posting = (lines: Array<Record<string, unknown>>) =>
  lines.map((l) => [
    l.stc_journallineid,
    l.stc_linekey,
    l.stc_linenumber,
    l.stc_glaccount,
    l.stc_debit,
    l.stc_credit,
    l.stc_postingdate,
    l.stc_description,
  ]);

test('a paid payout that then fails: its entry reverses the clearing line into the Stripe balance and nets to zero', async () => {
  const { payout } = await paidPayout(20);
  // It arrived on a day before the failure (today).
  payout.arrival_date = Date.parse('2026-01-30T00:00:00Z') / 1000;
  await deliver('payout.paid', payout.id);
  const paid = await journalOf(payout.id);
  expect(paid.entry).toMatchObject({ stc_status: JOURNAL_BALANCED, stc_statusnote: null });

  stripeEmulator.testHelpers.failPayout(payout.id, { failureCode: 'account_closed' });
  await deliver('payout.failed', payout.id);

  const accounts = loadReconciliationConfig().accounts;
  const failed = await journalOf(payout.id);
  expect(failed.entry).toMatchObject({
    stc_journalentryid: paid.entry!.stc_journalentryid,
    stc_status: JOURNAL_FAILED,
    stc_difference: 0,
    stc_statusnote:
      'The bank returned the payout (account_closed: The bank account has been closed.); its amount is back in the Stripe balance.',
  });
  // The lines it had, then the clearing line credited back and the Stripe balance debited.
  expect(failed.lines.slice(0, paid.lines.length).map((l) => l.stc_linekey)).toEqual(
    paid.lines.map((l) => l.stc_linekey),
  );
  expect(
    failed.lines
      .slice(paid.lines.length)
      .map((l) => [l.stc_glaccount, l.stc_category, l.stc_debit, l.stc_credit]),
  ).toEqual([
    [accounts.clearing.account, 'clearing', 0, payout.amount / 100],
    [accounts.balance.account, 'balance', payout.amount / 100, 0],
  ]);
  expect(cents(failed.lines, 'stc_debit')).toBe(cents(failed.lines, 'stc_credit'));
  // The payout's own lines post on its arrival date (the entry's date), the reversing pair on the date of the
  // payout_failure transaction that put the amount back in the balance.
  const failure = await stripe.balanceTransactions.retrieve(String(payout.failure_balance_transaction));
  expect(failure.type).toBe('payout_failure');
  const failedOn = utcDate(failure.created);
  expect(failedOn).not.toBe('2026-01-30');
  expect(failed.entry!.stc_date).toBe('2026-01-30');
  expect(failed.lines.map((l) => l.stc_postingdate)).toEqual([
    ...paid.lines.map(() => '2026-01-30'),
    failedOn,
    failedOn,
  ]);
  expect((await netByAccount(payout.id))[accounts.clearing.account]).toBe(0);
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id })).toMatchObject({
    stc_status: option('stc_payoutstatus', 'failed'),
  });

  // The returned money goes out with the next automatic payout, whose entry credits the Stripe balance.
  stripeEmulator.testHelpers.seedPayments({ count: 2 });
  const next = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(next.id);
  await deliver('payout.paid', next.id);
  expect((await journalOf(next.id)).entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect((await netByAccount(payout.id, next.id))[accounts.balance.account]).toBe(0);
  expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
});

test('the sweep shows a failure whose event was missed, once; a payout that failed unjournaled is left alone', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  stripeEmulator.testHelpers.failPayout(payout.id);
  stripeEmulator.testHelpers.seedPayments({ count: 2 });
  const early = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.failPayout(early.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  expect(await sweep()).toEqual({ checked: 2, reconciled: [payout.id], mismatched: [], failed: [] });
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_FAILED });
  expect((await journalOf(early.id)).entry).toBeNull();
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
});

test('the sweep dates the lines of a failed payout journaled before lines had posting dates, once', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  stripeEmulator.testHelpers.failPayout(payout.id);
  await deliver('payout.failed', payout.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });
  const dated = (await journalOf(payout.id)).lines.map((l) => [l.stc_linekey, l.stc_postingdate]);
  expect(dated.filter(([key]) => String(key).includes(':failed:'))).toHaveLength(2);

  // As an entry written by a version without the column has them.
  for (const line of (await journalOf(payout.id)).lines)
    await dataverse.client.update('stc_journallines', String(line.stc_journallineid), {
      stc_postingdate: null,
    });

  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });
  expect((await journalOf(payout.id)).lines.map((l) => [l.stc_linekey, l.stc_postingdate])).toEqual(dated);
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });
});

test('the sweep journals a payout paid and then failed whose events were all missed: original and reversing lines', async () => {
  stripeEmulator.testHelpers.seedPayments({ count: 3 });
  const payout = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(payout.id);
  stripeEmulator.testHelpers.failPayout(payout.id, { failureCode: 'account_closed' });
  const charges = (stripeEmulator.engine.scope(null).payoutTransactions.get(payout.id) ?? []).filter(
    (t) => t.type === 'charge',
  ) as unknown as Array<{ amount: number; fee: number }>;
  expect(charges).toHaveLength(3);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });

  const accounts = loadReconciliationConfig().accounts;
  const { entry, lines } = await journalOf(payout.id);
  expect(entry).toMatchObject({
    stc_status: JOURNAL_FAILED,
    stc_difference: 0,
    stc_total: payout.amount / 100,
    stc_statusnote:
      'The bank returned the payout (account_closed: The bank account has been closed.); its amount is back in the Stripe balance.',
  });
  expect(lines.map((l) => [l.stc_linekey, l.stc_glaccount, l.stc_debit, l.stc_credit])).toEqual([
    [`${payout.id}:clearing`, accounts.clearing.account, payout.amount / 100, 0],
    [`${payout.id}:gross`, accounts.gross.account, 0, sum(charges.map((t) => t.amount)) / 100],
    [`${payout.id}:fees`, accounts.fees.account, sum(charges.map((t) => t.fee)) / 100, 0],
    [`${payout.id}:failed:clearing`, accounts.clearing.account, 0, payout.amount / 100],
    [`${payout.id}:failed:balance`, accounts.balance.account, payout.amount / 100, 0],
  ]);
  expect(cents(lines, 'stc_debit')).toBe(cents(lines, 'stc_credit'));
  expect((await netByAccount(payout.id))[accounts.clearing.account]).toBe(0);
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id })).toMatchObject({
    stc_status: option('stc_payoutstatus', 'failed'),
  });
  // Settled now: the next sweep leaves it.
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });

  // The failure's payout_failure, taken out by the next payout, credits the balance the entry debited.
  stripeEmulator.testHelpers.seedPayments({ count: 2 });
  const next = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(next.id);
  expect(await sweep()).toEqual({ checked: 2, reconciled: [next.id], mismatched: [], failed: [] });
  expect((await journalOf(next.id)).entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect((await netByAccount(payout.id, next.id))[accounts.balance.account]).toBe(0);
});

test('the sweep follows a reversal that fails after it was journaled, then leaves the corrected entry alone', async () => {
  const { payout } = await paidPayout(20);
  await deliver('payout.paid', payout.id);
  const balanced = await journalOf(payout.id);
  const reversal = await stripe.payouts.reverse(payout.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });
  const reversed = await journalOf(payout.id);
  expect(reversed.entry).toMatchObject({ stc_status: JOURNAL_REVERSED });
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });

  // The reversal is paid, then the bank refuses its debit; every event of it is missed.
  stripeEmulator.testHelpers.payPayout(reversal.id);
  stripeEmulator.testHelpers.failPayout(reversal.id);
  expect(await sweep()).toEqual({ checked: 2, reconciled: [payout.id], mismatched: [], failed: [] });
  const restored = await journalOf(payout.id);
  const failure = await stripe.balanceTransactions.retrieve(
    String((await stripe.payouts.retrieve(reversal.id)).failure_balance_transaction),
  );
  const failedOn = utcDate(failure.created);
  expect(restored.entry).toMatchObject({
    stc_status: JOURNAL_BALANCED,
    stc_statusnote:
      `Reversed by payout ${reversal.id}, which failed on ${failedOn}: the reversing lines stay and the two ` +
      `lines posted on ${failedOn} undo them. The payout stayed out.`,
    stc_difference: 0,
  });
  // The reversing pair stays as it was written; two lines undo it.
  const amount = payout.amount / 100;
  expect(restored.lines.map((l) => [l.stc_linekey, l.stc_debit, l.stc_credit])).toEqual([
    ...reversed.lines.map((l) => [l.stc_linekey, l.stc_debit, l.stc_credit]),
    [`${payout.id}:reversal-undone:clearing`, amount, 0],
    [`${payout.id}:reversal-undone:balance`, 0, amount],
  ]);
  expect(posting(reversed.lines.slice(0, balanced.lines.length))).toEqual(posting(balanced.lines));
  expect(posting(restored.lines.slice(0, reversed.lines.length))).toEqual(posting(reversed.lines));
  const accounts = loadReconciliationConfig().accounts;
  const net = await netByAccount(payout.id);
  expect([net[accounts.clearing.account], net[accounts.balance.account]]).toEqual([payout.amount, 0]);

  // Balanced is what Stripe says now (reversed_by stays set, the reversal failed): not redone.
  const listings = () =>
    stripeEmulator.requests.filter((r) => r.path.startsWith('/v1/balance_transactions')).length;
  const before = listings();
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
  expect(listings()).toBe(before);
});

test('the sweep undoes the reversal of a payout made before its look-back when the reversal fails, its events missed', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  const reversal = await stripe.payouts.reverse(payout.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });
  expect(await sweep()).toMatchObject({ reconciled: [payout.id] });
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_REVERSED });

  // Made 30 days ago (Stripe reverses up to 90 days after): the sweep's listing of 7 days no longer has it.
  payout.created = (payout.created as number) - 30 * 86_400;
  stripeEmulator.testHelpers.payPayout(reversal.id);
  stripeEmulator.testHelpers.failPayout(reversal.id);
  expect(await sweep()).toEqual({ checked: 2, reconciled: [payout.id], mismatched: [], failed: [] });
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
});

test('the sweep: a reversal canceled with its events missed restores the entry; a reversed manual payout is settled', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  const reversal = await stripe.payouts.reverse(payout.id);
  await deliver('payout.created', reversal.id);
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_REVERSED });
  const manual = await stripe.payouts.create({ amount: 100, currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(manual.id);
  const manualReversal = await stripe.payouts.reverse(manual.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  await stripe.payouts.cancel(reversal.id);
  const first = await sweep();
  expect({ ...first, reconciled: [...first.reconciled].sort() }).toEqual({
    checked: 2,
    reconciled: [payout.id, manual.id].sort(),
    mismatched: [],
    failed: [],
  });
  // Balanced again, the reversing pair kept and undone on the date of the reversal's payout_cancel.
  const restored = await journalOf(payout.id);
  const cancel = await stripe.balanceTransactions.retrieve(
    String((await stripe.payouts.retrieve(reversal.id)).failure_balance_transaction),
  );
  expect(cancel.type).toBe('payout_cancel');
  const canceledOn = utcDate(cancel.created);
  expect(restored.entry).toMatchObject({
    stc_status: JOURNAL_BALANCED,
    stc_difference: 0,
    stc_statusnote:
      `Reversed by payout ${reversal.id}, which was canceled on ${canceledOn}: the reversing lines stay and ` +
      `the two lines posted on ${canceledOn} undo them. The payout stayed out.`,
  });
  expect(
    restored.lines.slice(-4).map((l) => [l.stc_linekey, l.stc_debit, l.stc_credit, l.stc_postingdate]),
  ).toEqual([
    [`${payout.id}:reversed:clearing`, 0, payout.amount / 100, utcDate(reversal.created)],
    [`${payout.id}:reversed:balance`, payout.amount / 100, 0, utcDate(reversal.created)],
    [`${payout.id}:reversal-undone:clearing`, payout.amount / 100, 0, canceledOn],
    [`${payout.id}:reversal-undone:balance`, 0, payout.amount / 100, canceledOn],
  ]);
  expect(restored.lines.at(-1)!.stc_description).toBe('Reversal canceled: Stripe balance');
  expect((await journalOf(manual.id)).entry).toMatchObject({
    stc_status: JOURNAL_NOT_RECONCILABLE,
    stc_total: 1,
  });
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: manual.id })).toMatchObject({
    stc_reversedby: manualReversal.id,
  });
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
});

test('a reversed payout: Reversed with reversing lines, its reversal Not reconcilable, undone when the reversal fails', async () => {
  const { payout } = await paidPayout(20);
  payout.arrival_date = Date.parse('2026-01-30T00:00:00Z') / 1000;
  await deliver('payout.paid', payout.id);
  const reversal = await stripe.payouts.reverse(payout.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  // Its payout.updated missed: the sweep sees reversed_by on the balanced payout and reconciles it again.
  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });
  const accounts = loadReconciliationConfig().accounts;
  const reversed = await journalOf(payout.id);
  expect(reversed.entry).toMatchObject({
    stc_status: JOURNAL_REVERSED,
    stc_difference: 0,
    stc_statusnote: `Reversed by payout ${reversal.id}; its amount is back in the Stripe balance.`,
  });
  expect(reversed.lines.slice(-2).map((l) => [l.stc_glaccount, l.stc_debit, l.stc_credit])).toEqual([
    [accounts.clearing.account, 0, payout.amount / 100],
    [accounts.balance.account, payout.amount / 100, 0],
  ]);
  // The reversing pair posts on the day the reversal was made, the payout's own lines on its arrival date.
  expect(reversed.lines.map((l) => l.stc_postingdate)).toEqual([
    ...reversed.lines.slice(0, -2).map(() => '2026-01-30'),
    utcDate(reversal.created),
    utcDate(reversal.created),
  ]);
  expect(utcDate(reversal.created)).not.toBe('2026-01-30');
  expect((await netByAccount(payout.id))[accounts.clearing.account]).toBe(0);
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id })).toMatchObject({
    stc_reversedby: reversal.id,
  });

  await deliver('payout.created', reversal.id);
  const own = await journalOf(reversal.id);
  expect(own.entry).toMatchObject({
    stc_status: JOURNAL_NOT_RECONCILABLE,
    stc_total: -payout.amount / 100,
    stc_statusnote: `Reversal of payout ${payout.id}: the reversing lines are on that payout's journal entry.`,
  });
  expect(own.lines).toHaveLength(0);
  expect(await dataverse.client.retrieveByKey('stc_payouts', { stc_stripeid: reversal.id })).toMatchObject({
    stc_originalpayout: payout.id,
    stc_amount: -payout.amount / 100,
  });
  stripeEmulator.testHelpers.payPayout(reversal.id);
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });

  // The bank refuses the reversal's debit: the payout stayed out after all. The reversing pair stays (it may
  // have been exported); two lines posted on the failure's date undo it.
  stripeEmulator.testHelpers.failPayout(reversal.id);
  await deliver('payout.failed', reversal.id);
  const restored = await journalOf(payout.id);
  expect(restored.entry).toMatchObject({ stc_status: JOURNAL_BALANCED, stc_difference: 0 });
  expect(restored.entry!.stc_statusnote).toMatch(
    new RegExp(`^Reversed by payout ${reversal.id}, which failed on \\d{4}-\\d{2}-\\d{2}: `),
  );
  expect(restored.lines.map((l) => l.stc_linekey)).toEqual([
    ...reversed.lines.map((l) => l.stc_linekey),
    `${payout.id}:reversal-undone:clearing`,
    `${payout.id}:reversal-undone:balance`,
  ]);
  expect(restored.lines.slice(-2).map((l) => [l.stc_glaccount, l.stc_debit, l.stc_credit])).toEqual([
    [accounts.clearing.account, payout.amount / 100, 0],
    [accounts.balance.account, 0, payout.amount / 100],
  ]);
  // Balanced matches Stripe now (reversed_by is still set, its reversal failed): the sweep does not redo it.
  expect(await sweep()).toEqual({ checked: 2, reconciled: [], mismatched: [], failed: [] });
  expect(await registry.getSingleMetricAsString('stc_reconciliation_mismatch_total')).toMatch(
    /stc_reconciliation_mismatch_total 0$/m,
  );
});

test('a reversal that fails or is canceled before its pair was written leaves no lines, as for a payout never reversed', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  const balanced = await journalOf(payout.id);
  // Reversed and canceled before anything reconciled the payout again.
  const canceled = await stripe.payouts.reverse(payout.id);
  await stripe.payouts.cancel(canceled.id);
  await deliver('payout.canceled', canceled.id);
  const after = await journalOf(payout.id);
  expect(after.entry).toMatchObject({ stc_status: JOURNAL_BALANCED, stc_statusnote: null });
  expect(posting(after.lines)).toEqual(posting(balanced.lines));

  // Another payout whose reversal is paid and refused by the bank, all its events missed.
  const other = (await paidPayout(5)).payout;
  await deliver('payout.paid', other.id);
  const otherBalanced = await journalOf(other.id);
  const refused = await stripe.payouts.reverse(other.id);
  stripeEmulator.testHelpers.payPayout(refused.id);
  stripeEmulator.testHelpers.failPayout(refused.id);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });
  // Both entries are Balanced already, which is what Stripe says of them now: nothing to run again.
  expect(await sweep()).toMatchObject({ reconciled: [], mismatched: [], failed: [] });
  await reconciler.reconcile({ stripe, dataverse: dataverse.client, log, payout: other.id });
  const otherAfter = await journalOf(other.id);
  expect(otherAfter.entry).toMatchObject({ stc_status: JOURNAL_BALANCED, stc_statusnote: null });
  expect(posting(otherAfter.lines)).toEqual(posting(otherBalanced.lines));
});

test('the original fails while its reversal is pending (Stripe cancels the reversal): Failed, every pair kept', async () => {
  const { payout } = await paidPayout(10);
  await deliver('payout.paid', payout.id);
  const reversal = await stripe.payouts.reverse(payout.id);
  await deliver('payout.created', reversal.id);
  const reversed = await journalOf(payout.id);
  expect(reversed.entry).toMatchObject({ stc_status: JOURNAL_REVERSED });

  // As Stripe does it: the original fails and the pending reversal is canceled.
  stripeEmulator.testHelpers.failPayout(payout.id, { failureCode: 'account_closed' });
  await stripe.payouts.cancel(reversal.id);
  await deliver('payout.failed', payout.id);
  await deliver('payout.canceled', reversal.id);

  const accounts = loadReconciliationConfig().accounts;
  const failed = await journalOf(payout.id);
  const amount = payout.amount / 100;
  expect(failed.entry).toMatchObject({ stc_status: JOURNAL_FAILED, stc_difference: 0 });
  expect(failed.entry!.stc_statusnote).toMatch(
    new RegExp(
      '^The bank returned the payout \\(account_closed: The bank account has been closed.\\); its amount is ' +
        `back in the Stripe balance. Reversed by payout ${reversal.id}, which was canceled on `,
    ),
  );
  expect(failed.lines.map((l) => [l.stc_linekey, l.stc_debit, l.stc_credit])).toEqual([
    ...reversed.lines.map((l) => [l.stc_linekey, l.stc_debit, l.stc_credit]),
    [`${payout.id}:reversal-undone:clearing`, amount, 0],
    [`${payout.id}:reversal-undone:balance`, 0, amount],
    [`${payout.id}:failed:clearing`, 0, amount],
    [`${payout.id}:failed:balance`, amount, 0],
  ]);
  // Clearing nets to zero (the payout never reached the bank); the balance holds the amount once.
  const net = await netByAccount(payout.id);
  expect([net[accounts.clearing.account], net[accounts.balance.account]]).toEqual([0, payout.amount]);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });
  await reconciler.reconcile({ stripe, dataverse: dataverse.client, log, payout: payout.id });
  const again = await journalOf(payout.id);
  expect(again.entry).toMatchObject({
    stc_status: JOURNAL_FAILED,
    stc_statusnote: failed.entry!.stc_statusnote,
  });
  expect(posting(again.lines)).toEqual(posting(failed.lines));
  expect(posting(failed.lines.slice(0, reversed.lines.length))).toEqual(posting(reversed.lines));
});

test('the sweep reconciles a paid payout whose event was missed, once', async () => {
  const { payout } = await paidPayout(30);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: dataverse.client, log });

  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect(await sweep()).toEqual({ checked: 1, reconciled: [], mismatched: [], failed: [] });
});

test('Dataverse failing the journal leaves no entry that looks settled: the next sweep writes entry and lines', async () => {
  const { payout } = await paidPayout(10);
  let failJournal = true;
  // The journal's change set answered 503 once, as Dataverse does under load.
  const flaky = new Proxy(dataverse.client, {
    get(target, name, receiver) {
      if (name !== 'executeBatch') return Reflect.get(target, name, receiver) as unknown;
      return async (...args: Parameters<typeof target.executeBatch>) => {
        if (failJournal && args[0].some((op) => op.entitySet === 'stc_journallines')) {
          failJournal = false;
          return args[0].map(() => ({
            status: 503,
            error: { status: 503, code: '', message: 'Service Unavailable', transient: true },
          }));
        }
        return target.executeBatch(...args);
      };
    },
  });
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, metrics });
  const sweep = () => sweepPayouts({ reconciler, stripe, dataverse: flaky, log });

  expect(await sweep()).toEqual({
    checked: 1,
    reconciled: [],
    mismatched: [],
    failed: [{ payoutId: payout.id, error: expect.stringMatching(/^Service Unavailable/) as string }],
  });
  expect((await journalOf(payout.id)).entry).toBeNull();
  expect(await sweep()).toEqual({ checked: 1, reconciled: [payout.id], mismatched: [], failed: [] });
  const { entry, lines } = await journalOf(payout.id);
  expect(entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect(lines.length).toBeGreaterThan(2);
});

test('the handler writes through $batch: at most 1,000 rows a request', async () => {
  const { payout } = await paidPayout(1100);
  const before = dataverse.client.stats();
  await deliver('payout.paid', payout.id);
  const after = dataverse.client.stats();
  expect(dataverse.emulator.store.count('stc_balancetransactions')).toBe(1102);
  // 2 batches of transactions, journal upsert, lines query, lines batch, payout writes: far under 1 per row.
  expect(after.requests - before.requests).toBeLessThan(15);
});

test('Stripe answering 429 while the transactions are listed: backed off, the payout still reconciles', async () => {
  await stripeEmulator.close();
  // One request a second and no burst: the listing's five pages, asked for as soon as the last one is read,
  // meet a 429 on any machine (at 10/s with a burst of 3, a loaded machine spaced them enough to meet none).
  stripeEmulator = await startStripeEmulator({ rateLimit: { perSecond: 1, burst: 1 } });
  stripe = stripeEmulator.client();
  stripeEmulator.testHelpers.seedPayments({ count: 450 });
  const payout = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  stripeEmulator.testHelpers.payPayout(payout.id);
  let backoffs = 0;
  const reconciler = createPayoutReconciler({
    mappings: defaultMappings,
    rateLimit: { baseDelayMs: 50, maxDelayMs: 500, maxAttempts: 30 },
    sleep: (ms) => {
      backoffs += 1;
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
  });
  const outcome = await reconciler.reconcile({ stripe, dataverse: dataverse.client, log, payout: payout.id });
  expect(outcome).toMatchObject({ kind: 'journal', rowsWritten: 451 });
  expect(backoffs).toBeGreaterThan(0);
  expect((await journalOf(payout.id)).entry).toMatchObject({ stc_status: JOURNAL_BALANCED });
  expect(dataverse.emulator.store.count('stc_balancetransactions')).toBe(451);
});

test('the scheduled sweep runs at its interval and stops cleanly', async () => {
  const { payout } = await paidPayout(5);
  const reconciler = createPayoutReconciler({ mappings: defaultMappings });
  const results: SweepResult[] = [];
  const schedule = startPayoutSweep({
    reconciler,
    stripe,
    dataverse: dataverse.client,
    log,
    intervalMs: 20,
    onSweep: (result) => results.push(result),
  });
  try {
    await waitFor(() => results.length >= 2, 'two sweeps', 20_000);
  } finally {
    await schedule.stop();
  }
  expect(results[0].reconciled).toEqual([payout.id]);
  expect(results[1].reconciled).toEqual([]);
  const after = results.length;
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(results.length).toBe(after);
});

test('cli reconcile: one payout, then a sweep with nothing left to do, on the service environment', async () => {
  const { payout } = await paidPayout(20);
  const env = cliEnv(stripeEmulator, dataverse.emulator.url, { SQLITE_PATH: ':memory:' });
  const { io, out, err } = collectingIo(env);
  expect(await runCli(['reconcile', '--payout', payout.id], io)).toBe(0);
  expect(out.at(-1)).toBe(`${payout.id}: 22 balance transactions, 4 journal lines, balanced`);
  expect(await runCli(['reconcile', '--sweep', '--days', '2'], io)).toBe(0);
  expect(out.at(-1)).toBe('sweep: 1 paid or failed payouts checked, 0 reconciled');
  expect(await runCli(['reconcile'], io)).toBe(2);
  expect(err.at(-1)).toMatch(/Give either --payout po_… or --sweep/);
  expect(await runCli(['reconcile', '--sweep', '--accounts', '/nonexistent.yaml'], io)).toBe(1);
  expect(err.at(-1)).toMatch(/cannot read \/nonexistent\.yaml/);
});

test('cli reconcile of a payout with no journal yet says why: not paid, or not reconciled by Stripe yet', async () => {
  stripeEmulator.testHelpers.seedPayments({ count: 2 });
  const created = stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  const env = cliEnv(stripeEmulator, dataverse.emulator.url, { SQLITE_PATH: ':memory:' });
  const { io, out } = collectingIo(env);
  const status = String(stripeEmulator.engine.scope(null).find(created.id)!.status);
  expect(await runCli(['reconcile', '--payout', created.id], io)).toBe(0);
  expect(out.at(-1)).toBe(`${created.id} is ${status}: payout row written, no journal until it is paid`);

  stripeEmulator.testHelpers.payPayout(created.id);
  stripeEmulator.engine.scope(null).find(created.id)!.reconciliation_status = 'in_progress';
  expect(await runCli(['reconcile', '--payout', created.id], io)).toBe(0);
  expect(out.at(-1)).toBe(
    `${created.id} is paid: payout row written, no journal until Stripe has reconciled its transactions (the sweep runs it again)`,
  );
});

test('cli reconcile --sweep exits 4 and names a payout whose journal does not balance', async () => {
  const { payout } = await paidPayout(5);
  payout.amount = (payout.amount as number) + 7;
  const env = cliEnv(stripeEmulator, dataverse.emulator.url, { SQLITE_PATH: ':memory:' });
  const { io, out } = collectingIo(env);
  expect(await runCli(['reconcile', '--sweep', '--days', '2'], io)).toBe(4);
  expect(out.at(-1)).toBe(
    `sweep: 1 paid or failed payouts checked, 0 reconciled, 1 MISMATCH (${payout.id}): see reconcile --payout`,
  );
});
