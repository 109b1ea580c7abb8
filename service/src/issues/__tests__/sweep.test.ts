/**
 * Sync issues on the Dataverse emulator and a real SQLite store: dead letters and payouts that do not
 * reconcile appear as stc_syncissue rows, follow retries and discards made by an operator or asked for by a
 * user in Dynamics 365, and clear when the work succeeds.
 */
import {
  JournalEntry,
  JournalStatus,
  Payout,
  SyncIssue,
  SyncIssueKind,
  SyncIssueStatus,
} from '@stc/solution/tables';
import { RecordingLogger } from '../../inbound/__tests__/harness';
import { dataverseEmulatorForFile } from '../../__tests__/support/dataverse-emulator';
import { sqliteEngine, type TestDatabase } from '../../__tests__/support/engines';
import type { EventOutcome, Store } from '../../store/types';
import { syncIssues, type IssueSweepOptions, type WrittenIssues } from '..';

const dataverse = dataverseEmulatorForFile();
let database: TestDatabase;
let store: Store;
let log: RecordingLogger;
let written: WrittenIssues;
let now: number;
const c = SyncIssue.col;

beforeEach(async () => {
  database = await sqliteEngine.open();
  store = database.store;
  log = new RecordingLogger();
  written = new Map();
  now = Date.parse('2026-12-01T10:00:00Z');
});
afterEach(() => database.destroy());

const options = (extra: Partial<IssueSweepOptions> = {}): IssueSweepOptions => ({
  store,
  dataverse: dataverse.client,
  log,
  liveMode: false,
  now: () => now,
  ...extra,
});
const pass = (extra: Partial<IssueSweepOptions> = {}) => syncIssues(options(extra), written);

/** Takes the event through one attempt that ends as `outcome`. */
async function attempt(eventId: string, outcome: EventOutcome): Promise<void> {
  const [claimed] = await store.claimEvents({ owner: 'w1', limit: 10, leaseMs: 60_000, nowMs: now });
  expect(claimed?.eventId).toBe(eventId);
  const done = await store.completeEvent({
    event: claimed!,
    owner: 'w1',
    outcome,
    startedAtMs: now,
    finishedAtMs: now + 5,
    stampObject: false,
  });
  expect(done).toBe(true);
}

async function deadEvent(eventId: string, error = 'Dataverse answered 400: stc_amount is not a number') {
  await store.insertEvent({
    source: 'stripe',
    account: '',
    eventId,
    type: 'payment_intent.succeeded',
    objectId: 'pi_123',
    eventCreatedMs: now - 60_000,
    payload: JSON.stringify({ id: eventId }),
    status: 'pending',
    receivedAtMs: now - 59_000,
  });
  await attempt(eventId, { kind: 'dead', error, code: '0x80040203' });
}

async function issue(key: string): Promise<Record<string, unknown> | null> {
  return dataverse.client.retrieveByKey(SyncIssue.entitySetName, { [c.issueKey]: key });
}

async function ask(key: string, status: number): Promise<void> {
  const row = await issue(key);
  await dataverse.client.update(SyncIssue.entitySetName, String(row![SyncIssue.primaryId]), {
    [c.status]: status,
  });
}

describe('dead letters as sync issues', () => {
  it('writes a dead letter as an open issue with its error, and nothing again while it stays the same', async () => {
    await deadEvent('evt_dead_1');
    expect(await pass()).toEqual({ written: 1, retried: 0, discarded: 0, open: 1 });
    const row = await issue('event:stripe:evt_dead_1');
    expect(row).toMatchObject({
      [c.kind]: SyncIssueKind.dead_letter,
      [c.status]: SyncIssueStatus.open,
      [c.eventId]: 'evt_dead_1',
      [c.eventType]: 'payment_intent.succeeded',
      [c.stripeObjectId]: 'pi_123',
      [c.stripeObjectType]: 'payment_intent',
      [c.errorCode]: '0x80040203',
      [c.errorMessage]: 'Dataverse answered 400: stc_amount is not a number',
      [c.attempts]: 1,
      [c.liveMode]: false,
    });
    expect((await pass()).written).toBe(0);
  });

  it("carries out a user's retry, shows it in progress, and resolves the issue once the event is applied", async () => {
    await deadEvent('evt_retry');
    await pass();
    await ask('event:stripe:evt_retry', SyncIssueStatus.retry_requested);

    now += 60_000;
    expect(await pass()).toMatchObject({ retried: 1 });
    expect(await store.queueDepth()).toMatchObject({ pending: 1, dead: 0 });
    expect((await issue('event:stripe:evt_retry'))?.[c.status]).toBe(SyncIssueStatus.retry_requested);

    await attempt('evt_retry', { kind: 'applied' });
    now += 60_000;
    await pass();
    const row = await issue('event:stripe:evt_retry');
    expect(row?.[c.status]).toBe(SyncIssueStatus.resolved);
    expect(row?.[c.resolvedOn]).toBeTruthy();
  });

  it('opens the issue again, with the newer error and the first time seen, when the retried event fails again', async () => {
    await deadEvent('evt_again', 'first failure');
    await pass();
    const first = (await issue('event:stripe:evt_again'))?.[c.firstSeen];
    const [letter] = await store.listDeadLetters();
    await store.retryDeadLetter(letter!.id, now);
    now += 120_000;
    await attempt('evt_again', { kind: 'dead', error: 'second failure', code: null });
    await pass();
    const row = await issue('event:stripe:evt_again');
    expect(row).toMatchObject({
      [c.status]: SyncIssueStatus.open,
      [c.errorMessage]: 'second failure',
      [c.firstSeen]: first,
    });
  });

  it("drops the event from the queue on a user's discard, and follows an operator's discard made elsewhere", async () => {
    await deadEvent('evt_user_discard');
    await deadEvent('evt_operator_discard');
    await pass();
    await ask('event:stripe:evt_user_discard', SyncIssueStatus.discard_requested);
    const operator = (await store.listDeadLetters()).find((l) => l.eventId === 'evt_operator_discard')!;
    await store.discardDeadLetter(operator.id, now);

    expect(await pass()).toMatchObject({ discarded: 1 });
    expect(await store.queueDepth()).toMatchObject({ dead: 0 });
    for (const key of ['event:stripe:evt_user_discard', 'event:stripe:evt_operator_discard']) {
      expect((await issue(key))?.[c.status]).toBe(SyncIssueStatus.discarded);
    }
  });

  it('answers a retry asked on an issue already resolved by showing it resolved again', async () => {
    await deadEvent('evt_done');
    const [letter] = await store.listDeadLetters();
    await store.retryDeadLetter(letter!.id, now);
    await attempt('evt_done', { kind: 'applied' });
    await pass();
    await ask('event:stripe:evt_done', SyncIssueStatus.retry_requested);
    await pass();
    expect((await issue('event:stripe:evt_done'))?.[c.status]).toBe(SyncIssueStatus.resolved);
  });
});

describe('payouts that do not reconcile as sync issues', () => {
  async function journal(payoutId: string, status: number, difference: number): Promise<string> {
    const payoutRow = await dataverse.client.create(Payout.entitySetName, {
      [Payout.col.name]: payoutId,
      [Payout.col.stripeId]: payoutId,
      [Payout.col.amount]: 100,
      [Payout.col.currency]: 'eur',
      [Payout.col.status]: 100000002,
    });
    return dataverse.client.create(JournalEntry.entitySetName, {
      [JournalEntry.col.name]: `Payout ${payoutId}`,
      [JournalEntry.col.stripePayoutId]: payoutId,
      [JournalEntry.col.date]: '2026-12-01',
      [JournalEntry.col.currency]: 'eur',
      [JournalEntry.col.difference]: difference,
      [JournalEntry.col.status]: status,
      [JournalEntry.col.stripeAccount]: 'acct_1',
      [`${JournalEntry.lookup.payoutid.bind.stc_payout}@odata.bind`]: `/${Payout.entitySetName}(${payoutRow})`,
    });
  }

  it('opens an issue linked to the payout, and resolves it when the journal balances again', async () => {
    const entry = await journal('po_short', JournalStatus.mismatch, -1.5);
    await pass();
    const row = await issue('payout:po_short');
    expect(row).toMatchObject({
      [c.kind]: SyncIssueKind.reconciliation_mismatch,
      [c.status]: SyncIssueStatus.open,
      [c.stripeObjectId]: 'po_short',
      [c.stripeAccount]: 'acct_1',
      [c.errorMessage]: "The payout's balance transactions differ from its amount by -1.5 EUR.",
    });
    expect(row?.[SyncIssue.lookup.payoutid.value]).toBeTruthy();

    await dataverse.client.update(JournalEntry.entitySetName, entry, {
      [JournalEntry.col.status]: JournalStatus.balanced,
      [JournalEntry.col.difference]: 0,
    });
    await pass();
    expect((await issue('payout:po_short'))?.[c.status]).toBe(SyncIssueStatus.resolved);
  });

  it('a manual payout (Not reconcilable), a failed and a reversed payout are no issues', async () => {
    await journal('po_manual', JournalStatus.not_reconcilable, 0);
    await journal('po_failed', JournalStatus.failed, 0);
    await journal('po_reversed', JournalStatus.reversed, 0);
    await journal('po_short', JournalStatus.mismatch, 1);
    expect(await pass()).toMatchObject({ open: 1 });
    const issues = await dataverse.client.retrieveMultiple(SyncIssue.entitySetName, {
      select: [c.issueKey],
    });
    expect(issues.map((row) => row[c.issueKey])).toEqual(['payout:po_short']);
  });

  it('reconciles the payout again on a retry, and keeps a discarded mismatch discarded', async () => {
    await journal('po_retry', JournalStatus.mismatch, 2);
    await journal('po_accept', JournalStatus.mismatch, 0.01);
    await pass();
    await ask('payout:po_retry', SyncIssueStatus.retry_requested);
    await ask('payout:po_accept', SyncIssueStatus.discard_requested);
    const reconciled: Array<[string, string | null]> = [];
    const reconcilePayout = async (payoutId: string, account: string | null) => {
      reconciled.push([payoutId, account]);
    };

    await pass({ reconcilePayout });
    expect(reconciled).toEqual([['po_retry', 'acct_1']]);
    // The journal still does not balance: the retry leaves the issue open.
    expect((await issue('payout:po_retry'))?.[c.status]).toBe(SyncIssueStatus.open);
    expect((await issue('payout:po_accept'))?.[c.status]).toBe(SyncIssueStatus.discarded);

    written.clear(); // as after a restart
    await pass({ reconcilePayout });
    expect((await issue('payout:po_accept'))?.[c.status]).toBe(SyncIssueStatus.discarded);
  });
});
