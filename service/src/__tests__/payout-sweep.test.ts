/**
 * Payout reconciliation wired into the running service: started from its configuration with the real
 * handlers, the sweep reconciles a paid payout whose event Stripe never delivered (rows and a balanced journal
 * in the Dataverse emulator), the reconciliation counters are on /metrics, and a bad GL accounts file stops the
 * start naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PayoutStatus } from '@stc/solution/tables';
import { JOURNAL_BALANCED, JOURNAL_NOT_RECONCILABLE, ReconciliationConfigError } from '../reconciliation';
import { startService } from '../service';
import { waitFor } from '@stc/testkit';
import { balancedUsdEntry } from './support/journal';
import { serviceOnEmulators } from './support/service-on-emulators';

jest.setTimeout(90_000);

// No webhook endpoint is set: the payout's events are never delivered to the service.
const world = serviceOnEmulators('payout-sweep');
const ADMIN_KEY = world.adminKey;
const configFor = (extra: Record<string, string> = {}) => world.configFor(extra);

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

test('the sweep of a running service reconciles a paid payout whose event was never delivered', async () => {
  world.stripeEmulator.testHelpers.seedPayments({ count: 30, amount: (i) => 1000 + i * 7 });
  const created = world.stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  world.stripeEmulator.testHelpers.payPayout(created.id);
  const payout = world.stripeEmulator.engine.scope(null).find(created.id)! as unknown as {
    id: string;
    amount: number;
  };
  const transactions = [
    ...(world.stripeEmulator.engine.scope(null).payoutTransactions.get(payout.id) ?? []),
  ] as unknown as Array<{ type: string }>;
  expect(transactions.filter((t) => t.type === 'charge')).toHaveLength(30);

  // 0.002 minutes: a sweep every 120 ms.
  const service = await world.start(configFor({ PAYOUT_SWEEP_INTERVAL_MINUTES: '0.002' }));

  // The payout row is stamped reconciled last, once its journal balances.
  const row = await waitFor(
    async () => {
      const found = await world.client.retrieveByKey('stc_payouts', { stc_stripeid: payout.id });
      return found?.stc_reconciledon ? found : undefined;
    },
    'the sweep to reconcile the payout',
    30_000,
  );
  expect(row).toMatchObject({ stc_amount: payout.amount / 100 });
  const entry = await world.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout.id });
  expect(entry).toMatchObject(balancedUsdEntry(payout.amount, row!.stc_payoutid));
  expect(world.dataverse.store.count('stc_balancetransactions')).toBe(transactions.length);
  const lines = await world.client.retrieveMultiple('stc_journallines', {
    filter: `_stc_journalentryid_value eq ${String(entry!.stc_journalentryid)}`,
  });
  expect(lines.length).toBeGreaterThanOrEqual(3);
  const cents = (field: string) => sum(lines.map((l) => Math.round(Number(l[field]) * 100)));
  expect(cents('stc_debit')).toBe(cents('stc_credit'));
  expect(cents('stc_debit')).toBeGreaterThan(0);
  // Nothing came through the inbox: the sweep alone did it.
  expect(await service.store.queueDepth()).toMatchObject({ pending: 0, processing: 0 });

  const metrics = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(metrics.status).toBe(200);
  const text = await metrics.text();
  expect(text).toContain('# TYPE stc_reconciliation_mismatch_total counter');
  expect(text).toMatch(/^stc_reconciliation_mismatch_total 0$/m);
  expect(text).toMatch(/^stc_payouts_reconciled_total\{outcome="balanced"\} [1-9]/m);
  expect((await fetch(`${service.url}/metrics`)).status).toBe(401);

  // Later sweeps find the journal balanced and leave it alone: still one entry, lines not duplicated.
  await new Promise((r) => setTimeout(r, 400));
  expect(world.dataverse.store.count('stc_journalentries')).toBe(1);
  expect(world.dataverse.store.count('stc_journallines')).toBe(lines.length);
  expect(world.dataverse.store.count('stc_payouts')).toBe(1);
});

test('a manual payout delivered to the running service: Not reconcilable, no dead letter, no sync issue', async () => {
  world.stripeEmulator.testHelpers.seedPayments({ count: 3, amount: () => 2000 });
  const service = await world.start(
    configFor({ PAYOUT_SWEEP_INTERVAL_MINUTES: '0.002', REPORT_INTERVAL_SECONDS: '0.1' }),
  );
  world.stripeEmulator.setWebhook({ url: `${service.url}/webhooks/stripe`, secret: 'whsec_payout-sweep' });
  const manual = await world.stripeEmulator.client().payouts.create({ amount: 4000, currency: 'usd' });
  world.stripeEmulator.testHelpers.payPayout(manual.id);
  await world.stripeEmulator.waitForDeliveries(10_000);

  const paid = await waitFor(
    async () => {
      const row = await world.client.retrieveByKey('stc_payouts', { stc_stripeid: manual.id });
      const depth = await service.store.queueDepth();
      return row?.stc_status === PayoutStatus.paid && depth.pending + depth.processing === 0
        ? row
        : undefined;
    },
    'the payout events to be applied',
    30_000,
  );
  const entry = await world.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: manual.id });
  expect(entry).toMatchObject({
    stc_status: JOURNAL_NOT_RECONCILABLE,
    stc_total: 40,
    _stc_payoutid_value: paid!.stc_payoutid,
  });
  expect(entry!.stc_statusnote).toMatch(/^Manual payout: /);
  expect(await service.store.listDeadLetters({ includeResolved: true })).toEqual([]);

  // A report pass (sync issues, then the connector status) after the events: still no issue.
  const after = Date.now();
  await waitFor(
    async () => {
      const [status] = await world.client.retrieveMultiple('stc_connectorstatuses', {
        select: ['stc_lastheartbeat'],
      });
      return status && Date.parse(String(status.stc_lastheartbeat)) > after ? status : undefined;
    },
    'a report pass after the events',
    30_000,
  );
  expect(world.dataverse.store.count('stc_syncissues')).toBe(0);
  const text = await (await fetch(`${service.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } })).text();
  expect(text).toMatch(/^stc_reconciliation_mismatch_total 0$/m);
  expect(text).toMatch(/^stc_payouts_reconciled_total\{outcome="not_reconcilable"\} [1-9]/m);
  expect(world.dataverse.store.count('stc_journalentries')).toBe(1);
  expect(world.dataverse.store.count('stc_balancetransactions')).toBe(0);
});

test('PAYOUT_SWEEP_INTERVAL_MINUTES=0: no sweep runs', async () => {
  world.stripeEmulator.testHelpers.seedPayments({ count: 3 });
  const created = world.stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd' });
  world.stripeEmulator.testHelpers.payPayout(created.id);
  const config = configFor({ PAYOUT_SWEEP_INTERVAL_MINUTES: '0' });
  expect(config.reconciliation.sweepIntervalMs).toBe(0);
  const service = await world.start(config);
  await new Promise((r) => setTimeout(r, 500));
  expect(world.dataverse.store.count('stc_journalentries')).toBe(0);
  // The counters are registered all the same: the payouts handler reconciles on events.
  const text = await (await fetch(`${service.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } })).text();
  expect(text).toContain('stc_reconciliation_mismatch_total');
});

test('a bad GL_ACCOUNTS_PATH stops the start naming the file, before the store is opened', async () => {
  const file = path.join(world.dir(), 'gl-accounts.yaml');
  fs.writeFileSync(file, 'accounts:\n  gross: { account: "4000" }\n');
  const config = configFor({ GL_ACCOUNTS_PATH: 'gl-accounts.yaml' });
  expect(config.reconciliation.glAccountsPath).toBe(file);
  const started = startService(config);
  await expect(started).rejects.toThrow(ReconciliationConfigError);
  await expect(started).rejects.toThrow(file);
  await expect(started).rejects.toThrow(/accounts\.fees/);
  expect(fs.existsSync(path.join(world.dir(), 'connector.db'))).toBe(false);

  const missing = path.join(world.dir(), 'nowhere.yaml');
  await expect(startService(configFor({ GL_ACCOUNTS_PATH: missing }))).rejects.toThrow(
    `cannot read ${missing}`,
  );
});

test('sweep settings are validated at start', () => {
  expect(() => configFor({ PAYOUT_SWEEP_INTERVAL_MINUTES: '-1' })).toThrow(/PAYOUT_SWEEP_INTERVAL_MINUTES/);
  expect(() => configFor({ PAYOUT_SWEEP_LOOKBACK_DAYS: 'a week' })).toThrow(/PAYOUT_SWEEP_LOOKBACK_DAYS/);
  expect(() => configFor({ PAYOUT_SWEEP_ACCOUNTS: 'acct_1A, 1B' })).toThrow(
    /PAYOUT_SWEEP_ACCOUNTS lists connected accounts, acct_…, separated by commas/,
  );
  expect(configFor().reconciliation).toEqual({
    glAccountsPath: undefined,
    sweepIntervalMs: 60 * 60_000,
    sweepLookbackMs: 7 * 86_400_000,
    sweepAccounts: [],
    feesIntervalMs: 5000,
  });
  expect(configFor({ PAYOUT_SWEEP_ACCOUNTS: ' acct_1A,acct_2B , ' }).reconciliation.sweepAccounts).toEqual([
    'acct_1A',
    'acct_2B',
  ]);
});

test("the sweep of a running service reconciles a connected account's payout when PAYOUT_SWEEP_ACCOUNTS names it", async () => {
  const account = 'acct_1SweptConnected';
  world.stripeEmulator.testHelpers.seedPayments({ count: 5, account });
  const created = world.stripeEmulator.testHelpers.createAutomaticPayout({ currency: 'usd', account });
  world.stripeEmulator.testHelpers.payPayout(created.id, { account });

  await world.start(configFor({ PAYOUT_SWEEP_INTERVAL_MINUTES: '0.002', PAYOUT_SWEEP_ACCOUNTS: account }));
  const entry = await waitFor(
    () => world.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: created.id }),
    "the sweep to reconcile the connected account's payout",
    30_000,
  );
  expect(entry).toMatchObject({ stc_stripeaccount: account, stc_status: JOURNAL_BALANCED });
});
